import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.x re-arms a 1 ms timer per broker connection forever, even with nothing
 * pending (upstream issue tulios/kafkajs#1556): ~36 ms of CPU per second per process,
 * about half of ingest's own overhead. The check is only needed while requests wait or the
 * broker throttles, and a new request re-arms it, so we skip the idle re-arm.
 */
export function applyKafkajsIdleFix(): boolean {
  type Queue = { pending: unknown[]; throttledUntil: number; throttleCheckTimeoutId?: unknown };
  let proto: Record<string, unknown> & { __vigilIdleFix?: boolean };
  try {
    proto = (createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as { prototype: typeof proto }).prototype;
  } catch {
    return false; // another kafkajs layout: leave it alone
  }
  const original = proto.scheduleCheckPendingRequests;
  if (typeof original !== 'function' || proto.__vigilIdleFix) return Boolean(proto.__vigilIdleFix);
  proto.scheduleCheckPendingRequests = function (this: Queue) {
    if (this.pending.length > 0 || this.throttledUntil > Date.now()) (original as (this: Queue) => void).call(this);
  };
  proto.__vigilIdleFix = true;
  return true;
}
