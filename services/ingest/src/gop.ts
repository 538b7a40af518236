/**
 * The GOP a camera's encoder keeps, from the capture times of its keyframes.
 *
 * One interval is not enough, and neither is the longest of a few: a keyframe forced when
 * another client joins the RTSP server's stream, a scene cut, or a backlog delivered in a burst
 * after a reconnect makes an interval far shorter than the GOP (a camera was shown with "GOP
 * 0.03 s · trigger 40 fps"); a keyframe lost on the way makes one twice as long ("GOP 2.35 s" for
 * a 1 s GOP, under load). The median of the last few ignores both while they are rare.
 */
export class GopMeter {
  private readonly intervals: number[] = [];
  private lastKeyAt?: number;

  constructor(
    /** How many recent intervals are looked at. */
    private readonly keep = 8,
    /** Intervals needed before there is an estimate (the first one after a start may be a burst's). */
    private readonly need = 3,
  ) {}

  /** A keyframe captured at `capturedAt` (ms); times that do not move forward are ignored. */
  key(capturedAt: number): void {
    if (this.lastKeyAt !== undefined) {
      if (capturedAt <= this.lastKeyAt) return;
      this.intervals.push(capturedAt - this.lastKeyAt);
      if (this.intervals.length > this.keep) this.intervals.shift();
    }
    this.lastKeyAt = capturedAt;
  }

  /** The GOP in ms, or undefined while too few keyframes have been seen. */
  get ms(): number | undefined {
    if (this.intervals.length < this.need) return undefined;
    const sorted = [...this.intervals].sort((a, b) => a - b);
    // The upper median: of [short, GOP] or [GOP, GOP, GOP, long] it is the GOP.
    return sorted[sorted.length >> 1];
  }

  /** A new run of the camera: its keyframes are not spaced from the last run's. */
  restart(): void {
    this.lastKeyAt = undefined;
    this.intervals.length = 0;
  }
}
