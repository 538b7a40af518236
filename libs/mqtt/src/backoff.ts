/** Reconnect delays: exponential from 1 s, capped at 30 s. */
export const BACKOFF_MIN_MS = 1_000;
export const BACKOFF_MAX_MS = 30_000;

/**
 * The wait before reconnect attempt `attempt` (0 = first). Jitter spreads a fleet that lost
 * the same broker over half the window, so they do not all come back in the same second.
 */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(attempt, 16));
  return Math.max(BACKOFF_MIN_MS, Math.round(ceiling * (0.5 + random() * 0.5)));
}
