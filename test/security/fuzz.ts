/**
 * Helpers for seeded fuzz tests: a small deterministic PRNG, the run's seed, generic byte
 * mutations, and a watchdog that runs a fuzz loop in a worker so a hang fails the test
 * (naming the last case) instead of blocking the runner.
 *
 * Reproducing a failure: every fuzz test prints `fuzz seed N`; run it again with
 * `VIGIL_FUZZ_SEED=N`. The same seed gives the same cases as long as the test draws the
 * same numbers in the same order.
 */
import { Worker } from 'node:worker_threads';

/** A seeded source of randomness (mulberry32: 32-bit state, fast, good enough for fuzzing). */
export interface Rng {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n) (n ≥ 1). */
  int(n: number): number;
  /** An integer in [lo, hi], both included. */
  range(lo: number, hi: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** n random bytes. */
  bytes(n: number): Uint8Array;
}

/** A PRNG from a 32-bit seed; the same seed always gives the same sequence. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    seed: seed >>> 0,
    next,
    int,
    range: (lo, hi) => lo + int(hi - lo + 1),
    chance: (p) => next() < p,
    pick: (items) => items[int(items.length)]!,
    bytes: (n) => Uint8Array.from({ length: n }, () => int(256)),
  };
}

/** The run's seed: `VIGIL_FUZZ_SEED` when set (to replay a failure), else a fresh one. */
export function fuzzSeed(env: NodeJS.ProcessEnv = process.env): number {
  const s = env.VIGIL_FUZZ_SEED;
  if (s === undefined || s === '') return Math.floor(Math.random() * 2 ** 32);
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new Error(`VIGIL_FUZZ_SEED must be an integer in 0..2^32-1, not ${JSON.stringify(s)}`);
  return n;
}

/** Byte mutations any binary format fuzzer can use; each returns a new array. */
export const mutate = {
  /** Flips `n` random bits. */
  flipBits(r: Rng, d: Uint8Array, n = 1): Uint8Array {
    const out = Uint8Array.from(d);
    for (let i = 0; i < n && out.length > 0; i++) out[r.int(out.length)]! ^= 1 << r.int(8);
    return out;
  },
  /** Inserts `bytes` at a random offset. */
  insert(r: Rng, d: Uint8Array, bytes: Uint8Array): Uint8Array {
    const at = r.int(d.length + 1);
    const out = new Uint8Array(d.length + bytes.length);
    out.set(d.subarray(0, at));
    out.set(bytes, at);
    out.set(d.subarray(at), at + bytes.length);
    return out;
  },
  /** Removes up to `max` bytes at a random offset. */
  remove(r: Rng, d: Uint8Array, max = 16): Uint8Array {
    const at = r.int(d.length + 1);
    const n = Math.min(d.length - at, r.range(1, max));
    return Uint8Array.from([...d.subarray(0, at), ...d.subarray(at + n)]);
  },
  /** Keeps a random-length prefix. */
  truncate(r: Rng, d: Uint8Array): Uint8Array {
    return d.slice(0, r.int(d.length + 1));
  },
  /** Writes `bytes` over the data at `at` (clipped at the end). */
  overwrite(d: Uint8Array, at: number, bytes: ArrayLike<number>): Uint8Array {
    const out = Uint8Array.from(d);
    for (let i = 0; i < bytes.length && at + i < out.length; i++) out[at + i] = bytes[i]!;
    return out;
  },
};

/**
 * Runs `file` (a TypeScript module) in a worker with `data` as its workerData. The worker
 * posts `{ progress: string }` as it goes and `{ done: T }` at the end; if it goes silent
 * for `stallMs` (a case that hangs) it is terminated and the promise rejects, naming the
 * last progress it reported. A worker error rejects with that error.
 */
export function runWatched<T>(file: URL, data: unknown, stallMs: number): Promise<T> {
  const tsx = import.meta.resolve('tsx/esm/api');
  // An eval'd worker registers tsx first: workers do not inherit the parent's loader hooks.
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(file.href)}); });`;
  const worker = new Worker(boot, { eval: true, workerData: data });
  return new Promise<T>((resolve, reject) => {
    let last = 'nothing yet';
    let timer = setTimeout(stalled, stallMs);
    function stalled() {
      void worker.terminate();
      reject(new Error(`fuzz worker silent for ${stallMs} ms (hang?) after: ${last}`));
    }
    worker.on('message', (m: { progress?: string; done?: T }) => {
      clearTimeout(timer);
      if ('done' in m) {
        void worker.terminate();
        return resolve(m.done as T);
      }
      last = m.progress ?? last;
      timer = setTimeout(stalled, stallMs);
    });
    worker.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    worker.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fuzz worker exited (code ${code}) after: ${last}`));
    });
  });
}
