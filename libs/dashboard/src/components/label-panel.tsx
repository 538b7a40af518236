import { useState } from 'preact/hooks';
import { addLabel, deleteLabel, type Label } from '../api.ts';
import { fromLocalInput, time, toLocalInput } from '../format.ts';

/** The labels of the range, and a form to mark a span as missed (prefilled from the selection). */
export function LabelPanel(props: { camera: string; query: string; labels: Label[]; span: { from: number; to: number }; onAdded: (l: Label) => void; onDeleted: (id: string) => void }) {
  const [error, setError] = useState('');
  // Deleting needs an admin token: a read token's 403 is shown like any other error.
  const remove = async (id: string) => {
    try {
      await deleteLabel(id);
      props.onDeleted(id);
      setError('');
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    try {
      const from = fromLocalInput(String(f.get('from') ?? ''));
      const to = fromLocalInput(String(f.get('to') ?? ''));
      props.onAdded(await addLabel({ kind: 'missed', camera: props.camera, query: props.query, from, to, note: String(f.get('note') ?? '') }));
      setError('');
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const iso = (t: number) => new Date(t).toISOString();
  // The inputs hold whole minutes: widen the selection to them.
  const from = Math.floor(props.span.from / 60_000) * 60_000;
  const to = Math.max(Math.ceil(props.span.to / 60_000) * 60_000, from + 60_000);
  return (
    <div class="panel labels">
      <h2 style="margin-top:0">Labels</h2>
      {props.labels.length === 0 ? (
        <p class="muted">No labels in this range.</p>
      ) : (
        <ul data-labels>
          {props.labels.map((l) => (
            <li data-label={l.id} data-kind={l.kind}>
              <strong>{l.kind === 'missed' ? 'Missed' : 'False positive'}</strong> {time(l.from)} – {time(l.to)} · by {l.by} at {time(l.at)}
              {l.note && ` — “${l.note}”`}{' '}
              <button type="button" class="link" data-action="delete-label" aria-label={`Delete the label by ${l.by}`} onClick={() => void remove(l.id)}>
                delete
              </button>
            </li>
          ))}
        </ul>
      )}
      <form class="filters" onSubmit={(e) => void submit(e)} key={`${props.span.from}-${props.span.to}`}>
        <label>
          Missed from
          <input type="datetime-local" step="1" name="from" value={toLocalInput(iso(from))} />
        </label>
        <label>
          to
          <input type="datetime-local" step="1" name="to" value={toLocalInput(iso(to))} />
        </label>
        <label>
          Note
          <input name="note" maxLength={2000} placeholder="what the model should have seen" />
        </label>
        <button type="submit" data-action="mark-missed">
          Mark missed
        </button>
      </form>
      {error && <div class="error">{error}</div>}
    </div>
  );
}
