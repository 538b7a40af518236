import { useState } from 'preact/hooks';
import { actOnIncident, type Incident } from '../api.ts';
import { time } from '../format.ts';
import { NoteDialog } from './note-dialog.tsx';

/** One incident in a list: thumbnail, what and where, the answer, and the actions. */
export function IncidentCard(props: { incident: Incident; fresh?: boolean; onChange?: (i: Incident) => void }) {
  const i = props.incident;
  const [acting, setActing] = useState<'ack' | 'resolve' | null>(null);
  const [error, setError] = useState('');
  const finish = async (note: string | null) => {
    const action = acting;
    setActing(null);
    if (note === null || !action) return;
    try {
      props.onChange?.(await actOnIncident(i.id, action, note));
      setError('');
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const thumb = i.evidence?.frames[0]?.url;
  return (
    <li class={`incident sev-${i.severity}${props.fresh ? ' fresh' : ''}`} data-id={i.id} data-state={i.state} data-camera={i.camera}>
      <a href={`#/incidents/${encodeURIComponent(i.id)}`} aria-label={`Open incident on ${i.camera}`}>
        {thumb ? <img class="thumb" src={thumb} alt="" loading="lazy" /> : <div class="thumb" />}
      </a>
      <div>
        <div class="title">
          <a href={`#/incidents/${encodeURIComponent(i.id)}`}>{i.camera}</a> · {i.query}{' '}
          <span class={`badge sev-${i.severity}`}>{i.severity}</span> <span class={`badge state-${i.state}`}>{i.state}</span>
        </div>
        {i.highlight ? <div class="answer" dangerouslySetInnerHTML={{ __html: sanitizeHighlight(i.highlight) }} /> : <div class="answer">{i.answer}</div>}
        <div class="meta">
          <span title={i.started_at}>{time(i.started_at)}</span>
          {i.site && <span>{i.site}</span>}
          {i.acknowledged && <span>acknowledged by {i.acknowledged.by}</span>}
          {i.resolved && <span>resolved by {i.resolved.by}</span>}
          {(i.resolved ?? i.acknowledged)?.note && <span>“{(i.resolved ?? i.acknowledged)!.note}”</span>}
        </div>
        {error && <div class="error">{error}</div>}
      </div>
      <div class="actions">
        {(i.state === 'open' || i.state === 'closed') && <button onClick={() => setActing('ack')}>Acknowledge</button>}
        {i.state !== 'resolved' && <button onClick={() => setActing('resolve')}>Resolve</button>}
      </div>
      {acting && <NoteDialog title={`${acting === 'ack' ? 'Acknowledge' : 'Resolve'} incident on ${i.camera}`} confirm={acting === 'ack' ? 'Acknowledge' : 'Resolve'} onDone={finish} />}
    </li>
  );
}

/** Highlights come from the server with <mark> tags; everything else is escaped. */
export function sanitizeHighlight(html: string): string {
  const escaped = html.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return escaped.replace(/&lt;mark&gt;/g, '<mark>').replace(/&lt;\/mark&gt;/g, '</mark>');
}
