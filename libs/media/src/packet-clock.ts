import { CaptureClock, type CaptureClockOptions } from './capture-clock.ts';

const WRAP = 2 ** 33;
const TICKS_PER_MS = 90;
/** A decode time this far from the last one is a new timeline (camera reboot, stream discontinuity). */
const JUMP_MS = 10_000;
/** Presentation after decode by more than this is a broken stamp: keep the decode time. */
const MAX_REORDER_MS = 10_000;

/**
 * Capture times for compressed packets, from the container's own 90 kHz timestamps.
 *
 * Decode times are monotonic in arrival order, so they drive a CaptureClock (anchored on the
 * earliest arrival, creeping with a slow camera clock, monotonic across restarts); a
 * packet's capture time is its decode time's stamp plus its presentation offset (pts − dts:
 * the B-frame reorder), so pictures come out of a decoder in capture order. The 33-bit
 * timestamps are unwrapped (26.5 h), and a jump of more than 10 s either way starts a new
 * timeline rather than a flood or a freeze of stamps.
 */
export class PacketClock {
  private readonly clock: CaptureClock;
  private base?: number;
  private lastDts?: number;
  private unwrapped = 0;

  constructor(opts: CaptureClockOptions = {}) {
    this.clock = new CaptureClock(opts);
  }

  /** Capture and decode times (ms since epoch) of a packet with these 90 kHz stamps, arriving at `arrivedAt`. */
  stamp(pts: number, dts: number, arrivedAt: number): { capturedAt: number; decodeAt: number } {
    if (this.lastDts === undefined || this.base === undefined) {
      this.base = dts;
      this.unwrapped = dts;
    } else {
      // The shortest way round the 33-bit circle from the last decode time.
      let step = (dts - this.lastDts) % WRAP;
      if (step > WRAP / 2) step -= WRAP;
      if (step < -WRAP / 2) step += WRAP;
      if (Math.abs(step) > JUMP_MS * TICKS_PER_MS) {
        this.clock.reset();
        this.base = dts;
        this.unwrapped = dts;
      } else this.unwrapped += step;
    }
    this.lastDts = dts;
    const decodeAt = this.clock.stamp((this.unwrapped - this.base) / (TICKS_PER_MS * 1000), arrivedAt);
    let reorder = (pts - dts) % WRAP;
    if (reorder < 0) reorder += WRAP;
    const offsetMs = Math.round(reorder / TICKS_PER_MS);
    return { capturedAt: decodeAt + (offsetMs <= MAX_REORDER_MS ? offsetMs : 0), decodeAt };
  }

  /** The last decode stamp handed out (a replacement clock continues after it). */
  get lastStamp(): number {
    return this.clock.lastStamp;
  }

  resumeAfter(t: number): void {
    this.clock.resumeAfter(t);
  }

  /** A new ffmpeg run: forget the timeline, stay monotonic. */
  reset(): void {
    this.clock.reset();
    this.base = undefined;
    this.lastDts = undefined;
  }
}
