import type { Label, LabelKind } from '@vigil/contracts';
import type { SqlDatabase } from './database.ts';

/** A label to store: the API has resolved a false positive's incident to its camera, query and span. */
export interface NewLabel {
  kind: LabelKind;
  camera: string;
  query: string;
  from: Date;
  to: Date;
  incident: string | null;
  by: string;
  note: string;
}

/** Labels overlapping [from, to) of a camera and query, oldest first. */
export interface LabelSearch {
  camera?: string;
  query?: string;
  from?: Date;
  to?: Date;
  limit: number;
}

const COLUMNS = 'id, kind, camera, query, from_ts, to_ts, incident_id, by_name, note, created_at';

function rowToLabel(r: Record<string, unknown>): Label {
  return {
    id: String(r.id),
    kind: r.kind as LabelKind,
    camera: String(r.camera),
    query: String(r.query),
    from: new Date(r.from_ts as string).toISOString(),
    to: new Date(r.to_ts as string).toISOString(),
    incident: (r.incident_id as string | null) ?? null,
    by: String(r.by_name),
    at: new Date(r.created_at as string).toISOString(),
    note: String(r.note),
  };
}

/** The `labels` table (migration 008). */
export class LabelTable {
  constructor(private readonly db: SqlDatabase) {}

  async add(l: NewLabel): Promise<Label> {
    const r = await this.db.query(
      `INSERT INTO labels (kind, camera, query, from_ts, to_ts, incident_id, by_name, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
      [l.kind, l.camera, l.query, l.from, l.to, l.incident, l.by, l.note],
    );
    return rowToLabel(r.rows[0]!);
  }

  async list(s: LabelSearch): Promise<Label[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown) => where.push(sql.replace('?', `$${params.push(v)}`));
    if (s.camera) add('camera = ?', s.camera);
    if (s.query) add('query = ?', s.query);
    if (s.from) add('to_ts >= ?', s.from);
    if (s.to) add('from_ts < ?', s.to);
    params.push(s.limit);
    const sql = `SELECT ${COLUMNS} FROM labels ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY from_ts, id LIMIT $${params.length}`;
    return (await this.db.query(sql, params)).rows.map(rowToLabel);
  }

  /** True when it existed. */
  async delete(id: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM labels WHERE id = $1 RETURNING 1', [id])).rows.length > 0;
  }
}
