/**
 * The GOP a camera's encoder keeps, from the capture times of its keyframes.
 *
 * One interval is not enough: a keyframe forced when another client joins the RTSP server's
 * stream, a scene cut, or a backlog delivered in a burst after a reconnect makes one interval
 * far shorter than the GOP (a camera was shown with "GOP 0.03 s · trigger 40 fps"). Extra
 * keyframes only ever shorten intervals, so the GOP is the longest of the last few; a lost
 * keyframe lengthens one, and drops out once it is older than the last few.
 */
export class GopMeter {
  private readonly intervals: number[] = [];
  private lastKeyAt?: number;

  constructor(
    /** How many recent intervals are looked at. */
    private readonly keep = 4,
    /** Intervals needed before there is an estimate (the first one after a start may be a burst's). */
    private readonly need = 2,
  ) {}

  /** A keyframe captured at `capturedAt` (ms); times that do not move forward are ignored. */
  key(capturedAt: number): void {
    if (this.lastKeyAt !== undefined && capturedAt > this.lastKeyAt) {
      this.intervals.push(capturedAt - this.lastKeyAt);
      if (this.intervals.length > this.keep) this.intervals.shift();
    }
    if (this.lastKeyAt === undefined || capturedAt > this.lastKeyAt) this.lastKeyAt = capturedAt;
  }

  /** The GOP in ms, or undefined while too few keyframes have been seen. */
  get ms(): number | undefined {
    return this.intervals.length >= this.need ? Math.max(...this.intervals) : undefined;
  }

  /** A new run of the camera: its keyframes are not spaced from the last run's. */
  restart(): void {
    this.lastKeyAt = undefined;
    this.intervals.length = 0;
  }
}
