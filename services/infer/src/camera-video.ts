import type { PacketChunk, PacketCodec } from '@vigil/contracts';
import { PacketDecoder, type DecodedFrame, type Hwaccel } from '@vigil/media';
import type { Logger } from '@vigil/observability';
import { PacketRing, type HeldPacket } from './packet-ring.ts';

export interface CameraVideoOptions {
  cameraId: string;
  ffmpegPath: string;
  /** Width of the JPEGs decoded (the camera's `width`). */
  width: number;
  /** Rate of the full decode while the camera is looked at (the camera's `fps`). */
  fps: number;
  /** Every Nth keyframe goes to the trigger decoder. */
  keyframeEvery: number;
  hwaccel: Hwaccel;
  /** Packets kept (infer.buffer). */
  keepMs: number;
  log: Logger;
  /** A picture of the full decode (active cameras only). */
  onFrame(f: DecodedFrame): void;
  /** A decoder started or stopped (for metrics). */
  onDecoder?(kind: 'keyframes' | 'full', running: boolean): void;
}

/** How long a chunk waits for its keyframes to be decoded before planning goes on without them. */
const KEYFRAME_WAIT_MS = 5_000;
/** Decoders restart before their 33-bit 90 kHz clock (26.5 h) wraps. */
const MAX_DECODER_SPAN_MS = 24 * 3600_000;

interface KeyWait {
  last: number;
  frames: DecodedFrame[];
  resolve(frames: DecodedFrame[]): void;
  timer: NodeJS.Timeout;
}

/**
 * One `on_demand` camera's video in infer: its recent packets, a keyframe decoder that
 * always runs (the trigger stage's input while the camera is quiet: a fraction of a full
 * decode), and a full decoder that runs only while something looks at the camera — started
 * at the keyframe before the window a trigger fired in, kept until the camera has been quiet
 * for `until`.
 */
export class CameraVideo {
  readonly ring: PacketRing;
  private codec?: PacketCodec;
  private keys?: PacketDecoder;
  private keysBase = 0;
  private keyCount = 0;
  private waits: KeyWait[] = [];
  private full?: PacketDecoder;
  private fullBase = 0;
  /** Capture time from which the full decoder's pictures cover the stream. */
  private fullFrom?: number;
  private fullUntil = 0;
  private readonly warned = new Set<string>();
  private closed = false;

  constructor(private readonly o: CameraVideoOptions) {
    this.ring = new PacketRing(o.keepMs);
  }

  /** Whether the full decoder runs (what the camera costs now). */
  get active(): boolean {
    return !!this.full?.running;
  }

  /** Capture time from which decoded pictures are available, while active. */
  get coveredFrom(): number | undefined {
    return this.active ? this.fullFrom : undefined;
  }

  /** Capture time of the newest picture the full decoder has produced. */
  get decodedThrough(): number | undefined {
    return this.active ? this.full!.latest : undefined;
  }

  /**
   * Takes a chunk: packets into the ring, keyframes to the trigger decoder, everything to the
   * full decoder while it runs. Resolves with the chunk's keyframe pictures once decoded.
   */
  take(chunk: PacketChunk): Promise<DecodedFrame[]> {
    if (this.closed) return Promise.resolve([]);
    if (this.codec && chunk.codec !== this.codec) this.stopDecoders(`codec changed to ${chunk.codec}`);
    this.codec = chunk.codec;
    const added = this.ring.add(chunk.packets);
    if (added.length === 0) return Promise.resolve([]);
    if (this.full?.running) {
      if (added[added.length - 1]!.capturedAt - this.fullBase > MAX_DECODER_SPAN_MS) this.stopFull('decoder clock span');
      else this.full.feed(added);
    }
    const newest = this.ring.latest()!;
    if (this.full?.running && newest > this.fullUntil) this.stopFull('quiet');
    if (this.full?.running) return this.triggerFromFull(added);
    // Each keyframe kept goes with the packet after it: that packet is what lets ffmpeg hand the keyframe on.
    const feed: HeldPacket[] = [];
    let last: number | undefined;
    for (const p of added) {
      if (this.follower) {
        feed.push(p);
        this.follower = false;
      }
      if (p.key && this.keyCount++ % this.o.keyframeEvery === 0) {
        feed.push(p);
        last = p.capturedAt;
        this.follower = true;
      }
    }
    if (feed.length === 0) return Promise.resolve([]);
    return this.decodeKeys(feed, last);
  }

  /** Whether the next packet goes to the keyframe decoder behind the keyframe fed last. */
  private follower = false;
  /** While the full decode runs: capture times of the keyframes whose trigger picture it owes. */
  private owed: number[] = [];

  /**
   * While the camera is decoded in full, the trigger stage takes its pictures from that decode
   * (the first picture at or after each keyframe kept, the same cadence as the keyframe
   * decoder), and the keyframe decoder stops: a busy camera pays for one decode, not two.
   */
  private triggerFromFull(added: HeldPacket[]): Promise<DecodedFrame[]> {
    if (this.keys) this.stopKeys('full decode running');
    let last: number | undefined;
    for (const p of added) {
      if (p.key && this.keyCount++ % this.o.keyframeEvery === 0) this.owed.push((last = p.capturedAt));
    }
    this.follower = false;
    if (last === undefined) return Promise.resolve([]);
    return this.waitFor(last);
  }

  private waitFor(last: number): Promise<DecodedFrame[]> {
    return new Promise((resolve) => {
      const wait: KeyWait = { last, frames: [], resolve, timer: setTimeout(() => this.release(wait), KEYFRAME_WAIT_MS) };
      this.waits.push(wait);
    });
  }

