import { MESSAGE_TYPE_HEADER, PROGRESS_TYPE, Topics, type WindowProgress } from '@vigil/contracts';
import type { Bus } from '@vigil/bus';
import type { Logger } from '@vigil/observability';
import type { WindowLedger } from './ledger.ts';

/**
 * Tells alerts, per (camera, query), how far in capture time every window is decided — asked
 * and published, skipped or superseded — so an episode closes on capture time: once the
 * windows after its cooldown were all decided and none was positive, not because the wall
 * clock moved while findings were still on their way (a backlog, a rebalance, a slow replica).
 * A window settles only after its finding is on the bus, so a progress message, published on
 * the same topic and key after it, follows it on its partition. Windows skipped since the last
 * message go with it as runs (`skips`), so alerts' window audit sees every decision. They are
 * kept in memory only: a crash loses the runs not yet sent, unless the replay skips them again.
 */
export class ProgressReporter {
  private readonly sent = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly bus: Bus,
    private readonly ledger: WindowLedger,
    private readonly log: Logger,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.report(), this.intervalMs);
    this.timer.unref();
  }

  /** Publishes the keys whose decided-through time moved since the last report. */
  report(): Promise<void> {
    this.running ??= (async () => {
      const out: WindowProgress[] = [];
      const live = new Set(this.ledger.keys());
      for (const key of this.sent.keys()) if (!live.has(key)) this.sent.delete(key); // left the config
      for (const key of live) {
        const through = this.ledger.decidedThrough(key);
        if (through === undefined || !Number.isFinite(through)) continue;
        // Skipped windows ride along (the window audit); they alone are reason enough to report.
        const moved = through > (this.sent.get(key) ?? -Infinity);
        if (!moved && !this.ledger.skips.pending(key)) continue;
        const [cameraId, queryId] = key.split('\u0000') as [string, string];
        const skips = this.ledger.skips.take(key);
        out.push(skips.length > 0 ? { v: 1, cameraId, queryId, through, skips } : { v: 1, cameraId, queryId, through });
      }
      if (out.length === 0) return;
      try {
        await this.bus.publish(
          Topics.findings,
          out.map((p) => ({ key: p.cameraId, value: Buffer.from(JSON.stringify(p)), headers: { [MESSAGE_TYPE_HEADER]: PROGRESS_TYPE } })),
        );
        for (const p of out) this.sent.set(`${p.cameraId}\u0000${p.queryId}`, p.through);
      } catch (e) {
        // The next report carries the same (or later) times, and the skips put back: nothing is lost by waiting.
        for (const p of out) if (p.skips) this.ledger.skips.putBack(`${p.cameraId}\u0000${p.queryId}`, p.skips);
        this.log.warn({ err: String(e), keys: out.length }, 'cannot publish window progress yet');
      }
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.report();
  }
}
