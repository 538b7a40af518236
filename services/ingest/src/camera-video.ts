import { PacketDecoder, type DecodedFrame, type Hwaccel, type VideoCodec } from '@vigil/media';
import type { Logger } from '@vigil/observability';
import { PacketRing, type HeldPacket } from './packet-ring.ts';

export interface CameraVideoOptions {
  cameraId: string;
  ffmpegPath: string;
  /** Width of the JPEGs decoded (the camera's `width`). */
  width: number;
  /** Rate of the full decode while the camera is looked at (the camera's `fps`). */
  fps: number;
  /** Every Nth keyframe goes to the trigger. */
  keyframeEvery: number;
  hwaccel: Hwaccel;
  /** Packets kept for a full decode to start from (ingest.buffer). */
  keepMs: number;
  log: Logger;
  /** A keyframe's picture: the trigger stage's input (from the full decode while it runs). */
  onKeyPicture(f: DecodedFrame): void;
  /** A picture of the full decode, at the camera's fps (only while infer asks for it). */
  onFrame(f: DecodedFrame): void;
  /** A decoder started or stopped (for metrics). */
  onDecoder?(kind: 'keyframes' | 'full', running: boolean): void;
}

/** How often a running full decode is handed the packets that arrived (see PacketDecoder.feed). */
const FULL_BATCH_MS = 250;
/** A keyframe waits this long for its follower (which writes both at once), at most. */
const KEY_BATCH_MS = 100;
/** Decoders restart before their 33-bit 90 kHz clock (26.5 h) wraps. */
const MAX_DECODER_SPAN_MS = 24 * 3600_000;

/**
 * One `on_demand` camera's video: its recent packets, a keyframe decoder that always runs
 * (the trigger stage's input while the camera is quiet: a fraction of a full decode), and a
 * full decoder that runs only while infer asks for the camera — started at the keyframe
 * before the window a trigger fired in, kept until `until`. While the full decoder runs the
 * trigger's pictures come from it and the keyframe decoder stops: a busy camera pays for
 * one decode.
 */
export class CameraVideo {
  readonly ring: PacketRing;
  private codec?: VideoCodec;
  private keys?: PacketDecoder;
  private keysBase = 0;
  private keyCount = 0;
  /** Whether the next packet goes to the keyframe decoder behind the keyframe fed last. */
  private follower = false;
  private full?: PacketDecoder;
  private fullBase = 0;
  /** Capture time from which the full decoder's pictures cover the stream. */
  private fullFrom?: number;
  private fullUntil = 0;
  /** While the full decode runs: capture times of the keyframes whose trigger picture it owes. */
  private owed: number[] = [];
  private readonly warned = new Set<string>();
  private closed = false;
  /** Whether keyframes feed the trigger stage (false while a detect substream does). */
  private keyPictures = true;

  constructor(private readonly o: CameraVideoOptions) {
    this.ring = new PacketRing(o.keepMs);
  }

  /**
   * Keyframes feed the trigger stage (the default), or not: a camera's detect substream does
   * while it delivers; its keyframe decoder stops then and the full decode owes it nothing.
   */
  set keyframes(on: boolean) {
    if (on === this.keyPictures) return;
    this.keyPictures = on;
    if (!on) {
      this.stopKeys('detect stream');
      this.owed = [];
    }
  }

  /** Until when (capture time) infer has asked for the full decode. */
  get until(): number {
    return this.fullUntil;
  }

  /** Whether the full decoder runs (what the camera costs now). */
  get active(): boolean {
    return !!this.full?.running;
  }

  /** Takes a packet (decode order): into the ring, to the full decoder while it runs, keyframes to the trigger. */
  take(p: HeldPacket, codec: VideoCodec): void {
    if (this.closed) return;
    if (this.codec && codec !== this.codec) this.stopDecoders(`codec changed to ${codec}`);
    this.codec = codec;
    if (this.ring.add([p]).length === 0) return;
    if (this.full?.running) {
      if (p.capturedAt > this.fullUntil) this.stopFull('quiet');
      else if (p.capturedAt - this.fullBase > MAX_DECODER_SPAN_MS) this.stopFull('decoder clock span');
      else this.full.feed([p]);
    }
    const kept = this.keyPictures && p.key && this.keyCount++ % this.o.keyframeEvery === 0;
    if (this.full?.running) {
      if (kept) this.owed.push(p.capturedAt);
      this.follower = false;
      if (this.keys) this.stopKeys('full decode running');
      return;
    }
    // Each keyframe kept goes with the packet after it: ffmpeg hands a picture on only when the next one starts.
    if (this.follower) {
      this.follower = false;
      // The follower is what lets the keyframe out: write both now.
      this.keys?.feed([p], true);
    }
    if (!kept) return;
    if (this.keys?.running && p.capturedAt - this.keysBase > MAX_DECODER_SPAN_MS) this.stopKeys('decoder clock span');
    if (!this.keys?.running) {
      this.keysBase = baseOf(p);
      const decoder: PacketDecoder = this.decoder(this.keysBase, undefined, 'keyframes', (f) => {
        if (this.keys === decoder) this.o.onKeyPicture(f);
      });
      this.keys = decoder;
      decoder.start();
      this.o.onDecoder?.('keyframes', true);
    }
    this.keys.feed([p]);
    this.follower = true;
  }