  /** A picture of the full decode: windows get it; the trigger stage gets it where a keyframe's is owed. */
  private onFullFrame(f: DecodedFrame): void {
    this.o.onFrame(f);
    let owes = false;
    while (this.owed.length > 0 && this.owed[0]! <= f.capturedAt) {
      this.owed.shift();
      owes = true;
    }
    if (owes) this.onKeyFrame(f);
  }

  /**
   * Makes the full decode cover capture times from `from` on (starting at the keyframe
   * before it) and keeps it running until `until`. Returns false when no keyframe is held
   * yet (the next one starts it).
   */
  activate(from: number, until: number): boolean {
    if (this.closed) return false;
    this.fullUntil = Math.max(this.fullUntil, until);
    if (this.full?.running && this.fullFrom !== undefined && this.fullFrom <= from) return true;
    // Already running but starting later than asked: restart further back (a longer window).
    if (this.full?.running) this.stopFull('restart earlier');
    const packets = this.ring.fromKeyframeBefore(from);
    if (packets.length === 0 || !this.codec) return false;
    this.fullBase = baseOf(packets[0]!);
    this.fullFrom = packets[0]!.capturedAt;
    const decoder: PacketDecoder = this.decoder(this.fullBase, this.o.fps, 'full', (f) => {
      if (this.full === decoder) this.onFullFrame(f);
    });
    this.full = decoder;
    decoder.start();
    this.o.onDecoder?.('full', true);
    decoder.feed(packets);
    return true;
  }

  close(): void {
    this.closed = true;
    this.stopDecoders('closed');
  }

  /** Feeds the keyframe decoder; resolves with the pictures up to the keyframe captured at `last` (none: nothing new to wait for). */
  private decodeKeys(feed: HeldPacket[], last: number | undefined): Promise<DecodedFrame[]> {
    if (this.keys?.running && feed[feed.length - 1]!.capturedAt - this.keysBase > MAX_DECODER_SPAN_MS) this.stopKeys('decoder clock span');
    if (!this.keys?.running) {
      // A fresh decoder starts at a keyframe, never at a follower.
      const at = feed.findIndex((p) => p.key);
      if (at < 0) return Promise.resolve([]);
      feed = feed.slice(at);
      this.keysBase = baseOf(feed[0]!);
      const decoder: PacketDecoder = this.decoder(this.keysBase, undefined, 'keyframes', (f) => {
        if (this.keys === decoder) this.onKeyFrame(f);
      });
      this.keys = decoder;
      decoder.start();
      this.o.onDecoder?.('keyframes', true);
    }
    if (last === undefined) {
      this.keys!.feed(feed);
      return Promise.resolve([]);
    }
    const done = this.waitFor(last);
    if (!this.keys!.feed(feed)) this.release(this.waits[this.waits.length - 1]!);
    return done;
  }

  private onKeyFrame(f: DecodedFrame): void {
    // Pictures come out in order: each belongs to the first chunk still waiting for one this late.
    const owner = this.waits.find((w) => w.last >= f.capturedAt);
    owner?.frames.push(f);
    while (this.waits.length > 0 && this.waits[0]!.last <= f.capturedAt) this.release(this.waits[0]!);
  }

  private release(wait: KeyWait): void {
    const i = this.waits.indexOf(wait);
    if (i < 0) return;
    // Earlier chunks are done too: pictures come out in order.
    for (const w of this.waits.splice(0, i + 1)) {
      clearTimeout(w.timer);
      w.resolve(w.frames);
    }
  }

  private decoder(baseMs: number, fps: number | undefined, kind: 'keyframes' | 'full', frame: (f: DecodedFrame) => void): PacketDecoder {
    const decoder: PacketDecoder = new PacketDecoder({
      ffmpegPath: this.o.ffmpegPath,
      codec: this.codec!,
      width: this.o.width,
      fps,
      keyframesOnly: kind === 'keyframes',
      hwaccel: this.o.hwaccel,
      baseMs,
      frame,
      exit: (reason) => {
        this.o.onDecoder?.(kind, false);
        // Pictures its waiting chunks expected will not come: plan them without.
        if ((kind === 'keyframes' && this.keys === decoder) || (kind === 'full' && this.full === decoder)) {
          if (kind === 'full') this.owed = [];
          for (const w of [...this.waits]) this.release(w);
        }
        if (['quiet', 'closed', 'restart earlier', 'full decode running'].includes(reason) || this.closed) return;
        // Once per reason: a camera sending garbage does not fill the log.
        if (!this.warned.has(reason)) {
          this.warned.add(reason);
          this.o.log.warn({ camera: this.o.cameraId, decoder: kind, reason }, 'video decoder ended; it restarts with the next packets');
        }
      },
    });
    return decoder;
  }

  private stopKeys(reason: string): void {
    this.keys?.close(reason);
    this.keys = undefined;
  }

  private stopFull(reason: string): void {
    this.full?.close(reason);
    this.full = undefined;
    this.fullFrom = undefined;
    // Pictures still owed to the trigger come from the keyframe decoder again, from the next keyframe.
    this.owed = [];
    for (const w of [...this.waits]) this.release(w);
  }

  private stopDecoders(reason: string): void {
    this.stopKeys(reason);
    this.stopFull(reason);
    for (const w of [...this.waits]) this.release(w);
  }
}

/** A decoder's clock starts at a whole second before its first packet (so `fps` slots align to the epoch). */
function baseOf(p: HeldPacket): number {
  return Math.floor((Math.min(p.decodeAt, p.capturedAt) - 10_000) / 1000) * 1000;
}
