/**
 * Assigns capture times: the stream's own timestamps anchored to the earliest arrival seen,
 * so pipe jitter does not shift frames. Re-anchors when the stream falls far behind wall
 * clock (a stall or reconnect) and never goes backwards.
 */
export class CaptureClock {
  private anchor?: number;
  private last = -Infinity;

  constructor(private readonly maxLagMs = 2000) {}

  /** Capture time (ms since epoch) of a frame `streamTime` seconds into the stream, arriving at `arrivedAt`. */
  stamp(streamTime: number, arrivedAt: number): number {
    const offset = streamTime * 1000;
    if (this.anchor === undefined || arrivedAt < this.anchor + offset || arrivedAt - (this.anchor + offset) > this.maxLagMs) {
      this.anchor = arrivedAt - offset;
    }
    const t = Math.max(this.anchor + offset, this.last + 1);
    this.last = t;
    return t;
  }

  /** Forget the stream's timeline (new ffmpeg process) but stay monotonic. */
  reset(): void {
    this.anchor = undefined;
  }
}
