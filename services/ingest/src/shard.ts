import { createHash } from 'node:crypto';

/** This process's share of the cameras: shard `index` of `count` (0-based). */
export interface Shard {
  index: number;
  count: number;
}

/** Parses `i/n` (e.g. `0/3`); throws with the reason on anything else. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`expected a shard like "0/3" (index/count), got "${text}"`);
  return checkShard(Number(m[1]), Number(m[2]));
}

/** Validates an index and count, e.g. from a StatefulSet ordinal and its replica count. */
export function checkShard(index: number, count: number): Shard {
  if (!Number.isInteger(count) || count < 1) throw new Error(`shard count must be a whole number ≥ 1, got ${count}`);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new Error(`shard index must be 0…${count - 1}, got ${index}`);
  return { index, count };
}

/**
 * The shard that runs a camera, by rendezvous hashing: each shard scores the camera id
 * and the highest score wins. Every process computes the same answer from the id alone,
 * so the shards cover each camera exactly once without talking to each other; and when
 * the count grows from n to n+1 only the cameras the new shard wins move.
 */
export function shardOf(cameraId: string, count: number): number {
  let best = 0;
  let bestScore = -1;
  for (let i = 0; i < count; i++) {
    const score = createHash('sha256').update(`${cameraId}\u0000${i}`).digest().readUInt32BE(0);
    if (score > bestScore) [best, bestScore] = [i, score];
  }
  return best;
}

/** Whether this shard runs the camera (every camera when unsharded). */
export function inShard(cameraId: string, shard: Shard | undefined): boolean {
  return !shard || shard.count === 1 || shardOf(cameraId, shard.count) === shard.index;
}
