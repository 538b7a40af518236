import { useEffect, useMemo, useState } from 'preact/hooks';
import { listCameras, listLabels, listQueries, type Camera, type Incident, type Label, type Query, type WindowItem } from '../api.ts';
import { LabelPanel } from '../components/label-panel.tsx';
import { navigate, type Route } from '../router.ts';
import { fromLocalInput, time, toLocalInput } from '../format.ts';
import { HOUR, incidentOf, loadTimeline, loadWindows, place, rangeOf, SKIP_REASONS, ticks, tiledEnds, zoomed, type Range, type TimelineData } from '../timeline.ts';
import { AskedDetail, SkippedDetail, verdictClass } from '../components/window-detail.tsx';

/**
 * "Why didn't it fire at 02:10?": every window of one camera and query over a range —
 * asked (yes, no, error), skipped (one hatched span per run, with its reason) and incidents.
 */
export function TimelineView(props: { route: Route }) {
  const params = props.route.params;
  const [cameras, setCameras] = useState<Camera[]>([]);
  const [queries, setQueries] = useState<Query[]>([]);
  const [data, setData] = useState<TimelineData | null>(null);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  const [labels, setLabels] = useState<Label[]>([]);
  useEffect(() => {
    listCameras().then(setCameras, () => undefined);
    listQueries().then(setQueries, () => undefined);
  }, []);

  // Without a camera and query in the URL, the first query on its first camera.
  const query = params.get('query') ?? queries[0]?.id ?? '';
  const camera = params.get('camera') ?? queries.find((q) => q.id === query)?.cameras[0] ?? '';
  const key = params.toString();
  const range = useMemo(() => rangeOf(params), [key]);
  useEffect(() => {
    if (!camera || !query) return;
    setLoading(true);
    setSelected(null);
    loadTimeline(camera, query, range)
      .then((d) => {
        setData(d);
        setError('');
      })
      .catch((e: Error) => setError(e.message))
      .finally(() => setLoading(false));
    listLabels(new URLSearchParams({ camera, query, from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString() })).then(setLabels, () => undefined);
  }, [key, camera, query]);

  const items = data?.items ?? [];
  const incidents = data?.incidents ?? [];
  const pick = items.find((i) => i.id === selected);
  const more = async () => {
    if (!data?.cursor) return;
    try {
      const next = await loadWindows(camera, query, range, undefined, data.cursor);
      setData({ ...data, items: [...data.items, ...next.items], more: next.more, cursor: next.cursor });
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const submit = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    const p = new URLSearchParams();
    for (const f of ['camera', 'query']) if (form.get(f)) p.set(f, String(form.get(f)));
    const [from, to] = [fromLocalInput(String(form.get('from') ?? '')), fromLocalInput(String(form.get('to') ?? ''))];
    if (from && to) [p.set('from', from), p.set('to', to)];
    else if (from) p.set('at', new Date(Date.parse(from) + HOUR / 2).toISOString());
    navigate('/timeline', p);
  };
  const zoom = (factor: number) => {
    const centre = pick ? Date.parse(pick.start) : (range.at ?? undefined);
    navigate('/timeline', new URLSearchParams({ camera, query, ...(range.at !== null ? { at: new Date(range.at).toISOString() } : {}), ...zoomed(range, factor, centre) }));
  };
  const last = (ms: number) => navigate('/timeline', new URLSearchParams({ camera, query, from: new Date(Date.now() - ms).toISOString(), to: new Date().toISOString() }));

  const cameraOptions = queries.find((q) => q.id === query)?.cameras ?? cameras.map((c) => c.id);
  return (
    <section aria-labelledby="tl-title">
      <h1 id="tl-title">Timeline</h1>
      <form class="filters" onSubmit={submit}>
        <label>
          Query
          <select name="query" value={query}>
            {queries.map((q) => (
              <option value={q.id}>{q.id}</option>
            ))}
          </select>
        </label>
        <label>
          Camera
          <select name="camera" value={camera}>
            {cameraOptions.map((c) => (
              <option value={c}>{cameras.find((x) => x.id === c)?.name ?? c}</option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="datetime-local" name="from" value={toLocalInput(new Date(range.from).toISOString())} />
        </label>
        <label>
          To
          <input type="datetime-local" name="to" value={toLocalInput(new Date(range.to).toISOString())} />
        </label>
        <button type="submit" class="primary">
          Show
        </button>
        <button type="button" onClick={() => last(HOUR)}>
          Last hour
        </button>
        <button type="button" onClick={() => last(24 * HOUR)}>
          Last 24 h
        </button>
        <button type="button" onClick={() => zoom(0.25)} title="Zoom in around the selected window (or the middle)">
          Zoom in
        </button>
        <button type="button" onClick={() => zoom(4)}>
          Zoom out
        </button>
      </form>
      {error && <div class="error">{error}</div>}
      {!camera || !query ? (
        <p class="empty">No standing query to show.</p>
      ) : (
        <>
          <Summary items={items} incidents={incidents} range={range} loading={loading} />
          {data?.more && (
            <div class="notice" role="status" data-more>
              Showing the first {items.length.toLocaleString()} windows and runs; the range holds more. <button onClick={() => void more()}>Load more</button> or narrow the range.
            </div>
          )}
          <Tracks range={range} items={items} incidents={incidents} labels={labels} selected={selected} onSelect={setSelected} />
          <div class="legend">
            <span style="--c:var(--high)">yes, incident</span>
            <span style="--c:var(--medium)">yes, no incident</span>
            <span style="--c:var(--online)">no</span>
            <span style="--c:var(--low)">truncated</span>
            <span style="--c:#000">error</span>
            <span style="--c:repeating-linear-gradient(45deg,var(--muted) 0 2px,transparent 2px 5px)">not asked</span>
          </div>
          {pick?.kind === 'asked' && <AskedDetail w={pick} incident={incidentOf(pick, incidents)} />}
          {pick?.kind === 'skipped' && <SkippedDetail run={pick} />}
          <LabelPanel
            camera={camera}
            query={query}
            labels={labels}
            span={pick ? { from: Date.parse(pick.start), to: Date.parse(pick.end) } : range.at !== null ? { from: range.at - 60_000, to: range.at + 60_000 } : { from: range.to - 120_000, to: range.to }}
            onAdded={(l) => setLabels((cur) => [...cur, l])}
            onDeleted={(id) => setLabels((cur) => cur.filter((l) => l.id !== id))}
          />
          {!pick && items.length > 0 && <p class="muted">Select a window or a skipped span to see what the model said, or why it was not asked.</p>}
        </>
      )}
    </section>
  );
}

const n = (k: number, word: string) => `${k} ${word}${k === 1 ? '' : 's'}`;

function Summary(props: { items: WindowItem[]; incidents: Incident[]; range: Range; loading: boolean }) {
  let yes = 0;
  let no = 0;
  let errors = 0;
  let skipped = 0;
  let runs = 0;
  for (const i of props.items) {
    if (i.kind === 'skipped') [(skipped += i.count), runs++];
    else if (i.status === 'error') errors++;
    else if (i.verdict) yes++;
    else no++;
  }
  return (
    <p class="muted" aria-busy={props.loading} data-summary>
      {time(props.range.from)} – {time(props.range.to)}: {props.loading ? 'loading…' : `${yes} yes, ${no} no, ${n(errors, 'error')}; ${n(skipped, 'window')} not asked in ${n(runs, 'run')}; ${n(props.incidents.length, 'incident')}`}
      {props.range.at !== null && ` · the line marks ${time(props.range.at)}`}
    </p>
  );
}

/** Four lanes on one time axis: operators' labels, incidents, asked windows, skipped runs. */
function Tracks(props: { range: Range; items: WindowItem[]; incidents: Incident[]; labels: Label[]; selected: string | null; onSelect: (id: string) => void }) {
  const { range: r, items, incidents } = props;
  const at = r.at !== null && r.at >= r.from && r.at <= r.to ? <div class="at" style={`left:${place(r, r.at, r.at).left}%`} /> : null;
  const ends = useMemo(() => tiledEnds(items), [items]);
  // Asked windows tile the axis exactly (no minimum width, so none covers its neighbour).
  const pos = (a: string, b: string | number, min?: number) => {
    const p = place(r, Date.parse(a), typeof b === 'number' ? b : Date.parse(b), min);
    return `left:${p.left}%;width:${p.width}%`;
  };
  return (
    <div class="timeline">
      <span class="lane-label">Labels</span>
      <div class="track labels-lane">
        {props.labels.map((l) => (
          <span class={`label-mark ${l.kind}`} data-label={l.id} style={pos(l.from, l.to, 0.5)} title={`${l.kind === 'missed' ? 'Missed' : 'False positive'} (${l.by}, ${time(l.at)})${l.note ? `: ${l.note}` : ''}`}>
            {l.kind === 'missed' ? 'missed' : 'false +'}
          </span>
        ))}
        {at}
      </div>
      <span class="lane-label">Incidents</span>
      <div class="track incidents-lane">
        {incidents.map((i) => (
          <a class={`inc sev-${i.severity}`} data-incident={i.id} href={`#/incidents/${encodeURIComponent(i.id)}`} style={pos(i.started_at, i.ended_at)} title={`${i.severity} incident ${time(i.started_at)} – ${time(i.ended_at)}: ${i.answer}`} aria-label={`Incident at ${time(i.started_at)}`} />
        ))}
        {at}
      </div>
      <span class="lane-label">Asked</span>
      <div class="track">
        {items.map((w) =>
          w.kind === 'asked' ? (
            <button
              class={`win ${verdictClass(w)}${w.status === 'truncated' ? ' truncated' : ''}${w.verdict && !incidentOf(w, incidents) ? ' quiet' : ''}`}
              data-window={w.id}
              data-verdict={String(w.verdict)}
              aria-pressed={props.selected === w.id}
              style={pos(w.start, ends.get(w.id) ?? w.end, 0)}
              title={`${time(w.start)}: ${w.status === 'error' ? `error: ${w.error ?? ''}` : w.answer}`}
              aria-label={`Window ${time(w.start)}: ${w.status === 'error' ? 'error' : w.verdict ? 'yes' : 'no'}`}
              onClick={() => props.onSelect(w.id)}
            />
          ) : null,
        )}
        {at}
      </div>
      <span class="lane-label">Not asked</span>
      <div class="track">
        {items.map((s) =>
          s.kind === 'skipped' ? (
            <button class="skip" data-run={s.id} data-reason={s.reason} aria-pressed={props.selected === s.id} style={pos(s.start, s.end)} title={`${s.count} windows not asked: ${s.reason} (${SKIP_REASONS[s.reason] ?? ''})`} onClick={() => props.onSelect(s.id)}>
              <span>
                {s.reason} ×{s.count}
              </span>
            </button>
          ) : null,
        )}
        {at}
      </div>
      <span />
      <div class="axis" aria-hidden="true">
        {ticks(r).map((t) => (
          <span style={`left:${place(r, t, t).left}%`}>{new Date(t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', ...(r.to - r.from > 24 * HOUR ? { day: 'numeric', month: 'short' } : {}) })}</span>
        ))}
      </div>
    </div>
  );
}
