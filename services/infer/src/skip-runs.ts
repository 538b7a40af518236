import { MAX_SKIP_RUNS, type SkipRun } from '@vigil/contracts';

/** Runs kept per (camera, query) while the bus is away; beyond it the oldest are dropped. */
const MAX_KEPT = 4 * MAX_SKIP_RUNS;

/**
 * Skipped windows, folded into runs per (camera, query): a window continues the latest run when
 * it has the same reason and starts one grid step after the run's last window. A run changed
 * since it was last taken is sent again whole (the window audit merges it as a union), so a
 * long run costs one row downstream, not one per window.
 */
export class SkipRuns {
  private readonly latest = new Map<string, SkipRun>();
  private readonly unsent = new Map<string, SkipRun[]>();
  /** Runs dropped because too many waited for the bus. */
  dropped = 0;

  add(key: string, start: number, end: number, everyMs: number, reason: string): void {
    const cur = this.latest.get(key);
    if (cur && cur.reason === reason && cur.everyMs === everyMs && start === cur.from + cur.count * everyMs) {
      cur.count++;
      cur.to = end;
      this.mark(key, cur);
      return;
    }
    const run: SkipRun = { reason, from: start, to: end, count: 1, everyMs };
    this.latest.set(key, run);
    this.mark(key, run);
  }

  /** Up to MAX_SKIP_RUNS changed runs of `key`, as they are now (copies); they count as sent. */
  take(key: string): SkipRun[] {
    const list = this.unsent.get(key);
    if (!list) return [];
    const out = list.splice(0, MAX_SKIP_RUNS).map((r) => ({ ...r }));
    if (list.length === 0) this.unsent.delete(key);
    return out;
  }

  /** Runs whose message did not go out: sent with the next one (a union downstream, so a stale copy is harmless). */
  putBack(key: string, runs: SkipRun[]): void {
    const list = this.unsent.get(key) ?? [];
    this.unsent.set(key, [...runs, ...list]);
    this.trim(key);
  }

  /** Whether `key` has runs to send. */
  pending(key: string): boolean {
    return (this.unsent.get(key)?.length ?? 0) > 0;
  }

  forget(key: string): void {
    this.latest.delete(key);
    this.unsent.delete(key);
  }

  private mark(key: string, run: SkipRun): void {
    const list = this.unsent.get(key) ?? [];
    if (!list.includes(run)) list.push(run);
    this.unsent.set(key, list);
    this.trim(key);
  }

  private trim(key: string): void {
    const list = this.unsent.get(key)!;
    if (list.length > MAX_KEPT) this.dropped += list.splice(0, list.length - MAX_KEPT).length;
  }
}
