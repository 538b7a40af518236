import type { ModelStatsRequest, ModelUsageDelta, StatsRequest, UptimeRequest } from './store.ts';

const KEY = { camera: 'camera', query: 'query', severity: 'severity', site: 'site' } as const;

/** Incident counts per time bucket (UTC) and key; buckets by start time. */
export function statsSql(r: StatsRequest): { sql: string; params: unknown[] } {
  const params: unknown[] = [r.bucket, r.from, r.to];
  const where = ['started_at >= $2', 'started_at < $3', 'NOT shadow'];
  if (r.camera) where.push(`camera = $${params.push(r.camera)}`);
  if (r.query) where.push(`query = $${params.push(r.query)}`);
  const sql = `SELECT date_trunc($1, started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS t, ${KEY[r.by]} AS key, count(*) AS n
    FROM incidents WHERE ${where.join(' AND ')} GROUP BY 1, 2 ORDER BY 2, 1`;
  return { sql, params };
}

/** One statement adds many usage deltas to their hourly rows. */
export function usageSql(deltas: ModelUsageDelta[]): { sql: string; params: unknown[] } {
  const col = <K extends keyof ModelUsageDelta>(k: K) => deltas.map((d) => d[k]);
  return {
    sql: `INSERT INTO model_usage AS u (hour, camera, query, findings, errors, latency_ms_sum, prompt_tokens, completion_tokens)
      SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::int[], $5::int[], $6::bigint[], $7::bigint[], $8::bigint[])
      ON CONFLICT (hour, camera, query) DO UPDATE SET
        findings = u.findings + excluded.findings, errors = u.errors + excluded.errors,
        latency_ms_sum = u.latency_ms_sum + excluded.latency_ms_sum,
        prompt_tokens = u.prompt_tokens + excluded.prompt_tokens,
        completion_tokens = u.completion_tokens + excluded.completion_tokens`,
    params: [col('hour'), col('camera'), col('query'), col('findings'), col('errors'), col('latencyMsSum'), col('promptTokens'), col('completionTokens')],
  };
}

/** Usage totals per bucket and key; the caller turns them into the requested metric. */
export function modelStatsSql(r: ModelStatsRequest): { sql: string; params: unknown[] } {
  const params: unknown[] = [r.bucket, r.from, r.to];
  const where = [`hour >= date_trunc('hour', $2::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`, 'hour < $3'];
  if (r.camera) where.push(`camera = $${params.push(r.camera)}`);
  if (r.query) where.push(`query = $${params.push(r.query)}`);
  const key = r.by === 'camera' ? 'camera' : 'query';
  const sql = `SELECT date_trunc($1, hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS t, ${key} AS key,
      sum(findings) AS findings, sum(errors) AS errors, sum(latency_ms_sum) AS latency,
      sum(prompt_tokens) AS prompt, sum(completion_tokens) AS completion
    FROM model_usage WHERE ${where.join(' AND ')} GROUP BY 1, 2 ORDER BY 2, 1`;
  return { sql, params };
}

/**
 * Seconds up (online or degraded) and seconds known per bucket and camera, from the spells
 * overlapping each bucket; the open spell runs until now.
 */
export function uptimeSql(r: UptimeRequest): { sql: string; params: unknown[] } {
  const params: unknown[] = [r.bucket, r.from, r.to];
  const cam = r.camera ? `AND camera = $${params.push(r.camera)}` : '';
  const sql = `WITH buckets AS (
      SELECT b AS t, b + ('1 ' || $1)::interval AS t_end
      FROM generate_series(date_trunc($1, $2::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', $3::timestamptz, ('1 ' || $1)::interval) AS b
      WHERE b < $3),
    spells AS (
      SELECT camera, state, started_at, coalesce(ended_at, now()) AS ended_at FROM camera_spells
      WHERE coalesce(ended_at, now()) > $2 AND started_at < $3 ${cam}),
    overlap AS (
      SELECT b.t, s.camera, s.state,
        extract(epoch FROM least(s.ended_at, b.t_end, now()) - greatest(s.started_at, b.t)) AS secs
      FROM buckets b JOIN spells s ON s.started_at < b.t_end AND s.ended_at > b.t)
    SELECT t, camera AS key, sum(secs) FILTER (WHERE state IN ('online', 'degraded')) AS up, sum(secs) AS known
    FROM overlap WHERE secs > 0 GROUP BY 1, 2 ORDER BY 2, 1`;
  return { sql, params };
}
