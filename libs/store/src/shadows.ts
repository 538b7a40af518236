import type { ShadowDifference, ShadowDifferencePage, ShadowSummary } from '@vigil/contracts';
import type { SqlRunner } from './database.ts';
import { BadCursorError, type ShadowRange } from './store.ts';

/*
 * A shadow query's windows against those of the query it shadows, from the window audit: a
 * window compares when both asked it on the same camera with the same capture-time start and
 * end (the same frames: queries of one window group) and both got an answer (status ok).
 */

const JOIN = `FROM audit_windows s JOIN audit_windows t
  ON t.camera = s.camera AND t.query = $2 AND t.window_start = s.window_start AND t.window_end = s.window_end AND t.status = 'ok'
  WHERE s.query = $1 AND s.status = 'ok'`;

/** Adds the range filter on the shadow's window start (partition pruning) to `where`. */
function range(r: ShadowRange, params: unknown[]): string {
  let sql = '';
  if (r.from) sql += ` AND s.window_start >= $${params.push(r.from)}`;
  if (r.to) sql += ` AND s.window_start < $${params.push(r.to)}`;
  return sql;
}

/** Agreement of one shadow query with the query it shadows, and its would-be incidents. */
export async function shadowSummary(db: SqlRunner, shadow: { query: string; shadows: string }, r: ShadowRange): Promise<ShadowSummary> {
  const params: unknown[] = [shadow.query, shadow.shadows];
  const row = (
    await db.query<Record<string, string | number>>(
      `SELECT count(*) AS compared, count(*) FILTER (WHERE s.verdict = t.verdict) AS agreed,
         count(*) FILTER (WHERE s.verdict) AS shadow_yes, count(*) FILTER (WHERE t.verdict) AS shadowed_yes
       ${JOIN}${range(r, params)}`,
      params,
    )
  ).rows[0]!;
  const ip: unknown[] = [shadow.query];
  let iw = '';
  if (r.from) iw += ` AND ended_at >= $${ip.push(r.from)}`;
  if (r.to) iw += ` AND started_at < $${ip.push(r.to)}`;
  const incidents = (await db.query<{ n: string | number }>(`SELECT count(*) AS n FROM incidents WHERE shadow AND query = $1${iw}`, ip)).rows[0]!;
  const n = (k: string) => Number(row[k] ?? 0);
  const compared = n('compared');
  return {
    query: shadow.query,
    shadows: shadow.shadows,
    compared,
    agreed: n('agreed'),
    agreement: compared > 0 ? n('agreed') / compared : null,
    shadow_yes: n('shadow_yes'),
    shadow_no: compared - n('shadow_yes'),
    shadowed_yes: n('shadowed_yes'),
    shadowed_no: compared - n('shadowed_yes'),
    shadow_incidents: Number(incidents.n),
  };
}

/** Compared windows whose verdicts differ, oldest first by start (then camera), keyset paged. */
export async function shadowDifferences(db: SqlRunner, shadow: { query: string; shadows: string }, r: ShadowRange & { limit: number; cursor?: string }): Promise<ShadowDifferencePage> {
  const params: unknown[] = [shadow.query, shadow.shadows];
  let where = range(r, params);
  if (r.cursor) {
    const c = decodeShadowCursor(r.cursor);
    where += ` AND (s.window_start, s.camera) > ($${params.push(new Date(c.t))}, $${params.push(c.camera)})`;
  }
  const rows = (
    await db.query<Record<string, unknown>>(
      `SELECT s.camera, s.window_start, s.window_end, s.id AS s_id, s.verdict AS s_verdict, s.answer AS s_answer,
         t.id AS t_id, t.verdict AS t_verdict, t.answer AS t_answer
       ${JOIN} AND s.verdict <> t.verdict${where}
       ORDER BY s.window_start, s.camera LIMIT $${params.push(r.limit + 1)}`,
      params,
    )
  ).rows;
  const items: ShadowDifference[] = rows.slice(0, r.limit).map((x) => ({
    camera: String(x.camera),
    start: new Date(x.window_start as string | Date).toISOString(),
    end: new Date(x.window_end as string | Date).toISOString(),
    shadow: { id: String(x.s_id), verdict: x.s_verdict === true, answer: String(x.s_answer) },
    shadowed: { id: String(x.t_id), verdict: x.t_verdict === true, answer: String(x.t_answer) },
  }));
  const last = items[items.length - 1];
  return { items, next_cursor: rows.length > r.limit && last ? Buffer.from(JSON.stringify({ t: last.start, camera: last.camera })).toString('base64url') : null };
}

function decodeShadowCursor(c: string): { t: string; camera: string } {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as { t?: unknown; camera?: unknown };
    if (typeof v.t === 'string' && typeof v.camera === 'string' && v.camera.length <= 128 && !Number.isNaN(Date.parse(v.t))) return { t: v.t, camera: v.camera };
  } catch {
    /* fall through */
  }
  throw new BadCursorError();
}
