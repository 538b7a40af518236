import { useEffect, useState } from 'preact/hooks';
import { addLabel, getIncident, type Incident, type OperatorAction } from '../api.ts';
import { NoteDialog } from '../components/note-dialog.tsx';
import { useIncidentEvents } from '../live.ts';
import { time } from '../format.ts';
import { IncidentCard } from '../components/incident-card.tsx';
import { timelineHref } from '../timeline.ts';

/** Everything about one incident: evidence, the model's reasoning beside its answer, and facts. */
export function IncidentView(props: { id: string }) {
  const [i, setI] = useState<Incident | null>(null);
  const [error, setError] = useState('');
  const [labelling, setLabelling] = useState(false);
  const [labelled, setLabelled] = useState('');
  // A false positive becomes a case of a regression suite (GET /api/labels/suite).
  const markFalsePositive = async (note: string | null) => {
    setLabelling(false);
    if (note === null) return;
    try {
      const l = await addLabel({ kind: 'false_positive', incident: props.id, note });
      setLabelled(`Marked a false positive by ${l.by}.`);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  useEffect(() => {
    getIncident(props.id).then(setI, (e: Error) => setError(e.message));
  }, [props.id]);
  useIncidentEvents((_kind, list) => {
    const mine = list.find((x) => x.id === props.id);
    if (mine) setI((cur) => ({ ...cur, ...mine }));
  });
  if (error) return <div class="error">{error}</div>;
  if (!i) return <p class="muted">Loading…</p>;
  const frames = i.evidence?.frames ?? [];
  const clip = i.evidence?.clip_url;
  return (
    <section aria-labelledby="inc-title">
      <p>
        <a href="#/live">← Live incidents</a>
        {i.kind !== 'camera-offline' && (
          <>
            {' · '}
            <a href={timelineHref(i.camera, i.query, i.started_at)} data-link="timeline">
              Timeline around it
            </a>
          </>
        )}
      </p>
      <h1 id="inc-title">
        {i.camera} · {i.query}
      </h1>
      <ul class="incidents">
        <IncidentCard incident={i} onChange={setI} />
      </ul>
      {i.kind !== 'camera-offline' && (
        <p>
          <button onClick={() => setLabelling(true)} data-action="false-positive">
            False positive
          </button>{' '}
          <span class="muted" role="status" data-field="label">
            {labelled}
          </span>
        </p>
      )}
      {labelling && <NoteDialog title={`Mark incident on ${i.camera} a false positive`} confirm="False positive" onDone={(n) => void markFalsePositive(n)} />}
      <div class="detail" style="margin-top:1rem">
        <div>
          <h2>Evidence</h2>
          {i.evidence?.deleted_at && <p class="muted">Evidence removed by retention on {time(i.evidence.deleted_at)}; the text is kept.</p>}
          {clip && (
            <video controls muted playsinline preload="metadata" src={clip} aria-label="Clip of the window the model saw">
              <track kind="captions" />
            </video>
          )}
          {frames.length === 0 && !clip && !i.evidence?.deleted_at && <p class="muted">No evidence stored for this incident.</p>}
          <div class="frames" style="margin-top:.6rem">
            {frames.map((f) => (
              <figure style="margin:0">
                <a href={f.url} target="_blank" rel="noopener">
                  <img src={f.url} alt={`Evidence frame ${f.n + 1}, captured ${time(f.captured_at)}`} loading="lazy" />
                </a>
                <figcaption class="muted" style="font-size:.8rem">{time(f.captured_at)}</figcaption>
              </figure>
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
            <dd>{i.kind === 'trigger' ? 'not asked — raised by the trigger (no model server connected)' : i.model || '—'}</dd>
            <dt>Latency</dt>
            <dd>{typeof i.latency_ms === 'number' ? `${i.latency_ms} ms` : '—'}</dd>
            <dt>Positive windows</dt>
            <dd>{i.findings ?? 1}</dd>
            {i.query_version && (
              <>
                <dt>Query version</dt>
                <dd data-field="query-version">{i.query_version}</dd>
              </>
            )}
            <dt>Webhook</dt>
            <dd data-field="webhook">{webhookText(i)}</dd>
            {i.acknowledged && <Action title="Acknowledged" action={i.acknowledged} />}
            {i.resolved && <Action title="Resolved" action={i.resolved} />}
          </dl>
        </div>
      </div>
    </section>
  );
}

/** An operator's acknowledge or resolve: who, when, and their note. */
function Action(props: { title: string; action: OperatorAction }) {
  const { by, at, note } = props.action;
  return (
    <>
      <dt>{props.title}</dt>
      <dd>
        {by} at {time(at)}
        {note && ` — “${note}”`}
      </dd>
    </>
  );
}

function webhookText(i: Incident): string {
  if (!i.deliveries || i.deliveries.length === 0) return 'none';
  return i.deliveries
    .map((d) => `${d.webhook} (${d.event}): ${d.status}${d.attempts > 1 ? ` after ${d.attempts} attempts` : ''}${d.last_error && d.status !== 'delivered' ? ` — ${d.last_error}` : ''}`)
    .join('; ');
}
