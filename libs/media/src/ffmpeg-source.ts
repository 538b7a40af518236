import ffmpeg from 'fluent-ffmpeg';
import { Writable } from 'node:stream';
import { JpegSplitter } from './jpeg-splitter.ts';
import { FfmpegLog, type StreamInfo } from './ffmpeg-log.ts';

export interface SourceEvents<T> {
  /** One item of ffmpeg's output (a JPEG frame, an access unit…): `index` counts them from 0. */
  frame(item: T, index: number, arrivedAt: number): void;
  /** ffmpeg opened the camera and described its video stream. */
  stream?(info: StreamInfo): void;
  /**
   * ffmpeg ended. `reason` is the reason given to `kill`, else ffmpeg's last error lines
   * (may contain the URL with credentials: redact before it leaves the process), else
   * `stream ended`. `opened`: whether ffmpeg reached the camera at all.
   */
  exit(reason: string, opened: boolean): void;
}
export type FrameSourceEvents = SourceEvents<Buffer>;

/** Cuts ffmpeg's output stream into items; throws on output it cannot follow (ffmpeg is killed). */
export interface OutputReader<T> {
  push(buf: Buffer): T[];
}

/** The parts of an ffmpeg argument list (see `ffmpegArgs`): before `-i`, the input, after it. */
export function splitArgs(args: readonly string[]): { input: string[]; source: string; output: string[] } {
  const i = args.indexOf('-i');
  if (i < 0 || i + 1 >= args.length) throw new Error('ffmpeg arguments have no -i <input>');
  // The last argument is the output target; fluent-ffmpeg supplies the pipe itself.
  return { input: args.slice(0, i), source: args[i + 1]!, output: args.slice(i + 2, -1) };
}

/**
 * One ffmpeg process, run by fluent-ffmpeg, pulling a camera and writing to a pipe that is
 * always read (never paused), so a slow consumer can never stall ffmpeg; `reader` cuts the
 * output into items (JPEG frames, or access units of a stream copy). It does not restart
 * itself: the camera supervisor owns that policy.
 */
export class FfmpegSource<T> {
  private command?: ffmpeg.FfmpegCommand;
  private killReason?: string;
  private ended = false;
  private log?: FfmpegLog;

  constructor(
    private readonly ffmpegPath: string,
    private readonly args: readonly string[],
    private readonly on: SourceEvents<T>,
    private readonly reader: () => OutputReader<T>,
  ) {}

  /** The ffmpeg process id while it runs (for CPU accounting). */
  get pid(): number | undefined {
    return this.ended ? undefined : this.process()?.pid;
  }

  /** Whether ffmpeg has reached the camera and described its input. */
  get opened(): boolean {
    return this.log?.opened ?? false;
  }

  start(): void {
    const { input, source, output } = splitArgs(this.args);
    // Spread (not array) options: fluent-ffmpeg then never splits a value at its spaces.
    const command = ffmpeg({ stdoutLines: 0 }).setFfmpegPath(this.ffmpegPath).input(source).inputOptions(...input).outputOptions(...output);
    this.command = command;
    const log = new FfmpegLog((info) => this.on.stream?.(info));
    this.log = log;
    const splitter = this.reader();
    let index = 0;
    command.on('stderr', (line: string) => log.push(`${line}\n`));
    command.on('error', (e: Error) => {
      const errors = log.recentErrors();
      const spawnFailed = /cannot find ffmpeg|spawn|ENOENT/i.test(e.message) && !log.opened;
      const why = this.killReason ?? (spawnFailed ? `cannot run ffmpeg (${e.message})` : errors.length > 0 ? errors.join('; ') : `ffmpeg exited (${e.message.replace(/^ffmpeg /, '')})`);
      this.finish(why, log.opened);
    });
    command.on('end', () => {
      const errors = log.recentErrors();
      this.finish(this.killReason ?? (errors.length > 0 ? errors.join('; ') : 'stream ended'), log.opened);
    });
    // A plain sink, not fluent-ffmpeg's default PassThrough: each read of ffmpeg's stdout is handled
    // as it is written, without a second stream's buffering and events (30+ reads a second per camera).
    const sink = new Writable({
      write: (buf: Buffer, _enc, done) => {
        onData(buf);
        done();
      },
    });
    sink.on('error', () => undefined); // ffmpeg's exit is reported through the command
    command.pipe(sink, { end: true });
    const onData = (buf: Buffer) => {
      if (this.ended) return;
      let frames: T[];
      try {
        frames = splitter.push(buf);
      } catch (e) {
        this.kill((e as Error).message);
        return;
      }
      const now = Date.now();
      for (const f of frames) this.on.frame(f, index++, now);
    };
  }

  /** Ends ffmpeg now; `exit` reports `reason` (a stall, garbage output…). */
  kill(reason: string): void {
    if (this.ended || !this.command) return;
    this.killReason ??= reason;
    this.command.kill('SIGKILL');
  }

  /** Ends ffmpeg (SIGTERM, then SIGKILL after a grace period); resolves once it has exited. */
  stop(graceMs = 2000): Promise<void> {
    const command = this.command;
    this.killReason ??= 'stopped';
    if (!command || this.ended) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => command.kill('SIGKILL'), graceMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      command.once('error', done);
      command.once('end', done);
      command.kill('SIGTERM');
    });
  }

  /** The running ffmpeg process (fluent-ffmpeg keeps it once spawned). */
  private process(): { pid?: number } | undefined {
    return (this.command as unknown as { ffmpegProc?: { pid?: number } } | undefined)?.ffmpegProc;
  }

  private finish(reason: string, opened: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.on.exit(reason, opened);
  }
}

/** An ffmpeg writing concatenated JPEGs (ingest's continuous decode). */
export class FfmpegFrameSource extends FfmpegSource<Buffer> {
  constructor(ffmpegPath: string, args: readonly string[], on: FrameSourceEvents) {
    super(ffmpegPath, args, on, () => new JpegSplitter());
  }
}
