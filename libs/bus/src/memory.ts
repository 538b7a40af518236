import { createHash } from 'node:crypto';
import type { Bus, InMessage, OutMessage, SubscribeOptions, Subscription, TopicSpec } from './bus.ts';

interface Partition {
  /** Offset of messages[0]. */
  base: number;
  messages: InMessage[];
  bytes: number;
  waiters: (() => void)[];
}

interface Member {
  topic: string;
  opts: SubscribeOptions;
  partitions: Set<number>;
  closed: boolean;
  paused: boolean;
  running: Set<Promise<void>>;
}

export interface MemoryBusOptions {
  /** Per-partition memory bound; the oldest messages go first (like retention). */
  maxPartitionBytes?: number;
  defaultPartitions?: number;
  /** A handler threw (the message is redelivered after a pause): told once per streak, so it is never silent. */
  onHandlerError?: (err: unknown, where: { topic: string; group: string; partition: number; offset: number }) => void;
}

/**
 * The bus within one process (standalone mode), with the Kafka semantics the services rely
 * on: order per key (key → partition), committed offsets per consumer group (commit after
 * the handler resolves; a throw redelivers), partitions shared among a group's members,
 * and bounded memory (oldest messages dropped, as retention would).
 */
export class MemoryBus implements Bus {
  private readonly topics = new Map<string, Partition[]>();
  private readonly committed = new Map<string, number>();
  private readonly groups = new Map<string, Member[]>();
  private closed = false;
  private readonly maxBytes: number;
  private readonly defaultPartitions: number;

  constructor(private readonly opts: MemoryBusOptions = {}) {
    this.maxBytes = opts.maxPartitionBytes ?? 64 * 1024 * 1024;
    this.defaultPartitions = opts.defaultPartitions ?? 4;
  }

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    for (const s of specs) this.topic(s.topic, s.partitions);
  }

  async publish(topic: string, messages: OutMessage[]): Promise<void> {
    if (this.closed) throw new Error('bus is closed');
    const parts = this.topic(topic);
    for (const m of messages) {
      const p = parts[partitionOf(m.key, parts.length)]!;
      const offset = p.base + p.messages.length;
      p.messages.push({
        topic,
        partition: parts.indexOf(p),
        offset: String(offset),
        key: m.key,
        value: Buffer.from(m.value), // a copy, as the wire would make
        timestamp: m.timestamp ?? Date.now(),
        headers: { ...(m.headers ?? {}) },
      });
      p.bytes += m.value.length;
      while (p.bytes > this.maxBytes && p.messages.length > 1) {
        p.bytes -= p.messages.shift()!.value.length;
        p.base++;
      }
      p.waiters.splice(0).forEach((w) => w());
    }
  }

  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new Error('bus is closed');
    const parts = this.topic(opts.topic);
    const key = `${opts.group}\u0000${opts.topic}`;
    const members = this.groups.get(key) ?? [];
    this.groups.set(key, members);
    const member: Member = { topic: opts.topic, opts, partitions: new Set(), closed: false, paused: false, running: new Set() };
    const startEnds = new Map(parts.map((p, i) => [i, String(p.base + p.messages.length)]));
    members.push(member);
    this.rebalance(key, parts.length);
    const wake = () => parts.forEach((p) => p.waiters.splice(0).forEach((w) => w()));
    return {
      startEnds,
      assigned: () => [...member.partitions].sort((a, b) => a - b),
      commit: async (partition, offset) => {
        if (opts.commit !== 'manual' || !member.partitions.has(partition) || member.closed) return;
        this.committed.set(`${opts.group}\u0000${opts.topic}\u0000${partition}`, Number(offset));
      },
      pause: async () => {
        member.paused = true;
        wake();
        await Promise.all(member.running);
      },
      close: async () => {
        if (member.closed) return;
        member.closed = true;
        for (const p of parts) p.waiters.splice(0).forEach((w) => w());
        await Promise.all(member.running);
        members.splice(members.indexOf(member), 1);
        this.rebalance(key, parts.length);
      },
    };
  }

  healthy(): boolean {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const members of this.groups.values()) for (const m of members) m.closed = true;
    for (const parts of this.topics.values()) for (const p of parts) p.waiters.splice(0).forEach((w) => w());
    await Promise.all([...this.groups.values()].flatMap((ms) => ms.flatMap((m) => [...m.running])));
  }

  /** Messages not yet consumed by a group (its lag), for metrics and tests. */
  lag(group: string, topic: string): number {
    return this.topic(topic).reduce((sum, p, i) => {
      const end = p.base + p.messages.length;
      return sum + end - Math.max(p.base, this.committed.get(`${group}\u0000${topic}\u0000${i}`) ?? end);
    }, 0);
  }

  private topic(name: string, partitions = this.defaultPartitions): Partition[] {
    let parts = this.topics.get(name);
    if (!parts) {
      parts = Array.from({ length: partitions }, () => ({ base: 0, messages: [], bytes: 0, waiters: [] }));
      this.topics.set(name, parts);
    }
    return parts;
  }

  /** Partitions spread round-robin over the group's members; each gets a loop. */
  private rebalance(groupKey: string, count: number): void {
    const members = (this.groups.get(groupKey) ?? []).filter((m) => !m.closed);
    for (let i = 0; i < count; i++) {
      const owner = members[i % Math.max(1, members.length)];
      for (const m of members) if (m !== owner) m.partitions.delete(i);
      if (owner && !owner.partitions.has(i)) {
        owner.partitions.add(i);
        const run = this.consume(owner, i).finally(() => owner.running.delete(run));
        owner.running.add(run);
      }
    }
  }

  private async consume(member: Member, partition: number): Promise<void> {
    const { opts } = member;
    const p = this.topic(opts.topic)[partition]!;
    const offsetKey = `${opts.group}\u0000${opts.topic}\u0000${partition}`;
    const manual = opts.commit === 'manual';
    // Manual commits: this member reads ahead of the group's commit from its own position.
    let position: number | undefined;
    let backoff = 0;
    while (!member.closed && !member.paused && !this.closed && member.partitions.has(partition)) {
      let next = position ?? this.committed.get(offsetKey);
      if (next === undefined) {
        next = opts.fromBeginning ? p.base : p.base + p.messages.length;
        this.committed.set(offsetKey, next);
      }
      if (next < p.base) next = p.base; // dropped by the memory bound, as by retention
      const msg = p.messages[next - p.base];
      if (!msg) {
        await new Promise<void>((r) => p.waiters.push(r));
        continue;
      }
      try {
        await opts.handle(msg);
        if (manual) position = next + 1;
        else this.committed.set(offsetKey, next + 1);
        backoff = 0;
      } catch (e) {
        if (backoff === 0) this.opts.onHandlerError?.(e, { topic: opts.topic, group: opts.group, partition, offset: next });
        backoff = Math.min(5000, backoff ? backoff * 2 : 100);
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  }
}

function partitionOf(key: string, count: number): number {
  return createHash('md5').update(key).digest().readUInt32BE(0) % count;
}
