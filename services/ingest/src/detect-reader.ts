import { CaptureClock, FfmpegFrameSource, ffmpegArgs, jpegSize, type FfmpegInput } from '@vigil/media';
import type { Logger } from '@vigil/observability';
import { DEFAULT_BACKOFF, backoffDelay, type BackoffPolicy } from './backoff.ts';
import { describeFailure } from './failure.ts';

export interface DetectReaderOptions {
  /** The camera's low-resolution substream (`detect_url`), credentials applied. */
  input: FfmpegInput;
  ffmpegPath: string;
  /** Pictures a second the trigger stage gets (`detect_fps`). */
  fps: number;
  width: number;
  /** Stream silent this long: ffmpeg is restarted (the camera's stall_timeout). */
  stallTimeoutMs: number;
  log: Logger;
  /** Makes ffmpeg's words safe to log (the camera's password). */
  scrub(text: string): string;
  /** A picture of the substream: the trigger stage's input. */
  picture(jpeg: Buffer, capturedAt: number, width: number, height: number): void;
  /** The substream started or stopped delivering (the keyframe decoder stands in meanwhile). */
  up(delivering: boolean): void;
  backoff?: BackoffPolicy;
}

/**
 * `detect_url`: a camera's substream decoded continuously at a low rate for the trigger stage
 * (Frigate's `detect` input role), so the main stream is only copied while the camera is
 * quiet. Supervised like a camera (restarts with backoff, a stall ends ffmpeg); its failures
 * never touch the main stream: the keyframe decoder stands in while it is down.
 */
export class DetectReader {
  private source?: FfmpegFrameSource;
  private readonly clock = new CaptureClock();
  private timer?: NodeJS.Timeout;
  private startedAt = 0;
  private lastAt?: number;
  private delivering = false;
  private failures = 0;
  private lastReason?: string;
  private stopped = false;
  private failedOnce = false;

  constructor(private readonly o: DetectReaderOptions) {}

  get up(): boolean {
    return this.delivering;
  }

  start(): void {
    if (this.stopped) return;
    this.clock.reset();
    this.startedAt = Date.now();
    this.lastAt = undefined;
    let index = 0;
    let first: number | undefined;
    const source: FfmpegFrameSource = new FfmpegFrameSource(this.o.ffmpegPath, ffmpegArgs(this.o.input, { fps: this.o.fps, width: this.o.width, noUpscale: true }), {
      frame: (jpeg, _item, arrivedAt) => {
        if (this.source !== source || this.stopped) return;
        const size = jpegSize(jpeg);
        if (!size) return;
        first ??= arrivedAt;
        const capturedAt = this.clock.stamp(index++ / this.o.fps, arrivedAt);
        this.lastAt = arrivedAt;
        if (!this.delivering) {
          this.delivering = true;
          this.failures = 0;
          this.lastReason = undefined;
          this.o.log.info('detect stream delivering: the trigger stage reads it');
          this.o.up(true);
        }
        this.o.picture(jpeg, capturedAt, size.width, size.height);
      },
      exit: (reason) => {
        if (this.source !== source) return;
        this.source = undefined;
        this.down(describeFailure(this.o.scrub(reason)));
      },
    });
    this.source = source;
    source.start();
  }

  /** About once a second: a stalled substream is ended (and restarted by its exit). */
  tick(now = Date.now()): void {
    if (!this.source || this.stopped) return;
    if (now - (this.lastAt ?? this.startedAt) > this.o.stallTimeoutMs) this.source.kill(`no frames for ${Math.round(this.o.stallTimeoutMs / 1000)} s`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const s = this.source;
    this.source = undefined;
    await s?.stop();
  }

  private down(reason: string): void {
    // Said on the first failure too (it never delivered): the keyframes stand in from then on.
    if (this.delivering || !this.failedOnce) {
      this.delivering = false;
      this.failedOnce = true;
      this.o.up(false);
    }
    if (this.stopped) return;
    this.failures++;
    const delay = backoffDelay(this.failures, this.o.backoff ?? DEFAULT_BACKOFF);
    // Once per reason: a substream that stays down does not fill the log.
    if (reason !== this.lastReason) this.o.log.warn({ reason, retryInMs: delay }, 'detect stream down: the trigger stage reads the main stream\'s keyframes meanwhile');
    this.lastReason = reason;
    this.timer = setTimeout(() => this.start(), delay);
  }
}
