import { spawn, type ChildProcess } from 'node:child_process';
import { JpegSplitter } from './jpeg-splitter.ts';
import { TsMuxer, type VideoCodec } from './mpegts.ts';
import type { Hwaccel } from './ffmpeg-args.ts';

/** A packet as infer holds it: capture (presentation) and decode times on the capture clock. */
export interface TimedPacket {
  capturedAt: number;
  decodeAt: number;
  key: boolean;
  data: Buffer;
}

/** A decoded picture: its capture time and the JPEG. */
export interface DecodedFrame {
  capturedAt: number;
  jpeg: Buffer;
}

export interface PacketDecoderOptions {
  ffmpegPath: string;
  codec: VideoCodec;
  /** Output width; the height keeps the aspect, rounded to a multiple of 16 (the band splicer's need). */
  width: number;
  /** Keep at most one picture per 1/fps slot of capture time; undefined keeps every picture decoded. */
  fps?: number;
  /** Fed keyframes (each followed by the packet after it): only the keyframes' pictures come out, at once. */
  keyframesOnly?: boolean;
  /** Packets are written to ffmpeg at most this often unless fed with `now` (default: the next tick). */
  batchMs?: number;
  hwaccel?: Hwaccel;
  /** The capture time the stream's clock counts from: before every packet this decoder will see. */
  baseMs: number;
  frame(f: DecodedFrame): void;
  /** The decoder ended (error, or `close`); `reason` says why. */
  exit(reason: string): void;
}

/** Pictures and their stamps are paired in order; this many unpaired means they no longer line up. */
const MAX_UNPAIRED = 64;
/** A batch this large is written at once. */
const FLUSH_BYTES = 1024 * 1024;
/** Bytes written to ffmpeg but not yet taken by it: beyond this the decoder is too slow for its camera. */
const MAX_BACKLOG_BYTES = 64 * 1024 * 1024;

/**
 * One long-lived ffmpeg decoding a camera's packets (re-muxed into MPEG-TS with their own
 * timestamps) into JPEGs with standard Huffman tables. A process per window would pay
 * ffmpeg's ~70 ms start-up every time; this one lives as long as its camera is looked at.
 *
 * Which capture time each JPEG has: `showinfo` prints every picture's pts as it leaves the
 * filter graph, in the same order the pictures are encoded, so the n-th stamp belongs to the
 * n-th JPEG. The pts is the packet's own (`-copyts`), so a picture ffmpeg drops as corrupt
 * shifts nothing: the stamps of the others stay theirs.
 *
 * Latency: ffmpeg's MPEG-TS reader and parser hand a picture on only when the next one
 * starts, so a keyframe decoder is fed each keyframe *and the packet after it* (a picture the
 * filter drops), and `low_delay` lets a keyframe out at once. A stream with B-frames still
 * holds one keyframe back (the decoder's reorder depth): cameras rarely send B-frames.
 */
export class PacketDecoder {
  private proc?: ChildProcess;
  private readonly mux: TsMuxer;
  private readonly splitter = new JpegSplitter();
  private readonly jpegs: Buffer[] = [];
  private readonly stamps: number[] = [];
  private stderrTail = '';
  private tickMs = 1 / 90;
  private ended = false;
  private lastDts = -Infinity;
  private reason?: string;
  /** Capture time of the newest picture out. */
  latest?: number;

  constructor(private readonly o: PacketDecoderOptions) {
    this.mux = new TsMuxer(o.codec);
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return !!this.proc && !this.ended;
  }

  start(): void {
    const { o } = this;
    const filters = [
      // One picture per slot of capture time (slots counted from the epoch: the base is a whole second).
      ...(o.fps ? [`select='isnan(prev_selected_t)+gte(floor(t*${o.fps})-floor(prev_selected_t*${o.fps})\\,1)'`] : []),
      // Keyframes only: the picture after each keyframe is fed too (see feedKeyframes), and dropped here.
      ...(o.keyframesOnly ? [`select='eq(pict_type\\,I)'`] : []),
      `scale=${o.width}:-16:flags=fast_bilinear`,
      'showinfo',
    ];
    const args = [
      ...['-nostdin', '-hide_banner', '-nostats', '-loglevel', 'info', '-threads', '1'],
      // Keyframes alone have nothing to reorder: out at once, not after the stream's reorder depth.
      // The trigger stage reads 1/8-resolution DC values: the loop filter changes nothing it sees (~10% of the decode).
      // The packet after each keyframe is only there to make the parser hand the keyframe on: not decoded.
      ...(o.keyframesOnly ? ['-flags', 'low_delay', '-skip_loop_filter', 'all', '-skip_frame', 'nokey'] : []),
      ...(o.hwaccel && o.hwaccel !== 'none' ? ['-hwaccel', o.hwaccel] : []),
      // Start on the first packet: probing would wait for megabytes of a quiet camera's keyframes.
      ...['-probesize', '32', '-analyzeduration', '0', '-copyts', '-f', 'mpegts', '-i', 'pipe:0'],
      // The encoder keeps the stream's 1/90000 time base. Its default, 1/frame rate, gives two pictures
      // closer than a frame interval (a camera's start-up burst) one tick, and it refuses the second.
      ...['-map', '0:v:0', '-an', '-vf', filters.join(','), '-fps_mode', 'passthrough', '-enc_time_base', '-1'],
      // One encoder thread: frame threads would hold pictures back (a thread's worth each).
      ...['-c:v', 'mjpeg', '-huffman', 'default', '-q:v', '5', '-threads', '1', '-flush_packets', '1', '-f', 'image2pipe', 'pipe:1'],
    ];
    const proc = spawn(o.ffmpegPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdin!.on('error', () => undefined); // an exit is reported by 'close'
    proc.stdout!.on('data', (b: Buffer) => {
      if (this.ended) return;
      try {
        for (const j of this.splitter.push(b)) this.jpegs.push(j);
      } catch (e) {
        return this.fail((e as Error).message);
      }
      this.pair();
    });
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (s: string) => this.onStderr(s));
    proc.on('error', (e) => this.finish(`cannot run ffmpeg (${e.message})`));
    proc.on('close', (code, signal) => this.finish(this.reason ?? `decoder exited (${signal ?? `code ${code}`})${this.lastError ? `: ${this.lastError}` : ''}`));
  }

