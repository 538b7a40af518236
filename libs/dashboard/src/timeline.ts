/**
 * What the timeline view loads and how it places things: the range from the route, every
 * window in it (paged by cursor up to a cap), and positions on the time axis. No DOM here.
 */
import { listWindows, searchIncidents, type Incident, type WindowItem } from './api.ts';

export const HOUR = 3_600_000;
/** Pages of 500 read at most per range (10,000 items, ~5.5 h of one query every 2 s). */
export const MAX_PAGES = 20;

export interface Range {
  from: number;
  to: number;
  /** The moment asked about ("why not at 02:10?"), drawn as a line; null when none. */
  at: number | null;
}

const parse = (v: string | null) => (v ? Date.parse(v) : NaN);

/** `from`/`to` when both are given and ordered, else an hour around `at`, else the last hour. */
export function rangeOf(params: URLSearchParams, now = Date.now()): Range {
  const [from, to, at] = [parse(params.get('from')), parse(params.get('to')), parse(params.get('at'))];
  const atOrNull = Number.isFinite(at) ? at : null;
  if (Number.isFinite(from) && Number.isFinite(to) && from < to) return { from, to, at: atOrNull };
  if (atOrNull !== null) return { from: atOrNull - HOUR / 2, to: atOrNull + HOUR / 2, at: atOrNull };
  return { from: now - HOUR, to: now, at: null };
}

/** The hash of a timeline link, e.g. from an incident: the hour around its start. */
export function timelineHref(camera: string, query: string, at?: string): string {
  const p = new URLSearchParams({ camera, query });
  if (at) p.set('at', at);
  return `#/timeline?${p.toString()}`;
}

export interface TimelineData {
  items: WindowItem[];
  incidents: Incident[];
  /** True when the cap stopped the paging before the range was covered. */
  more: boolean;
  /** Where the next page would start (for the "load more" button). */
  cursor: string | null;
}

/** Every window of the range, oldest first, following `next_cursor` up to `maxPages`. */
export async function loadWindows(camera: string, query: string, r: Range, maxPages = MAX_PAGES, cursor: string | null = null): Promise<Omit<TimelineData, 'incidents'>> {
  const items: WindowItem[] = [];
  for (let n = 0; n < maxPages; n++) {
    const p = new URLSearchParams({ camera, query, from: new Date(r.from).toISOString(), to: new Date(r.to).toISOString(), limit: '500' });
    if (cursor) p.set('cursor', cursor);
    const page = await listWindows(p);
    items.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) return { items, more: false, cursor: null };
  }
  return { items, more: true, cursor };
}

/** The windows and the incidents of one camera and query over the range. */
export async function loadTimeline(camera: string, query: string, r: Range): Promise<TimelineData> {
  const p = new URLSearchParams({ camera, query, from: new Date(r.from - HOUR).toISOString(), to: new Date(r.to).toISOString(), limit: '200', sort: 'oldest' });
  const [windows, incidents] = await Promise.all([loadWindows(camera, query, r), searchIncidents(p)]);
  // An incident that started up to an hour before the range may still be open in it.
  return { ...windows, incidents: incidents.items.filter((i) => Date.parse(i.ended_at ?? i.started_at) >= r.from) };
}

/** Left edge and width in percent of the axis, clamped to it; at least `min` percent wide. */
export function place(r: Range, start: number, end: number, min = 0.15): { left: number; width: number } {
  const span = r.to - r.from;
  const a = Math.max(r.from, Math.min(r.to, start));
  const b = Math.max(r.from, Math.min(r.to, end));
  return { left: ((a - r.from) / span) * 100, width: Math.max(min, ((b - a) / span) * 100) };
}

const STEPS = [10_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, HOUR, 2 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR];

/** Tick times on round local minutes/hours, at most about a dozen over the range. */
export function ticks(r: Range): number[] {
  const step = STEPS.find((s) => (r.to - r.from) / s <= 12) ?? 24 * HOUR;
  const offset = new Date(r.from).getTimezoneOffset() * 60_000;
  const out: number[] = [];
  for (let t = Math.ceil((r.from - offset) / step) * step + offset; t <= r.to; t += step) out.push(t);
  return out;
}

/** The incident a window belongs to: the one it opened, confirmed, or whose span it falls in. */
export function incidentOf(w: WindowItem, incidents: Incident[]): Incident | undefined {
  if (w.kind !== 'asked') return undefined;
  const byId = incidents.find((i) => i.findingId === w.id || i.confirmed_by?.includes(w.id));
  if (byId || !w.verdict) return byId;
  const t = Date.parse(w.start);
  return incidents.find((i) => Date.parse(i.started_at) <= t && t <= Date.parse(i.ended_at ?? i.started_at));
}

/** What each skip reason means, in an operator's words. */
export const SKIP_REASONS: Record<string, string> = {
  schedule: 'outside the query’s schedule',
  too_few_frames: 'too few frames arrived for the window',
  undecodable: 'the window’s video could not be decoded',
  budget_camera: 'the camera’s token budget was spent',
  budget_site: 'the site’s token budget was spent',
  no_model: 'no model server was connected',
  superseded: 'a newer window was asked instead (the model was busy)',
  still: 'trigger: nothing moved',
  ongoing: 'trigger: the event was already ongoing',
  no_analytics: 'trigger: no analytics event',
};

/**
 * Display end of each asked window: windows overlap (4 s long every 2 s), so each is drawn
 * up to the next one's start — blocks tile the axis and each stays clickable.
 */
export function tiledEnds(items: WindowItem[]): Map<string, number> {
  const asked = items.filter((i) => i.kind === 'asked').sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  const out = new Map<string, number>();
  asked.forEach((w, n) => {
    const next = asked[n + 1];
    out.set(w.id, Math.min(Date.parse(w.end), next ? Math.max(Date.parse(next.start), Date.parse(w.start)) : Infinity));
  });
  return out;
}

/** The range zoomed by `factor` (0.5: in) around `centre`, as timeline URL parameters. */
export function zoomed(r: Range, factor: number, centre = (r.from + r.to) / 2): { from: string; to: string } {
  const half = Math.max(30_000, ((r.to - r.from) * factor) / 2);
  return { from: new Date(centre - half).toISOString(), to: new Date(centre + half).toISOString() };
}
