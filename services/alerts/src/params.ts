import { AskBodySchema, LabelBodySchema, MAX_ASK_QUESTION, WindowStatusSchema, type IncidentState, type LabelBody } from '@vigil/contracts';
import { MODEL_METRICS, type IncidentSearch, type LabelSearch, type ShadowRange, type WindowSearch, type ModelStatsRequest, type StatsRequest, type UptimeRequest } from '@vigil/store';

/** A request parameter that is wrong: becomes a 400 naming it. */
export class BadParam extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(`${param}: ${message}`);
    this.name = 'BadParam';
  }
}

/** Query parameters of `GET /api/incidents` (the OpenAPI test checks these are documented). */
export const SEARCH_PARAMS = ['camera', 'site', 'query', 'severity', 'state', 'from', 'to', 'q', 'limit', 'cursor', 'sort'] as const;
/** Query parameters of `GET /api/windows`. */
export const WINDOW_PARAMS = ['camera', 'query', 'from', 'to', 'verdict', 'status', 'q', 'limit', 'cursor'] as const;
/** Query parameters of `GET /api/stats/incidents`. */
export const STATS_PARAMS = ['bucket', 'by', 'from', 'to', 'camera', 'query'] as const;
export const MODEL_STATS_PARAMS = ['metric', 'bucket', 'by', 'from', 'to', 'camera', 'query'] as const;
export const UPTIME_PARAMS = ['bucket', 'from', 'to', 'camera'] as const;

