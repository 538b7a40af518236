import type { CameraConfig } from '@vigil/config';
import type { CameraStatus, FrameChunk } from '@vigil/contracts';
import type { Logger } from '@vigil/observability';
import { CameraWorker } from './camera-worker.ts';
import type { BackoffPolicy } from './backoff.ts';
import { Reasons } from './failure.ts';
import type { IngestMetrics } from './metrics.ts';
import { diffCameras } from './reload.ts';
import { inShard, type Shard } from './shard.ts';

/** Settings shared by every camera; a change to them restarts all of them. */
export interface PipelineSettings {
  chunkMs: number;
  ffmpegPath: string;
  /** decode: on_demand — packets kept per camera for a full decode to start from. */
  packetsMs: number;
  /** decode: on_demand — full decode this long without a pause: ffmpeg decodes the camera directly (0: never). */
  busyAfterMs: number;
}

export interface FleetDeps {
  metrics: IngestMetrics;
  log: Logger;
  shard?: Shard;
  onChunk(chunk: FrameChunk): void;
  onStatus(status: CameraStatus): void;
  /** A camera left the config and its worker has stopped (its last chunk is queued). */
  onRemoved?(cameraId: string): Promise<void>;
  backoff?: BackoffPolicy;
  rateWindowMs?: number;
}

/** What a config change did, by camera id. */
export interface ApplyResult {
  added: string[];
  removed: string[];
  restarted: string[];
  relabelled: string[];
  unchanged: string[];
  /** Cameras in the config that other shards run. */
  otherShards: number;
}

/**
 * The cameras this process runs: this shard's share of the config. `apply` moves from one
 * config to the next touching only what changed — untouched cameras keep their ffmpeg.
 */
export class CameraFleet {
  private readonly workers = new Map<string, CameraWorker>();
  private settings?: PipelineSettings;
  private applying: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: FleetDeps) {}

  /** Moves to `cameras`; calls are serialised so overlapping reloads cannot interleave. */
  apply(cameras: readonly CameraConfig[], settings: PipelineSettings): Promise<ApplyResult> {
    const next = this.applying.then(() => this.applyNow(cameras, settings));
    this.applying = next.catch(() => undefined);
    return next;
  }

  tick(now = Date.now()): void {
    for (const w of this.workers.values()) w.tick(now);
  }

  /** Infer asks for a camera's pictures (decode: on_demand); false when this shard does not run it on demand. */
  activate(cameraId: string, from: number, until: number): boolean {
    return this.workers.get(cameraId)?.activate(from, until) ?? false;
  }

  snapshots(now = Date.now()) {
    return [...this.workers.values()].map((w) => w.snapshot(now));
  }

  get size(): number {
    return this.workers.size;
  }

  /** Stops every camera. */
  async close(): Promise<void> {
    await this.applying;
    const all = [...this.workers.values()];
    this.workers.clear();
    await Promise.allSettled(all.map((w) => w.stop(Reasons.stopped)));
  }

  private async applyNow(cameras: readonly CameraConfig[], settings: PipelineSettings): Promise<ApplyResult> {
    const mine = cameras.filter((c) => inShard(c.id, this.deps.shard));
    const running = [...this.workers.values()].map((w) => w.camera);
    const diff = diffCameras(running, mine);
    const settingsChanged = this.settings !== undefined && (this.settings.chunkMs !== settings.chunkMs || this.settings.ffmpegPath !== settings.ffmpegPath);
    this.settings = settings;
    const restart = settingsChanged ? mine.filter((c) => this.workers.has(c.id)) : diff.changed;
    const restartIds = new Set(restart.map((c) => c.id));
    // Stop first (removed and changed together), then start: a changed camera continues its
    // timeline from where the old worker left it.
    const handovers = new Map<string, Awaited<ReturnType<CameraWorker['stop']>>>();
    await Promise.all([
      ...diff.removed.map(async (id) => {
        const w = this.workers.get(id)!;
        this.workers.delete(id);
        await w.stop(Reasons.removed);
        await this.deps.onRemoved?.(id);
      }),
      ...restart.map(async (c) => {
        const w = this.workers.get(c.id)!;
        this.workers.delete(c.id);
        handovers.set(c.id, await w.stop('restarting with a new config'));
      }),
    ]);
    for (const c of diff.relabelled) if (!restartIds.has(c.id)) this.workers.get(c.id)!.camera = c;
    for (const c of [...diff.added, ...restart]) {
      const w = new CameraWorker(c, { ...this.deps, ...settings, resume: handovers.get(c.id) });
      this.workers.set(c.id, w);
      w.start();
    }
    this.deps.metrics.cameras.set(this.workers.size);
    return {
      added: diff.added.map((c) => c.id),
      removed: diff.removed,
      restarted: [...restartIds],
      relabelled: diff.relabelled.filter((c) => !restartIds.has(c.id)).map((c) => c.id),
      unchanged: diff.unchanged.filter((id) => !restartIds.has(id)),
      otherShards: cameras.length - mine.length,
    };
  }
}