  /**
   * Makes the full decode cover capture times from `from` on (starting at the keyframe
   * before it) and keeps it running until `until`. Returns false when no keyframe is held
   * yet (a later request starts it).
   */
  activate(from: number, until: number): boolean {
    if (this.closed) return false;
    this.fullUntil = Math.max(this.fullUntil, until);
    if (this.full?.running && this.fullFrom !== undefined && this.fullFrom <= from) return true;
    // Running but starting later than asked (a longer window): restart further back, if the packets reach further back.
    const packets = this.ring.fromKeyframeBefore(from);
    if (this.full?.running) {
      if (packets.length === 0 || packets[0]!.capturedAt >= this.fullFrom!) return true;
      this.stopFull('restart earlier');
    }
    if (packets.length === 0 || !this.codec) return false;
    this.fullBase = baseOf(packets[0]!);
    this.fullFrom = packets[0]!.capturedAt;
    const decoder: PacketDecoder = this.decoder(this.fullBase, this.o.fps, 'full', (f) => {
      if (this.full === decoder) this.onFullFrame(f);
    });
    this.full = decoder;
    decoder.start();
    this.o.onDecoder?.('full', true);
    decoder.feed(packets, true);
    return true;
  }

  close(): void {
    this.closed = true;
    this.stopDecoders('closed');
  }

  /**
   * Takes no more packets; a running full decode hands on the pictures it holds (within
   * `timeoutMs`), then everything stops. For a switch to another reader without a gap.
   */
  drain(timeoutMs: number): Promise<void> {
    const full = this.full;
    this.closed = true;
    this.stopKeys('closed');
    if (!full?.running) {
      this.stopFull('closed');
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.stopFull('closed');
        resolve();
      }
      this.drained = done;
      full.drain();
    });
  }

  private drained?: () => void;

  /** A picture of the full decode: it goes out for windows, and to the trigger where a keyframe's is owed. */
  private onFullFrame(f: DecodedFrame): void {
    this.o.onFrame(f);
    let owes = false;
    while (this.owed.length > 0 && this.owed[0]! <= f.capturedAt) {
      this.owed.shift();
      owes = true;
    }
    if (owes) this.o.onKeyPicture(f);
  }

  private decoder(baseMs: number, fps: number | undefined, kind: 'keyframes' | 'full', frame: (f: DecodedFrame) => void): PacketDecoder {
    return new PacketDecoder({
      ffmpegPath: this.o.ffmpegPath,
      codec: this.codec!,
      width: this.o.width,
      fps,
      keyframesOnly: kind === 'keyframes',
      // A full decode is written a few times a second (it emits `fps` pictures a second anyway).
      batchMs: kind === 'full' ? FULL_BATCH_MS : KEY_BATCH_MS,
      hwaccel: this.o.hwaccel,
      baseMs,
      frame,
      exit: (reason) => {
        this.o.onDecoder?.(kind, false);
        if (reason === 'drained' && kind === 'full') this.drained?.();
        if (['quiet', 'closed', 'restart earlier', 'full decode running', 'drained', 'detect stream'].includes(reason) || this.closed) return;
        // Once per reason: a camera sending garbage does not fill the log.
        if (!this.warned.has(reason)) {
          this.warned.add(reason);
          this.o.log.warn({ camera: this.o.cameraId, decoder: kind, reason }, 'video decoder ended; it restarts with the next keyframe or request');
        }
      },
    });
  }

  private stopKeys(reason: string): void {
    this.keys?.close(reason);
    this.keys = undefined;
    this.follower = false;
  }

  private stopFull(reason: string): void {
    this.full?.close(reason);
    this.full = undefined;
    this.fullFrom = undefined;
    // The keyframe decoder takes over again from the next keyframe.
    this.owed = [];
  }

  private stopDecoders(reason: string): void {
    this.stopKeys(reason);
    this.stopFull(reason);
  }
}

/** A decoder's clock starts at a whole second before its first packet (so `fps` slots align to the epoch). */
function baseOf(p: HeldPacket): number {
  return Math.floor((Math.min(p.decodeAt, p.capturedAt) - 10_000) / 1000) * 1000;
}
