import type { StatsRequest } from './store.ts';

const KEY = { camera: 'camera', query: 'query', severity: 'severity', site: 'site' } as const;

/** Incident counts per time bucket (UTC) and key; buckets by start time. */
export function statsSql(r: StatsRequest): { sql: string; params: unknown[] } {
  const params: unknown[] = [r.bucket, r.from, r.to];
  const where = ['started_at >= $2', 'started_at < $3'];
  if (r.camera) where.push(`camera = $${params.push(r.camera)}`);
  if (r.query) where.push(`query = $${params.push(r.query)}`);
  const sql = `SELECT date_trunc($1, started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS t, ${KEY[r.by]} AS key, count(*) AS n
    FROM incidents WHERE ${where.join(' AND ')} GROUP BY 1, 2 ORDER BY 2, 1`;
  return { sql, params };
}
