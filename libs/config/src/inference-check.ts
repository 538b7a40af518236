import { formatPath, type ConfigIssue } from './errors.ts';
import { isTimeZone, normalizeTrigger } from './inference.ts';
import type { RawConfig } from './schema.ts';

/** Cross-field rules of one standing query's inference options (zones, detector labels, schedule). */
export function checkInference(
  q: RawConfig['queries'][number],
  picked: string[],
  c: RawConfig,
  cameras: Map<string, RawConfig['cameras'][number]>,
  lineOf: (p: (string | number)[]) => number | undefined,
  base: (string | number)[],
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const at = (p: (string | number)[], message: string) => issues.push({ path: formatPath([...base, ...p]), message, line: lineOf(p) });
  if (q.schedule && !isTimeZone(q.schedule.timezone)) at(['schedule', 'timezone'], `unknown time zone "${q.schedule.timezone}"`);
  const trigger = normalizeTrigger(q.trigger);
  const undefinedOn = (zone: string) => picked.filter((id) => cameras.has(id) && !cameras.get(id)!.zones.some((z) => z.name === zone));
  // A query zone: key naming the trigger's zone reports a missing zone there, once.
  if (trigger.zone !== undefined && q.zone !== trigger.zone) {
    const missing = undefinedOn(trigger.zone);
    if (missing.length > 0) at(['trigger', 'zone'], `zone "${trigger.zone}" is not defined on camera ${missing.join(', ')}`);
  }
  if (q.zone !== undefined) {
    if (trigger.zone !== undefined && trigger.zone !== q.zone) at(['zone'], `zone "${q.zone}" is not the trigger's zone "${trigger.zone}" (a query looks at one zone)`);
    const missing = undefinedOn(q.zone);
    if (missing.length > 0) at(['zone'], `zone "${q.zone}" is not defined on camera ${missing.join(', ')}`);
  }
  const zone = q.zone ?? trigger.zone;
  if (q.zone_view !== 'name' && zone === undefined) at(['zone_view'], `${q.zone_view} needs a zone (the query's zone: or its trigger's)`);
  const detector = c.infer.onnx.detector;
  if (trigger.type === 'object' && !detector) at(['trigger'], 'an object trigger needs infer.onnx.detector');
  if (trigger.type === 'object' && trigger.label && detector && !detector.labels.includes(trigger.label)) {
    at(['trigger', 'label'], `unknown label "${trigger.label}" (known: ${detector.labels.join(', ')})`);
  }
  if (trigger.type === 'schedule' && !q.schedule) at(['trigger'], 'a schedule trigger needs a schedule');
  if (/\{zone\}/.test(q.question) && zone === undefined) at(['question'], '{zone} needs a zone (the query\'s zone: or its trigger\'s)');
  return issues;
}
