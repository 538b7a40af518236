import { shareClass, type CameraConfig, type QueryConfig, type ScheduleConfig, type TriggerConfig, type VigilConfig } from '@vigil/config';
import { estimateTokens, prefillSeconds, type CostRates } from '@vigil/model';

/** What `vigil plan` assumes beyond the config. */
export interface PlanInputs {
  rates: CostRates;
  /** Share of windows whose event trigger (motion, stall, scene-change, tamper, object) fires. */
  triggerRate: number;
  /** Output tokens of one answer. */
  decodeTokens: number;
}

/** One camera's load per hour, or the whole config's (the sum of its cameras'). */
export interface PlanLoad {
  /** Question-windows asked: one per question per window it is asked about. */
  windowsPerHour: number;
  /** Video tokens sent: every asked question carries its window's video (what the token budget counts). */
  videoTokensPerHour: number;
  /** Video prefills: one per asked question (separate), or one per window any question of a group is asked about (shared). */
  prefillsPerHour: { separate: number; shared: number };
  /** Shared: the other questions, each answered on the cached video prefix. */
  cachedQuestionsPerHour: number;
  gpuSecondsPerHour: { separate: number; shared: number };
  gpus: { separate: number; shared: number };
}

/** Questions of one camera that see identical frames, so one video prefill can serve them all. */
export interface WindowGroup {
  queries: string[];
  windowMs: number;
  everyMs: number;
  fps: number;
  profile: string;
  frames: number;
  videoTokens: number;
  /** Per window of the group: questions asked, and video prefills when shared (the chance any is asked). */
  askedPerWindow: number;
  prefillsPerWindow: number;
}

export interface CameraPlan extends PlanLoad {
  camera: string;
  /** Frame size assumed for the token count. */
  frame: { width: number; height: number };
  groups: WindowGroup[];
}

export interface Plan {
  cameras: CameraPlan[];
  total: PlanLoad;
}

const HOUR_MS = 3_600_000;
const DAY_MIN = 1440;
const WEEK_MIN = 7 * DAY_MIN;
const EVENT_TRIGGERS = new Set<TriggerConfig['type']>(['motion', 'stall', 'scene-change', 'tamper', 'object']);

/**
 * The height ingest gives a `width`-wide frame of a 16:9 camera (the source's aspect is only
 * known once it streams): ffmpeg's `scale=W:-16` rounds to the nearest multiple of 16.
 */
export function frameHeight(width: number): number {
  return Math.round((width * 9) / 16 / 16) * 16;
}

/** Windows asked, video tokens, prefills and GPU time per hour for every camera of a config, and in total. */
export function planCost(config: VigilConfig, inputs: PlanInputs): Plan {
  const cameras = config.cameras.map((cam) =>
    cameraPlan(
      cam,
      config.queries.filter((q) => q.cameras.includes(cam.id)),
      config.model.profile,
      inputs,
    ),
  );
  return { cameras, total: sumLoads(cameras) };
}

function cameraPlan(cam: CameraConfig, queries: QueryConfig[], defaultProfile: string, inputs: PlanInputs): CameraPlan {
  const frame = { width: cam.width, height: frameHeight(cam.width) };
  // One share class (infer's definition: same window, fps and profile) and the same every:
  // the same frames in every window. (Different every shares only the windows that end
  // together; the plan does not count on those.)
  const byKey = new Map<string, { q: QueryConfig[]; windowMs: number; everyMs: number; fps: number; profile: string }>();
  for (const q of queries) {
    // A query cannot send more frames than its camera delivers.
    const fps = Math.min(q.fps ?? cam.fps, cam.fps);
    const profile = q.model.profile ?? defaultProfile;
    const key = `${shareClass(q, profile, cam.fps)}|${q.everyMs}`;
    const g = byKey.get(key) ?? { q: [], windowMs: q.windowMs, everyMs: q.everyMs, fps, profile };
    g.q.push(q);
    byKey.set(key, g);
  }
  const groups: WindowGroup[] = [...byKey.values()].map((g) => {
    const frames = Math.max(1, Math.round((g.windowMs / 1000) * g.fps));
    const { asked, anyAsked } = askRates(g.q, inputs.triggerRate);
    return {
      queries: g.q.map((q) => q.id),
      windowMs: g.windowMs,
      everyMs: g.everyMs,
      fps: g.fps,
      profile: g.profile,
      frames,
      videoTokens: estimateTokens(frames, frame.width, frame.height, g.profile),
      askedPerWindow: asked,
      prefillsPerWindow: anyAsked,
    };
  });
  const { rates, decodeTokens } = inputs;
  const decodeS = decodeTokens * rates.decodeSPerToken;
  const load = emptyLoad();
  for (const g of groups) {
    const windows = HOUR_MS / g.everyMs;
    const asked = windows * g.askedPerWindow;
    const shared = windows * g.prefillsPerWindow;
    const prefill = prefillSeconds(rates, g.videoTokens);
    load.windowsPerHour += asked;
    load.videoTokensPerHour += asked * g.videoTokens;
    load.prefillsPerHour.separate += asked;
    load.prefillsPerHour.shared += shared;
    load.cachedQuestionsPerHour += asked - shared;
    load.gpuSecondsPerHour.separate += asked * (prefill + decodeS);
    load.gpuSecondsPerHour.shared += shared * prefill + (asked - shared) * rates.cachedQuestionS + asked * decodeS;
  }
  return { camera: cam.id, frame, ...withGpus(load), groups };
}

