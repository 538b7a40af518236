import type { Frame } from '@vigil/contracts';

/** Recent frames of one camera, ordered by capture time, bounded by age. */
export class FrameRing {
  private frames: Frame[] = [];
  fps = 4;

  constructor(private readonly keepMs: number) {}

  add(frames: Frame[], fps: number): void {
    this.fps = fps;
    for (const f of frames) {
      const last = this.frames[this.frames.length - 1];
      if (last && f.capturedAt <= last.capturedAt) continue; // duplicate or replayed frame
      this.frames.push(f);
    }
    const newest = this.latest();
    if (newest === undefined) return;
    let drop = 0;
    while (drop < this.frames.length && this.frames[drop]!.capturedAt < newest - this.keepMs) drop++;
    if (drop > 0) this.frames = this.frames.slice(drop);
  }

  /** Capture time of the newest frame. */
  latest(): number | undefined {
    return this.frames[this.frames.length - 1]?.capturedAt;
  }

  /** Frames captured in [from, to). */
  between(from: number, to: number): Frame[] {
    return this.frames.filter((f) => f.capturedAt >= from && f.capturedAt < to);
  }

  get size(): number {
    return this.frames.length;
  }
}
