import { shareClass, type CameraConfig, type QueryConfig, type VigilConfig } from '@vigil/config';
import type { FrameChunk } from '@vigil/contracts';
import type { Logger } from '@vigil/observability';
import { FrameRing, type RingFrame } from './frame-ring.ts';
import { dueWindow, sampleFrames, type WindowPlan } from './windows.ts';
import { evaluateTrigger, needsAnalytics, type TriggerMemory, type TriggerOutcome } from './triggers.ts';
import { inSchedule } from './schedule.ts';
import { outlinedZone, renderQuestion } from './question.ts';
import { estimateTokens } from '@vigil/model';
import { jpegSize } from '@vigil/media';
import type { AskJob } from './asker.ts';
import type { AnalyticsStage, ZoneCells } from './analytics/stage.ts';
import type { DetectorStage } from './analytics/detector.ts';
import { zoneCells } from './analytics/grid.ts';
import type { WindowLedger } from './ledger.ts';
import type { TokenBudget } from './budget.ts';
import type { InferMetrics } from './metrics.ts';

export const SEVERITY_RANK = { low: 1, medium: 2, high: 3, critical: 4 } as const;

interface CameraState {
  camera: CameraConfig;
  queries: QueryConfig[];
  zones: ZoneCells[];
  analytics: boolean;
  detector: boolean;
  /** Decoded pictures at the camera's fps: what windows are made of. */
  ring: FrameRing;
  /** `on_demand` cameras: their keyframes' pictures, which the trigger stage judges while the camera is quiet. */
  keys?: FrameRing;
  /** Wall clock of the last keyframe chunk: a camera sending them is read on demand. */
  keysAt: number;
  /** The last request for the camera's pictures (repeated while they are needed). */
  opened?: { from: number; until: number; at: number };
  /** Windows whose trigger fired, waiting for the full decode to reach their end. */
  pending: Pending[];
  lastThumb: number;
}

interface Pending {
  q: QueryConfig;
  plan: WindowPlan;
  key: string;
  outcome: Extract<TriggerOutcome, { fire: true }>;
  replay: boolean;
  /** Wall clock after which the window is given up (`undecodable`). */
  deadline: number;
}

/** How long a fired window may wait for its pictures beyond its own length. */
const DECODE_GRACE_MS = 15_000;
/** At most one thumbnail per camera this often. */
const THUMB_EVERY_MS = 2_000;

export interface PlannerDeps {
  config: VigilConfig;
  /** Set before `reconfigure` when a new config needs them (see `needsStages`). */
  analytics?: AnalyticsStage;
  detector?: DetectorStage;
  ledger: WindowLedger;
  budget: TokenBudget;
  metrics: InferMetrics;
  log: Logger;
  /**
   * Hands triggered windows to the dispatcher (`replay`: must not be superseded): one query's
   * window, or a group of questions about the same frames, most severe first.
   */
  submit(jobs: AskJob[], key: string, priority: number, replay: boolean, fused: boolean): void;
  /** The profile each query is asked with (for the token estimate). */
  profileOf(q: QueryConfig): string;
  /** Trigger memory per (camera, query), shared with whoever marks windows asked. */
  memory?: Map<string, TriggerMemory>;
  /** A small recent picture of a camera for the dashboard's tiles (rate-limited here). */
  thumbnail?(cameraId: string, frame: { capturedAt: number; jpeg: Buffer }): void;
  /** Asks ingest to decode an on_demand camera in full from `from` until `until` (vigil.video.open). */
  open?(cameraId: string, from: number, until: number): void;
  /** The planner's clock (default the wall clock; a replay drives it with capture time). */
  now?(): number;
}

export const keyOf = (camera: string, query: string) => `${camera}\u0000${query}`;

type Due = { job: AskJob; key: string; priority: number };

/** The rate the trigger sees on a keyframe ring: from the spacing of its pictures. */
function keyRate(keys: FrameRing, pictures: { capturedAt: number }[]): number {
  const prev = keys.latest();
  const first = pictures[0]?.capturedAt;
  const last = pictures[pictures.length - 1]?.capturedAt;
  if (first === undefined || last === undefined) return keys.fps;
  const span = last - (prev ?? first);
  const n = pictures.length - (prev === undefined ? 1 : 0);
  return n > 0 && span > 0 ? Math.min(30, (1000 * n) / span) : keys.fps;
}

