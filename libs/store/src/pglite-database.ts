import { PGlite } from '@electric-sql/pglite';
import type { SqlDatabase, SqlRunner } from './database.ts';

/**
 * SqlDatabase on embedded PGlite (PostgreSQL compiled to WASM), persisted in a folder.
 * One connection: transactions are serialised by PGlite itself.
 */
export class PgliteDatabase implements SqlDatabase {
  private constructor(private readonly pg: PGlite) {}

  /** Opens (creating on first use) the database in `dir`; `undefined` keeps it in memory. */
  static async open(dir?: string): Promise<PgliteDatabase> {
    const pg = dir ? new PGlite(dir) : new PGlite();
    await pg.waitReady;
    return new PgliteDatabase(pg);
  }

  async query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }> {
    // Parameterless statements may hold several commands (migrations); exec runs them all.
    if (!params || params.length === 0) {
      const results = await this.pg.exec(sql);
      return { rows: (results[results.length - 1]?.rows ?? []) as R[] };
    }
    const res = await this.pg.query<R>(sql, params);
    return { rows: res.rows };
  }

  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return this.pg.transaction(async (tx) =>
      fn({
        query: async <R = Record<string, unknown>>(sql: string, params?: unknown[]) => {
          if (!params || params.length === 0) {
            const results = await tx.exec(sql);
            return { rows: (results[results.length - 1]?.rows ?? []) as R[] };
          }
          return { rows: (await tx.query<R>(sql, params)).rows };
        },
      }),
    );
  }

  async close(): Promise<void> {
    await this.pg.close();
  }
}
