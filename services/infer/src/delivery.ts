import type { Bus, InMessage, Subscription } from '@vigil/bus';
import type { Logger } from '@vigil/observability';

/**
 * At-least-once delivery of findings with a bus whose offsets commit when a handler
 * resolves. One consumer cannot both run ahead (windows need later chunks, and the model
 * must be kept busy) and hold its commit behind unanswered windows. So there are two:
 *
 * - the *live* consumer (group G) processes chunks as they come and commits at once;
 * - the *cursor* consumer (group G.cursor) re-reads the same chunks and resolves each only
 *   when every window using its frames is settled (finding published, skipped or
 *   superseded) — its committed offset is where a restart must resume.
 *
 * After a restart the cursor re-delivers the chunks after its commit; those the live
 * consumer has not processed in this process are processed (replayed) from it, and the
 * live consumer waits on each partition until the replay has caught up with it. Chunks
 * are processed once per process (a per-partition high-water mark), and finding ids are
 * deterministic, so a replayed window that had been answered before the crash yields the
 * same id, which alerts ignores.
 */
export interface DeliveryOptions {
  bus: Bus;
  topic: string;
  group: string;
  log: Logger;
  /** Processes a chunk (`replay`: redelivered after a restart, owed answers); resolves once its windows are planned. */
  process(m: InMessage, replay: boolean): Promise<void>;
  /** Whether every window that uses this chunk's frames is settled. */
  settled(m: InMessage): boolean;
  /** Resolves at the next change in settlement (or after the given ms). */
  change(ms: number): Promise<void>;
  /** Longest a cursor message is held (below the consumer session timeout). */
  maxHoldMs?: number;
  /** Longest the live consumer waits for a replay to reach it. */
  maxReplayWaitMs?: number;
  onHoldExpired?(): void;
}

export class Delivery {
  private readonly high = new Map<number, bigint>();
  private readonly liveFirst = new Map<number, bigint>();
  private readonly cursorFirst = new Map<number, bigint>();
  private closing = false;
  private subs: Subscription[] = [];
  private inProcess = new Map<number, Promise<void>>();

  constructor(private readonly o: DeliveryOptions) {}

  async start(): Promise<void> {
    // The cursor first, so a replay is under way before live chunks arrive.
    this.subs.push(await this.o.bus.subscribe({ topic: this.o.topic, group: `${this.o.group}.cursor`, handle: (m) => this.onCursor(m) }));
    this.subs.push(await this.o.bus.subscribe({ topic: this.o.topic, group: this.o.group, handle: (m) => this.onLive(m) }));
  }

  /** Stops taking new chunks (first step of a graceful stop). */
  async closeLive(): Promise<void> {
    await this.subs[1]?.close().catch((e: unknown) => this.o.log.error({ err: String(e) }, 'cannot close the frames consumer'));
  }

  /** Stops the cursor: a chunk still unsettled is left uncommitted, so a restart replays it. */
  async close(): Promise<void> {
    this.closing = true;
    await this.closeLive();
    await this.subs[0]?.close().catch((e: unknown) => this.o.log.error({ err: String(e) }, 'cannot close the frames cursor'));
  }

  private async runOnce(m: InMessage, replay: boolean): Promise<void> {
    const offset = BigInt(m.offset);
    // Both consumers go through here in offset order per partition; chain per partition.
    const prev = this.inProcess.get(m.partition) ?? Promise.resolve();
    const next = prev.then(async () => {
      if (offset <= (this.high.get(m.partition) ?? -1n)) return;
      this.high.set(m.partition, offset);
      await this.o.process(m, replay);
    });
    this.inProcess.set(m.partition, next.catch(() => undefined));
    await next;
  }

  private async onLive(m: InMessage): Promise<void> {
    const offset = BigInt(m.offset);
    if (!this.liveFirst.has(m.partition)) {
      this.liveFirst.set(m.partition, offset);
      await this.waitForReplay(m.partition, offset);
    }
    await this.runOnce(m, false);
  }

  private async waitForReplay(partition: number, offset: bigint): Promise<void> {
    // Bounded: the cursor may be holding a chunk of another partition whose windows need
      // this consumer to go on (both consumers take partitions one at a time).
    const deadline = Date.now() + (this.o.maxReplayWaitMs ?? 3000);
    while (!this.closing && Date.now() < deadline) {
      const first = this.cursorFirst.get(partition);
      if (first !== undefined && (first >= offset || (this.high.get(partition) ?? -1n) >= offset - 1n)) return;
      await sleep(20);
    }
    if (!this.closing) this.o.log.warn({ partition }, 'replay did not reach the live position in time; going on');
  }

  private async onCursor(m: InMessage): Promise<void> {
    const offset = BigInt(m.offset);
    if (!this.cursorFirst.has(m.partition)) this.cursorFirst.set(m.partition, offset);
    await this.runOnce(m, true);
    const live = this.liveFirst.get(m.partition);
    // Replayed chunks (before the live consumer's start) are not held: holding would wait
    // on windows whose later chunks only this consumer can deliver.
    if (live === undefined || offset < live) return;
    const deadline = Date.now() + (this.o.maxHoldMs ?? 8000);
    while (!this.o.settled(m)) {
      // Not committed: the message comes again after a restart.
      if (this.closing) throw new Error('stopping before this chunk\'s windows were answered');
      if (Date.now() >= deadline) {
        this.o.onHoldExpired?.();
        return;
      }
      await this.o.change(Math.min(250, deadline - Date.now()));
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
