import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { JpegSplitter } from './jpeg-splitter.ts';
import { FfmpegLog, type StreamInfo } from './ffmpeg-log.ts';

export interface FrameSourceEvents {
  /** A decoded, resampled, banded frame: `index` counts output frames from 0. */
  frame(jpeg: Buffer, index: number, arrivedAt: number): void;
  /** ffmpeg opened the camera and described its video stream. */
  stream?(info: StreamInfo): void;
  /**
   * ffmpeg ended. `reason` is the reason given to `kill`, else ffmpeg's last error lines
   * (may contain the URL with credentials: redact before it leaves the process), else
   * `stream ended`. `opened`: whether ffmpeg reached the camera at all.
   */
  exit(reason: string, opened: boolean): void;
}

/**
 * One ffmpeg process pulling a camera and writing JPEG frames to a pipe that is always
 * read (never paused), so a slow consumer can never stall ffmpeg. It does not restart
 * itself: the camera supervisor owns that policy.
 */
export class FfmpegFrameSource {
  private child?: ChildProcessByStdio<null, Readable, Readable>;
  private killReason?: string;
  private ended = false;
  private log?: FfmpegLog;

  constructor(
    private readonly ffmpegPath: string,
    private readonly args: readonly string[],
    private readonly on: FrameSourceEvents,
  ) {}

  /** The ffmpeg process id while it runs (for CPU accounting). */
  get pid(): number | undefined {
    return this.ended ? undefined : this.child?.pid;
  }

  /** Whether ffmpeg has reached the camera and described its input. */
  get opened(): boolean {
    return this.log?.opened ?? false;
  }

  start(): void {
    const child = spawn(this.ffmpegPath, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const log = new FfmpegLog((info) => this.on.stream?.(info));
    this.log = log;
    const splitter = new JpegSplitter();
    let index = 0;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => log.push(text));
    child.stdout.on('data', (buf: Buffer) => {
      if (this.ended) return;
      let frames: Buffer[];
      try {
        frames = splitter.push(buf);
      } catch (e) {
        this.kill((e as Error).message);
        return;
      }
      const now = Date.now();
      for (const f of frames) this.on.frame(f, index++, now);
    });
    let spawnError: string | undefined;
    child.once('error', (e) => {
      spawnError = `cannot run ffmpeg (${e.message})`;
      // 'close' follows 'error' only when the process had started; make sure exit fires once.
      if (child.pid === undefined) this.finish(spawnError, false);
    });
    child.once('close', (code, signal) => {
      const errors = log.recentErrors();
      const why = this.killReason ?? spawnError ?? (errors.length > 0 ? errors.join('; ') : code === 0 ? 'stream ended' : `ffmpeg exited (${signal ?? `code ${code}`})`);
      this.finish(why, log.opened);
    });
  }

  /** Ends ffmpeg now; `exit` reports `reason` (a stall, garbage output…). */
  kill(reason: string): void {
    if (this.ended || !this.child) return;
    this.killReason ??= reason;
    this.child.kill('SIGKILL');
  }

  /** Ends ffmpeg (SIGTERM, then SIGKILL after a grace period); resolves once it has exited. */
  stop(graceMs = 2000): Promise<void> {
    const child = this.child;
    this.killReason ??= 'stopped';
    if (!child || this.ended) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  private finish(reason: string, opened: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.on.exit(reason, opened);
  }
}
