import { useEffect, useRef, useState } from 'preact/hooks';

/** Asks for an optional note before acknowledging or resolving; Escape cancels. */
export function NoteDialog(props: { title: string; confirm: string; onDone: (note: string | null) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [note, setNote] = useState('');
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  return (
    <dialog ref={ref} onCancel={() => props.onDone(null)} aria-label={props.title}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          props.onDone(note);
        }}
      >
        <strong>{props.title}</strong>
        <label class="muted" style="display:block;margin-top:.5rem">
          Note (optional)
          <textarea name="note" value={note} onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)} autofocus />
        </label>
        <div style="display:flex;gap:.5rem;justify-content:flex-end">
          <button type="button" onClick={() => props.onDone(null)}>
            Cancel
          </button>
          <button type="submit" class="primary">
            {props.confirm}
          </button>
        </div>
      </form>
    </dialog>
  );
}
