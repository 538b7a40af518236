import ffmpeg from 'fluent-ffmpeg';
import type { Readable } from 'node:stream';
import { JpegSplitter } from './jpeg-splitter.ts';
import { frameFilters } from './band.ts';

export interface FrameSourceOptions {
  url: string;
  transport: 'tcp' | 'udp';
  fps: number;
  width: number;
  band: boolean;
  ffmpegPath: string;
  /** JPEG quality for ffmpeg's mjpeg encoder (2 best … 31 worst). */
  quality?: number;
}

export interface FrameSourceEvents {
  /** A decoded, resampled, banded frame: `index` counts output frames from 0. */
  frame(jpeg: Buffer, index: number, arrivedAt: number): void;
  /** ffmpeg ended; `reason` is its last error line (may contain the URL: redact before logging). */
  exit(reason: string): void;
}

/**
 * One ffmpeg process pulling a camera and writing MJPEG frames to a pipe. It does not
 * restart itself: a supervisor owns that policy.
 */
export class FfmpegFrameSource {
  private command?: ffmpeg.FfmpegCommand;
  private stopped = false;

  constructor(
    private readonly opts: FrameSourceOptions,
    private readonly on: FrameSourceEvents,
  ) {}

  start(): void {
    const o = this.opts;
    const input: string[] = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-fflags', '+discardcorrupt'];
    if (o.url.startsWith('rtsp')) input.push('-rtsp_transport', o.transport, '-timeout', '10000000');
    if (o.url.startsWith('file://')) input.push('-re', '-stream_loop', '-1');
    const url = o.url.startsWith('file://') ? o.url.slice('file://'.length) : o.url;
    const cmd = ffmpeg(url)
      .setFfmpegPath(o.ffmpegPath)
      .inputOptions(input)
      .outputOptions(['-an', '-vf', frameFilters(o.fps, o.width, { band: o.band }), '-c:v', 'mjpeg', '-q:v', String(o.quality ?? 5), '-f', 'image2pipe']);
    const splitter = new JpegSplitter();
    let index = 0;
    let lastError = '';
    cmd.on('stderr', (line: string) => {
      if (line.trim()) lastError = line.trim();
    });
    const finish = (reason: string) => {
      if (this.command !== cmd) return;
      this.command = undefined;
      this.on.exit(reason);
    };
    cmd.on('error', (err: Error) => finish(this.stopped ? 'stopped' : lastError || err.message));
    cmd.on('end', () => finish(this.stopped ? 'stopped' : 'stream ended'));
    this.command = cmd;
    const out = cmd.pipe() as Readable;
    out.on('data', (buf: Buffer) => {
      let frames: Buffer[];
      try {
        frames = splitter.push(buf);
      } catch (e) {
        lastError = (e as Error).message;
        cmd.kill('SIGKILL');
        return;
      }
      const now = Date.now();
      for (const f of frames) this.on.frame(f, index++, now);
    });
  }

  /** Ends ffmpeg (SIGTERM, then SIGKILL after a grace period). */
  stop(graceMs = 2000): Promise<void> {
    this.stopped = true;
    const cmd = this.command;
    if (!cmd) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => cmd.kill('SIGKILL'), graceMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      cmd.once('error', done);
      cmd.once('end', done);
      cmd.kill('SIGTERM');
    });
  }
}
