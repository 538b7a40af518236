/** Counts events over a sliding time window (frames per second delivered by a camera). */
export class RateWindow {
  private readonly times: number[] = [];
  private head = 0;

  constructor(readonly windowMs: number) {}

  add(t: number): void {
    this.times.push(t);
  }

  /** Events per second over the window ending at `now`, or over `since`→now if that is shorter. */
  rate(now: number, since = -Infinity): number {
    const from = Math.max(now - this.windowMs, since);
    while (this.head < this.times.length && this.times[this.head]! <= now - this.windowMs) this.head++;
    if (this.head > 1024) {
      this.times.splice(0, this.head);
      this.head = 0;
    }
    let n = 0;
    for (let i = this.times.length - 1; i >= this.head && this.times[i]! > from; i--) if (this.times[i]! <= now) n++;
    const span = (now - from) / 1000;
    return span > 0 ? n / span : 0;
  }

  clear(): void {
    this.times.length = 0;
    this.head = 0;
  }
}
