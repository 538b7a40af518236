import { useEffect, useState } from 'preact/hooks';
import { listCameras, listQueries, searchIncidents, type Camera, type Incident, type Query } from '../api.ts';
import { navigate, type Route } from '../router.ts';
import { fromLocalInput, toLocalInput } from '../format.ts';
import { IncidentCard } from '../components/incident-card.tsx';

const FILTERS = ['q', 'camera', 'site', 'query', 'severity', 'state', 'from', 'to'] as const;

/** A filter with a fixed set of values, `any` first; `options` are [value, text] pairs. */
function Choice(props: { label: string; name: (typeof FILTERS)[number]; params: URLSearchParams; options: [string, string][] }) {
  return (
    <label>
      {props.label}
      <select name={props.name} value={props.params.get(props.name) ?? ''}>
        <option value="">any</option>
        {props.options.map(([value, text]) => (
          <option value={value}>{text}</option>
        ))}
      </select>
    </label>
  );
}

/** Search past incidents; the filters live in the URL so a search can be shared. */
export function SearchView(props: { route: Route }) {
  const params = props.route.params;
  const [items, setItems] = useState<Incident[]>([]);
  const [cursors, setCursors] = useState<string[]>([]); // cursors of the pages before this one
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(false);
  const [cameras, setCameras] = useState<Camera[]>([]);
  const [queries, setQueries] = useState<Query[]>([]);

  useEffect(() => {
    listCameras().then(setCameras, () => undefined);
    listQueries().then(setQueries, () => undefined);
  }, []);

  const key = params.toString();
  useEffect(() => {
    const q = new URLSearchParams();
    for (const f of FILTERS) {
      const v = params.get(f);
      if (v) q.set(f, v);
    }
    q.set('limit', '25');
    const cursor = params.get('cursor');
    if (cursor) q.set('cursor', cursor);
    setLoading(true);
    searchIncidents(q)
      .then((page) => {
        setItems(page.items);
        setNext(page.next_cursor);
        setError('');
      })
      .catch((e: Error) => setError(e.message))
      .finally(() => setLoading(false));
  }, [key]);

  const submit = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const p = new URLSearchParams();
    for (const f of FILTERS) {
      let v = String(form.get(f) ?? '').trim();
      if ((f === 'from' || f === 'to') && v) v = fromLocalInput(v);
      if (v) p.set(f, v);
    }
    setCursors([]);
    navigate('/search', p);
  };
  const page = (cursor: string | null, back = false) => {
    const p = new URLSearchParams(params);
    if (cursor) p.set('cursor', cursor);
    else p.delete('cursor');
    setCursors((c) => (back ? c.slice(0, -1) : [...c, params.get('cursor') ?? '']));
    navigate('/search', p);
  };

  return (
    <section aria-labelledby="search-title">
      <h1 id="search-title">Search incidents</h1>
      <form class="filters" onSubmit={submit} role="search">
        <label>
          Text
          <input type="search" name="q" value={params.get('q') ?? ''} placeholder='e.g. forklift "loading lane"' />
        </label>
        <Choice label="Camera" name="camera" params={params} options={cameras.map((c) => [c.id, c.name ?? c.id])} />
        <Choice label="Site" name="site" params={params} options={[...new Set(cameras.map((c) => c.site).filter((s): s is string => !!s))].map((s) => [s, s])} />
        <Choice label="Query" name="query" params={params} options={queries.map((q) => [q.id, q.id])} />
        <Choice label="Severity" name="severity" params={params} options={['low', 'medium', 'high', 'critical'].map((s) => [s, s])} />
        <Choice label="State" name="state" params={params} options={['open', 'acknowledged', 'resolved', 'closed'].map((s) => [s, s])} />
        <label>
          From
          <input type="datetime-local" name="from" value={toLocalInput(params.get('from'))} />
        </label>
        <label>
          To
          <input type="datetime-local" name="to" value={toLocalInput(params.get('to'))} />
        </label>
        <button type="submit" class="primary">
          Search
        </button>
      </form>
      {error && <div class="error">{error}</div>}
      {!error && !loading && items.length === 0 && <p class="empty">No incidents match.</p>}
      <ul class="incidents" aria-busy={loading}>
        {items.map((i) => (
          <IncidentCard key={i.id} incident={i} onChange={(u) => setItems((cur) => cur.map((x) => (x.id === u.id ? { ...x, ...u } : x)))} />
        ))}
      </ul>
      <div class="pager">
        <button disabled={cursors.length === 0} onClick={() => page(cursors[cursors.length - 1] || null, true)}>
          ← Newer
        </button>
        <button disabled={!next} onClick={() => page(next)}>
          Older →
        </button>
      </div>
    </section>
  );
}
