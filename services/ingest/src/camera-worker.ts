import type { CameraConfig } from '@vigil/config';
import type { CameraSource, CameraState, CameraStatus, FrameChunk } from '@vigil/contracts';
import { CaptureClock, FfmpegFrameSource, FfmpegSource, FrameGroups, PacketClock, TsDemuxer, ffmpegArgs, ffmpegCopyArgs, jpegSize, type AccessUnit, type DecodedFrame, type FfmpegInput, type VideoCodec } from '@vigil/media';
import { CameraVideo } from './camera-video.ts';
import { DetectReader } from './detect-reader.ts';
import type { Logger } from '@vigil/observability';
import { Chunker } from './chunker.ts';
import { DEFAULT_BACKOFF, backoffDelay, type BackoffPolicy } from './backoff.ts';
import { Reasons, describeFailure } from './failure.ts';
import { displayUrl, scrubberFor, sourceUrl } from './camera-url.ts';
import { RateWindow } from './rate-window.ts';
import { GopMeter } from './gop.ts';
import { CAMERA_STATES, type IngestMetrics } from './metrics.ts';

export interface CameraWorkerDeps {
  chunkMs: number;
  ffmpegPath: string;
  metrics: IngestMetrics;
  log: Logger;
  onChunk(chunk: FrameChunk): void;
  onStatus(status: CameraStatus): void;
  backoff?: BackoffPolicy;
  /** Window over which delivery is compared with the target fps (default 10 s). */
  rateWindowMs?: number;
  /** decode: on_demand — packets kept per camera for a full decode to start from (default 30 s). */
  packetsMs?: number;
  /** Continue a previous worker's timeline (the camera was changed): times and seq stay monotonic. */
  resume?: Handover;
  /**
   * decode: on_demand — a camera whose full decode has run this long without a pause is read
   * like a continuous one (ffmpeg decodes the stream itself) until infer stops asking for it;
   * 0 never (ingest.busy_after, default 60 s).
   */
  busyAfterMs?: number;
}

/** What a replacement worker needs to keep a camera's capture times and chunk seq monotonic. */
export interface Handover {
  lastCapturedAt: number;
  nextSeq: number;
}

/** Below this share of the target fps a camera is degraded; back online at the second. */
const DEGRADED_BELOW = 0.8;
const RECOVERED_AT = 0.9;
/** The furthest ahead (wall clock) a request for a camera's pictures keeps it decoded. */
const MAX_OPEN_AHEAD_MS = 10 * 60_000;
/** Consecutive undecodable frames before ffmpeg counts as producing garbage. */
const MAX_BAD_FRAMES = 3;
/** How long a switch to busy waits for the packets' decoder to hand on its last pictures. */
const DRAIN_MS = 3_000;
/** Stream time this far ahead of wall time means broken timestamps (the fps filter would emit a flood). */
const RUNAWAY_MS = 60_000;

interface Run {
  source: FfmpegSource<Buffer> | FfmpegSource<AccessUnit>;
  /** How this run reads the camera: packets copied (on_demand), or ffmpeg's own decode. */
  reads: 'packets' | 'pictures';
  startedAt: number;
  firstFrameAt?: number;
  lastFrameAt?: number;
  onlineAt?: number;
  badFrames: number;
}

/**
 * Supervises one camera: runs ffmpeg, watches it (exit, stall, garbage, slow delivery),
 * restarts it with exponential backoff and jitter, stamps capture times, cuts chunks and
 * reports every state change. Nothing here can affect another camera: each has its own
 * process, timers and queue, and its callbacks never throw into the others.
 */
