import type { VideoPacket } from '@vigil/contracts';

/** A packet as the ring holds it (copied out of the consumer's fetch buffer). */
export type HeldPacket = VideoPacket;

/**
 * Recent compressed packets of one camera, in decode order, bounded by age and bytes: what
 * a decoder started when a trigger fires reads from the keyframe before the window, so the
 * window holds the frames before the trigger.
 */
export class PacketRing {
  private packets: HeldPacket[] = [];
  private bytes = 0;
  /** Wall-clock time the last chunk arrived. */
  lastArrival = 0;

  constructor(
    private readonly keepMs: number,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {}

  /** Adds packets newer (in decode time) than the newest held; returns those added. */
  add(packets: readonly VideoPacket[]): HeldPacket[] {
    this.lastArrival = Date.now();
    const added: HeldPacket[] = [];
    for (const p of packets) {
      const last = this.packets[this.packets.length - 1];
      if (last && p.decodeAt <= last.decodeAt) continue; // replayed or duplicated
      // Views on the chunk, which intake copied out of the fetch buffer (see ChunkIntake.take).
      const own = { capturedAt: p.capturedAt, decodeAt: p.decodeAt, key: p.key, data: p.data };
      this.packets.push(own);
      this.bytes += own.data.length;
      added.push(own);
    }
    const newest = this.packets[this.packets.length - 1]?.decodeAt;
    if (newest === undefined) return added;
    let drop = 0;
    let bytes = this.bytes;
    while (drop < this.packets.length - 1 && (this.packets[drop]!.decodeAt < newest - this.keepMs || bytes > this.maxBytes)) bytes -= this.packets[drop++]!.data.length;
    if (drop > 0) {
      this.packets = this.packets.slice(drop);
      this.bytes = bytes;
    }
    return added;
  }

  /** Capture time of the newest packet. */
  latest(): number | undefined {
    return this.packets[this.packets.length - 1]?.capturedAt;
  }

  /** Packets from the last keyframe captured at or before `t` (else the first keyframe held), in decode order. */
  fromKeyframeBefore(t: number): HeldPacket[] {
    let start = -1;
    for (let i = this.packets.length - 1; i >= 0; i--) {
      const p = this.packets[i]!;
      if (!p.key) continue;
      start = i;
      if (p.capturedAt <= t) break;
    }
    return start < 0 ? [] : this.packets.slice(start);
  }

  get size(): number {
    return this.packets.length;
  }

  get heldBytes(): number {
    return this.bytes;
  }
}
