/**
 * What the chaos run does and when: a camera shows a red object for 8 s once per round, and
 * each round injects one fault in the middle of that event. The schedule is fixed before the
 * camera starts (the red box is drawn by ffmpeg on the stream's own clock), so a run can be
 * repeated: `CHAOS_SEED` orders the long schedule.
 */
import { rng } from '../security/fuzz.ts';

export const FAULTS = [
  'kill-ingest',
  'kill-infer',
  'kill-alerts-a',
  'kill-alerts-b',
  'stop-kafka',
  'stop-redis',
  'restart-postgres',
  'model-503',
  'model-timeout',
  'model-garbage',
] as const;
export type Fault = (typeof FAULTS)[number];

export interface Round {
  fault: Fault;
  /** Event start, seconds after the camera's t=0. */
  eventAtS: number;
  eventS: number;
  /** Fault start, seconds after the event start. */
  faultAtS: number;
  /** How long the fault lasts (a killed process is restarted after this, as an orchestrator would). */
  faultS: number;
}

export const EVENT_S = 8;
/** Time for the stack to come up before the first event. */
export const FIRST_EVENT_S = 50;

/**
 * Quiet seconds after each event. Two events are one episode when their positive windows are
 * closer than the cooldown on capture time (10 s, plus a 4 s window each side), so at least
 * ~20 s; a fault that loses the bus for a while needs its outage on top, or the next event
 * would fall into it and be lost for a reason no system can help.
 */
const GAP_S: Record<Fault, number> = {
  'kill-ingest': 26,
  'kill-infer': 26,
  'kill-alerts-a': 26,
  'kill-alerts-b': 26,
  'stop-kafka': 56,
  'stop-redis': 30,
  'restart-postgres': 30,
  'model-503': 30,
  'model-timeout': 30,
  'model-garbage': 30,
};

/** Where in the event each fault starts and how long it lasts. */
const SHAPE: Record<Fault, { atS: number; forS: number }> = {
  // Mid-event: the start of the event is on the bus, its end comes after the restart.
  'kill-ingest': { atS: 4, forS: 3 },
  'kill-infer': { atS: 4, forS: 3 },
  'kill-alerts-a': { atS: 4, forS: 3 },
  'kill-alerts-b': { atS: 4, forS: 3 },
  'stop-kafka': { atS: 4, forS: 20 },
  'stop-redis': { atS: 3, forS: 15 },
  'restart-postgres': { atS: 3, forS: 5 },
  // The model is away for the whole event and then some: only retries can catch it.
  'model-503': { atS: 0, forS: 12 },
  'model-timeout': { atS: 0, forS: 12 },
  'model-garbage': { atS: 0, forS: 12 },
};


/** `short`: each fault once, in a fixed order (CI). `long`: each fault `repeat` times, shuffled by `seed`. */
export function buildSchedule(kind: 'short' | 'long', seed = 1, repeat = 3): Round[] {
  let faults: Fault[] = [...FAULTS];
  if (kind === 'long') {
    faults = Array.from({ length: repeat }, () => [...FAULTS]).flat();
    const r = rng(seed).next;
    for (let i = faults.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [faults[i], faults[j]] = [faults[j]!, faults[i]!];
    }
  }
  const rounds: Round[] = [];
  let at = FIRST_EVENT_S;
  for (const fault of faults) {
    rounds.push({ fault, eventAtS: at, eventS: EVENT_S, faultAtS: SHAPE[fault].atS, faultS: SHAPE[fault].forS });
    at += EVENT_S + GAP_S[fault];
  }
  return rounds;
}

/** Seconds from the camera's t=0 to the end of the last round's quiet gap. */
export function scheduleEndS(rounds: Round[]): number {
  const last = rounds[rounds.length - 1];
  return last ? last.eventAtS + last.eventS + GAP_S[last.fault] : 0;
}
