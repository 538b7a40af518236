import type { Finding, Incident } from '@vigil/contracts';
import { BadCursorError, type IncidentSearch } from './store.ts';

/** SQL shared by every store that speaks PostgreSQL. */
export const INCIDENT_COLUMNS =
  'id, finding_id, camera, site, query, question, answer, reasoning, severity, state, started_at, ended_at, created_at, model, latency_ms';

export function insertIncidentSql(f: Finding, extra: { severity: string; site?: string }): { sql: string; params: unknown[] } {
  return {
    sql: `INSERT INTO incidents (id, finding_id, camera, site, query, question, answer, reasoning, severity, started_at, ended_at, model, latency_ms)
          VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
          ON CONFLICT (finding_id) DO NOTHING
          RETURNING ${INCIDENT_COLUMNS}`,
    params: [
      f.id,
      f.cameraId,
      extra.site ?? null,
      f.queryId,
      f.question,
      f.answer,
      f.reasoning,
      extra.severity,
      new Date(f.windowStart),
      new Date(f.windowEnd),
      f.model.id,
      f.latencyMs,
    ],
  };
}

/** Keyset pagination over (started_at DESC, id DESC): stable while new incidents arrive. */
export function searchSql(s: IncidentSearch): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (s.camera) where.push(`camera = ${p(s.camera)}`);
  if (s.query) where.push(`query = ${p(s.query)}`);
  // A window overlaps [from, to) when it ends after `from` and starts before `to`.
  if (s.from) where.push(`ended_at >= ${p(s.from)}`);
  if (s.to) where.push(`started_at < ${p(s.to)}`);
  let tsq = '';
  if (s.q) {
    tsq = `websearch_to_tsquery('english', ${p(s.q)})`;
    where.push(`search @@ ${tsq}`);
  }
  if (s.cursor) {
    const c = decodeCursor(s.cursor);
    where.push(`(started_at, id) < (${p(new Date(c.t))}, ${p(c.id)})`);
  }
  const highlight = tsq
    ? `, ts_headline('english', answer || ' — ' || reasoning, ${tsq}, 'StartSel=<mark>,StopSel=</mark>,MaxFragments=2,MaxWords=18,MinWords=5') AS highlight`
    : '';
  const sql = `SELECT ${INCIDENT_COLUMNS}${highlight} FROM incidents
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY started_at DESC, id DESC LIMIT ${p(s.limit + 1)}`;
  return { sql, params };
}

export function encodeCursor(i: Incident): string {
  return Buffer.from(JSON.stringify({ t: i.started_at, id: i.id })).toString('base64url');
}

export function decodeCursor(c: string): { t: string; id: string } {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as { t?: unknown; id?: unknown };
    if (typeof v.t === 'string' && typeof v.id === 'string' && !Number.isNaN(Date.parse(v.t))) return { t: v.t, id: v.id };
  } catch {
    /* fall through */
  }
  throw new BadCursorError();
}

type Row = Record<string, unknown>;

/** Maps a row to the API's incident shape (ISO times). */
export function rowToIncident(r: Row): Incident {
  const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
  const inc: Incident = {
    id: String(r.id),
    findingId: String(r.finding_id),
    camera: String(r.camera),
    query: String(r.query),
    question: String(r.question),
    answer: String(r.answer),
    reasoning: String(r.reasoning),
    severity: String(r.severity),
    state: r.state as Incident['state'],
    started_at: iso(r.started_at),
    ended_at: iso(r.ended_at),
    created_at: iso(r.created_at),
    model: String(r.model),
    latency_ms: Number(r.latency_ms),
  };
  if (r.site) (inc as Incident & { site?: string }).site = String(r.site);
  if (typeof r.highlight === 'string') inc.highlight = r.highlight;
  return inc;
}