/** A camera sending keyframe chunks this recently is read on demand (else: continuous, or fell back to it). */
const ON_DEMAND_FOR_MS = 15_000;
/** How far ahead a camera that a query looks at every window is kept decoded. */
const ALWAYS_OPEN_MS = 30_000;
/** How often an open request is repeated while the pictures are still needed. */
const REOPEN_EVERY_MS = 3_000;

/**
 * Turns chunks into windows: keeps each camera's ring, runs the trigger stage on new
 * frames (batched across cameras), and for each standing query decides whether the due
 * window is asked (schedule, enough frames, trigger, budget) — recording every window in
 * the ledger so the frames commit knows when a chunk's frames are no longer needed.
 */
export class WindowPlanner {
  private readonly cameras = new Map<string, CameraState>();
  private readonly lastPlanned = new Map<string, number>();
  readonly memory: Map<string, TriggerMemory>;

  private readonly now: () => number;

  constructor(private readonly d: PlannerDeps) {
    this.memory = d.memory ?? new Map();
    this.now = d.now ?? Date.now;
    this.reconfigure(d.config);
  }

  /**
   * Takes a new config: cameras and queries added, changed or removed, zones redrawn. Only
   * what changed is touched — a camera's ring of recent video survives a change to its
   * queries — and a window already dispatched keeps the query it was planned with (its job
   * holds it), so it finishes under the version it started with. The trigger stages a new
   * query needs must be open first (see `needsStages`).
   */
  reconfigure(config: VigilConfig): { added: string[]; removed: string[] } {
    this.d.config = config;
    const added: string[] = [];
    const next = new Set(config.cameras.map((c) => c.id));
    const removed = [...this.cameras.keys()].filter((id) => !next.has(id));
    for (const id of removed) {
      for (const q of this.cameras.get(id)!.queries) this.forget(keyOf(id, q.id));
      this.cameras.delete(id);
    }
    for (const camera of config.cameras) {
      const queries = config.queries.filter((q) => q.cameras.includes(camera.id));
      const old = this.cameras.get(camera.id);
      if (!old) added.push(camera.id);
      for (const q of old?.queries ?? []) {
        const now = queries.find((x) => x.id === q.id);
        // A query gone, or one whose trigger changed, starts its trigger memory afresh.
        if (!now) this.forget(keyOf(camera.id, q.id));
        else if (JSON.stringify(now.trigger) !== JSON.stringify(q.trigger)) this.memory.delete(keyOf(camera.id, q.id));
      }
      this.cameras.set(camera.id, {
        camera,
        queries,
        zones: camera.zones.map((z) => ({ name: z.name, cells: zoneCells(z.polygon) })),
        analytics: !!this.d.analytics && queries.some((q) => needsAnalytics(q.trigger)),
        detector: !!this.d.detector && queries.some((q) => q.trigger.type === 'object'),
        ring: old?.ring ?? new FrameRing(config.infer.bufferMs),
        keys: old?.keys,
        keysAt: old?.keysAt ?? 0,
        opened: old?.opened,
        pending: old?.pending ?? [],
        lastThumb: old?.lastThumb ?? 0,
      });
    }
    return { added, removed };
  }

  /** The trigger stages, once open (a reload may open them after the start). */
  useStages(s: { analytics?: AnalyticsStage; detector?: DetectorStage }): void {
    this.d.analytics = s.analytics;
    this.d.detector = s.detector;
  }

  private forget(key: string): void {
    this.lastPlanned.delete(key);
    this.memory.delete(key);
    this.d.ledger.forget(key);
  }

  knows(cameraId: string): boolean {
    return this.cameras.has(cameraId);
  }

  ring(cameraId: string): FrameRing | undefined {
    return this.cameras.get(cameraId)?.ring;
  }

  camera(cameraId: string): CameraConfig | undefined {
    return this.cameras.get(cameraId)?.camera;
  }

