import type { AskedWindow, Finding, SkippedRun, SkipRun, WindowItem, WindowPage } from '@vigil/contracts';
import type { SqlDatabase, SqlRunner } from './database.ts';
import { BadCursorError, type WindowSearch } from './store.ts';

const DAY_MS = 86_400_000;
/** The longest window a query can have is far below this: it bounds the partitions a range search reads. */
const MAX_WINDOW_MS = DAY_MS;
const PARTITION = /^audit_windows_(\d{4})(\d{2})(\d{2})$/;

/** `audit_windows_20260501`: the partition holding windows that start on that UTC day. */
export const partitionName = (dayStartMs: number) => `audit_windows_${new Date(dayStartMs).toISOString().slice(0, 10).replaceAll('-', '')}`;
const dayOf = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;
const ms = (v: unknown) => (v instanceof Date ? v.getTime() : Number(v));

/** Partitions are created and dropped under one lock, so replicas never race on DDL. */
const lockPartitions = (tx: SqlRunner) => tx.query("SELECT pg_advisory_xact_lock(hashtext('audit/partitions'))");

/**
 * The window audit's tables (migration 007): asked windows in daily partitions, skipped ones as
 * merged runs. Inserts are idempotent on the finding id; a run merges as a union of windows,
 * so a replayed or resent run changes nothing.
 */
export class WindowAuditTables {
  /** Days whose partition this process knows exists (another replica's retention may drop one: see record). */
  private readonly days = new Set<number>();

  constructor(private readonly db: SqlDatabase) {}

  /** Stores findings as asked windows; returns how many were new. */
  async record(findings: Finding[]): Promise<number> {
    if (findings.length === 0) return 0;
    await this.ensureDays(findings.map((f) => dayOf(Math.round(f.windowStart))));
    try {
      return await this.insert(findings);
    } catch (e) {
      // A partition dropped under us (another replica's retention, a clock apart): recreate once.
      if (!/no partition of relation/.test((e as Error).message)) throw e;
      this.days.clear();
      await this.ensureDays(findings.map((f) => dayOf(Math.round(f.windowStart))));
      return this.insert(findings);
    }
  }

  private async insert(findings: Finding[]): Promise<number> {
    const col = <T>(fn: (f: Finding) => T) => findings.map(fn);
    const res = await this.db.query(
      `INSERT INTO audit_windows (id, camera, query, query_version, window_start, window_end, status, verdict, answer, reasoning, error, latency_ms, prompt_tokens, completion_tokens, frames, model)
       SELECT id, c, q, v, to_timestamp(s / 1000.0), to_timestamp(e / 1000.0), st, vd, a, r, er, l, pt, ct, fr, m
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::text[], $8::bool[], $9::text[], $10::text[], $11::text[], $12::int[], $13::int[], $14::int[], $15::int[], $16::text[])
         AS x(id, c, q, v, s, e, st, vd, a, r, er, l, pt, ct, fr, m)
       ON CONFLICT (window_start, id) DO NOTHING RETURNING 1`,
      [
        col((f) => f.id),
        col((f) => f.cameraId),
        col((f) => f.queryId),
        col((f) => f.queryVersion ?? null),
        col((f) => Math.round(f.windowStart)),
        col((f) => Math.round(f.windowEnd)),
        col((f) => f.status),
        col((f) => f.verdict),
        col((f) => f.answer),
        col((f) => f.reasoning),
        col((f) => f.error ?? f.verdictError ?? null),
        col((f) => Math.round(f.latencyMs)),
        col((f) => f.usage.promptTokens),
        col((f) => f.usage.completionTokens),
        col((f) => f.frameCount),
        col((f) => f.model.id),
      ],
    );
    return res.rows.length;
  }

  private async ensureDays(days: number[]): Promise<void> {
    const missing = [...new Set(days)].filter((d) => !this.days.has(d));
    if (missing.length === 0) return;
    await this.db.transaction(async (tx) => {
      await lockPartitions(tx);
      for (const d of missing) {
        const from = new Date(d).toISOString();
        const to = new Date(d + DAY_MS).toISOString();
        await tx.query(`CREATE TABLE IF NOT EXISTS ${partitionName(d)} PARTITION OF audit_windows FOR VALUES FROM ('${from}') TO ('${to}')`);
      }
    });
    for (const d of missing) this.days.add(d);
  }

