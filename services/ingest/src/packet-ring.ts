import type { TimedPacket } from '@vigil/media';

/** A packet as the ring holds it: an access unit with its capture and decode times. */
export type HeldPacket = TimedPacket;

const FIRST_SLAB = 1024 * 1024;

/**
 * Recent compressed packets of one camera, in decode order, bounded by age and bytes: a
 * full decode started when infer asks for the camera reads from the keyframe before the
 * window, so the window holds the frames before the trigger.
 *
 * The bytes live in one circular slab per camera, reused in place: 30 s of every camera's
 * packets held as a Buffer each were ~270 MB of memory outside V8's heap, coming and going at
 * 8 MB/s on 16 quiet cameras, and V8 ran a full collection about twice a second (the quiet
 * bench). A held packet's `data` is a view on the slab: readers copy it before the ring is next
 * written (the decoders' muxer does).
 */
export class PacketRing {
  private slab = Buffer.allocUnsafeSlow(0);
  /** Where the next packet's bytes go. */
  private w = 0;
  private packets: HeldPacket[] = [];
  /** packets[head…] are held; those before were dropped (compacted now and then). */
  private head = 0;
  private bytes = 0;

  constructor(
    private readonly keepMs: number,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {}

  /** Adds packets newer (in decode time) than the newest held; returns those added. */
  add(packets: readonly HeldPacket[]): HeldPacket[] {
    const added: HeldPacket[] = [];
    for (const p of packets) {
      const last = this.newest();
      if (last && p.decodeAt <= last.decodeAt) continue; // replayed or duplicated
      const n = p.data.length;
      // Copied in: only the ring writes its slab, so nothing outside it can be overwritten.
      const at = this.place(n);
      p.data.copy(this.slab, at);
      const held = { ...p, data: this.slab.subarray(at, at + n) };
      this.packets.push(held);
      this.bytes += n;
      added.push(held);
    }
    const newest = this.newest()?.decodeAt;
    if (newest === undefined) return added;
    while (this.held > 1 && (this.packets[this.head]!.decodeAt < newest - this.keepMs || this.bytes > this.maxBytes)) this.dropOldest();
    this.compact();
    return added;
  }

  /** Capture time of the newest packet. */
  latest(): number | undefined {
    return this.newest()?.capturedAt;
  }

  /** Packets from the last keyframe captured at or before `t` (else the first keyframe held), in decode order. */
  fromKeyframeBefore(t: number): HeldPacket[] {
    let start = -1;
    for (let i = this.packets.length - 1; i >= this.head; i--) {
      const p = this.packets[i]!;
      if (!p.key) continue;
      start = i;
      if (p.capturedAt <= t) break;
    }
    return start < 0 ? [] : this.packets.slice(start);
  }

  get size(): number {
    return this.held;
  }

  get heldBytes(): number {
    return this.bytes;
  }

  /** The slab's size: what the ring holds in memory, whatever it holds now. */
  get capacity(): number {
    return this.slab.length;
  }

  private get held(): number {
    return this.packets.length - this.head;
  }

  private newest(): HeldPacket | undefined {
    return this.held > 0 ? this.packets[this.packets.length - 1] : undefined;
  }

  private offsetOf(p: HeldPacket): number {
    return p.data.byteOffset - this.slab.byteOffset;
  }

  /**
   * Where `n` bytes can go: after the newest, wrapping to the start. The oldest packets in the
   * way are dropped when older than keepMs (or the slab is as large as it may be); otherwise
   * the slab grows.
   */
  private place(n: number): number {
    if (n > this.slab.length && this.slab.length < this.maxBytes) this.grow(n);
    if (n > this.slab.length) {
      // Larger than the ring may hold at all: it holds this packet alone.
      while (this.held > 0) this.dropOldest();
      this.slab = Buffer.allocUnsafeSlow(n);
      this.w = n;
      return 0;
    }
    const newest = this.newest()?.decodeAt ?? 0;
    for (;;) {
      const at = this.w + n > this.slab.length ? 0 : this.w;
      if (!this.overlapsHeld(at, n)) {
        this.w = at + n;
        return at;
      }
      const oldest = this.packets[this.head]!;
      if (oldest.decodeAt < newest - this.keepMs || this.slab.length >= this.maxBytes) this.dropOldest();
      else this.grow(n);
    }
  }

  /** Whether [at, at+n) would overwrite a held packet: they lie from the oldest's offset, circularly, up to w. */
  private overlapsHeld(at: number, n: number): boolean {
    if (this.held === 0) return false;
    const s = this.offsetOf(this.packets[this.head]!);
    if (s < this.w) return at < this.w && at + n > s;
    return at < this.w || at + n > s;
  }

  private dropOldest(): void {
    const p = this.packets[this.head++]!;
    this.bytes -= p.data.length;
    if (this.held === 0) {
      this.packets = [];
      this.head = 0;
      this.w = 0;
    }
  }

  /** A larger slab, the held packets copied to its start in order. */
  private grow(n: number): void {
    // By half again (not double): a slab is held for good, and 16 cameras' slabs add up.
    const size = Math.min(this.maxBytes, Math.max(FIRST_SLAB, Math.ceil(this.slab.length * 1.5), this.bytes + n));
    const next = Buffer.allocUnsafeSlow(Math.max(size, n));
    let o = 0;
    const held = this.packets.slice(this.head).map((p) => {
      const len = p.data.length;
      p.data.copy(next, o);
      const moved = { ...p, data: next.subarray(o, o + len) };
      o += len;
      return moved;
    });
    this.slab = next;
    this.packets = held;
    this.head = 0;
    this.w = o;
  }

  /** Forgets dropped entries once they are most of the array (not on every packet: that copied it 30 times a second). */
  private compact(): void {
    if (this.head > 256 && this.head * 2 > this.packets.length) {
      this.packets = this.packets.slice(this.head);
      this.head = 0;
    }
  }
}
