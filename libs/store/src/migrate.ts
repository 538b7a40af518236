import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The SQL migrations shipped with the store, in order. */
export function migrations(): { version: number; name: string; sql: string }[] {
  const dir = fileURLToPath(new URL('../migrations/', import.meta.url));
  return readdirSync(dir)
    .filter((f) => /^\d+_.*\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.split('_')[0]), name: f, sql: readFileSync(join(dir, f), 'utf8') }));
}

/** Anything that runs SQL: a pg client today, PGlite later. */
export interface SqlRunner {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * Applies pending migrations in one transaction under an advisory lock, so several
 * replicas starting together migrate once.
 */
export async function migrate(db: SqlRunner): Promise<number[]> {
  await db.query('BEGIN');
  try {
    await db.query('SELECT pg_advisory_xact_lock(7151)');
    await db.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    const done = new Set((await db.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of migrations()) {
      if (done.has(m.version)) continue;
      await db.query(m.sql);
      await db.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await db.query('COMMIT');
    return applied;
  } catch (e) {
    await db.query('ROLLBACK');
    throw e;
  }
}