  /** Adds a chunk's frames and plans the windows it completes; resolves when planning is done. */
  async onChunk(chunk: FrameChunk, replay = false): Promise<void> {
    const cam = this.cameras.get(chunk.cameraId);
    if (!cam) return;
    if (chunk.keyframes) return this.onKeyframes(cam, chunk, replay);
    cam.ring.width = chunk.width;
    cam.ring.height = chunk.height;
    const added = cam.ring.add(chunk.frames, chunk.fps);
    cam.ring.lastArrival = this.now();
    if (added.length > 0) this.thumb(cam, added[added.length - 1]!);
    // An on_demand camera's trigger judges its keyframes; these pictures are for windows.
    if (cam.analytics && added.length > 0 && !this.onDemand(cam)) await this.analyse(cam, added);
    this.plan(cam, replay);
  }

  /**
   * An `on_demand` camera's keyframe pictures: the trigger stage judges them, a trigger that
   * fires asks ingest for the camera's pictures from the keyframe before its window, and
   * windows are planned on them.
   */
  private async onKeyframes(cam: CameraState, chunk: FrameChunk, replay: boolean): Promise<void> {
    const keys = (cam.keys ??= new FrameRing(this.d.config.infer.bufferMs));
    cam.keysAt = cam.ring.lastArrival = this.now();
    keys.width = chunk.width;
    keys.height = chunk.height;
    const added = keys.add(chunk.frames, keyRate(keys, chunk.frames));
    if (added.length > 0) this.thumb(cam, added[added.length - 1]!);
    if (cam.analytics && added.length > 0) await this.analyse(cam, added);
    const latest = keys.latest();
    if (latest !== undefined) {
      // Queries that look at every window keep the camera decoded.
      const always = cam.queries.filter((q) => !needsAnalytics(q.trigger) && (!q.schedule || inSchedule(q.schedule, latest)));
      // A generous `until`: a decode that stops between renewals would restart and re-decode its backlog.
      if (always.length > 0) this.open(cam, latest - Math.max(...always.map((q) => q.windowMs)), latest + Math.max(this.quietMs(cam), ALWAYS_OPEN_MS));
      if (added.length > 0) this.preActivate(cam, added);
    }
    this.plan(cam, replay);
  }

  private onDemand(cam: CameraState): boolean {
    return this.now() - cam.keysAt < ON_DEMAND_FOR_MS;
  }

  /** Asks for a camera's pictures; repeated only when the request grows or is getting old (ingest keeps the latest `until`). */
  private open(cam: CameraState, from: number, until: number): void {
    const last = cam.opened;
    const now = this.now();
    if (last && from >= last.from && until <= last.until + 1000 && now - last.at < REOPEN_EVERY_MS) return;
    // Each request carries its own start: ingest keeps a decode that already starts early enough.
    cam.opened = { from, until: Math.max(until, last?.until ?? until), at: now };
    this.d.open?.(cam.camera.id, cam.opened.from, cam.opened.until);
  }

  /**
   * Starts the full decode as soon as a keyframe would fire a motion-like trigger, rather
   * than when its window is due: by then the window's pictures are decoded, so the
   * question goes out within the latency budget.
   */
  private preActivate(cam: CameraState, fresh: RingFrame[]): void {
    for (const q of cam.queries) {
      if (q.trigger.type !== 'motion' && q.trigger.type !== 'scene-change' && q.trigger.type !== 'object') continue;
      const memory = { ...(this.memory.get(keyOf(cam.camera.id, q.id)) ?? {}) };
      const outcome = evaluateTrigger(q.trigger, fresh, memory, this.zoneOf(cam, q), q.windowMs);
      if (outcome.fire) this.open(cam, fresh[0]!.capturedAt - q.windowMs, fresh[fresh.length - 1]!.capturedAt + this.quietMs(cam));
    }
  }

  /** How long a camera's full decode runs after the last trigger: its longest cooldown, at least two windows. */
  private quietMs(cam: CameraState): number {
    return Math.max(0, ...cam.queries.map((q) => Math.max(q.cooldownMs ?? 60_000, 2 * q.windowMs)));
  }

