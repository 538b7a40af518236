/** Where a job runs: a reserved in-flight slot (an endpoint of the model pool, or a plain counter). */
export interface Slots<S> {
  acquire(): S | undefined;
  release(slot: S): void;
  /** Calls back when a slot may have become free outside `release` (a circuit closing). */
  onCapacity?(fn: () => void): () => void;
  /** Up to `n` more slots where `first` is (the same endpoint), for a group that must stay together. */
  acquireMore?(first: S, n: number): S[];
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
  acquireMore(_first: number, n: number): number[] {
    const out: number[] = [];
    while (out.length < n && this.used < this.n) out.push(++this.used);
    return out;
  }
}

export interface DispatchKey {
  /** One pending job per key (camera × query): a newer one supersedes it. */
  key: string;
  /** Fairness is across cameras first, then across a camera's queries. */
  camera: string;
  /** Higher runs first (severity). */
  priority: number;
  /** Slots the job can use at once (a group of questions about the same frames); default 1. */
  size?: number;
  /** Questions the job answers: a camera served a group of n waits n turns, as if asked n times; default 1. */
  weight?: number;
}

interface Entry<T> {
  k: DispatchKey;
  job: T;
}

/** One camera's waiting work at one priority level; Map order is the turn order of its queries. */
interface CameraQueue<T> {
  camera: string;
  queries: Map<string, Entry<T>>;
  /** When the camera was last served (dispatcher clock) as it entered the heap: its place in line. */
  turn: number;
  /** Ties (never served, or served together) go in order of arrival. */
  seq: number;
}

/** A level's cameras, least recently served first (a binary min-heap on turn, then seq). */
class TurnHeap<T> {
  private readonly items: CameraQueue<T>[] = [];

  get size(): number {
    return this.items.length;
  }

  push(q: CameraQueue<T>): void {
    const a = this.items;
    a.push(q);
    for (let i = a.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  pop(): CameraQueue<T> | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }

  *all(): Iterable<CameraQueue<T>> {
    yield* this.items;
  }
}

const before = <T>(a: CameraQueue<T>, b: CameraQueue<T>) => a.turn < b.turn || (a.turn === b.turn && a.seq < b.seq);

interface Level<T> {
  heap: TurnHeap<T>;
  cameras: Map<string, CameraQueue<T>>;
}

/**
 * Schedules windows of all cameras onto the model's in-flight slots:
 * - a free slot takes the highest priority level that has work;
 * - within a level, the camera served longest ago goes next, and each camera's queries take
 *   turns, so a camera with many queries or a flood of windows cannot starve the others.
 *   (Least recently *served*, not first re-queued: all cameras' windows complete on the same
 *   time grid and arrive in partition order, so queue order would favour early partitions.)
 * - one waiting job per key (camera × query, or camera × window group): a newer window
 *   replaces the waiting one (live video: latest wins), keeping its camera's place, and the
 *   replaced job goes to `onSuperseded`;
 * - a job of `size` n (a group of questions about the same frames) reserves up to n slots in
 *   one place at once (`Slots.acquireMore`: the same endpoint), so its requests run there
 *   back to back and the server's prefix cache holds the video for all of them.
 */
export class FairDispatcher<T, S = unknown> {
  private readonly levels = new Map<number, Level<T>>();
  private readonly where = new Map<string, DispatchKey>();
  /** Dispatcher clock of each camera's last service (0: never). */
  private readonly served = new Map<string, number>();
  private clock = 0;
  private seq = 0;
  private inFlight = 0;
  private closed = false;
  private readonly idle: (() => void)[] = [];
  private readonly unlisten?: () => void;

  constructor(
    private readonly slots: Slots<S>,
    /** `more`: the extra slots a group reserved beside `slot` (released with it). */
    private readonly run: (job: T, slot: S, more: S[]) => Promise<void>,
    private readonly onSuperseded: (job: T) => void = () => undefined,
  ) {
    this.unlisten = slots.onCapacity?.(() => this.drain());
  }

  submit(k: DispatchKey, job: T): void {
    if (this.closed) return;
    const old = this.where.get(k.key);
    if (old) {
      const level = this.levels.get(old.priority);
      const cq = level?.cameras.get(old.camera);
      const prev = cq?.queries.get(k.key);
      cq?.queries.delete(k.key);
      // Emptied at another level: it leaves that level (the heap skips it lazily).
      if (cq && cq.queries.size === 0 && old.priority !== k.priority) level!.cameras.delete(old.camera);
      if (prev) this.onSuperseded(prev.job);
    }
    let level = this.levels.get(k.priority);
    if (!level) this.levels.set(k.priority, (level = { heap: new TurnHeap(), cameras: new Map() }));
    let cq = level.cameras.get(k.camera);
    if (!cq) {
      cq = { camera: k.camera, queries: new Map(), turn: this.served.get(k.camera) ?? 0, seq: ++this.seq };
      level.cameras.set(k.camera, cq);
      level.heap.push(cq);
    }
    cq.queries.set(k.key, { k, job }); // at the back of this camera's queries
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
    for (const level of this.levels.values()) for (const cq of level.cameras.values()) for (const e of cq.queries.values()) this.onSuperseded(e.job);
    this.levels.clear();
    this.where.clear();
    if (this.inFlight === 0) return;
    await new Promise<void>((r) => this.idle.push(r));
  }

  private next(): Entry<T> | undefined {
    for (;;) {
      let best: number | undefined;
      for (const [p, level] of this.levels) if (level.cameras.size > 0 && (best === undefined || p > best)) best = p;
      if (best === undefined) return undefined;
      const level = this.levels.get(best)!;
      const cq = level.heap.pop();
      if (!cq) {
        level.cameras.clear(); // only stale entries were left
        continue;
      }
      if (level.cameras.get(cq.camera) !== cq) continue; // left this level earlier
      const first = cq.queries.entries().next().value as [string, Entry<T>] | undefined;
      if (!first) {
        level.cameras.delete(cq.camera);
        continue;
      }
      const [key, entry] = first;
      cq.queries.delete(key);
      this.where.delete(key);
      // A group of n questions counts as n turns: a camera with many questions in one group
      // gets them answered together, but no more often than n questions taking turns would.
      const turn = ++this.clock + Math.max(1, Math.floor(entry.k.weight ?? 1)) - 1;
      this.served.set(cq.camera, turn);
      if (cq.queries.size > 0) {
        cq.turn = turn;
        cq.seq = ++this.seq;
        level.heap.push(cq);
      } else level.cameras.delete(cq.camera);
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
      const want = Math.max(1, Math.floor(entry.k.size ?? 1)) - 1;
      const more = want > 0 && this.slots.acquireMore ? this.slots.acquireMore(slot, want) : [];
      this.inFlight++;
      void this.run(entry.job, slot, more)
        .catch(() => undefined) // run() reports its own failures
        .finally(() => {
          this.inFlight--;
          this.slots.release(slot);
          for (const m of more) this.slots.release(m);
          if (this.inFlight === 0) this.idle.splice(0).forEach((r) => r());
          this.drain();
        });
    }
  }
}
