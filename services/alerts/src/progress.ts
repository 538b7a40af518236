import type { WindowProgress } from '@vigil/contracts';
import type { IncidentStore } from '@vigil/store';
import type { Logger } from '@vigil/observability';

/**
 * Window progress from infer (see @vigil/contracts progress.ts), kept per (camera, query) as
 * the latest capture time and written in one statement every interval: episodes then close on
 * capture time (IncidentStore.closeQuiet). A crash loses at most one interval, which only
 * delays a close until the next message; a write that fails is kept and retried.
 */
export class ProgressRecorder {
  private pending = new Map<string, { camera: string; query: string; through: number }>();
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: IncidentStore,
    private readonly log: Logger,
  ) {}

  add(p: WindowProgress): void {
    const key = `${p.cameraId}\u0000${p.queryId}`;
    const cur = this.pending.get(key);
    if (!cur || p.through > cur.through) this.pending.set(key, { camera: p.cameraId, query: p.queryId, through: p.through });
  }

  start(intervalMs = 500): void {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = this.pending;
      this.pending = new Map();
      try {
        await this.store.recordProgress([...batch.values()]);
      } catch (e) {
        this.log.warn({ err: (e as Error).message, keys: batch.size }, 'window progress not stored yet; retrying');
        for (const [k, v] of batch) {
          const now = this.pending.get(k);
          if (!now || now.through < v.through) this.pending.set(k, v);
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