  private zoneOf(cam: CameraState, q: QueryConfig): [number, number][] | undefined {
    return q.trigger.zone ? cam.camera.zones.find((z) => z.name === q.trigger.zone)?.polygon : undefined;
  }

  /**
   * Recent decoded video of a camera (ask-now): an `on_demand` camera decodes the last
   * `windowMs` first (up to `waitMs`).
   */
  async recent(cameraId: string, windowMs: number, waitMs = 3_000): Promise<RingFrame[]> {
    const cam = this.cameras.get(cameraId);
    if (!cam) return [];
    const latest = cam.keys?.latest();
    if (latest !== undefined && this.onDemand(cam)) {
      this.open(cam, latest - windowMs, latest + this.quietMs(cam));
      const until = Date.now() + waitMs;
      while (Date.now() < until && !this.covered(cam, latest - windowMs, latest)) await new Promise((r) => setTimeout(r, 50));
    }
    const newest = cam.ring.latest();
    return newest === undefined ? [] : cam.ring.between(newest - windowMs, newest + 1);
  }

  private thumb(cam: CameraState, f: { capturedAt: number; jpeg: Buffer }): void {
    if (!this.d.thumbnail || f.capturedAt - cam.lastThumb < THUMB_EVERY_MS) return;
    cam.lastThumb = f.capturedAt;
    this.d.thumbnail(cam.camera.id, f);
  }

  private async analyse(cam: CameraState, frames: RingFrame[]): Promise<void> {
    const stats = await this.d.analytics!.analyze(cam.camera.id, frames.map((f) => f.jpeg), cam.zones);
    this.d.metrics.analyticsFrames.inc(frames.length);
    const undecodable = stats.filter((s) => s === undefined).length;
    if (undecodable > 0) this.d.metrics.analyticsUndecodable.inc(undecodable);
    frames.forEach((f, i) => (f.stats = stats[i]));
    if (cam.detector) {
      const withStats = frames.filter((f) => f.stats);
      const dets = await this.d.detector!.detect(withStats.map((f) => f.stats!.grid));
      withStats.forEach((f, i) => (f.detections = dets[i]));
    }
  }

  private plan(cam: CameraState, replay: boolean): void {
    // An on_demand camera's windows follow its keyframes (and its pictures while decoded).
    const onDemand = this.onDemand(cam);
    const latest = onDemand ? Math.max(cam.keys?.latest() ?? -Infinity, cam.ring.latest() ?? -Infinity) : cam.ring.latest();
    if (latest === -Infinity) return;
    if (latest === undefined) return;
    const { metrics, ledger } = this.d;
    const due: Due[] = [];
    for (const q of cam.queries) {
      const key = keyOf(cam.camera.id, q.id);
      const plan = dueWindow(q, cam.camera.id, latest, this.lastPlanned.get(key) ?? -Infinity);
      if (!plan) continue;
      this.lastPlanned.set(key, plan.end);
      metrics.windowsPlanned.inc({ query: q.id });
      ledger.planned(key, plan.end);
      const skip = (reason: string) => this.skip(q, key, plan, reason);
      if (q.schedule && !inSchedule(q.schedule, plan.end)) {
        skip('schedule');
        continue;
      }
      const judged = !onDemand ? cam.ring : needsAnalytics(q.trigger) ? cam.keys : undefined;
      // A keyframe in the window's last slot is judged with the next window: the window's own
      // pictures (one per slot) would not show what it saw.
      const frames = judged?.between(plan.start, plan.end - (judged === cam.keys ? 1000 / cam.camera.fps : 0)) ?? [];
      // Keyframes come once a GOP: one is enough for a trigger to judge.
      const least = judged === cam.keys ? 1 : Math.max(2, ((q.windowMs / 1000) * cam.ring.fps) / 2);
      if (judged && frames.length < least) {
        skip('too_few_frames');
        continue;
      }
      const memory = this.memory.get(key) ?? {};
      this.memory.set(key, memory);
      const outcome = evaluateTrigger(q.trigger, frames, memory, this.zoneOf(cam, q), q.windowMs);
      if (!outcome.fire) {
        skip(outcome.reason);
        continue;
      }
      metrics.windowsTriggered.inc({ query: q.id });
      const p: Pending = { q, plan, key, outcome, replay, deadline: this.now() + q.windowMs + DECODE_GRACE_MS };
      if (onDemand && !this.covered(cam, plan.start, plan.end)) {
        this.open(cam, plan.start, plan.end + this.quietMs(cam));
        cam.pending.push(p);
        continue;
      }
      const d = this.job(cam, p);
      if (d) due.push(d);
    }
    this.submitGrouped(cam, due, replay);
    if (cam.pending.length > 0) this.resolvePending(cam);
  }

