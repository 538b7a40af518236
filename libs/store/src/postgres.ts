import pg from 'pg';
import type { Finding, Incident } from '@vigil/contracts';
import { migrate } from './migrate.ts';
import { encodeCursor, insertIncidentSql, rowToIncident, searchSql, INCIDENT_COLUMNS } from './sql.ts';
import type { IncidentPage, IncidentSearch, IncidentStore } from './store.ts';

/** Incident store on PostgreSQL. Creates the database if the server lacks it, then migrates. */
export class PostgresIncidentStore implements IncidentStore {
  private constructor(private readonly pool: pg.Pool) {}

  static async open(url: string): Promise<PostgresIncidentStore> {
    await ensureDatabase(url);
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    pool.on('error', () => undefined); // idle client errors surface on the next query
    const client = await pool.connect();
    try {
      await migrate(client);
    } finally {
      client.release();
    }
    return new PostgresIncidentStore(pool);
  }

  async openFromFinding(finding: Finding, extra: { severity: string; site?: string }): Promise<Incident | undefined> {
    const { sql, params } = insertIncidentSql(finding, extra);
    const res = await this.pool.query(sql, params);
    return res.rows[0] ? rowToIncident(res.rows[0]) : undefined;
  }

  async get(id: string): Promise<Incident | undefined> {
    const res = await this.pool.query(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE id = $1`, [id]);
    return res.rows[0] ? rowToIncident(res.rows[0]) : undefined;
  }

  async search(s: IncidentSearch): Promise<IncidentPage> {
    const { sql, params } = searchSql(s);
    const rows = (await this.pool.query(sql, params)).rows.map(rowToIncident);
    const more = rows.length > s.limit;
    const items = more ? rows.slice(0, s.limit) : rows;
    return { items, next_cursor: more ? encodeCursor(items[items.length - 1]!) : null };
  }

  async ping(): Promise<boolean> {
    try {
      await this.pool.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Creates the URL's database when the server does not have it yet (error 3D000). */
async function ensureDatabase(url: string): Promise<void> {
  const probe = new pg.Client({ connectionString: url });
  try {
    await probe.connect();
    return;
  } catch (e) {
    if ((e as { code?: string }).code !== '3D000') throw e;
  } finally {
    await probe.end().catch(() => undefined);
  }
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.slice(1));
  u.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: u.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } catch (e) {
    if ((e as { code?: string }).code !== '42P04') throw e; // created meanwhile by another replica
  } finally {
    await admin.end();
  }
}
