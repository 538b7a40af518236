import type { TriggerConfig } from '@vigil/config';
import type { FrameStats } from './analytics/stage.ts';
import type { Detection } from './analytics/detector.ts';
import { insidePolygon } from './analytics/grid.ts';

/** A frame as the trigger stage sees it. */
export interface TriggerFrame {
  capturedAt: number;
  stats?: FrameStats;
  detections?: Detection[];
}

/** What a trigger remembers per (camera, query) between windows. */
export interface TriggerMemory {
  /** Capture time up to which frames were already judged by an asked window. */
  askedThrough?: number;
  /** Edge triggers (stall, tamper) fire on entering the condition, not while it lasts. */
  active?: boolean;
}

/** `detail` says what fired, in words an operator reads (the answer of a trigger finding). */
export type TriggerOutcome = { fire: true; detail: string } | { fire: false; reason: 'still' | 'no_analytics' | 'ongoing' };

const DEFAULT_THRESHOLD: Record<string, number> = { motion: 0.02, stall: 0.02, 'scene-change': 0.5 };
const DARK = 16;
const BLURRED = 2;

/** Triggers that need per-frame analytics. */
export function needsAnalytics(t: TriggerConfig): boolean {
  return t.type !== 'always' && t.type !== 'schedule';
}

/**
 * Decides whether a window deserves a question. Motion-like triggers look only at frames
 * after the last asked window (nothing moved since the last question → not asked again);
 * stall and tamper fire when their condition starts.
 */
export function evaluateTrigger(
  t: TriggerConfig,
  frames: TriggerFrame[],
  memory: TriggerMemory,
  zonePolygon: [number, number][] | undefined,
  windowMs: number,
): TriggerOutcome {
  if (!needsAnalytics(t)) return { fire: true, detail: t.type === 'schedule' ? 'scheduled window' : 'every window' };
  const analysed = frames.filter((f) => f.stats);
  if (analysed.length === 0) return { fire: false, reason: 'no_analytics' };
  const fresh = analysed.filter((f) => memory.askedThrough === undefined || f.capturedAt > memory.askedThrough);
  const share = (f: TriggerFrame) => (t.zone ? (f.stats!.zones[t.zone] ?? 0) : f.stats!.motion);
  const threshold = t.threshold ?? DEFAULT_THRESHOLD[t.type] ?? 0.02;
  const where = t.zone ? `in zone ${t.zone}` : 'in the frame';
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  switch (t.type) {
    case 'motion': {
      const peak = Math.max(...fresh.map(share), 0);
      return peak >= threshold ? { fire: true, detail: `Motion ${where} (peak ${pct(peak)} of the ${t.zone ? 'zone' : 'frame'} changed)` } : { fire: false, reason: 'still' };
    }
    case 'scene-change': {
      const peak = Math.max(...fresh.map((f) => f.stats!.motion), 0);
      return peak >= threshold ? { fire: true, detail: `Scene change (${pct(peak)} of the frame changed)` } : { fire: false, reason: 'still' };
    }
    case 'object': {
      let best: Detection | undefined;
      for (const f of fresh) {
        for (const d of f.detections ?? []) {
          const fits =
            (!t.label || d.label === t.label) &&
            d.score >= (t.minScore ?? 0) &&
            (!zonePolygon || insidePolygon((d.box.x1 + d.box.x2) / 2, (d.box.y1 + d.box.y2) / 2, zonePolygon));
          if (fits && (!best || d.score > best.score)) best = d;
        }
      }
      return best ? { fire: true, detail: `${best.label} detected ${where} (score ${best.score.toFixed(2)})` } : { fire: false, reason: 'still' };
    }
    case 'stall': {
      const end = analysed[analysed.length - 1]!.capturedAt;
      const stillFor = t.stillForMs ?? windowMs / 2;
      const tail = analysed.filter((f) => f.capturedAt > end - stillFor);
      const head = analysed.filter((f) => f.capturedAt <= end - stillFor);
      const stalled = head.some((f) => share(f) >= threshold) && tail.length > 0 && tail.every((f) => share(f) < threshold);
      return edge(memory, stalled, `Motion ${where} stopped (still for ${(stillFor / 1000).toFixed(1)} s after moving)`);
    }
    case 'tamper': {
      const last = analysed.slice(-4);
      const frozen = last.length >= 4 && last.every((f) => f.stats!.change === 0);
      const dark = last.every((f) => f.stats!.brightness < DARK);
      const blurred = last.every((f) => f.stats!.sharpness < BLURRED);
      const detail = frozen ? 'Camera picture frozen' : dark ? 'Camera dark or covered' : 'Camera picture blurred';
      return edge(memory, frozen || dark || blurred, detail);
    }
    default:
      return { fire: true, detail: 'every window' };
  }
}

function edge(memory: TriggerMemory, condition: boolean, detail: string): TriggerOutcome {
  const was = memory.active ?? false;
  memory.active = condition;
  if (!condition) return { fire: false, reason: 'still' };
  return was ? { fire: false, reason: 'ongoing' } : { fire: true, detail };
}
