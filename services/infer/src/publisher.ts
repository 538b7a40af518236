import { fitEvidence, TOPIC_SETTINGS, Topics, type Finding } from '@vigil/contracts';

/** A finding fits the findings topic's message limit, with headroom for the envelope and batching. */
const MAX_FINDING_BYTES = (TOPIC_SETTINGS[Topics.findings].maxMessageBytes ?? 1024 * 1024) - 256 * 1024;
import type { Bus, OutMessage } from '@vigil/bus';

/** Where answered windows go: the findings topic in production, a collector in a replay (`vigil test`). */
export interface FindingSink {
  /** Resolves once the finding is kept; rejects when it could not be (the caller retries). */
  publish(f: Finding): Promise<void>;
  /** Waits for everything under way. */
  drain(): Promise<void>;
}

/**
 * Publishes findings in small batches (one produce request for the findings answered
 * within a few milliseconds of each other), retrying a failed batch with backoff.
 * `publish` resolves when the finding is on the bus, or rejects after the retries.
 */
export class FindingPublisher implements FindingSink {
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
    const queued = this.queue.splice(0);
    if (queued.length === 0) return;
    // A produce request's batch must fit the topic's limit too: large findings go in batches of their own.
    const batches: { items: typeof queued; out: OutMessage[]; bytes: number }[] = [];
    for (const item of queued) {
      const value = Buffer.from(JSON.stringify(fitEvidence(item.f, MAX_FINDING_BYTES)));
      let b = batches[batches.length - 1];
      if (!b || b.bytes + value.length > MAX_FINDING_BYTES) batches.push((b = { items: [], out: [], bytes: 0 }));
      b.items.push(item);
      b.out.push({ key: item.f.cameraId, value, timestamp: item.f.windowStart });
      b.bytes += value.length;
    }
    for (const b of batches) this.send(b.items, b.out);
  }

  private send(items: { resolve: () => void; reject: (e: Error) => void }[], out: OutMessage[]): void {
    const run = (async () => {
      let last: unknown;
      for (let i = 0; i < this.attempts; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 200 * 2 ** i));
        try {
          await this.bus.publish(Topics.findings, out);
          items.forEach((b) => b.resolve());
          return;
        } catch (e) {
          last = e;
        }
      }
      items.forEach((b) => b.reject(last as Error));
    })();
    this.pending.add(run);
    void run.finally(() => this.pending.delete(run));
  }
}
