import type { Bus, InMessage, Subscription } from '@vigil/bus';
import type { Logger } from '@vigil/observability';

/**
 * At-least-once delivery of findings. Infer must read ahead of its answers (a window needs
 * later chunks, and the model must be kept busy), yet a restart must resume at the first
 * chunk whose windows are not all answered. So one consumer with manual commits reads on,
 * and each partition's commit moves past a chunk only once every window using its frames
 * is settled (finding published, skipped or superseded).
 *
 * After a restart the chunks after the commit come again: those published before this
 * process started (`startEnds`) are replays, owed answers (never superseded). Finding ids
 * are deterministic, so a replayed window answered before the crash yields the same id,
 * which alerts ignores. Chunks are processed once per process (a per-partition high-water
 * mark), since a rebalance also redelivers from the commit.
 */
export interface DeliveryOptions {
  bus: Bus;
  topic: string;
  group: string;
  log: Logger;
  /**
   * Takes a chunk in (`replay`: published before this process started) and resolves to a
   * check of whether every window that uses its frames is settled, asked again at each change
   * until it is. The check must not keep the message: a held message keeps the consumer's
   * whole fetch buffer (megabytes) alive.
   */
  process(m: InMessage, replay: boolean): Promise<() => boolean>;
  /** Resolves at the next change in settlement (or after the given ms). */
  change(ms: number): Promise<void>;
  /** Longest a chunk holds its partition's commit back (a window that never settles is a bug, not a reason to replay forever). */
  maxHoldMs?: number;
  /** While true, no hold expires: a finding is being retried into the bus, and committing past it could lose it. */
  pinned?(): boolean;
  onHoldExpired?(): void;
}

interface Held {
  offset: bigint;
  settled: () => boolean;
  since: number;
}

export class Delivery {
  private sub?: Subscription;
  private subscribed?: Promise<Subscription>;
  private readonly high = new Map<number, bigint>();
  /** Per partition, processed chunks not yet committed, in offset order. */
  private readonly held = new Map<number, Held[]>();
  private stopped = false;
  private loop?: Promise<void>;
  private busySince = performance.now();

  constructor(private readonly o: DeliveryOptions) {}

  async start(): Promise<void> {
    this.subscribed = this.o.bus.subscribe({ topic: this.o.topic, group: this.o.group, commit: 'manual', handle: (m) => this.onMessage(m) });
    this.sub = await this.subscribed;
    this.loop = this.commitLoop();
  }

  /** Stops taking new chunks (first step of a graceful stop); commits still land. */
  async closeLive(): Promise<void> {
    await this.sub?.pause().catch((e: unknown) => this.o.log.error({ err: String(e) }, 'cannot pause the frames consumer'));
  }

  /** Commits what is settled and stops; an unsettled chunk stays uncommitted, so a restart replays it. */
  async close(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.advance();
    await this.sub?.close().catch((e: unknown) => this.o.log.error({ err: String(e) }, 'cannot close the frames consumer'));
  }

  /** Chunks held back from the commit (for tests and metrics). */
  get heldChunks(): number {
    let n = 0;
    for (const q of this.held.values()) n += q.length;
    return n;
  }

  private async onMessage(m: InMessage): Promise<void> {
    // Messages can arrive before subscribe() returns; startEnds is needed to tell replays.
    const sub = this.sub ?? (await this.subscribed!);
    const offset = BigInt(m.offset);
    if (offset <= (this.high.get(m.partition) ?? -1n)) return;
    this.high.set(m.partition, offset);
    const replay = offset < BigInt(sub.startEnds.get(m.partition) ?? '0');
    const settled = await this.o.process(m, replay);
    // The consumer runs a fetched batch with only microtask breaks: without a real yield, model
    // answers (and so the next requests) wait behind the whole batch.
    if (performance.now() - this.busySince > 4) {
      await new Promise((r) => setImmediate(r));
      this.busySince = performance.now();
    }
    const q = this.held.get(m.partition) ?? [];
    q.push({ offset, settled, since: Date.now() });
    this.held.set(m.partition, q);
  }

  private async commitLoop(): Promise<void> {
    while (!this.stopped) {
      await this.advance();
      await this.o.change(250);
    }
  }

  /** Commits each partition up to its first chunk not yet settled. */
  private async advance(): Promise<void> {
    const maxHold = this.o.maxHoldMs ?? 60_000;
    const now = Date.now();
    for (const [partition, q] of this.held) {
      let done: bigint | undefined;
      while (q.length > 0) {
        const head = q[0]!;
        if (!head.settled()) {
          if (now - head.since < maxHold || this.o.pinned?.()) break;
          this.o.onHoldExpired?.();
        }
        done = q.shift()!.offset;
      }
      if (done === undefined) continue;
      const next = (done + 1n).toString();
      await this.sub!.commit(partition, next).catch((e: unknown) => this.o.log.warn({ partition, offset: next, err: String(e) }, 'cannot commit frames offset; a restart replays from the previous one'));
    }
  }
}