  /** Merges skip runs of one (camera, query) into the stored ones, in one transaction. */
  async recordSkips(camera: string, query: string, runs: SkipRun[]): Promise<void> {
    if (runs.length === 0) return;
    await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`audit/skips/${camera}/${query}`]);
      for (const run of runs) await mergeRun(tx, camera, query, run);
    });
  }

  /** Drops the partitions wholly before `cutoff` and the skip runs that ended before it. */
  async expire(cutoff: Date): Promise<{ partitions: string[]; skips: number }> {
    const dropped = await this.db.transaction(async (tx) => {
      await lockPartitions(tx);
      const parts = await tx.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'audit_windows'`,
      );
      const out: string[] = [];
      for (const { name } of parts.rows) {
        const m = PARTITION.exec(name);
        if (!m || Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) + DAY_MS > cutoff.getTime()) continue;
        await tx.query(`DROP TABLE IF EXISTS ${name}`);
        out.push(name);
      }
      return out;
    });
    for (const name of dropped) for (const d of this.days) if (partitionName(d) === name) this.days.delete(d);
    const skips = await this.db.query('DELETE FROM audit_skips WHERE last_end < $1 RETURNING 1', [cutoff]);
    return { partitions: dropped.sort(), skips: skips.rows.length };
  }

  async search(s: WindowSearch): Promise<WindowPage> {
    const { sql, params } = windowSearchSql(s);
    const rows = (await this.db.query(sql, params)).rows.map(rowToItem);
    const more = rows.length > s.limit;
    const items = more ? rows.slice(0, s.limit) : rows;
    const last = items[items.length - 1];
    return { items, next_cursor: more && last ? encodeWindowCursor(last) : null };
  }
}

/**
 * A run joins every stored run of the same (camera, query, reason, step) whose windows it
 * overlaps or continues (a grid step apart at either end): the union is again gap-free, so its
 * window count follows from its first and last start.
 */
async function mergeRun(tx: SqlRunner, camera: string, query: string, run: SkipRun): Promise<void> {
  const every = run.everyMs;
  const first = Math.round(run.from);
  const lastStart = first + (run.count - 1) * every;
  const found = await tx.query<{ id: string; first: string | number; last: string | number; end: string | number }>(
    `SELECT id, round(extract(epoch FROM first_start) * 1000)::float8 AS first, round(extract(epoch FROM last_start) * 1000)::float8 AS last,
            round(extract(epoch FROM last_end) * 1000)::float8 AS end
     FROM audit_skips WHERE camera = $1 AND query = $2 AND reason = $3 AND every_ms = $4
       AND first_start <= to_timestamp($5 / 1000.0) AND last_start >= to_timestamp($6 / 1000.0)
     ORDER BY first_start, id FOR UPDATE`,
    [camera, query, run.reason, every, lastStart + every, first - every],
  );
  let from = first;
  let last = lastStart;
  let end = Math.round(run.to);
  for (const r of found.rows) {
    from = Math.min(from, Number(r.first));
    last = Math.max(last, Number(r.last));
    end = Math.max(end, Number(r.end));
  }
  const windows = Math.round((last - from) / every) + 1;
  const [keep, ...gone] = found.rows;
  if (!keep) {
    await tx.query(
      `INSERT INTO audit_skips (camera, query, reason, every_ms, first_start, last_start, last_end, windows)
       VALUES ($1, $2, $3, $4, to_timestamp($5 / 1000.0), to_timestamp($6 / 1000.0), to_timestamp($7 / 1000.0), $8)`,
      [camera, query, run.reason, every, from, last, end, windows],
    );
    return;
  }
  await tx.query('UPDATE audit_skips SET first_start = to_timestamp($2 / 1000.0), last_start = to_timestamp($3 / 1000.0), last_end = to_timestamp($4 / 1000.0), windows = $5 WHERE id = $1', [
    keep.id,
    from,
    last,
    end,
    windows,
  ]);
  if (gone.length > 0) await tx.query('DELETE FROM audit_skips WHERE id = ANY($1::bigint[])', [gone.map((r) => r.id)]);
}

/**
 * Asked windows and skip runs as one timeline, oldest first by (start, id): keyset paging is
 * stable while windows arrive. Skip runs are left out when the filter is about answers
 * (`verdict`, `q`, or a `status` without `skipped`).
 */
export function windowSearchSql(s: WindowSearch): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const asked: string[] = [];
  const skipped: string[] = [];
  const both = (sql: (start: string, end: string) => string) => {
    asked.push(sql('window_start', 'window_end'));
    skipped.push(sql('first_start', 'last_end'));
  };
  if (s.camera) {
    const c = p(s.camera);
    both(() => `camera = ${c}`);
  }
  if (s.query) {
    const q = p(s.query);
    both(() => `query = ${q}`);
  }
  if (s.from) {
    const f = p(s.from);
    both((_, end) => `${end} >= ${f}`);
    // Bounds the start too, so only the partitions that can hold such windows are read.
    asked.push(`window_start >= ${p(new Date(s.from.getTime() - MAX_WINDOW_MS))}`);
  }
  if (s.to) {
    const t = p(s.to);
    both((start) => `${start} < ${t}`);
  }
  if (s.cursor) {
    const c = decodeWindowCursor(s.cursor);
    const t = p(new Date(c.t));
    const id = p(c.id);
    asked.push(`(window_start, id) > (${t}, ${id})`);
    skipped.push(`(first_start, 's' || id::text) > (${t}, ${id})`);
  }
  const statuses = s.status?.filter((x) => x !== 'skipped');
  if (statuses && statuses.length > 0) asked.push(`status IN (${statuses.map(p).join(', ')})`);
  else if (s.status) asked.push('false');
  if (s.verdict !== undefined) asked.push(`verdict = ${p(s.verdict)}`);
  if (s.q) asked.push(`to_tsvector('english', answer || ' ' || reasoning) @@ websearch_to_tsquery('english', ${p(s.q)})`);
  const withSkips = s.verdict === undefined && !s.q && (!s.status || s.status.includes('skipped'));
  const where = (w: string[]) => (w.length ? `WHERE ${w.join(' AND ')}` : '');
  const limit = p(s.limit + 1);
  const askedSql = `SELECT 'asked' AS kind, id, camera, query, query_version, window_start AS start, window_end AS "end", status, verdict, answer, reasoning, error,
      latency_ms, prompt_tokens, completion_tokens, frames, model, NULL::text AS reason, NULL::int AS windows, NULL::int AS every_ms
    FROM audit_windows ${where(asked)} ORDER BY window_start, id LIMIT ${limit}`;
  if (!withSkips) return { sql: askedSql, params };
  const skippedSql = `SELECT 'skipped' AS kind, 's' || id::text AS id, camera, query, NULL::text, first_start, last_end, NULL::text, NULL::bool, NULL::text, NULL::text, NULL::text,
      NULL::int, NULL::int, NULL::int, NULL::int, NULL::text, reason, windows, every_ms
    FROM audit_skips ${where(skipped)} ORDER BY first_start, 's' || id::text LIMIT ${limit}`;
  return { sql: `SELECT * FROM ((${askedSql}) UNION ALL (${skippedSql})) w ORDER BY start, id LIMIT ${limit}`, params };
}

type Row = Record<string, unknown>;
const iso = (v: unknown) => new Date(ms(v)).toISOString();

function rowToItem(r: Row): WindowItem {
  const base = { id: String(r.id), camera: String(r.camera), query: String(r.query), start: iso(r.start), end: iso(r.end) };
  if (r.kind === 'skipped') {
    const run: SkippedRun = { kind: 'skipped', ...base, reason: String(r.reason), count: Number(r.windows), every_ms: Number(r.every_ms) };
    return run;
  }
  const w: AskedWindow = {
    kind: 'asked',
    ...base,
    query_version: r.query_version === null || r.query_version === undefined ? null : String(r.query_version),
    status: r.status as AskedWindow['status'],
    verdict: Boolean(r.verdict),
    answer: String(r.answer),
    reasoning: String(r.reasoning),
    error: r.error === null || r.error === undefined ? null : String(r.error),
    latency_ms: Number(r.latency_ms),
    prompt_tokens: Number(r.prompt_tokens),
    completion_tokens: Number(r.completion_tokens),
    frames: Number(r.frames),
    model: String(r.model),
  };
  return w;
}

export function encodeWindowCursor(i: WindowItem): string {
  return Buffer.from(JSON.stringify({ t: i.start, id: i.id })).toString('base64url');
}

export function decodeWindowCursor(c: string): { t: string; id: string } {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as { t?: unknown; id?: unknown };
    if (typeof v.t === 'string' && typeof v.id === 'string' && v.id.length <= 128 && !Number.isNaN(Date.parse(v.t))) return { t: v.t, id: v.id };
  } catch {
    /* fall through */
  }
  throw new BadCursorError();
}