  /**
   * Feeds packets in decode order; older-than-fed packets are skipped. Writes are batched
   * (every `batchMs`, or at once with `now`): each write to the pipe wakes ffmpeg, and at
   * 30 writes a second per camera that cost more than the bytes. False once the decoder has ended.
   */
  feed(packets: readonly TimedPacket[], now = false): boolean {
    const stdin = this.proc?.stdin;
    if (!stdin || this.ended) return false;
    for (const p of packets) {
      if (p.decodeAt <= this.lastDts) continue;
      this.lastDts = p.decodeAt;
      const ticks = (t: number) => Math.max(0, Math.round((t - this.o.baseMs) * 90));
      const ts = this.mux.mux({ pts: ticks(p.capturedAt), dts: ticks(p.decodeAt), key: p.key, data: p.data });
      this.queued.push(ts);
      this.queuedBytes += ts.length;
    }
    if (now || this.queuedBytes >= FLUSH_BYTES) this.flush();
    else if (this.queued.length > 0) this.flushTimer ??= setTimeout(() => this.flush(), this.o.batchMs ?? 0);
    return !this.ended;
  }

  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private flushTimer?: NodeJS.Timeout;

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const stdin = this.proc?.stdin;
    if (!stdin || this.ended || this.queued.length === 0) return;
    const queued = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    if (stdin.writableLength > MAX_BACKLOG_BYTES) return this.fail('decoder cannot keep up with the camera');
    // Corked: one writev of the batch, without first copying it into one buffer.
    stdin.cork();
    for (const b of queued) stdin.write(b);
    stdin.uncork();
  }

  /**
   * No more packets: ffmpeg decodes what it was given, hands the last pictures on and exits
   * (`exit` says 'drained').
   */
  drain(): void {
    this.reason ??= 'drained';
    this.flush();
    this.proc?.stdin?.end();
  }

  /** Ends the decoder: what it holds is dropped. */
  close(reason = 'closed'): void {
    this.reason ??= reason;
    clearTimeout(this.flushTimer);
    if (!this.proc || this.ended) return;
    this.proc.stdin?.destroy();
    this.proc.kill('SIGKILL');
  }

  private lastError?: string;

  private onStderr(s: string): void {
    const text = this.stderrTail + s;
    const lines = text.split('\n');
    this.stderrTail = lines.pop() ?? '';
    if (this.stderrTail.length > 4096) this.stderrTail = '';
    for (const line of lines) {
      if (!line.includes('Parsed_showinfo')) {
        if (/error|invalid/i.test(line) && line.length < 500) this.lastError = line.trim();
        continue;
      }
      const tb = /config in time_base: (\d+)\/(\d+)/.exec(line);
      if (tb) this.tickMs = (1000 * Number(tb[1])) / Number(tb[2]);
      const m = /\bn:\s*\d+\s+pts:\s*(-?\d+)/.exec(line);
      if (m) this.stamps.push(this.o.baseMs + Math.round(Number(m[1]) * this.tickMs));
    }
    this.pair();
  }

  private pair(): void {
    while (this.jpegs.length > 0 && this.stamps.length > 0) {
      const jpeg = this.jpegs.shift()!;
      const capturedAt = this.stamps.shift()!;
      this.latest = capturedAt;
      this.o.frame({ capturedAt, jpeg });
      if (this.ended) return;
    }
    if (this.jpegs.length > MAX_UNPAIRED || this.stamps.length > MAX_UNPAIRED) this.fail('decoded pictures and their timestamps no longer line up');
  }

  private fail(reason: string): void {
    this.reason ??= reason;
    this.close(reason);
  }

  private finish(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.o.exit(reason);
  }
}