/**
 * Per window of a group: the questions asked and the chance at least one is. Followed minute
 * by minute over a week so overlapping schedules count once; event triggers fire independently
 * at `rate`, except identical ones, which see the same frames and so fire together.
 */
function askRates(queries: QueryConfig[], rate: number): { asked: number; anyAsked: number } {
  const masks = queries.map((q) => (q.schedule ? weekMask(q.schedule) : undefined));
  // An event trigger's identity; undefined for `always` and `schedule`, which fire every window.
  const events = queries.map((q) => (EVENT_TRIGGERS.has(q.trigger.type) ? JSON.stringify(q.trigger) : undefined));
  let asked = 0;
  let anyAsked = 0;
  for (let m = 0; m < WEEK_MIN; m++) {
    let always = false;
    const firing = new Set<string>();
    queries.forEach((_, i) => {
      if (masks[i] && !masks[i][m]) return;
      const event = events[i];
      if (event === undefined) {
        asked += 1;
        always = true;
      } else {
        asked += rate;
        firing.add(event);
      }
    });
    anyAsked += always ? 1 : 1 - (1 - rate) ** firing.size;
  }
  return { asked: asked / WEEK_MIN, anyAsked: anyAsked / WEEK_MIN };
}

/**
 * Minutes of a UTC week (Monday 00:00 first) a schedule covers, as infer's `inSchedule` reads
 * it: a range ending before it starts runs past midnight into the next day. Shifted by the
 * zone's offset today (daylight saving ignored) so schedules in different zones line up.
 */
export function weekMask(s: ScheduleConfig): Uint8Array {
  const mask = new Uint8Array(WEEK_MIN);
  const offset = utcOffsetMinutes(s.timezone);
  const mark = (from: number, to: number) => {
    for (let m = from; m < to; m++) mask[(((m - offset) % WEEK_MIN) + WEEK_MIN) % WEEK_MIN] = 1;
  };
  for (const day of s.days) {
    const base = DAYS.indexOf(day) * DAY_MIN;
    for (const [from, to] of s.hours) {
      if (from < to) mark(base + from, base + to);
      else {
        mark(base + from, base + DAY_MIN);
        mark(base + DAY_MIN, base + DAY_MIN + to);
      }
    }
  }
  return mask;
}

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** Minutes a time zone is ahead of UTC now, e.g. 60 for Europe/Paris in winter. */
function utcOffsetMinutes(timeZone: string): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(Date.now()).find((p) => p.type === 'timeZoneName')?.value ?? '';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

function emptyLoad(): PlanLoad {
  return {
    windowsPerHour: 0,
    videoTokensPerHour: 0,
    prefillsPerHour: { separate: 0, shared: 0 },
    cachedQuestionsPerHour: 0,
    gpuSecondsPerHour: { separate: 0, shared: 0 },
    gpus: { separate: 0, shared: 0 },
  };
}

function withGpus(load: PlanLoad): PlanLoad {
  const { separate, shared } = load.gpuSecondsPerHour;
  return { ...load, gpus: { separate: separate / 3600, shared: shared / 3600 } };
}

function sumLoads(loads: PlanLoad[]): PlanLoad {
  const t = emptyLoad();
  for (const l of loads) {
    t.windowsPerHour += l.windowsPerHour;
    t.videoTokensPerHour += l.videoTokensPerHour;
    t.prefillsPerHour.separate += l.prefillsPerHour.separate;
    t.prefillsPerHour.shared += l.prefillsPerHour.shared;
    t.cachedQuestionsPerHour += l.cachedQuestionsPerHour;
    t.gpuSecondsPerHour.separate += l.gpuSecondsPerHour.separate;
    t.gpuSecondsPerHour.shared += l.gpuSecondsPerHour.shared;
  }
  return withGpus(t);
}