export class CameraWorker {
  private run?: Run;
  private readonly clock = new CaptureClock();
  private readonly packetClock = new PacketClock();
  private chunker: Chunker;
  /** decode: on_demand — the packets, the keyframe decoder and the full decode infer asks for. */
  private video?: CameraVideo;
  /** decode: on_demand with `detect_url` — the substream the trigger stage reads. */
  private detect?: DetectReader;
  private countedDetect = false;
  private detectFailed = false;
  /** How this camera is read now: its config's, until a codec ingest cannot keep as packets falls back. */
  private mode: 'on_demand' | 'continuous';
  private gopMs?: number;
  private readonly gop = new GopMeter();
  /**
   * on_demand: a run started to take over from `run` (busy ↔ quiet), promoted at its first
   * output; until then `run` goes on, so the switch loses no picture to ffmpeg's start-up.
   */
  private pending?: Run;
  /** on_demand: since when the full decode has run without a pause (tick's view). */
  private activeSince?: number;
  /** on_demand, busy (decoded by ffmpeg itself): infer's latest `until`. */
  private busyUntil = 0;
  private switchFailedAt?: number;
  /** on_demand, busy: capture time of the last picture sent to the trigger stage. */
  private lastKeyPictureAt = -Infinity;
  private countedBusy = false;
  /** Switching to busy: the packets' decoder finishing, and ffmpeg's pictures held until it has. */
  private draining?: { video?: CameraVideo; frames: { jpeg: Buffer; index: number; arrivedAt: number; zones?: Map<string, Buffer> }[] };
  private readonly rate: RateWindow;
  private readonly backoff: BackoffPolicy;
  private readonly url?: string;
  private readonly input?: FfmpegInput;
  private readonly log: Logger;
  private readonly scrub: (text: string) => string;
  private readonly m;
  private state: CameraState = 'starting';
  private reason: string = Reasons.connecting;
  private stateSince = Date.now();
  private failures = 0;
  private restarts = 0;
  private runs = 0;
  private framesTotal = 0;
  private lastFrameAt = 0;
  private size?: { width: number; height: number };
  private source_?: CameraSource;
  private restartTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    public camera: CameraConfig,
    private readonly deps: CameraWorkerDeps,
  ) {
    const id = camera.id;
    this.log = deps.log.child({ camera: id });
    this.backoff = deps.backoff ?? DEFAULT_BACKOFF;
    this.rate = new RateWindow(deps.rateWindowMs ?? 10_000);
    const seq = deps.resume?.nextSeq ?? Date.now();
    this.chunker = new Chunker(id, camera.fps, deps.chunkMs, seq);
    this.mode = camera.decode;
    if (deps.resume) {
      this.clock.resumeAfter(deps.resume.lastCapturedAt);
      this.packetClock.resumeAfter(deps.resume.lastCapturedAt);
    }
    this.scrub = scrubberFor(camera);
    this.url = sourceUrl(camera);
    if (this.url) this.input = { url: this.url, transport: camera.transport, hwaccel: camera.hwaccel, inputArgs: camera.inputArgs, timeoutMs: camera.stallTimeoutMs };
    const { metrics } = deps;
    this.m = {
      frames: metrics.framesIngested.labels(id),
      restarts: metrics.restarts.labels(id),
      up: metrics.cameraUp.labels(id),
      fpsIn: metrics.fpsIn.labels(id),
      fpsOut: metrics.fpsOut.labels(id),
      age: metrics.lastFrameAge.labels(id),
    };
  }

  start(): void {
    this.report();
    this.spawn();
    if (this.mode === 'on_demand') this.startDetect();
  }

  /** `detect_url`: the substream for the trigger stage, beside the main stream's copy. */
  private startDetect(): void {
    const c = this.camera;
    const url = c.detectUrl === undefined ? undefined : sourceUrl(c, c.detectUrl);
    if (!url) {
      if (c.detectUrl !== undefined) this.log.error('detect_url cannot be parsed: the trigger stage reads the main stream\'s keyframes');
      return;
    }
    this.detect = new DetectReader({
      input: { url, transport: c.transport, hwaccel: c.hwaccel, inputArgs: [], timeoutMs: c.stallTimeoutMs },
      ffmpegPath: this.deps.ffmpegPath,
      fps: c.detectFps,
      width: c.width,
      stallTimeoutMs: c.stallTimeoutMs,
      log: this.log,
      scrub: this.scrub,
      picture: (jpeg, capturedAt, width, height) =>
        this.guard(() => {
          if (this.stopped || this.mode !== 'on_demand') return;
          this.deps.metrics.decodedFrames.inc({ kind: 'detect' });
          this.deps.onChunk(this.chunker.keyframe({ capturedAt, streamTime: 0, jpeg }, width, height));
        }),
      up: (on) =>
        this.guard(() => {
          // The keyframe decoder stands in while the substream is down.
          this.detectFailed = !on;
          if (this.video) this.video.keyframes = !on;
          this.detectGauge(on);
          if (this.state === 'online' || this.state === 'degraded') this.deps.onStatus(this.status(Date.now()));
        }),
    });
    this.detect.start();
  }

  private detectGauge(on: boolean): void {
    if (on === this.countedDetect) return;
    this.countedDetect = on;
    this.deps.metrics.decoders.inc({ kind: 'detect' }, on ? 1 : -1);
  }

  /** Ends ffmpeg, flushes the pending chunk and reports the camera offline with `reason`. */
  async stop(reason: string = Reasons.stopped): Promise<Handover> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await Promise.all([this.run?.source.stop(), this.pending?.source.stop(), this.detect?.stop()]);
    this.detectGauge(false);
    this.flush();
    // Leaving the config is not an outage: alerts forgets the camera instead of counting a spell.
    this.setState(reason === Reasons.removed ? 'removed' : 'offline', reason);
    this.video?.close();
    this.draining?.video?.close();
    this.draining = undefined;
    this.busyGauge(false);
    return { lastCapturedAt: Math.max(this.clock.lastStamp, this.packetClock.lastStamp), nextSeq: this.chunker.nextSeq };
  }

  /** Periodic check (about once a second): stall, slow delivery, health, gauges. */
  tick(now = Date.now()): void {
    const fps = this.deliveredFps(now);
    this.m.fpsOut.set(fps);
    this.m.age.set(this.lastFrameAt ? (now - this.lastFrameAt) / 1000 : 0);
    const run = this.run;
    if (!run || this.stopped) return;
    const quietFor = now - (run.lastFrameAt ?? run.startedAt);
    if (quietFor > this.camera.stallTimeoutMs) {
      run.source.kill(Reasons.noFrames(this.camera.stallTimeoutMs));
      return;
    }
    if (run.onlineAt === undefined) return;
    if (now - run.onlineAt >= this.rate.windowMs) {
      const target = this.targetFps();
      if (this.state === 'online' && fps < DEGRADED_BELOW * target) this.setState('degraded', Reasons.slow(fps, target));
      else if (this.state === 'degraded' && fps >= RECOVERED_AT * target) this.setState('online', Reasons.receiving);
    }
    if (now - run.onlineAt >= this.backoff.healthyMs) this.failures = 0;
    if (this.mode === 'on_demand') this.considerSwitch(run, now);
    this.detect?.tick(now);
  }

  /**
   * on_demand: a camera infer keeps asking for (a trigger firing window after window) costs
   * less decoded by ffmpeg straight from the camera than copied, carried through Node and
   * decoded from packets; once infer stops asking, it goes back to copying.
   */
  private considerSwitch(run: Run, now: number): void {
    const busyAfter = this.deps.busyAfterMs ?? 60_000;
    if (this.pending) {
      // A replacement that shows nothing within the stall timeout is given up (its exit records it).
      if (now - this.pending.startedAt > this.camera.stallTimeoutMs) this.pending.source.kill(Reasons.noFrames(this.camera.stallTimeoutMs));
      return;
    }
    if (run.reads === 'packets') {
      if (busyAfter <= 0 || !this.video?.active) {
        this.activeSince = undefined;
        return;
      }
      this.activeSince ??= now;
      if (now - this.activeSince < busyAfter || (this.switchFailedAt !== undefined && now - this.switchFailedAt < busyAfter)) return;
      this.busyUntil = this.video.until;
      this.log.info({ activeForMs: now - this.activeSince }, 'camera busy: ffmpeg decodes it directly until infer stops asking');
      this.pending = this.spawnDecode(this.input!);
    } else if (now > this.busyUntil) {
      this.log.info('camera quiet again: copying its stream, keyframes for the trigger');
      this.pending = this.spawnCopy(this.input!);
    }
  }

  /** The pending run showed its first output: it takes over, the run it replaces ends. */
  private promote(next: Run, now: number): void {
    const old = this.run;
    this.pending = undefined;
    this.run = next;
    void old?.source.stop();
    this.activeSince = undefined;
    this.rate.clear();
    next.onlineAt = next.firstFrameAt = now;
    if (next.reads === 'pictures') {
      // The full decode from packets hands on what it holds first; ffmpeg's pictures wait for it.
      const video = this.video;
      this.video = undefined;
      this.draining = { video, frames: [] };
      const done = () => this.guard(() => this.endDrain());
      if (video) void video.drain(DRAIN_MS).then(done);
      else done();
    } else {
      this.packetClock.reset();
      this.packetClock.resumeAfter(this.clock.lastStamp);
      this.gop.restart();
    }
    this.busyGauge(next.reads === 'pictures');
    this.deps.onStatus(this.status(now));
  }

  /** What `/cameras` shows and the status carries. */
  snapshot(now = Date.now()): CameraStatus & { url: string; since: number; runs: number; framesTotal: number; lastFrameAt?: number; ffmpegPid?: number } {
    return {
      ...this.status(now),
      url: displayUrl(this.camera),
      since: this.stateSince,
      runs: this.runs,
      framesTotal: this.framesTotal,
      lastFrameAt: this.lastFrameAt || undefined,
      ffmpegPid: this.run?.source.pid,
    };
  }

  private spawn(): void {
    if (this.stopped) return;
    if (!this.input) {
      // Retrying cannot fix the config: stay offline until it changes.
      this.setState('offline', Reasons.invalidUrl);
      this.log.error('camera URL cannot be parsed; the camera stays offline until the config is fixed');
      return;
    }
    this.runs++;
    this.clock.reset();
    this.packetClock.reset();
    this.gop.restart();
    this.rate.clear();
    this.run = this.mode === 'on_demand' ? this.spawnCopy(this.input) : this.spawnDecode(this.input);
  }

  /** ffmpeg decodes the camera itself: `continuous`, and `on_demand` while busy. */
  private spawnDecode(input: FfmpegInput): Run {
    const crops = this.camera.crops ?? [];
    const args = ffmpegArgs(input, { fps: this.camera.fps, width: this.camera.width, crops: crops.map((c) => c.box) });
    // zone_view: crop — each picture is followed by its crops, zone by zone.
    const groups = new FrameGroups(crops.length);
    let index = 0;
    const source: FfmpegFrameSource = new FfmpegFrameSource(this.deps.ffmpegPath, args, {
      frame: (jpeg, _item, arrivedAt) => {
        const group = groups.push(jpeg);
        const next = this.pending;
        if (group && next?.source === source) this.guard(() => this.promote(next, arrivedAt));
        if (!group || this.run?.source !== source) return;
        const zones = group.crops.length > 0 ? new Map(crops.map((c, i) => [c.zone, group.crops[i]!])) : undefined;
        // Bounded: the drain ends within DRAIN_MS whatever the decoder does.
        if (this.draining) this.draining.frames.push({ jpeg: group.picture, index: index++, arrivedAt, zones });
        else this.guard(() => this.onFrame(group.picture, index++, arrivedAt, zones));
      },
      stream: (info) => {
        this.source_ = info;
        this.m.fpsIn.set(info.fps ?? 0);
      },
      exit: (reason, opened) => this.guard(() => this.onRunExit(source, reason, opened)),
    });
    source.start();
    return { source, reads: 'pictures', startedAt: Date.now(), badFrames: 0 };
  }

  /** `on_demand`: ffmpeg copies the stream into MPEG-TS; access units go out as they are. */
  private spawnCopy(input: FfmpegInput): Run {
    const demux = new TsDemuxer();
    const reader = {
      push: (b: Buffer): AccessUnit[] => {
        const units = demux.push(b);
        const type = demux.unsupportedStreamType;
        if (type !== undefined) {
          // Only H.264 and H.265 are kept as packets: anything else is decoded here, as before.
          this.mode = 'continuous';
          this.video?.close();
          this.video = undefined;
          void this.detect?.stop();
          this.detect = undefined;
          this.detectGauge(false);
          throw new Error(`video stream type 0x${type.toString(16)} is not H.264 or H.265: decoding it in ingest instead`);
        }
        return units;
      },
    };
    const source: FfmpegSource<AccessUnit> = new FfmpegSource<AccessUnit>(
      this.deps.ffmpegPath,
      ffmpegCopyArgs(input),
      {
        frame: (au, _index, arrivedAt) => {
          const next = this.pending;
          if (next?.source === source && demux.codec) this.guard(() => this.promote(next, arrivedAt));
          if (this.run?.source === source && demux.codec) this.guard(() => this.onPacket(au, demux.codec!, arrivedAt));
        },
        stream: (info) => {
          this.source_ = info;
          this.m.fpsIn.set(info.fps ?? 0);
        },
        exit: (reason, opened) => this.guard(() => this.onRunExit(source, reason, opened)),
      },
      () => reader,
    );
    source.start();
    return { source, reads: 'packets', startedAt: Date.now(), badFrames: 0 };
  }

  /** The packets' last pictures are out: ffmpeg's own, held meanwhile, follow on the same clock. */
  private endDrain(): void {
    const held = this.draining;
    this.draining = undefined;
    if (!held || this.stopped) return;
    this.clock.reset();
    this.clock.resumeAfter(this.packetClock.lastStamp);
    // ffmpeg starts with a burst: the pictures it buffered while connecting, which the
    // packets' decoder has just handed on. Only the last of a burst is new.
    const f = held.frames;
    const burst = 500 / this.camera.fps;
    for (let i = 0; i < f.length; i++) if (i === f.length - 1 || f[i + 1]!.arrivedAt - f[i]!.arrivedAt >= burst) this.onFrame(f[i]!.jpeg, f[i]!.index, f[i]!.arrivedAt, f[i]!.zones);
  }

  /** vigil_ingest_decoders{kind="busy"}: on_demand cameras ffmpeg decodes directly now. */
  private busyGauge(on: boolean): void {
    if (on === this.countedBusy) return;
    this.countedBusy = on;
    this.deps.metrics.decoders.inc({ kind: 'busy' }, on ? 1 : -1);
  }

  private onRunExit(source: Run['source'], reason: string, opened: boolean): void {
    if (this.pending?.source === source) {
      // The switch failed before its first output: the running reader goes on; tried again later.
      this.pending = undefined;
      this.switchFailedAt = Date.now();
      this.log.warn({ reason: this.scrub(reason) }, 'switching how the camera is read failed; keeping the current reader');
      return;
    }
    if (this.run?.source === source) this.onExit(reason, opened);
  }

  /**
   * Infer asks for this camera's pictures from `from` (the keyframe before it) until `until`
   * (decode: on_demand). False when the camera is not read on demand or holds no keyframe yet.
   */
  activate(from: number, until: number): boolean {
    // A request (from the control plane: trusted, but bounded anyway) holds a decode at most 10 minutes ahead.
    const capped = Math.min(until, Date.now() + MAX_OPEN_AHEAD_MS);
    if (this.mode !== 'on_demand' || this.stopped) return false;
    if (this.run?.reads === 'pictures') {
      // Busy: every picture goes out already; the request only keeps it so.
      this.busyUntil = Math.max(this.busyUntil, capped);
      return true;
    }
    return !!this.video?.activate(from, capped);
  }

  private videoOf(): CameraVideo {
    const c = this.camera;
    const { metrics } = this.deps;
    if (this.video) return this.video;
    this.video = new CameraVideo({
      cameraId: c.id,
      ffmpegPath: this.deps.ffmpegPath,
      width: c.width,
      fps: c.fps,
      keyframeEvery: c.keyframeEvery,
      hwaccel: c.hwaccel,
      keepMs: this.deps.packetsMs ?? 30_000,
      log: this.log,
      onDecoder: (kind, running) => metrics.decoders.inc({ kind }, running ? 1 : -1),
      onKeyPicture: (f) => this.guard(() => this.onPicture(f, true)),
      onFrame: (f) => this.guard(() => this.onPicture(f, false)),
    });
    // With a detect stream the keyframes wait until it fails: switching the trigger's source
    // from keyframes to the substream at start could fire it (a different picture) on every camera.
    this.video.keyframes = !this.detect || this.detectFailed;
    return this.video;
  }

  /** A decoded picture (on_demand): a keyframe's goes out at once for the trigger; the full decode's in chunks. */
  private onPicture(f: DecodedFrame, keyframe: boolean): void {
    if (this.stopped) return;
    const size = jpegSize(f.jpeg);
    if (!size) return;
    this.size = size;
    this.deps.metrics.decodedFrames.inc({ kind: keyframe ? 'keyframes' : 'full' });
    const frame = { capturedAt: f.capturedAt, streamTime: 0, jpeg: f.jpeg };
    if (keyframe) this.deps.onChunk(this.chunker.keyframe(frame, size.width, size.height));
    else for (const chunk of this.chunker.add(frame, size.width, size.height)) this.deps.onChunk(chunk);
  }

  private onPacket(au: AccessUnit, codec: VideoCodec, arrivedAt: number): void {
    const run = this.run!;
    const { capturedAt, decodeAt } = this.packetClock.stamp(au.pts, au.dts, arrivedAt);
    run.firstFrameAt ??= arrivedAt;
    run.lastFrameAt = this.lastFrameAt = arrivedAt;
    this.framesTotal++;
    this.rate.add(arrivedAt);
    this.m.frames.inc();
    if (au.key) {
      this.gop.key(capturedAt);
      const gop = this.gop.ms;
      if (gop !== undefined && (this.gopMs === undefined || Math.abs(gop - this.gopMs) > 100)) {
        this.gopMs = gop;
        // The GOP sets what the trigger stage sees while the camera is quiet: operators see it in the status.
        if (this.state === 'online' || this.state === 'degraded') this.deps.onStatus(this.status(Date.now()));
      }
    }
    if (this.state === 'starting' || this.state === 'offline') {
      run.onlineAt = arrivedAt;
      this.setState('online', Reasons.receiving);
    }
    this.videoOf().take({ capturedAt, decodeAt, key: au.key, data: au.data }, codec);
  }

  /** The rate delivery is judged against: the stream's own under on_demand (every packet is kept), else the sampled fps. */
  private targetFps(): number {
    const native = this.source_?.fps;
    return this.run?.reads === 'packets' && native !== undefined && native > 0 && native <= 120 ? native : this.camera.fps;
  }

  private onFrame(jpeg: Buffer, index: number, arrivedAt: number, crops?: Map<string, Buffer>): void {
    const run = this.run!;
    const size = jpegSize(jpeg);
    if (!size || (crops && [...crops.values()].some((c) => !jpegSize(c)))) {
      if (++run.badFrames >= MAX_BAD_FRAMES) run.source.kill('output is not valid JPEG');
      return;
    }
    run.badFrames = 0;
    const streamTime = index / this.camera.fps;
    run.firstFrameAt ??= arrivedAt;
    if (streamTime * 1000 - (arrivedAt - run.firstFrameAt) > RUNAWAY_MS) {
      run.source.kill('stream timestamps jumped ahead');
      return;
    }
    const capturedAt = this.clock.stamp(streamTime, arrivedAt);
    run.lastFrameAt = this.lastFrameAt = arrivedAt;
    this.framesTotal++;
    this.rate.add(arrivedAt);
    this.m.frames.inc();
    if (this.size && (this.size.width !== size.width || this.size.height !== size.height)) {
      this.log.info({ from: this.size, to: size }, 'frame size changed');
    }
    this.size = size;
    if (this.state === 'starting' || this.state === 'offline') {
      run.onlineAt = arrivedAt;
      this.setState('online', Reasons.receiving);
    }
    for (const chunk of this.chunker.add({ capturedAt, streamTime, jpeg, ...(crops && { crops }) }, size.width, size.height)) this.deps.onChunk(chunk);
    // on_demand while busy: the trigger stage goes on seeing pictures at the keyframe rate it is used to.
    if (this.mode === 'on_demand' && !this.detect?.up && capturedAt - this.lastKeyPictureAt >= (this.gopMs ?? 1000) * this.camera.keyframeEvery - 1000 / this.camera.fps / 2) {
      this.lastKeyPictureAt = capturedAt;
      this.deps.metrics.decodedFrames.inc({ kind: 'keyframes' });
      this.deps.onChunk(this.chunker.keyframe({ capturedAt, streamTime, jpeg }, size.width, size.height));
    }
  }

  private onExit(raw: string, opened: boolean): void {
    const run = this.run!;
    this.run = undefined;
    // A switch under way goes with the run it was to replace: the restart reads the camera afresh.
    this.pending?.source.kill('the camera\'s reader ended');
    this.pending = undefined;
    this.draining?.video?.close();
    this.draining = undefined;
    this.busyGauge(false);
    this.flush();
    if (this.stopped) return;
    let why = describeFailure(this.scrub(raw));
    if (why === 'connection timed out') why = opened || run.lastFrameAt ? Reasons.noFrames(this.camera.stallTimeoutMs) : Reasons.hostUnreachable;
    const healthy = run.onlineAt !== undefined && Date.now() - run.onlineAt >= this.backoff.healthyMs;
    this.failures = healthy ? 1 : this.failures + 1;
    const delay = backoffDelay(this.failures, this.backoff);
    const changed = this.state !== 'offline' || this.reason !== why;
    this.setState('offline', why);
    // Once per reason: a camera that stays down does not fill the log.
    if (changed) this.log.warn({ reason: why, retryInMs: delay }, 'camera offline; restarting ffmpeg');
    else this.log.debug({ reason: why, retryInMs: delay, failures: this.failures }, 'camera still offline');
    this.restartTimer = setTimeout(() => {
      this.restarts++;
      this.m.restarts.inc();
      this.spawn();
    }, delay);
  }

  private flush(): void {
    const chunk = this.chunker.flush();
    if (chunk) this.deps.onChunk(chunk);
  }

  private deliveredFps(now: number): number {
    const onlineAt = this.run?.onlineAt;
    if (onlineAt === undefined) return 0;
    return this.rate.rate(now, onlineAt);
  }

  private setState(state: CameraState, reason: string): void {
    if (state === this.state && reason === this.reason) return;
    // Degraded's reason (the measured rate) changes every tick: publish transitions only.
    if (state === this.state && state !== 'offline') return;
    const was = this.state;
    this.state = state;
    this.reason = reason;
    this.stateSince = Date.now();
    this.report();
    if (state === 'online' && was !== 'online') this.log.info({ state, reason }, 'camera online');
    else if (state === 'degraded') this.log.warn({ state, reason }, 'camera degraded');
  }

  private report(): void {
    const id = this.camera.id;
    for (const s of CAMERA_STATES) this.deps.metrics.cameraState.set({ camera: id, state: s }, s === this.state ? 1 : 0);
    this.m.up.set(this.state === 'online' || this.state === 'degraded' ? 1 : 0);
    this.deps.onStatus(this.status(Date.now()));
  }

  private status(now: number): CameraStatus {
    const c = this.camera;
    return {
      v: 1,
      cameraId: c.id,
      state: this.state,
      reason: this.reason,
      at: now,
      fps: c.fps,
      decode: this.mode,
      gopS: this.mode === 'on_demand' && this.gopMs !== undefined ? Math.round(this.gopMs / 10) / 100 : undefined,
      triggerFps: this.mode === 'on_demand' && this.detect?.up ? c.detectFps : this.mode === 'on_demand' && this.gopMs ? Math.round((100_000 / this.gopMs / c.keyframeEvery)) / 100 : undefined,
      busy: this.mode === 'on_demand' ? this.run?.reads === 'pictures' : undefined,
      fpsOut: Math.round(this.deliveredFps(now) * 100) / 100,
      width: this.size?.width,
      height: this.size?.height,
      source: this.source_,
      restarts: this.restarts,
      name: c.name,
      site: c.site,
      tags: c.tags,
    };
  }

  /** A bug in handling one camera's frame must not take the process (and every camera) down. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log.error({ err: this.scrub((e as Error).stack ?? String(e)) }, 'error handling camera output');
    }
  }
}
