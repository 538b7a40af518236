import { useEffect, useState } from 'preact/hooks';
import type { ShadowDifference, ShadowList, ShadowDifferencePage, ShadowSummary } from '@vigil/contracts';
import { api } from '../api.ts';

const percent = (a: number | null) => (a === null ? '—' : `${(a * 100).toFixed(1)}%`);
const verdict = (v: boolean) => (v ? 'yes' : 'no');

/**
 * Shadow queries (README, "Shadow queries"): how often each answered like the query it shadows,
 * and, for the one picked, the windows where they differ with both answers. Read-only.
 */
export function ShadowsView() {
  const [items, setItems] = useState<ShadowSummary[]>([]);
  const [picked, setPicked] = useState<string>();
  const [diffs, setDiffs] = useState<ShadowDifference[]>([]);
  const [error, setError] = useState('');
  useEffect(() => {
    api<ShadowList>('/api/shadows').then((l) => setItems(l.items), (e: Error) => setError(e.message));
  }, []);
  useEffect(() => {
    if (!picked) return;
    api<ShadowDifferencePage>(`/api/shadows/${encodeURIComponent(picked)}/differences?limit=200`).then((p) => setDiffs(p.items), (e: Error) => setError(e.message));
  }, [picked]);
  return (
    <section aria-labelledby="s-title">
      <h1 id="s-title">Shadow queries</h1>
      {error && <div class="error">{error}</div>}
      {items.length === 0 && !error && <p class="muted">No query has a <code>shadow:</code> key.</p>}
      {items.length > 0 && (
        <table class="queries shadows">
          <thead>
            <tr>
              <th>Shadow</th>
              <th>Shadows</th>
              <th>Agreement</th>
              <th>Windows compared</th>
              <th>Shadow yes / no</th>
              <th>Shadowed yes / no</th>
              <th>Shadow incidents</th>
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr data-query={s.query} aria-selected={s.query === picked}>
                <td>
                  <button class="link" onClick={() => setPicked(s.query)}>
                    {s.query}
                  </button>
                </td>
                <td>{s.shadows}</td>
                <td>{percent(s.agreement)}</td>
                <td>{s.compared}</td>
                <td>{`${s.shadow_yes} / ${s.shadow_no}`}</td>
                <td>{`${s.shadowed_yes} / ${s.shadowed_no}`}</td>
                <td>{s.shadow_incidents}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {picked && (
        <>
          <h2>Where {picked} differs</h2>
          {diffs.length === 0 ? (
            <p class="muted">No differing window.</p>
          ) : (
            <table class="queries differences">
              <thead>
                <tr>
                  <th>Camera</th>
                  <th>Window</th>
                  <th>Shadow</th>
                  <th>Shadowed</th>
                </tr>
              </thead>
              <tbody>
                {diffs.map((d) => (
                  <tr>
                    <td>{d.camera}</td>
                    <td>{new Date(d.start).toLocaleString()}</td>
                    <td>
                      <strong>{verdict(d.shadow.verdict)}</strong> {d.shadow.answer}
                    </td>
                    <td>
                      <strong>{verdict(d.shadowed.verdict)}</strong> {d.shadowed.answer}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
