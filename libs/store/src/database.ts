/** Anything that runs PostgreSQL SQL with $n parameters. */
export interface SqlRunner {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/**
 * A PostgreSQL-speaking database: a server (pg) or embedded (PGlite). Stores are written
 * against this, so both run the same schema and the same SQL.
 */
export interface SqlDatabase extends SqlRunner {
  /** Runs `fn` in one transaction on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
