/**
 * Runs jobs with bounded concurrency, fairly across keys: one pending job per key (a newer
 * job for the same key supersedes the waiting one — live video, latest wins), and keys are
 * served round-robin so a busy camera cannot starve the others.
 */
export class FairDispatcher<T> {
  private readonly pending = new Map<string, T>();
  private inFlight = 0;
  private closed = false;
  private readonly idle: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly run: (job: T) => Promise<void>,
    private readonly onSuperseded: (job: T) => void = () => undefined,
  ) {}

  submit(key: string, job: T): void {
    if (this.closed) return;
    const old = this.pending.get(key);
    if (old !== undefined) {
      this.pending.delete(key); // re-insert at the back: round-robin order
      this.onSuperseded(old);
    }
    this.pending.set(key, job);
    this.drain();
  }

  get queued(): number {
    return this.pending.size;
  }

  get active(): number {
    return this.inFlight;
  }

  /** Stops taking jobs, drops the waiting ones, and waits for those in flight. */
  async close(): Promise<void> {
    this.closed = true;
    this.pending.clear();
    if (this.inFlight === 0) return;
    await new Promise<void>((r) => this.idle.push(r));
  }

  private drain(): void {
    while (!this.closed && this.inFlight < this.concurrency && this.pending.size > 0) {
      const [key, job] = this.pending.entries().next().value as [string, T];
      this.pending.delete(key);
      this.inFlight++;
      void this.run(job)
        .catch(() => undefined) // run() reports its own failures
        .finally(() => {
          this.inFlight--;
          if (this.inFlight === 0) this.idle.splice(0).forEach((r) => r());
          this.drain();
        });
    }
  }
}
