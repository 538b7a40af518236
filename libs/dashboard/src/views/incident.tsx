import { useEffect, useState } from 'preact/hooks';
import { getIncident, mediaUrl, type Incident } from '../api.ts';
import { useIncidentEvents } from '../live.ts';
import { time } from '../format.ts';
import { IncidentCard } from '../components/incident-card.tsx';

/** Everything about one incident: evidence, the model's reasoning beside its answer, and facts. */
export function IncidentView(props: { id: string }) {
  const [i, setI] = useState<Incident | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    getIncident(props.id).then(setI, (e: Error) => setError(e.message));
  }, [props.id]);
  useIncidentEvents((_kind, list) => {
    const mine = list.find((x) => x.id === props.id);
    if (mine) setI((cur) => ({ ...cur, ...mine }));
  });
  if (error) return <div class="error">{error}</div>;
  if (!i) return <p class="muted">Loading…</p>;
  const base = `/api/incidents/${encodeURIComponent(i.id)}`;
  const frames = i.evidence_frames ?? 3;
  return (
    <section aria-labelledby="inc-title">
      <p>
        <a href="#/live">← Live incidents</a>
      </p>
      <h1 id="inc-title">
        {i.camera} · {i.query}
      </h1>
      <ul class="incidents">
        <IncidentCard incident={i} onChange={setI} />
      </ul>
      <div class="detail" style="margin-top:1rem">
        <div>
          <h2>Evidence</h2>
          {i.has_clip !== false && (
            <video controls muted playsinline preload="metadata" src={mediaUrl(`${base}/clip.mp4`)} aria-label="Clip of the window the model saw">
              <track kind="captions" />
            </video>
          )}
          <div class="frames" style="margin-top:.6rem">
            {Array.from({ length: frames }, (_, n) => (
              <a href={mediaUrl(`${base}/frames/${n}.jpg`)} target="_blank" rel="noopener">
                <img src={mediaUrl(`${base}/frames/${n}.jpg`)} alt={`Evidence frame ${n + 1}`} loading="lazy" />
              </a>
            ))}
          </div>
        </div>
        <div>
          <h2>Question</h2>
          <p>{i.question}</p>
          <div class="side">
            <div class="panel">
              <h2 style="margin-top:0">Answer</h2>
              <p data-field="answer">{i.answer}</p>
            </div>
            <div class="panel">
              <h2 style="margin-top:0">Reasoning</h2>
              <p class="reasoning" data-field="reasoning">
                {i.reasoning || '—'}
              </p>
            </div>
          </div>
          <h2>Facts</h2>
          <dl class="facts">
            <dt>Window</dt>
            <dd>
              {time(i.started_at)} – {time(i.ended_at)}
            </dd>
            <dt>State</dt>
            <dd>{i.state}</dd>
            <dt>Severity</dt>
            <dd>{i.severity}</dd>
            {i.site && (
              <>
                <dt>Site</dt>
                <dd>{i.site}</dd>
              </>
            )}
            <dt>Model</dt>
            <dd>{i.model || '—'}</dd>
            <dt>Latency</dt>
            <dd>{typeof i.latency_ms === 'number' ? `${i.latency_ms} ms` : '—'}</dd>
            <dt>Tokens</dt>
            <dd>{typeof i.prompt_tokens === 'number' ? `${i.prompt_tokens} in · ${i.completion_tokens ?? 0} out` : '—'}</dd>
            <dt>Webhook</dt>
            <dd data-field="webhook">{webhookText(i)}</dd>
            {i.acknowledged_by && (
              <>
                <dt>Acknowledged</dt>
                <dd>
                  {i.acknowledged_by} at {time(i.acknowledged_at)}
                </dd>
              </>
            )}
            {i.resolved_by && (
              <>
                <dt>Resolved</dt>
                <dd>
                  {i.resolved_by} at {time(i.resolved_at)}
                </dd>
              </>
            )}
            {i.note && (
              <>
                <dt>Note</dt>
                <dd>{i.note}</dd>
              </>
            )}
          </dl>
        </div>
      </div>
    </section>
  );
}

function webhookText(i: Incident): string {
  if (typeof i.webhook_status === 'string') return i.webhook_status;
  const w = i.webhook as { status?: string; attempts?: number; last_error?: string } | undefined | null;
  if (!w) return 'none configured';
  return [w.status, w.attempts ? `${w.attempts} attempt(s)` : '', w.last_error ?? ''].filter(Boolean).join(' · ');
}