  /** Whether the pictures of [start, end) have arrived: the ring has reached its end and holds nearly every slot. */
  private covered(cam: CameraState, start: number, end: number): boolean {
    const slot = 1000 / cam.camera.fps;
    if ((cam.ring.latest() ?? -Infinity) < end - slot) return false;
    return cam.ring.between(start, end).length >= Math.floor(((end - start) / slot) * 0.9);
  }

  /** Fired windows whose pictures are now decoded go out; those past their deadline are skipped. */
  private resolvePending(cam: CameraState): void {
    if (cam.pending.length === 0) return;
    const now = this.now();
    const ready: Due[] = [];
    const waiting: Pending[] = [];
    let replay = false;
    for (const p of cam.pending) {
      if (this.covered(cam, p.plan.start, p.plan.end)) {
        const d = this.job(cam, p);
        if (d) ready.push(d);
        replay ||= p.replay;
      } else if (now > p.deadline) {
        // Late or partial pictures (ingest restarted, the request was lost): a window with most of them still goes.
        const d = cam.ring.between(p.plan.start, p.plan.end).length >= Math.max(2, ((p.q.windowMs / 1000) * cam.ring.fps) / 2) ? this.job(cam, p) : undefined;
        if (d) ready.push(d);
        else {
          // Pictures that start late: the camera's kept video did not reach back (it just came online).
          const first = cam.ring.between(p.plan.start, p.plan.end)[0];
          this.skip(p.q, p.key, p.plan, first && first.capturedAt > p.plan.start + 2000 / cam.camera.fps ? 'too_few_frames' : 'undecodable');
        }
      } else {
        // Repeated while waiting: a request can be lost (ingest restarting, the control plane away).
        this.open(cam, p.plan.start, p.plan.end + this.quietMs(cam));
        waiting.push(p);
      }
    }
    cam.pending = waiting;
    if (ready.length > 0) this.submitGrouped(cam, ready, replay);
  }

  private skip(q: QueryConfig, key: string, plan: WindowPlan, reason: string): void {
    this.d.metrics.windowsSkipped.inc({ query: q.id, reason });
    this.d.ledger.skipped(key, plan, q.everyMs, reason);
  }

  /** The question about a fired window: its frames at the query's budget, unless the token budget is spent. */
  private job(cam: CameraState, p: Pending): Due | undefined {
    const { q, plan, key, outcome } = p;
    const frames = cam.ring.between(plan.start, plan.end);
    if (frames.length < Math.max(2, ((q.windowMs / 1000) * cam.ring.fps) / 2)) {
      this.skip(q, key, plan, 'too_few_frames');
      return undefined;
    }
    const site = cam.camera.site;
    // The trigger judged every frame; the model gets the query's frame budget.
    const thin = q.fps !== undefined && q.fps < cam.ring.fps;
    const sampled = thin ? sampleFrames(frames, q.fps!, plan.start) : frames;
    // zone_view: crop — the model is sent the zone cut from the full-resolution picture.
    const sent = q.zoneView === 'crop' ? cropsOf(sampled, q.zone!) : sampled;
    if (sent.length < Math.max(2, sampled.length / 2)) {
      this.skip(q, key, plan, 'no_crop');
      return undefined;
    }
    const fps = thin ? q.fps! : cam.ring.fps;
    const size = q.zoneView === 'crop' ? jpegSize(sent[0]!.jpeg) : undefined;
    const estimatedTokens = estimateTokens(sent.length, size?.width ?? (cam.ring.width || 640), size?.height ?? (cam.ring.height || 388), this.d.profileOf(q));
    const over = this.d.budget.over(cam.camera.id, site);
    if (over) {
      this.skip(q, key, plan, `budget_${over}`);
      return undefined;
    }
    const named = renderQuestion(q.question, { camera: cam.camera.name, site, zone: q.zone });
    // zone_view: outline — the zone is drawn on the frames (when they are prepared) and the question points at it.
    const polygon = q.zoneView === 'outline' ? cam.camera.zones.find((z) => z.name === q.zone)?.polygon : undefined;
    const outline = polygon && { zone: q.zone!, polygon, unoutlined: named };
    const question = outline ? renderQuestion(q.question, { camera: cam.camera.name, site, zone: outlinedZone(q.zone!) }) : named;
    return { job: { cameraId: cam.camera.id, site, query: q, question, start: plan.start, end: plan.end, frames: sent, fps, estimatedTokens, trigger: { type: q.trigger.type, zone: q.trigger.zone, detail: outcome.detail }, outline }, key, priority: SEVERITY_RANK[q.severity] };
  }

