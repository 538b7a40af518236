import type { Finding, WindowProgress } from '@vigil/contracts';
import type { IncidentStore } from '@vigil/store';
import type { Logger } from '@vigil/observability';
import type { AlertsMetrics } from './metrics.ts';

const DAY_MS = 86_400_000;
/** Retention looks at the partitions at most this often (it drops whole days). */
const EXPIRE_EVERY_MS = 60_000;

/**
 * The window audit: every finding (positive or not) becomes an asked window, and the skip runs
 * infer sends with its progress are merged into stored runs — both written before the handler
 * resolves, so the bus commits only what is stored, and a replay is recognised (finding ids,
 * run unions). Windows outside [now - retention, now + 1 day] are counted and left out: the
 * retention would drop them at once, and a far-future one would only create a partition.
 */
export class WindowAudit {
  private lastExpire = -Infinity;

  constructor(
    private readonly store: IncidentStore,
    private retentionMs: number,
    private readonly metrics: AlertsMetrics,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  update(retentionMs: number): void {
    this.retentionMs = retentionMs;
  }

  async finding(f: Finding): Promise<void> {
    if (!this.inRange(f.windowStart)) return;
    const added = await this.store.recordWindows([f]);
    this.metrics.auditWindows.inc({ kind: 'asked', result: added > 0 ? 'stored' : 'duplicate' });
  }

  async skips(p: WindowProgress): Promise<void> {
    const runs = (p.skips ?? []).filter((r) => this.inRange(r.to));
    if (runs.length === 0) return;
    await this.store.recordSkips(p.cameraId, p.queryId, runs);
    this.metrics.auditWindows.inc({ kind: 'skipped', result: 'stored' }, runs.reduce((n, r) => n + r.count, 0));
  }

  /** Retention; idempotent, so every replica may run it (it takes a lock for the DDL). */
  async expire(): Promise<void> {
    if (this.now() - this.lastExpire < EXPIRE_EVERY_MS) return;
    this.lastExpire = this.now();
    const r = await this.store.expireWindows(new Date(this.now() - this.retentionMs));
    if (r.partitions.length > 0 || r.skips > 0) this.log.info({ partitions: r.partitions, skips: r.skips }, 'window audit retention');
  }

  private inRange(t: number): boolean {
    const now = this.now();
    if (t < now - this.retentionMs) return this.unrecorded('expired');
    if (t > now + DAY_MS) return this.unrecorded('future');
    return true;
  }

  private unrecorded(reason: string): false {
    this.metrics.auditWindows.inc({ kind: 'any', result: reason });
    return false;
  }
}
