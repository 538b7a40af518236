import type { QueryConfig } from '@vigil/config';

/** A window of one camera's video that a standing query should be asked about. */
export interface WindowPlan {
  cameraId: string;
  query: QueryConfig;
  start: number;
  end: number;
}

/**
 * Windows sit on a grid in capture time (end = k × every), so the same video always
 * yields the same windows: a replay after an outage produces the same finding ids.
 * Returns the newest due window not yet planned, or undefined.
 */
export function dueWindow(query: QueryConfig, cameraId: string, latestCapture: number, lastPlannedEnd: number): WindowPlan | undefined {
  const end = Math.floor(latestCapture / query.everyMs) * query.everyMs;
  if (end <= lastPlannedEnd) return undefined;
  return { cameraId, query, start: end - query.windowMs, end };
}
