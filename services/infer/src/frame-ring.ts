import type { Frame } from '@vigil/contracts';
import type { FrameStats } from './analytics/stage.ts';
import type { Detection } from './analytics/detector.ts';

/** A frame in the ring, with what the trigger stage learnt about it (filled in when its batch ran). */
export interface RingFrame extends Frame {
  stats?: FrameStats;
  detections?: Detection[];
}

/** The ring's own copy of a frame (and its crops): see `add`. */
function ownFrame(f: Frame, owned: boolean): RingFrame {
  const own: RingFrame = { capturedAt: f.capturedAt, streamTime: f.streamTime, jpeg: owned ? f.jpeg : Buffer.from(f.jpeg) };
  if (f.crops) own.crops = owned ? f.crops : new Map([...f.crops].map(([zone, jpeg]) => [zone, Buffer.from(jpeg)]));
  return own;
}

/** Recent frames of one camera, ordered by capture time, bounded by age. */
export class FrameRing {
  private frames: RingFrame[] = [];
  fps = 4;
  width = 0;
  height = 0;
  /** Wall-clock time the last chunk arrived (an idle camera stops holding commits). */
  lastArrival = 0;

  constructor(private readonly keepMs: number) {}

  /** Adds frames newer than the newest held; returns the ones added. `owned`: the buffers are ours already (decoded here), no copy. */
  add(frames: Frame[], fps: number, owned = false): RingFrame[] {
    this.fps = fps;
    this.lastArrival = Date.now();
    const added: RingFrame[] = [];
    for (const f of frames) {
      const last = this.frames[this.frames.length - 1];
      if (last && f.capturedAt <= last.capturedAt) {
        // Earlier than the newest: a replayed frame (dropped), or one an on_demand decode that
        // restarted further back fills in (kept, in order).
        const at = this.indexOf(f.capturedAt);
        if (at < this.frames.length && this.frames[at]!.capturedAt === f.capturedAt) continue;
        if (last.capturedAt - f.capturedAt > this.keepMs) continue;
        const own = ownFrame(f, owned);
        this.frames.splice(at, 0, own);
        added.push(own);
        continue;
      }
      // A frame arrives as a slice of the consumer's fetch buffer (megabytes, many cameras):
      // holding the slice would keep the whole buffer alive for as long as the ring keeps the
      // frame. A copy costs a memcpy and bounds memory by what the rings actually hold.
      const own = ownFrame(f, owned);
      this.frames.push(own);
      added.push(own);
    }
    const newest = this.latest();
    if (newest === undefined) return added;
    let drop = 0;
    while (drop < this.frames.length && this.frames[drop]!.capturedAt < newest - this.keepMs) drop++;
    if (drop > 0) this.frames = this.frames.slice(drop);
    return added;
  }

  /** Capture time of the newest frame. */
  latest(): number | undefined {
    return this.frames[this.frames.length - 1]?.capturedAt;
  }

  /** Index of the first frame captured at or after `t`. */
  private indexOf(t: number): number {
    // Binary search: windows are asked many times a second over 200 cameras.
    let lo = 0;
    let hi = this.frames.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.frames[mid]!.capturedAt < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Frames captured in [from, to). */
  between(from: number, to: number): RingFrame[] {
    const lo = this.indexOf(from);
    const out: RingFrame[] = [];
    for (let i = lo; i < this.frames.length && this.frames[i]!.capturedAt < to; i++) out.push(this.frames[i]!);
    return out;
  }

  get size(): number {
    return this.frames.length;
  }
}
