import { decodeFrameChunk, decodePacketChunk, isPacketChunk, Topics } from '@vigil/contracts';
import type { Bus, InMessage } from '@vigil/bus';
import type { Logger } from '@vigil/observability';
import type { WindowLedger } from './ledger.ts';
import type { InferMetrics } from './metrics.ts';
import type { WindowPlanner } from './planner.ts';

/** Settled already: a chunk that planned nothing holds no commit back. */
const SETTLED = () => true;

/**
 * Frame chunks into the planner: each chunk is decoded once, a malformed one goes to the
 * dead-letter topic, and at most `maxInProgress` chunks are being planned at a time (chunks
 * wait here when the trigger stage falls behind). Returns, for the delivery's commit, a check
 * of whether every window using the chunk's frames is settled — holding only the camera and
 * the last capture time, never the message (a held message keeps the whole fetch buffer).
 */
export class ChunkIntake {
  private inProgress = 0;
  private readonly background = new Set<Promise<void>>();

  constructor(
    private readonly d: {
      bus: Bus;
      planner: WindowPlanner;
      ledger: WindowLedger;
      metrics: InferMetrics;
      log: Logger;
      maxInProgress: number;
      /** After each chunk is planned (to refresh gauges). */
      afterChunk?: () => void;
    },
  ) {}

  async take(m: InMessage, replay: boolean): Promise<() => boolean> {
    // Cameras read on_demand send packets; continuous ones (and codecs ingest decodes) JPEG frames.
    // A packet chunk is copied out of the fetch buffer once, whole (its packets then live in the
    // camera's ring as views on it): one allocation a second per camera instead of one per packet.
    const decoded = isPacketChunk(m.value) ? decodePacketChunk(Buffer.from(m.value)) : decodeFrameChunk(m.value);
    if (!decoded.ok) {
      this.d.metrics.badChunks.inc();
      this.d.log.warn({ partition: m.partition, offset: m.offset, reason: decoded.reason }, 'malformed frame chunk sent to dead letter');
      await this.d.bus.publish(Topics.deadLetter, [{ key: m.key, value: m.value, headers: { reason: decoded.reason, source: m.topic } }]);
      return SETTLED;
    }
    const chunk = decoded.value;
    const times = 'packets' in chunk ? chunk.packets : chunk.frames;
    if (!this.d.planner.knows(chunk.cameraId) || times.length === 0) return SETTLED; // not a camera of this config
    while (this.inProgress >= this.d.maxInProgress) await this.d.ledger.change(5);
    this.inProgress++;
    this.d.metrics.chunks.inc({ camera: chunk.cameraId });
    // Planning order per camera is kept by the trigger stage (batches complete in order).
    const p = ('packets' in chunk ? this.d.planner.onPackets(chunk, replay) : this.d.planner.onChunk(chunk, replay))
      .then(() => this.d.afterChunk?.())
      .catch((e: unknown) => this.d.log.error({ camera: chunk.cameraId, err: String(e) }, 'cannot process frame chunk'))
      .finally(() => this.inProgress--);
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
    const camera = chunk.cameraId;
    // Packets are in decode order: the latest capture time is not always the last one's.
    const last = Math.max(...times.map((t) => t.capturedAt));
    return () => this.d.planner.settledThrough(camera, last);
  }

  /** Waits for the chunks being planned. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.background]);
  }
}