  /**
   * Questions about the same frames go as one group (model.share: prefix), keyed by their
   * share class so a newer window supersedes a waiting group as a unit; a query alone in its
   * class keeps its own key.
   */
  private submitGrouped(cam: CameraState, due: Due[], replay: boolean): void {
    if (this.d.config.model.share === 'none') {
      for (const d of due) this.d.submit([d.job], d.key, d.priority, replay, false);
      return;
    }
    if (due.length === 0) return;
    const classOf = (q: QueryConfig) => shareClass(q, this.d.profileOf(q), cam.camera.fps);
    const size = new Map<string, number>();
    for (const q of cam.queries) size.set(classOf(q), (size.get(classOf(q)) ?? 0) + 1);
    const groups = new Map<string, { cls: string; members: typeof due }>();
    for (const d of due) {
      const cls = classOf(d.job.query);
      const g = `${cls}@${d.job.start}-${d.job.end}`;
      const group = groups.get(g) ?? { cls, members: [] };
      group.members.push(d);
      groups.set(g, group);
    }
    for (const { cls, members } of groups.values()) {
      const first = members[0]!;
      const alone = size.get(cls) === 1;
      members.sort((a, b) => b.priority - a.priority);
      const key = alone ? first.key : keyOf(cam.camera.id, `\u0001share:${cls}`);
      this.d.submit(members.map((m) => m.job), key, members[0]!.priority, replay, this.d.config.model.share === 'fused' && members.length > 1);
    }
  }

  /**
   * Whether every window that uses frames up to `lastCapture` of this camera is settled
   * (so the chunk holding them may be committed). A camera that went quiet settles at once:
   * the frames its open windows wait for are not coming.
   */
  settledThrough(cameraId: string, lastCapture: number): boolean {
    const cam = this.cameras.get(cameraId);
    if (!cam) return true;
    for (const q of cam.queries) {
      const end = Math.floor((lastCapture + q.windowMs) / q.everyMs) * q.everyMs;
      if (this.d.ledger.settledThrough(keyOf(cameraId, q.id), end)) continue;
      if (this.now() - cam.ring.lastArrival > q.windowMs + q.everyMs + 5000) continue;
      return false;
    }
    return true;
  }
}

/** Which trigger stages a config needs: the ONNX analytics (motion, stall…) and the object detector. */
export function needsStages(config: VigilConfig): { analytics: boolean; detector: boolean } {
  return {
    analytics: config.queries.some((q) => needsAnalytics(q.trigger)),
    detector: !!config.infer.onnx.detector && config.queries.some((q) => q.trigger.type === 'object'),
  };
}

/** A window's frames as the zone's crops (frames without one are left out: ingest sent none). */
function cropsOf(frames: readonly RingFrame[], zone: string): RingFrame[] {
  const out: RingFrame[] = [];
  for (const f of frames) {
    const jpeg = f.crops?.get(zone);
    if (jpeg) out.push({ capturedAt: f.capturedAt, streamTime: f.streamTime, jpeg });
  }
  return out;
}
