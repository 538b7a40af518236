import type { TimedPacket } from '@vigil/media';

/** A packet as the ring holds it: an access unit with its capture and decode times. */
export type HeldPacket = TimedPacket;

/**
 * Recent compressed packets of one camera, in decode order, bounded by age and bytes: a
 * full decode started when infer asks for the camera reads from the keyframe before the
 * window, so the window holds the frames before the trigger.
 */
export class PacketRing {
  private packets: HeldPacket[] = [];
  private bytes = 0;

  constructor(
    private readonly keepMs: number,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {}

  /** Adds packets newer (in decode time) than the newest held; returns those added. */
  add(packets: readonly HeldPacket[]): HeldPacket[] {
    const added: HeldPacket[] = [];
    for (const p of packets) {
      const last = this.packets[this.packets.length - 1];
      if (last && p.decodeAt <= last.decodeAt) continue; // replayed or duplicated
      this.packets.push(p);
      this.bytes += p.data.length;
      added.push(p);
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
