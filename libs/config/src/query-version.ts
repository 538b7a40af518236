import { createHash } from 'node:crypto';
import type { QueryConfig } from './types.ts';

/**
 * The version of a standing query: 12 hex characters of a SHA-256 over what is asked and how
 * the answer is judged — the question template, window, every, trigger, schedule, alert_when,
 * severity, cooldown, confirmation, shadowed query, model overrides, and the zone and its view where the
 * trigger does not already say them. Not the id or the cameras (the same question on
 * another camera is the same question), so renaming a camera keeps every version. Every
 * service computes it from the config alone, so they agree without talking.
 */
export function queryVersion(q: QueryConfig): string {
  const asked = {
    question: q.question,
    windowMs: q.windowMs,
    everyMs: q.everyMs,
    fps: q.fps,
    trigger: q.trigger,
    schedule: q.schedule,
    alert: q.alert,
    severity: q.severity,
    cooldownMs: q.cooldownMs ?? 60_000,
    model: q.model,
    // Absent (undefined) keys leave the hash as it was: versions of queries without them do not change.
    confirm: q.confirm,
    clearAfter: q.clearAfter,
    // A shadow's answers go nowhere: the same question then and now behaves differently.
    shadow: q.shadow,
    zone: q.zone !== q.trigger.zone ? q.zone : undefined,
    zoneView: q.zoneView !== 'name' ? q.zoneView : undefined,
  };
  return createHash('sha256').update(canonical(asked)).digest('hex').slice(0, 12);
}

/** JSON with sorted keys and no undefined members; a regex as written (source and flags). */
function canonical(v: unknown): string {
  if (v instanceof RegExp) return JSON.stringify({ regex: v.source, flags: v.flags });
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
