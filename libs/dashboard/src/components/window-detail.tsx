import type { AskedWindow, Incident, SkippedRun } from '../api.ts';
import { time } from '../format.ts';
import { SKIP_REASONS } from '../timeline.ts';

/** One asked window as the model saw it: answer, reasoning, cost, and its frames when kept. */
export function AskedDetail(props: { w: AskedWindow; incident?: Incident }) {
  const { w, incident } = props;
  const t0 = Date.parse(w.start);
  const t1 = Date.parse(w.end);
  // Evidence is kept per incident; show the frames of this window when the incident holds them.
  const all = incident?.evidence?.frames ?? [];
  const inWindow = all.filter((f) => {
    const t = Date.parse(f.captured_at);
    return t >= t0 && t <= t1;
  });
  const frames = inWindow.length ? inWindow : all;
  return (
    <div class="panel window-detail" data-window={w.id} aria-live="polite">
      <h2 style="margin-top:0">
        {time(w.start)} – {time(w.end)} · <span class={`verdict ${verdictClass(w)}`}>{verdictText(w)}</span>
      </h2>
      <div class="side">
        <div>
          <h3>Answer</h3>
          <p data-field="answer">{w.answer || '—'}</p>
          <h3>Reasoning</h3>
          <p class="reasoning" data-field="reasoning">
            {w.reasoning || '—'}
          </p>
          {w.error && (
            <>
              <h3>Error</h3>
              <p data-field="error">{w.error}</p>
            </>
          )}
        </div>
        <dl class="facts">
          <dt>Status</dt>
          <dd>{w.status}</dd>
          <dt>Latency</dt>
          <dd data-field="latency">{w.latency_ms} ms</dd>
          <dt>Tokens</dt>
          <dd data-field="tokens">
            {w.prompt_tokens} prompt + {w.completion_tokens} completion
          </dd>
          <dt>Frames</dt>
          <dd>{w.frames}</dd>
          <dt>Model</dt>
          <dd>{w.model || '—'}</dd>
          <dt>Query version</dt>
          <dd data-field="query-version">{w.query_version ?? '—'}</dd>
          <dt>Incident</dt>
          <dd>{incident ? <a href={`#/incidents/${encodeURIComponent(incident.id)}`}>{incident.state} · {incident.severity} · opened {time(incident.started_at)}</a> : 'none'}</dd>
        </dl>
      </div>
      <h3>Frames</h3>
      {frames.length > 0 ? (
        <>
          {!inWindow.length && <p class="muted">The incident’s evidence (from its opening window):</p>}
          <div class="frames">
            {frames.map((f) => (
              <a href={f.url} target="_blank" rel="noopener">
                <img src={f.url} alt={`Evidence frame captured ${time(f.captured_at)}`} loading="lazy" />
              </a>
            ))}
          </div>
        </>
      ) : (
        <p class="muted" data-field="frames">
          {incident?.evidence?.deleted_at ? `Evidence removed by retention on ${time(incident.evidence.deleted_at)}.` : 'Frames are not kept for this window: only incidents keep evidence; the audit keeps the text.'}
        </p>
      )}
    </div>
  );
}

/** A run of windows that were not asked, and why. */
export function SkippedDetail(props: { run: SkippedRun }) {
  const r = props.run;
  return (
    <div class="panel window-detail" data-run={r.id} aria-live="polite">
      <h2 style="margin-top:0">
        {time(r.start)} – {time(r.end)} · not asked
      </h2>
      <dl class="facts">
        <dt>Reason</dt>
        <dd data-field="reason">
          <code>{r.reason}</code> — {SKIP_REASONS[r.reason] ?? 'see the README’s window audit'}
        </dd>
        <dt>Windows</dt>
        <dd>
          {r.count}, one every {r.every_ms / 1000} s
        </dd>
      </dl>
    </div>
  );
}

export const verdictClass = (w: AskedWindow) => (w.status === 'error' ? 'error' : w.verdict ? 'yes' : 'no');
export const verdictText = (w: AskedWindow) => (w.status === 'error' ? 'error' : w.verdict ? 'yes (matched alert_when)' : 'no');
