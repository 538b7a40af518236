/** Where a job runs: a reserved in-flight slot (an endpoint of the model pool, or a plain counter). */
export interface Slots<S> {
  acquire(): S | undefined;
  release(slot: S): void;
  /** Calls back when a slot may have become free outside `release` (a circuit closing). */
  onCapacity?(fn: () => void): () => void;
}

/** A counter of `n` slots, for tests and single-endpoint use. */
export class CounterSlots implements Slots<number> {
  private used = 0;
  constructor(private readonly n: number) {}
  acquire(): number | undefined {
    return this.used < this.n ? ++this.used : undefined;
  }
  release(): void {
    this.used--;
  }
}

export interface DispatchKey {
  /** One pending job per key (camera × query): a newer one supersedes it. */
  key: string;
  /** Fairness is across cameras first, then across a camera's queries. */
  camera: string;
  /** Higher runs first (severity). */
  priority: number;
}

interface Entry<T> {
  k: DispatchKey;
  job: T;
}

/**
 * Schedules windows of all cameras onto the model's in-flight slots:
 * - a free slot takes the highest priority level that has work;
 * - within a level, cameras take turns (round-robin), and each camera's queries take turns,
 *   so a camera with many queries or a flood of windows cannot starve the others;
 * - one waiting job per (camera, query): a newer window replaces the waiting one (live video:
 *   latest wins) and the replaced job is reported to `onSuperseded`.
 */
export class FairDispatcher<T, S = unknown> {
  /** priority → camera → key → entry; Map order is the round-robin order. */
  private readonly levels = new Map<number, Map<string, Map<string, Entry<T>>>>();
  private readonly where = new Map<string, DispatchKey>();
  private inFlight = 0;
  private closed = false;
  private readonly idle: (() => void)[] = [];
  private readonly unlisten?: () => void;

  constructor(
    private readonly slots: Slots<S>,
    private readonly run: (job: T, slot: S) => Promise<void>,
    private readonly onSuperseded: (job: T) => void = () => undefined,
  ) {
    this.unlisten = slots.onCapacity?.(() => this.drain());
  }

  submit(k: DispatchKey, job: T): void {
    if (this.closed) return;
    const old = this.where.get(k.key);
    if (old) {
      const cam = this.levels.get(old.priority)?.get(old.camera);
      const prev = cam?.get(k.key);
      cam?.delete(k.key);
      // The camera keeps its place in the turn order: a window that waited long enough to be
      // superseded must not send its camera to the back of the line again.
      if (cam && cam.size === 0 && old.priority !== k.priority) this.levels.get(old.priority)!.delete(old.camera);
      if (prev) this.onSuperseded(prev.job);
    }
    let level = this.levels.get(k.priority);
    if (!level) {
      level = new Map();
      this.levels.set(k.priority, level);
    }
    let cam = level.get(k.camera);
    if (!cam) level.set(k.camera, (cam = new Map()));
    cam.set(k.key, { k, job }); // at the back of this camera's queries
    this.where.set(k.key, k);
    this.drain();
  }

  get queued(): number {
    return this.where.size;
  }

  get active(): number {
    return this.inFlight;
  }

  /** Stops taking jobs, drops the waiting ones (reported superseded), waits for those in flight. */
  async close(): Promise<void> {
    this.closed = true;
    this.unlisten?.();
    for (const level of this.levels.values()) for (const cam of level.values()) for (const e of cam.values()) this.onSuperseded(e.job);
    this.levels.clear();
    this.where.clear();
    if (this.inFlight === 0) return;
    await new Promise<void>((r) => this.idle.push(r));
  }

  private next(): Entry<T> | undefined {
    for (;;) {
      let best: number | undefined;
      for (const [p, level] of this.levels) if (level.size > 0 && (best === undefined || p > best)) best = p;
      if (best === undefined) return undefined;
      const level = this.levels.get(best)!;
      const [camera, queries] = level.entries().next().value as [string, Map<string, Entry<T>>];
      level.delete(camera); // this camera goes to the back of the turn order
      if (level.size === 0) this.levels.delete(best);
      const first = queries.entries().next().value as [string, Entry<T>] | undefined;
      if (!first) continue; // a camera left without waiting work
      const [key, entry] = first;
      queries.delete(key);
      this.where.delete(key);
      if (queries.size > 0) {
        if (!this.levels.has(best)) this.levels.set(best, level);
        level.set(camera, queries);
      }
      return entry;
    }
  }

  private drain(): void {
    while (!this.closed && this.where.size > 0) {
      const slot = this.slots.acquire();
      if (slot === undefined) return;
      const entry = this.next();
      if (!entry) {
        this.where.clear(); // nothing waits in any level: no key is pending
        this.slots.release(slot);
        return;
      }
      this.inFlight++;
      void this.run(entry.job, slot)
        .catch(() => undefined) // run() reports its own failures
        .finally(() => {
          this.inFlight--;
          this.slots.release(slot);
          if (this.inFlight === 0) this.idle.splice(0).forEach((r) => r());
          this.drain();
        });
    }
  }
}
