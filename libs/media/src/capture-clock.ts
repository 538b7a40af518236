/** Tuning of a CaptureClock; the defaults suit live cameras. */
export interface CaptureClockOptions {
  /** Lag behind the anchor beyond which a frame counts as late. */
  maxLagMs?: number;
  /** How long frames must stay late before the clock re-anchors (a burst of backlog is not). */
  settleMs?: number;
  /** How fast the anchor may creep later, per second of stream time, to follow a slow camera clock. */
  drift?: number;
}

/**
 * Assigns capture times (wall clock, ms) to frames from the stream's own timestamps:
 * capture = anchor + streamTime, where the anchor is the earliest `arrival − streamTime`
 * seen. Arrival is an upper bound on capture (it adds network, decode and pipe delay), so
 * the earliest one is the best estimate, and jitter on later arrivals does not move frames.
 *
 * - The anchor may creep later by `drift` per stream second, so a camera clock running a
 *   little slow is followed smoothly instead of by jumps.
 * - A burst of frames arriving late (a backlog after a network hiccup) keeps the anchor:
 *   those frames were captured on time and delivered late. Only when frames stay more than
 *   `maxLagMs` late for `settleMs` (the stream really paused) does it re-anchor.
 * - Stamps never go backwards, across `reset()` (a new ffmpeg run) included.
 */
export class CaptureClock {
  private anchor?: number;
  private lastOffset = 0;
  private lateSince?: number;
  private lateMin = Infinity;
  private last = -Infinity;
  private readonly maxLagMs: number;
  private readonly settleMs: number;
  private readonly drift: number;

  constructor(opts: CaptureClockOptions = {}) {
    this.maxLagMs = opts.maxLagMs ?? 2000;
    this.settleMs = opts.settleMs ?? 2000;
    this.drift = opts.drift ?? 0.001;
  }

  /** Capture time (ms since epoch) of a frame `streamTime` seconds into the stream, arriving at `arrivedAt`. */
  stamp(streamTime: number, arrivedAt: number): number {
    const offset = streamTime * 1000;
    const implied = arrivedAt - offset;
    if (this.anchor === undefined || implied <= this.anchor) {
      this.anchor = implied;
      this.lateSince = undefined;
    } else if (implied - this.anchor > this.maxLagMs) {
      if (this.lateSince === undefined) {
        this.lateSince = arrivedAt;
        this.lateMin = implied;
      } else this.lateMin = Math.min(this.lateMin, implied);
      if (arrivedAt - this.lateSince >= this.settleMs) {
        this.anchor = this.lateMin;
        this.lateSince = undefined;
      }
    } else {
      this.lateSince = undefined;
      this.anchor = Math.min(implied, this.anchor + this.drift * Math.max(0, offset - this.lastOffset));
    }
    this.lastOffset = offset;
    const t = Math.max(Math.round(this.anchor + offset), this.last + 1);
    this.last = t;
    return t;
  }

  /** The last capture time handed out (to carry monotonicity into a replacement clock). */
  get lastStamp(): number {
    return this.last;
  }

  /** Continue after `t` (a previous clock's last stamp). */
  resumeAfter(t: number): void {
    this.last = Math.max(this.last, t);
  }

  /** Forget the stream's timeline (new ffmpeg process) but stay monotonic. */
  reset(): void {
    this.anchor = undefined;
    this.lateSince = undefined;
    this.lastOffset = 0;
  }
}
