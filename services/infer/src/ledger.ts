import { SkipRuns } from './skip-runs.ts';

/**
 * Which windows are still open, per (camera, query): a window is open from the moment it
 * is planned until its finding is published (or it is skipped or superseded). The commit
 * cursor asks it whether every window that uses a chunk's frames is settled.
 */
export class WindowLedger {
  private readonly plannedThrough = new Map<string, number>();
  private readonly open = new Map<string, Map<number, number>>();
  private readonly waiters = new Set<() => void>();
  /** Windows skipped (not asked), as runs for the window audit; the progress reporter sends them. */
  readonly skips = new SkipRuns();

  /** A window ending at `end` was planned (every grid window up to it has been considered). */
  planned(key: string, end: number): void {
    this.plannedThrough.set(key, Math.max(end, this.plannedThrough.get(key) ?? -Infinity));
    const m = this.open.get(key) ?? new Map<number, number>();
    m.set(end, (m.get(end) ?? 0) + 1);
    this.open.set(key, m);
  }

  /** Every grid window of `key` up to `end` has been considered (none was due or it was skipped). */
  consideredThrough(key: string, end: number): void {
    if (end > (this.plannedThrough.get(key) ?? -Infinity)) {
      this.plannedThrough.set(key, end);
      this.wake();
    }
  }

  settled(key: string, end: number): void {
    const m = this.open.get(key);
    const n = m?.get(end);
    if (!m || n === undefined) return;
    if (n <= 1) m.delete(end);
    else m.set(end, n - 1);
    if (m.size === 0) this.open.delete(key);
    this.wake();
  }

  /** A window not asked, for `reason`: settled, and recorded for the window audit. */
  skipped(key: string, window: { start: number; end: number }, everyMs: number, reason: string): void {
    this.skips.add(key, window.start, window.end, everyMs, reason);
    this.settled(key, window.end);
  }

  /** Drops a (camera, query) no longer in the config; its windows still in flight settle as no-ops. */
  forget(key: string): void {
    this.plannedThrough.delete(key);
    this.skips.forget(key);
    if (this.open.delete(key)) this.wake();
  }

  /** True when every window of `key` ending at or before `end` was considered and none is open. */
  settledThrough(key: string, end: number): boolean {
    if ((this.plannedThrough.get(key) ?? -Infinity) < end) return false;
    for (const e of this.open.get(key)?.keys() ?? []) if (e <= end) return false;
    return true;
  }

  /**
   * The capture time through which every window of `key` is decided: each window ending at or
   * before it has been considered and settled. Undefined before the first window is planned.
   */
  decidedThrough(key: string): number | undefined {
    const planned = this.plannedThrough.get(key);
    if (planned === undefined) return undefined;
    let firstOpen = Infinity;
    for (const e of this.open.get(key)?.keys() ?? []) if (e < firstOpen) firstOpen = e;
    return Math.min(planned, firstOpen - 1);
  }

  /** Every (camera, query) key the ledger has seen. */
  keys(): IterableIterator<string> {
    return this.plannedThrough.keys();
  }

  get openWindows(): number {
    let n = 0;
    for (const m of this.open.values()) for (const c of m.values()) n += c;
    return n;
  }

  /** Resolves at the next change (or after `ms`). */
  change(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.waiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
