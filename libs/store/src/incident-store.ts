import type { Finding, Incident } from '@vigil/contracts';
import type { SqlDatabase } from './database.ts';
import { migrate } from './migrate.ts';
import { encodeCursor, insertIncidentSql, rowToIncident, searchSql, INCIDENT_COLUMNS } from './sql.ts';
import type { IncidentPage, IncidentSearch, IncidentStore } from './store.ts';

/** The incident store over any SqlDatabase (PostgreSQL server or embedded PGlite). */
export class SqlIncidentStore implements IncidentStore {
  private constructor(readonly db: SqlDatabase) {}

  /** Migrates the database, then serves incidents from it. Takes ownership of `db`. */
  static async open(db: SqlDatabase): Promise<SqlIncidentStore> {
    await migrate(db);
    return new SqlIncidentStore(db);
  }

  async openFromFinding(finding: Finding, extra: { severity: string; site?: string }): Promise<Incident | undefined> {
    const { sql, params } = insertIncidentSql(finding, extra);
    const res = await this.db.query(sql, params);
    return res.rows[0] ? rowToIncident(res.rows[0]) : undefined;
  }

  async get(id: string): Promise<Incident | undefined> {
    const res = await this.db.query(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE id = $1`, [id]);
    return res.rows[0] ? rowToIncident(res.rows[0]) : undefined;
  }

  async search(s: IncidentSearch): Promise<IncidentPage> {
    const { sql, params } = searchSql(s);
    const rows = (await this.db.query(sql, params)).rows.map(rowToIncident);
    const more = rows.length > s.limit;
    const items = more ? rows.slice(0, s.limit) : rows;
    return { items, next_cursor: more ? encodeCursor(items[items.length - 1]!) : null };
  }

  async ping(): Promise<boolean> {
    try {
      await this.db.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