const SEVERITIES = ['low', 'medium', 'high', 'critical'];
const STATES: IncidentState[] = ['open', 'closed', 'acknowledged', 'resolved'];
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Reads single-valued parameters, rejecting unknown and repeated ones. */
function reader(params: URLSearchParams, known: readonly string[]) {
  for (const key of params.keys()) if (!known.includes(key)) throw new BadParam(key, `unknown parameter (known: ${known.join(', ')})`);
  const one = (k: string) => {
    const all = params.getAll(k);
    if (all.length > 1) throw new BadParam(k, 'given more than once');
    return all[0] === '' ? undefined : all[0];
  };
  const id = (k: string) => {
    const v = one(k);
    if (v !== undefined && !ID.test(v)) throw new BadParam(k, `expected an id of letters, digits, "-", "_" or ".", got ${JSON.stringify(v.slice(0, 80))}`);
    return v;
  };
  const time = (k: string) => {
    const v = one(k);
    if (v === undefined) return undefined;
    if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) || Number.isNaN(Date.parse(v))) {
      throw new BadParam(k, `expected an ISO 8601 time like 2026-01-31T08:00:00Z, got ${JSON.stringify(v.slice(0, 80))}`);
    }
    return new Date(v);
  };
  const oneOf = <T extends string>(k: string, allowed: readonly T[], fallback: T): T => {
    const v = one(k) ?? fallback;
    if (!allowed.includes(v as T)) throw new BadParam(k, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(v.slice(0, 80))}`);
    return v as T;
  };
  const list = <T extends string>(k: string, allowed: readonly T[]): T[] | undefined => {
    const v = one(k);
    if (v === undefined) return undefined;
    const items = v.split(',').map((s) => s.trim());
    for (const i of items) if (!allowed.includes(i as T)) throw new BadParam(k, `expected a comma-separated list of ${allowed.join(', ')}, got ${JSON.stringify(i.slice(0, 80))}`);
    return items as T[];
  };
  return { one, id, time, oneOf, list };
}

/** `limit`, `from`/`to`, `q` and `cursor` as both searches read them. */
function paging(r: ReturnType<typeof reader>) {
  const limitRaw = r.one('limit');
  const limit = limitRaw === undefined ? 50 : Number(limitRaw);
  if (!/^\d+$/.test(limitRaw ?? '50') || limit < 1 || limit > 500) throw new BadParam('limit', `expected an integer from 1 to 500, got ${JSON.stringify(limitRaw)}`);
  const from = r.time('from');
  const to = r.time('to');
  if (from && to && from >= to) throw new BadParam('to', 'must be after from');
  const q = r.one('q');
  if (q !== undefined && q.length > 500) throw new BadParam('q', 'at most 500 characters');
  const cursor = r.one('cursor');
  if (cursor !== undefined && (cursor.length > 512 || !/^[A-Za-z0-9_-]+$/.test(cursor))) throw new BadParam('cursor', 'not a cursor this API returned');
  return { limit, from, to, q, cursor };
}

/** Validates `GET /api/windows` query parameters. */
export function parseWindowSearch(params: URLSearchParams): WindowSearch {
  const r = reader(params, WINDOW_PARAMS);
  const verdict = r.one('verdict');
  if (verdict !== undefined && verdict !== 'true' && verdict !== 'false') throw new BadParam('verdict', `expected true or false, got ${JSON.stringify(verdict.slice(0, 80))}`);
  return {
    camera: r.id('camera'),
    query: r.id('query'),
    verdict: verdict === undefined ? undefined : verdict === 'true',
    status: r.list('status', WindowStatusSchema.options),
    ...paging(r),
  };
}

/** Validates `GET /api/incidents` query parameters. */
export function parseIncidentSearch(params: URLSearchParams): IncidentSearch {
  const r = reader(params, SEARCH_PARAMS);
  const { limit, from, to, q, cursor } = paging(r);
  return {
    camera: r.id('camera'),
    site: r.one('site'),
    query: r.id('query'),
    severity: r.list('severity', SEVERITIES),
    state: r.list('state', STATES),
    from,
    to,
    q,
    limit,
    cursor,
    sort: r.oneOf('sort', ['newest', 'oldest'] as const, 'newest'),
  };
}

const BUCKET_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
const MAX_BUCKETS = 2000;

/** Validates `GET /api/stats/incidents`; the default range is the last 48 buckets. */
export function parseStats(params: URLSearchParams, now = new Date()): StatsRequest {
  const r = reader(params, STATS_PARAMS);
  const bucket = r.oneOf('bucket', ['minute', 'hour', 'day'] as const, 'hour');
  const by = r.oneOf('by', ['camera', 'query', 'severity', 'site'] as const, 'camera');
  return { bucket, by, ...range(r, bucket, now), camera: r.id('camera'), query: r.id('query') };
}

/** A time range of at most MAX_BUCKETS buckets, by default the last 48 buckets. */
function range(r: ReturnType<typeof reader>, bucket: keyof typeof BUCKET_MS, now: Date): { from: Date; to: Date } {
  const to = r.time('to') ?? now;
  const from = r.time('from') ?? new Date(to.getTime() - 48 * BUCKET_MS[bucket]);
  if (from >= to) throw new BadParam('to', 'must be after from');
  if ((to.getTime() - from.getTime()) / BUCKET_MS[bucket] > MAX_BUCKETS) throw new BadParam('from', `the range holds more than ${MAX_BUCKETS} ${bucket} buckets; narrow it or use a larger bucket`);
  return { from, to };
}

/** `GET /api/stats/model`: usage is kept per hour, so buckets are hours or days. */
export function parseModelStats(params: URLSearchParams, now = new Date()): ModelStatsRequest {
  const r = reader(params, MODEL_STATS_PARAMS);
  const metric = r.oneOf('metric', MODEL_METRICS, 'latency_ms');
  const bucket = r.oneOf('bucket', ['hour', 'day'] as const, 'hour');
  const by = r.oneOf('by', ['query', 'camera'] as const, 'query');
  return { metric, bucket, by, ...range(r, bucket, now), camera: r.id('camera'), query: r.id('query') };
}

/** `GET /api/stats/uptime`. */
export function parseUptime(params: URLSearchParams, now = new Date()): UptimeRequest {
  const r = reader(params, UPTIME_PARAMS);
  const bucket = r.oneOf('bucket', ['hour', 'day'] as const, 'hour');
  return { bucket, ...range(r, bucket, now), camera: r.id('camera') };
}

/** Body of `POST /api/incidents/:id/ack` and `/resolve`. */
export function parseActionBody(body: unknown): { note: string; by?: string } {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b !== 'object' || Array.isArray(b)) throw new BadParam('body', 'expected a JSON object like {"note": "…"}');
  for (const k of Object.keys(b)) if (k !== 'note' && k !== 'by') throw new BadParam(k, 'unknown field (known: note, by)');
  if (b.note !== undefined && (typeof b.note !== 'string' || b.note.length > 2000)) throw new BadParam('note', 'expected a string of at most 2000 characters');
  if (b.by !== undefined && (typeof b.by !== 'string' || b.by.length < 1 || b.by.length > 100)) throw new BadParam('by', 'expected a name of 1 to 100 characters');
  return { note: (b.note as string | undefined) ?? '', by: b.by as string | undefined };
}

/** Body of `POST /api/ask`: `window` is a duration like "8s" (or milliseconds), 1 s to 60 s. */
export function parseAskBody(body: unknown, cameras: Set<string>): { camera: string; question: string; windowMs: number } {
  const hint: Record<string, string> = {
    body: 'expected a JSON object like {"camera": "dock-1", "question": "…", "window": "8s"}',
    camera: `expected a configured camera id (known: ${[...cameras].join(', ')})`,
    question: `expected a question of 1 to ${MAX_ASK_QUESTION} characters`,
    window: 'expected a duration from "1s" to "60s"',
  };
  // AskBodySchema decides which field is wrong; the hints say what each should be.
  const r = AskBodySchema.safeParse(body ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') throw new BadParam(issue.keys[0] ?? 'body', 'unknown field (known: camera, question, window)');
    const field = String(issue.path[0] ?? 'body');
    throw new BadParam(field, hint[field] ?? hint.body!);
  }
  const { camera, question, window } = r.data;
  if (!cameras.has(camera)) throw new BadParam('camera', hint.camera!);
  const m = typeof window === 'string' ? /^(\d+(?:\.\d+)?)(ms|s)$/.exec(window) : undefined;
  const windowMs = window === undefined ? 8000 : typeof window === 'number' ? window : m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : NaN;
  if (!(windowMs >= 1000 && windowMs <= 60_000)) throw new BadParam('window', hint.window!);
  return { camera, question, windowMs };
}

/** Query parameters of `GET /api/labels` and `GET /api/labels/suite`. */
export const LABEL_PARAMS = ['camera', 'query', 'from', 'to'] as const;

/** Validates `GET /api/labels` (and the suite export): labels overlapping [from, to), at most 1000. */
export function parseLabelSearch(params: URLSearchParams): LabelSearch {
  const r = reader(params, LABEL_PARAMS);
  const from = r.time('from');
  const to = r.time('to');
  if (from && to && from >= to) throw new BadParam('to', 'must be after from');
  return { camera: r.id('camera'), query: r.id('query'), from, to, limit: 1000 };
}

/** Body of `POST /api/labels`; the first problem becomes a 400 naming its field. */
export function parseLabelBody(body: unknown): LabelBody {
  const r = LabelBodySchema.safeParse(body ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') throw new BadParam(issue.keys[0] ?? 'body', 'unknown field');
  if (issue.code === 'invalid_union' && issue.path.length === 0) throw new BadParam('kind', 'expected false_positive (with incident) or missed (with camera, query, from, to)');
  throw new BadParam(String(issue.path[0] ?? 'body'), issue.path.length ? issue.message : 'expected a JSON object like {"kind": "missed", "camera": "dock-1", "query": "forklift", "from": "…", "to": "…", "note": "…"}');
}

/** Query parameters of `GET /api/shadows` and `GET /api/shadows/{query}/differences`. */
export const SHADOW_PARAMS = ['from', 'to'] as const;
export const SHADOW_DIFF_PARAMS = ['from', 'to', 'limit', 'cursor'] as const;

/** Validates `GET /api/shadows` query parameters: windows starting in [from, to). */
export function parseShadowRange(params: URLSearchParams): ShadowRange {
  const { from, to } = paging(reader(params, SHADOW_PARAMS));
  return { from, to };
}

/** Validates `GET /api/shadows/{query}/differences` query parameters. */
export function parseShadowDifferences(params: URLSearchParams): ShadowRange & { limit: number; cursor?: string } {
  const { from, to, limit, cursor } = paging(reader(params, SHADOW_DIFF_PARAMS));
  return { from, to, limit, cursor };
}
