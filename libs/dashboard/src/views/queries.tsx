import { useEffect, useState } from 'preact/hooks';
import { listQueries, type Query } from '../api.ts';
import { timelineHref } from '../timeline.ts';

/** The standing queries and whether each can be asked (e.g. waiting for a model server). */
export function QueriesView() {
  const [queries, setQueries] = useState<Query[]>([]);
  const [error, setError] = useState('');
  useEffect(() => {
    listQueries().then(setQueries, (e: Error) => setError(e.message));
  }, []);
  return (
    <section aria-labelledby="q-title">
      <h1 id="q-title">Standing queries</h1>
      {error && <div class="error">{error}</div>}
      {queries.some((q) => q.status === 'waiting_for_model') && (
        <div class="notice" role="status">
          No model server is connected, so questions are waiting. Start Vigil with <code>VIGIL_MODEL_URL=http://host:8000</code> (a Cosmos-Reason NIM or vLLM server) to have them asked. Triggers and camera health still raise incidents.
        </div>
      )}
      <table class="queries">
        <thead>
          <tr>
            <th>Query</th>
            <th>Question</th>
            <th>Cameras</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {queries.map((q) => (
            <tr data-query={q.id}>
              <td>{q.id}</td>
              <td>{q.question}</td>
              <td>
                {(Array.isArray(q.cameras) ? q.cameras : []).map((c, n) => (
                  <>
                    {n > 0 && ', '}
                    <a href={timelineHref(c, q.id)} title={`Timeline of ${q.id} on ${c}`}>
                      {c}
                    </a>
                  </>
                ))}
              </td>
              <td>
                {String(q.status ?? 'active').replace(/_/g, ' ')}
                {q.shadow && (
                  <>
                    {' · '}
                    <a href="#/shadows" data-shadow-of={q.shadow}>
                      shadows {q.shadow}
                    </a>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
