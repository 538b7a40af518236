import type { Finding } from '@vigil/contracts';
import type { IncidentStore, ModelUsageDelta } from '@vigil/store';
import type { Logger } from '@vigil/observability';

const HOUR_MS = 3_600_000;

/**
 * Sums the model usage of every finding (positive or not) per hour, camera and query, and
 * adds it to the store every few seconds in one statement: charts of latency and tokens
 * without a write per finding. A crash loses at most one interval of usage; replayed findings
 * after a crash may be counted twice. Both only blur a chart, never an incident.
 */
export class UsageRecorder {
  private pending = new Map<string, ModelUsageDelta>();
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: IncidentStore,
    private readonly log: Logger,
  ) {}

  /** Counts one finding; trigger findings asked no model and are left out. */
  add(f: Finding): void {
    if (f.status === 'trigger') return;
    const hour = Math.floor((f.createdAt || Date.now()) / HOUR_MS) * HOUR_MS;
    const key = `${hour}\u0000${f.cameraId}\u0000${f.queryId}`;
    let d = this.pending.get(key);
    if (!d) {
      d = { hour: new Date(hour), camera: f.cameraId, query: f.queryId, findings: 0, errors: 0, latencyMsSum: 0, promptTokens: 0, completionTokens: 0 };
      this.pending.set(key, d);
    }
    d.findings++;
    if (f.status === 'error') d.errors++;
    d.latencyMsSum += Math.max(0, Math.round(f.latencyMs ?? 0));
    d.promptTokens += Math.max(0, f.usage?.promptTokens ?? 0);
    d.completionTokens += Math.max(0, f.usage?.completionTokens ?? 0);
  }

  start(intervalMs = 5000): void {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  /** Writes what is pending; on failure keeps it for the next try (merged with newer counts). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = this.pending;
      this.pending = new Map();
      try {
        await this.store.addModelUsage([...batch.values()]);
      } catch (e) {
        this.log.warn({ err: (e as Error).message, rows: batch.size }, 'model usage not stored yet; retrying');
        for (const [k, d] of batch) {
          const now = this.pending.get(k);
          if (!now) this.pending.set(k, d);
          else for (const f of ['findings', 'errors', 'latencyMsSum', 'promptTokens', 'completionTokens'] as const) now[f] += d[f];
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
