import { shareClass, type CameraConfig, type QueryConfig, type VigilConfig } from '@vigil/config';
import type { FrameChunk, PacketChunk } from '@vigil/contracts';
import { jpegSize, type DecodedFrame } from '@vigil/media';
import { CameraVideo } from './camera-video.ts';
import type { Logger } from '@vigil/observability';
import { FrameRing, type RingFrame } from './frame-ring.ts';
import { dueWindow, sampleFrames, type WindowPlan } from './windows.ts';
import { evaluateTrigger, needsAnalytics, type TriggerMemory, type TriggerOutcome } from './triggers.ts';
import { inSchedule } from './schedule.ts';
import { renderQuestion } from './question.ts';
import { estimateTokens } from '@vigil/model';
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
  /** `on_demand` cameras: the packets and decoders; `keys` holds the keyframe pictures the trigger stage judges. */
  video?: CameraVideo;
  keys?: FrameRing;
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
}

export const keyOf = (camera: string, query: string) => `${camera}\u0000${query}`;

type Due = { job: AskJob; key: string; priority: number };

/** The rate the trigger sees on a keyframe ring: from the spacing of its pictures. */
function keyRate(keys: FrameRing, pictures: DecodedFrame[]): number {
  const prev = keys.latest();
  const first = pictures[0]?.capturedAt;
  const last = pictures[pictures.length - 1]?.capturedAt;
  if (first === undefined || last === undefined) return keys.fps;
  const span = last - (prev ?? first);
  const n = pictures.length - (prev === undefined ? 1 : 0);
  return n > 0 && span > 0 ? Math.min(30, (1000 * n) / span) : keys.fps;
}

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

  constructor(private readonly d: PlannerDeps) {
    this.memory = d.memory ?? new Map();
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
      this.cameras.get(id)!.video?.close();
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
      // A change to how the camera is decoded restarts its decoders (the packets go with them).
      const sameVideo = old && ['width', 'fps', 'keyframeEvery', 'hwaccel'].every((k) => old.camera[k as keyof CameraConfig] === camera[k as keyof CameraConfig]);
      if (old?.video && !sameVideo) old.video.close();
      this.cameras.set(camera.id, {
        camera,
        queries,
        zones: camera.zones.map((z) => ({ name: z.name, cells: zoneCells(z.polygon) })),
        analytics: !!this.d.analytics && queries.some((q) => needsAnalytics(q.trigger)),
        detector: !!this.d.detector && queries.some((q) => q.trigger.type === 'object'),
        ring: old?.ring ?? new FrameRing(config.infer.bufferMs),
        video: sameVideo ? old?.video : undefined,
        keys: sameVideo ? old?.keys : undefined,
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
    cam.ring.width = chunk.width;
    cam.ring.height = chunk.height;
    const added = cam.ring.add(chunk.frames, chunk.fps);
    if (added.length > 0) this.thumb(cam, added[added.length - 1]!);
    if (cam.analytics && added.length > 0) await this.analyse(cam, added);
    this.plan(cam, replay);
  }

  /**
   * An `on_demand` camera's packets: the keyframes are decoded for the trigger stage, a
   * trigger that fires starts the full decode at the keyframe before its window, and windows
   * are planned on the packets' capture times; resolves when planning is done.
   */
  async onPackets(chunk: PacketChunk, replay = false): Promise<void> {
    const cam = this.cameras.get(chunk.cameraId);
    if (!cam) return;
    const video = (cam.video ??= this.videoFor(cam));
    const keys = (cam.keys ??= new FrameRing(this.d.config.infer.bufferMs));
    cam.ring.lastArrival = Date.now();
    cam.ring.fps = cam.camera.fps;
    const pictures = await video.take(chunk);
    if (cam.video !== video) return; // reconfigured meanwhile
    this.d.metrics.decodedFrames.inc({ kind: 'keyframes' }, pictures.length);
    const rate = keyRate(keys, pictures);
    const added = keys.add(pictures.map((p) => ({ capturedAt: p.capturedAt, streamTime: 0, jpeg: p.jpeg })), rate, true);
    if (added.length > 0) this.thumb(cam, added[added.length - 1]!);
    if (cam.analytics && added.length > 0) await this.analyse(cam, added);
    const latest = video.ring.latest();
    if (latest !== undefined) {
      // Queries that look at every window keep the full decode running.
      const always = cam.queries.filter((q) => !needsAnalytics(q.trigger) && (!q.schedule || inSchedule(q.schedule, latest)));
      if (always.length > 0) video.activate(latest - Math.max(...always.map((q) => q.windowMs)), latest + this.quietMs(cam));
      if (added.length > 0) this.preActivate(cam, video, added);
    }
    this.plan(cam, replay);
  }

  /**
   * Starts the full decode as soon as a keyframe would fire a motion-like trigger, rather
   * than when its window is due: by then the window's pictures are decoded, so the
   * question goes out within the latency budget.
   */
  private preActivate(cam: CameraState, video: CameraVideo, fresh: RingFrame[]): void {
    for (const q of cam.queries) {
      if (q.trigger.type !== 'motion' && q.trigger.type !== 'scene-change' && q.trigger.type !== 'object') continue;
      const memory = { ...(this.memory.get(keyOf(cam.camera.id, q.id)) ?? {}) };
      const outcome = evaluateTrigger(q.trigger, fresh, memory, this.zoneOf(cam, q), q.windowMs);
      if (outcome.fire) video.activate(fresh[0]!.capturedAt - q.windowMs, fresh[fresh.length - 1]!.capturedAt + this.quietMs(cam));
    }
  }

  /** How long a camera's full decode runs after the last trigger: its longest cooldown, at least two windows. */
  private quietMs(cam: CameraState): number {
    return Math.max(0, ...cam.queries.map((q) => Math.max(q.cooldownMs ?? 60_000, 2 * q.windowMs)));
  }

  private zoneOf(cam: CameraState, q: QueryConfig): [number, number][] | undefined {
    return q.trigger.zone ? cam.camera.zones.find((z) => z.name === q.trigger.zone)?.polygon : undefined;
  }

  private videoFor(cam: CameraState): CameraVideo {
    const { camera } = cam;
    let coalesce = false;
    return new CameraVideo({
      cameraId: camera.id,
      ffmpegPath: this.d.config.ingest.ffmpegPath,
      width: camera.width,
      fps: camera.fps,
      keyframeEvery: camera.keyframeEvery,
      hwaccel: camera.hwaccel,
      keepMs: this.d.config.infer.bufferMs,
      log: this.d.log,
      onDecoder: (kind, running) => this.d.metrics.decoders.inc({ kind }, running ? 1 : -1),
      onFrame: (f: DecodedFrame) => {
        const now = this.cameras.get(camera.id);
        if (!now || now.video === undefined) return;
        this.d.metrics.decodedFrames.inc({ kind: 'full' });
        if (!now.ring.width) {
          const size = jpegSize(f.jpeg);
          now.ring.width = size?.width ?? 0;
          now.ring.height = size?.height ?? 0;
        }
        now.ring.add([{ capturedAt: f.capturedAt, streamTime: 0, jpeg: f.jpeg }], camera.fps, true);
        // Pictures come one at a time: look at the waiting windows once per burst.
        if (coalesce) return;
        coalesce = true;
        setImmediate(() => {
          coalesce = false;
          const c = this.cameras.get(camera.id);
          if (c) this.resolvePending(c);
        });
      },
    });
  }

  /**
   * Recent decoded video of a camera (ask-now): an `on_demand` camera decodes the last
   * `windowMs` first (up to `waitMs`).
   */
  async recent(cameraId: string, windowMs: number, waitMs = 5_000): Promise<RingFrame[]> {
    const cam = this.cameras.get(cameraId);
    if (!cam) return [];
    const video = cam.video;
    const latest = video?.ring.latest();
    if (video && latest !== undefined) {
      video.activate(latest - windowMs, latest + this.quietMs(cam));
      const until = Date.now() + waitMs;
      while (Date.now() < until && (video.decodedThrough ?? -Infinity) < latest - 1000 / cam.camera.fps) await new Promise((r) => setTimeout(r, 50));
    }
    const newest = cam.ring.latest();
    return newest === undefined ? [] : cam.ring.between(newest - windowMs, newest + 1);
  }

  /** Ends the decoders (infer stopping). */
  close(): void {
    for (const cam of this.cameras.values()) cam.video?.close();
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
    // An on_demand camera's windows follow its packets; the trigger judges its keyframes.
    const latest = cam.video ? cam.video.ring.latest() : cam.ring.latest();
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
      const judged = cam.keys && needsAnalytics(q.trigger) ? cam.keys : cam.video ? undefined : cam.ring;
      const frames = judged?.between(plan.start, plan.end) ?? [];
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
      const p: Pending = { q, plan, key, outcome, replay, deadline: Date.now() + q.windowMs + DECODE_GRACE_MS };
      if (cam.video && !this.decoded(cam, plan)) {
        cam.video.activate(plan.start, plan.end + this.quietMs(cam));
        cam.pending.push(p);
        continue;
      }
      const d = this.job(cam, p);
      if (d) due.push(d);
    }
    this.submitGrouped(cam, due, replay);
    if (cam.pending.length > 0) this.resolvePending(cam);
  }

  /** Whether the full decode holds a window's pictures (from its start to its end). */
  private decoded(cam: CameraState, plan: WindowPlan): boolean {
    const v = cam.video!;
    const from = v.coveredFrom;
    const through = v.decodedThrough;
    return from !== undefined && through !== undefined && from <= plan.start && through >= plan.end - 1000 / cam.camera.fps;
  }

  /** Fired windows whose pictures are now decoded go out; those past their deadline are skipped. */
  private resolvePending(cam: CameraState): void {
    if (cam.pending.length === 0) return;
    const now = Date.now();
    const ready: Due[] = [];
    const waiting: Pending[] = [];
    let replay = false;
    for (const p of cam.pending) {
      if (this.decoded(cam, p.plan)) {
        const d = this.job(cam, p);
        if (d) ready.push(d);
        replay ||= p.replay;
      } else if (now > p.deadline) this.skip(p.q, p.key, p.plan, 'undecodable');
      else {
        // A decoder that ended (or never started) is started again from the window's keyframe.
        cam.video?.activate(p.plan.start, p.plan.end + this.quietMs(cam));
        waiting.push(p);
      }
    }
    cam.pending = waiting;
    if (ready.length > 0) this.submitGrouped(cam, ready, replay);
  }

  private skip(q: QueryConfig, key: string, plan: WindowPlan, reason: string): void {
    this.d.metrics.windowsSkipped.inc({ query: q.id, reason });
    this.d.ledger.settled(key, plan.end);
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
    const sent = thin ? sampleFrames(frames, q.fps!, plan.start) : frames;
    const fps = thin ? q.fps! : cam.ring.fps;
    const estimatedTokens = estimateTokens(sent.length, cam.ring.width || 640, cam.ring.height || 388, this.d.profileOf(q));
    const over = this.d.budget.over(cam.camera.id, site);
    if (over) {
      this.skip(q, key, plan, `budget_${over}`);
      return undefined;
    }
    const question = renderQuestion(q.question, { camera: cam.camera.name, site, zone: q.trigger.zone });
    return { job: { cameraId: cam.camera.id, site, query: q, question, start: plan.start, end: plan.end, frames: sent, fps, estimatedTokens, trigger: { type: q.trigger.type, zone: q.trigger.zone, detail: outcome.detail } }, key, priority: SEVERITY_RANK[q.severity] };
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
      if (Date.now() - cam.ring.lastArrival > q.windowMs + q.everyMs + 5000) continue;
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
