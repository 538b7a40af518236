import type { CameraConfig } from '@vigil/config';
import type { CameraState, CameraStatus, FrameChunk } from '@vigil/contracts';
import { CaptureClock, FfmpegFrameSource } from '@vigil/media';
import { redactText, type Logger } from '@vigil/observability';
import { Chunker } from './chunker.ts';
import { jpegSize } from './jpeg-size.ts';
import type { IngestMetrics } from './metrics.ts';

export interface CameraWorkerDeps {
  chunkMs: number;
  ffmpegPath: string;
  metrics: IngestMetrics;
  log: Logger;
  onChunk(chunk: FrameChunk): void;
  onStatus(status: CameraStatus): void;
}

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30_000;

/**
 * Supervises one camera: runs ffmpeg, restarts it with exponential backoff and jitter when
 * it ends, stamps capture times, cuts chunks, and reports state changes.
 */
export class CameraWorker {
  private source?: FfmpegFrameSource;
  private readonly clock = new CaptureClock();
  private readonly chunker: Chunker;
  private state: CameraState = 'starting';
  private failures = 0;
  private restartTimer?: NodeJS.Timeout;
  private stopped = false;
  private size?: { width: number; height: number };
  private lastFrameAt = 0;
  private readonly log: Logger;

  constructor(
    readonly camera: CameraConfig,
    private readonly deps: CameraWorkerDeps,
  ) {
    this.chunker = new Chunker(camera.id, camera.fps, deps.chunkMs, Date.now());
    this.log = deps.log.child({ camera: camera.id });
  }

  start(): void {
    this.setState('starting', 'connecting');
    this.spawn();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.source?.stop();
    this.flush();
    this.deps.metrics.cameraUp.set({ camera: this.camera.id }, 0);
  }

  private spawn(): void {
    const cam = this.camera;
    this.clock.reset();
    let framesThisRun = 0;
    this.source = new FfmpegFrameSource(
      { url: cam.url, transport: cam.transport, fps: cam.fps, width: cam.width, band: true, ffmpegPath: this.deps.ffmpegPath },
      {
        frame: (jpeg, index, arrivedAt) => {
          framesThisRun++;
          this.onFrame(jpeg, index, arrivedAt);
        },
        exit: (reason) => {
          this.flush();
          if (this.stopped) return;
          if (framesThisRun > 0) this.failures = 0;
          this.failures++;
          const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (this.failures - 1)) * (0.8 + Math.random() * 0.4);
          const why = describeFailure(redactText(reason));
          this.setState('offline', why);
          this.log.warn({ reason: why, retryInMs: Math.round(delay) }, 'camera stream ended; restarting');
          this.deps.metrics.cameraUp.set({ camera: cam.id }, 0);
          this.restartTimer = setTimeout(() => {
            this.deps.metrics.restarts.inc({ camera: cam.id });
            this.spawn();
          }, delay);
        },
      },
    );
    this.source.start();
  }

  private onFrame(jpeg: Buffer, index: number, arrivedAt: number): void {
    const cam = this.camera;
    this.size ??= jpegSize(jpeg);
    if (!this.size) return;
    const streamTime = index / cam.fps;
    const capturedAt = this.clock.stamp(streamTime, arrivedAt);
    this.lastFrameAt = arrivedAt;
    this.deps.metrics.framesIngested.inc({ camera: cam.id });
    this.deps.metrics.cameraUp.set({ camera: cam.id }, 1);
    if (this.state !== 'online') this.setState('online', 'receiving frames');
    const chunk = this.chunker.add({ capturedAt, streamTime, jpeg }, this.size.width, this.size.height);
    if (chunk) this.deps.onChunk(chunk);
  }

  /** Seconds since the last frame, for the staleness gauge. */
  secondsSinceLastFrame(now = Date.now()): number {
    return this.lastFrameAt ? (now - this.lastFrameAt) / 1000 : Infinity;
  }

  private flush(): void {
    if (!this.size) return;
    const chunk = this.chunker.flush(this.size.width, this.size.height);
    if (chunk) this.deps.onChunk(chunk);
  }

  private setState(state: CameraState, reason: string): void {
    if (state === this.state && state !== 'starting') return;
    this.state = state;
    this.deps.onStatus({ v: 1, cameraId: this.camera.id, state, reason, at: Date.now(), fps: this.camera.fps });
  }
}

/** Turns ffmpeg's last error line into a reason an operator can act on. */
export function describeFailure(line: string): string {
  const l = line.toLowerCase();
  if (l.includes('401') || l.includes('unauthorized')) return '401 unauthorized';
  if (l.includes('connection refused')) return 'connection refused';
  if (l.includes('404') || l.includes('not found')) return 'stream not found (404)';
  if (l.includes('timed out') || l.includes('timeout')) return 'connection timed out';
  if (l.includes('no route') || l.includes('unreachable') || l.includes('name or service not known')) return 'host unreachable';
  if (l.includes('does not contain any stream') || l.includes('matches no streams')) return 'stream has no video';
  if (l.includes('invalid data')) return 'invalid data from camera';
  return line.slice(0, 200) || 'stream ended';
}
