import { shareClass, type CameraConfig, type QueryConfig, type VigilConfig } from '@vigil/config';
import type { FrameChunk } from '@vigil/contracts';
import type { Logger } from '@vigil/observability';
import { FrameRing, type RingFrame } from './frame-ring.ts';
import { dueWindow, sampleFrames } from './windows.ts';
import { evaluateTrigger, needsAnalytics, type TriggerMemory } from './triggers.ts';
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
  ring: FrameRing;
}

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
}

export const keyOf = (camera: string, query: string) => `${camera}\u0000${query}`;

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
    if (cam.analytics && added.length > 0) await this.analyse(cam, added);
    this.plan(cam, replay);
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
    const latest = cam.ring.latest();
    if (latest === undefined) return;
    const { metrics, ledger } = this.d;
    const due: { job: AskJob; key: string; priority: number }[] = [];
    for (const q of cam.queries) {
      const key = keyOf(cam.camera.id, q.id);
      const plan = dueWindow(q, cam.camera.id, latest, this.lastPlanned.get(key) ?? -Infinity);
      if (!plan) continue;
      this.lastPlanned.set(key, plan.end);
      metrics.windowsPlanned.inc({ query: q.id });
      ledger.planned(key, plan.end);
      const skip = (reason: string) => {
        metrics.windowsSkipped.inc({ query: q.id, reason });
        ledger.settled(key, plan.end);
      };
      if (q.schedule && !inSchedule(q.schedule, plan.end)) {
        skip('schedule');
        continue;
      }
      const frames = cam.ring.between(plan.start, plan.end);
      if (frames.length < Math.max(2, ((q.windowMs / 1000) * cam.ring.fps) / 2)) {
        skip('too_few_frames');
        continue;
      }
      const memory = this.memory.get(key) ?? {};
      this.memory.set(key, memory);
      const zone = q.trigger.zone ? cam.camera.zones.find((z) => z.name === q.trigger.zone)?.polygon : undefined;
      const outcome = evaluateTrigger(q.trigger, frames, memory, zone, q.windowMs);
      if (!outcome.fire) {
        skip(outcome.reason);
        continue;
      }
      metrics.windowsTriggered.inc({ query: q.id });
      const site = cam.camera.site;
      // The trigger judged every frame; the model gets the query's frame budget.
      const thin = q.fps !== undefined && q.fps < cam.ring.fps;
      const sent = thin ? sampleFrames(frames, q.fps!, plan.start) : frames;
      const fps = thin ? q.fps! : cam.ring.fps;
      const estimatedTokens = estimateTokens(sent.length, cam.ring.width || 640, cam.ring.height || 388, this.d.profileOf(q));
      const over = this.d.budget.over(cam.camera.id, site);
      if (over) {
        skip(`budget_${over}`);
        continue;
      }
      const question = renderQuestion(q.question, { camera: cam.camera.name, site, zone: q.trigger.zone });
      due.push({ job: { cameraId: cam.camera.id, site, query: q, question, start: plan.start, end: plan.end, frames: sent, fps, estimatedTokens, trigger: { type: q.trigger.type, zone: q.trigger.zone, detail: outcome.detail } }, key, priority: SEVERITY_RANK[q.severity] });
    }
    this.submitGrouped(cam, due, replay);
  }

  /**
   * Questions about the same frames go as one group (model.share: prefix), keyed by their
   * share class so a newer window supersedes a waiting group as a unit; a query alone in its
   * class keeps its own key.
   */
  private submitGrouped(cam: CameraState, due: { job: AskJob; key: string; priority: number }[], replay: boolean): void {
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
