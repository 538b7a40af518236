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

/**
 * A query's frame budget: the window's frames thinned to `fps`, one per 1/fps slot from the
 * window start (the first frame at or after each slot), so two queries with the same window
 * and fps send the same frames — which is what lets them share one video prefill.
 */
export function sampleFrames<F extends { capturedAt: number }>(frames: F[], fps: number, start: number): F[] {
  if (frames.length === 0 || !(fps > 0)) return frames;
  const step = 1000 / fps;
  const out: F[] = [];
  let slot = 0;
  for (const f of frames) {
    const t = start + slot * step;
    if (f.capturedAt + 0.5 < t) continue; // half a millisecond: capture times are rounded
    out.push(f);
    slot = Math.floor((f.capturedAt - start + 0.5) / step) + 1;
  }
  return out;
}
