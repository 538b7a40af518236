import { Redis } from 'ioredis';
import type { SharedState } from './state.ts';

/** SharedState on Redis; every key is prefixed so deployments (and tests) never collide. */
export class RedisState implements SharedState {
  readonly redis: Redis;

  constructor(url: string, private readonly prefix = 'vigil:') {
    // Bounded waits: shared state is a convenience, never the source of truth, so a Redis that
    // is away must fail a command within a second, not hold up the caller's write path.
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false, commandTimeout: 1000 });
    this.redis.on('error', () => undefined); // reconnects by itself; failures surface on commands
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.prefix + key, value, 'PX', Math.max(1, Math.round(ttlMs)), 'NX')) === 'OK';
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs === undefined) await this.redis.set(this.prefix + key, value);
    else await this.redis.set(this.prefix + key, value, 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(this.prefix + key)) ?? undefined;
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
