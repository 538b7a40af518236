import { Topics, type Finding } from '@vigil/contracts';
import type { Bus } from '@vigil/bus';

/**
 * Publishes findings in small batches (one produce request for the findings answered
 * within a few milliseconds of each other), retrying a failed batch with backoff.
 * `publish` resolves when the finding is on the bus, or rejects after the retries.
 */
export class FindingPublisher {
  private queue: { f: Finding; resolve: () => void; reject: (e: Error) => void }[] = [];
  private timer?: NodeJS.Timeout;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly bus: Bus,
    private readonly lingerMs = 5,
    private readonly attempts = 4,
  ) {}

  publish(f: Finding): Promise<void> {
    const p = new Promise<void>((resolve, reject) => this.queue.push({ f, resolve, reject }));
    this.timer ??= setTimeout(() => this.flush(), this.lingerMs);
    return p;
  }

  /** Waits for every batch under way. */
  async drain(): Promise<void> {
    if (this.queue.length) this.flush();
    await Promise.allSettled([...this.pending]);
  }

  private flush(): void {
    this.timer = undefined;
    const batch = this.queue.splice(0);
    if (batch.length === 0) return;
    const run = (async () => {
      let last: unknown;
      for (let i = 0; i < this.attempts; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 200 * 2 ** i));
        try {
          await this.bus.publish(
            Topics.findings,
            batch.map(({ f }) => ({ key: f.cameraId, value: Buffer.from(JSON.stringify(f)), timestamp: f.windowStart })),
          );
          batch.forEach((b) => b.resolve());
          return;
        } catch (e) {
          last = e;
        }
      }
      batch.forEach((b) => b.reject(last as Error));
    })();
    this.pending.add(run);
    void run.finally(() => this.pending.delete(run));
  }
}
