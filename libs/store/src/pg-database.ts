import pg from 'pg';
import type { SqlDatabase, SqlRunner } from './database.ts';

/** SqlDatabase on a PostgreSQL server through a connection pool. */
export class PgDatabase implements SqlDatabase {
  private constructor(readonly pool: pg.Pool) {}

  /** Connects, creating the URL's database first when the server lacks it. */
  static async open(url: string, opts: { max?: number } = {}): Promise<PgDatabase> {
    await ensureDatabase(url);
    const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10 });
    pool.on('error', () => undefined); // idle client errors surface on the next query
    return new PgDatabase(pool);
  }

  async query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }> {
    const res = await this.pool.query(sql, params);
    return { rows: res.rows as R[] };
  }

  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const tx: SqlRunner = { query: async (sql, params) => ({ rows: (await client.query(sql, params)).rows }) };
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
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
    // Created meanwhile by another replica: 42P04, or 23505 when both inserted at once.
    const code = (e as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') throw e;
  } finally {
    await admin.end();
  }
}
