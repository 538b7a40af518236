/** Restart pacing for a camera's ffmpeg. */
export interface BackoffPolicy {
  minMs: number;
  maxMs: number;
  /** ±fraction of random spread, so cameras that failed together do not retry together. */
  jitter: number;
  /** Online this long and the next failure starts again from `minMs`. */
  healthyMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { minMs: 1000, maxMs: 30_000, jitter: 0.2, healthyMs: 60_000 };

/** Delay before restart number `failures` (1-based): min·2^(n−1), capped, with jitter. */
export function backoffDelay(failures: number, p: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const base = Math.min(p.maxMs, p.minMs * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (1 - p.jitter + 2 * p.jitter * random()));
}
