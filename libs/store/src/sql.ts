import type { EvidenceFrame, Incident, OperatorAction } from '@vigil/contracts';
import { BadCursorError, type EvidenceEntry, type IncidentSearch } from './store.ts';

/** Column list every incident query returns (rowToIncident reads these). */
export const INCIDENT_COLUMNS =
  'id, kind, finding_id, camera, site, query, query_version, question, answer, reasoning, severity, state, started_at, ended_at, created_at, updated_at, closed_at, finding_count, model, latency_ms, ack_by, ack_at, ack_note, resolved_by, resolved_at, resolve_note, evidence, evidence_bytes, evidence_deleted_at, confirmed_by';

/** The same list qualified with a table alias. */
export const incidentColumns = (alias: string) => INCIDENT_COLUMNS.split(', ').map((c) => `${alias}.${c}`).join(', ');

/**
 * Keyset pagination over (started_at, id), newest or oldest first: stable while new
 * incidents arrive. Highlights are computed on the page only (an outer query).
 */
export function searchSql(s: IncidentSearch, maxSpanMs = 0): { sql: string; params: unknown[] } {
  // Shadow queries' would-be incidents are never listed (GET /api/shadows reports them).
  const where: string[] = ['NOT shadow'];
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const sort = s.sort ?? 'newest';
  if (s.camera) where.push(`camera = ${p(s.camera)}`);
  if (s.site) where.push(`site = ${p(s.site)}`);
  if (s.query) where.push(`query = ${p(s.query)}`);
  if (s.severity?.length) where.push(`severity IN (${s.severity.map(p).join(', ')})`);
  if (s.state?.length) where.push(`state IN (${s.state.map(p).join(', ')})`);
  // An incident overlaps [from, to) when it ends at or after `from` and starts before `to`. The
  // longest incident (`maxSpanMs`) bounds how early an overlapping one can start, so the
  // started_at index range stays narrow, and as a plain value the planner estimates it well.
  if (s.from) {
    where.push(`ended_at >= ${p(s.from)}`);
    where.push(`started_at >= ${p(new Date(s.from.getTime() - maxSpanMs))}`);
  }
  if (s.to) where.push(`started_at < ${p(s.to)}`);
  let tsq = '';
  if (s.q) {
    tsq = `websearch_to_tsquery('english', ${p(s.q)})`;
    where.push(`search @@ ${tsq}`);
  }
  if (s.cursor) {
    const c = decodeCursor(s.cursor, sort);
    where.push(`(started_at, id) ${sort === 'newest' ? '<' : '>'} (${p(new Date(c.t))}, ${p(c.id)})`);
  }
  const dir = sort === 'newest' ? 'DESC' : 'ASC';
  const order = `ORDER BY started_at ${dir}, id ${dir}`;
  const inner = `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE ${where.join(' AND ')} ${order} LIMIT ${p(s.limit + 1)}`;
  if (!tsq) return { sql: inner, params };
  const sql = `SELECT page.*, ts_headline('english', page.answer || ' — ' || page.reasoning, ${tsq},
      'StartSel=<mark>,StopSel=</mark>,MaxFragments=2,MaxWords=18,MinWords=5') AS highlight
    FROM (${inner}) page ${order}`;
  return { sql, params };
}

export function encodeCursor(i: Incident, sort: 'newest' | 'oldest' = 'newest'): string {
  return Buffer.from(JSON.stringify({ t: i.started_at, id: i.id, s: sort })).toString('base64url');
}

export function decodeCursor(c: string, sort: 'newest' | 'oldest' = 'newest'): { t: string; id: string } {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as { t?: unknown; id?: unknown; s?: unknown };
    if (typeof v.t === 'string' && typeof v.id === 'string' && !Number.isNaN(Date.parse(v.t)) && (v.s ?? 'newest') === sort) return { t: v.t, id: v.id };
  } catch {
    /* fall through */
  }
  throw new BadCursorError();
}

type Row = Record<string, unknown>;

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
const isoOrNull = (v: unknown) => (v === null || v === undefined ? null : iso(v));

function action(by: unknown, at: unknown, note: unknown): OperatorAction | null {
  return at ? { by: String(by ?? ''), at: iso(at), note: String(note ?? '') } : null;
}

/** The evidence column (JSON, as pg or PGlite return it). */
export function evidenceEntries(v: unknown): EvidenceEntry[] {
  const parsed = typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
  return Array.isArray(parsed) ? (parsed as EvidenceEntry[]) : [];
}

/** Maps a row to the API's incident shape (ISO times, evidence as URLs). */
export function rowToIncident(r: Row): Incident {
  const id = String(r.id);
  const entries = evidenceEntries(r.evidence);
  const frames: EvidenceFrame[] = entries.flatMap((e) => e.frames).map((f, n) => ({ n, captured_at: f.captured_at, url: `/api/incidents/${id}/frames/${n}.jpg` }));
  const inc: Incident = {
    id,
    kind: (r.kind as Incident['kind']) ?? 'finding',
    findingId: String(r.finding_id),
    camera: String(r.camera),
    query: String(r.query),
    query_version: r.query_version === null || r.query_version === undefined ? null : String(r.query_version),
    question: String(r.question),
    answer: String(r.answer),
    reasoning: String(r.reasoning),
    severity: r.severity as Incident['severity'],
    state: r.state as Incident['state'],
    started_at: iso(r.started_at),
    ended_at: iso(r.ended_at),
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
    closed_at: isoOrNull(r.closed_at),
    findings: Number(r.finding_count),
    model: String(r.model),
    latency_ms: Number(r.latency_ms),
    acknowledged: action(r.ack_by, r.ack_at, r.ack_note),
    resolved: action(r.resolved_by, r.resolved_at, r.resolve_note),
    evidence: {
      frames,
      clip_url: entries.some((e) => e.clip) ? `/api/incidents/${id}/clip.mp4` : null,
      bytes: Number(r.evidence_bytes ?? 0),
      deleted_at: isoOrNull(r.evidence_deleted_at),
    },
  };
  if (r.site) inc.site = String(r.site);
  if (Array.isArray(r.confirmed_by) && r.confirmed_by.length > 0) inc.confirmed_by = r.confirmed_by.map(String);
  if (typeof r.highlight === 'string') inc.highlight = r.highlight;
  return inc;
}
