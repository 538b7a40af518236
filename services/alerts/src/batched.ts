import type { Logger } from '@vigil/observability';

/**
 * Rows summed or kept per key in memory and written together every interval, in one store
 * call: a table fed by every finding without a write per finding. A write that fails keeps
 * its rows for the next try, folded into whatever arrived meanwhile (`merge(newer, older)`).
 */
export class BatchedWriter<V> {
  private pending = new Map<string, V>();
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly o: {
      write: (rows: V[]) => Promise<void>;
      merge: (newer: V, older: V) => V;
      log: Logger;
      /** Names the rows in the retry warning, e.g. "model usage". */
      what: string;
    },
  ) {}

  /** Sets the row for `key` from the one pending (undefined if none). */
  update(key: string, next: (pending: V | undefined) => V): void {
    this.pending.set(key, next(this.pending.get(key)));
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = this.pending;
      this.pending = new Map();
      try {
        await this.o.write([...batch.values()]);
      } catch (e) {
        this.o.log.warn({ err: (e as Error).message, rows: batch.size }, `${this.o.what} not stored yet; retrying`);
        for (const [k, older] of batch) {
          const newer = this.pending.get(k);
          this.pending.set(k, newer === undefined ? older : this.o.merge(newer, older));
        }
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
