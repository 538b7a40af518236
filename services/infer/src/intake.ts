import { decodeFrameChunk, Topics } from '@vigil/contracts';
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
    const decoded = decodeFrameChunk(m.value);
    if (!decoded.ok) {
      this.d.metrics.badChunks.inc();
      this.d.log.warn({ partition: m.partition, offset: m.offset, reason: decoded.reason }, 'malformed frame chunk sent to dead letter');
      await this.d.bus.publish(Topics.deadLetter, [{ key: m.key, value: m.value, headers: { reason: decoded.reason, source: m.topic } }]);
      return SETTLED;
    }
    const chunk = decoded.value;
    if (!this.d.planner.knows(chunk.cameraId) || chunk.frames.length === 0) return SETTLED; // not a camera of this config
    while (this.inProgress >= this.d.maxInProgress) await this.d.ledger.change(5);
    this.inProgress++;
    this.d.metrics.chunks.inc({ camera: chunk.cameraId });
    // Planning order per camera is kept by the trigger stage (batches complete in order).
    const p = this.d.planner
      .onChunk(chunk, replay)
      .then(() => this.d.afterChunk?.())
      .catch((e: unknown) => this.d.log.error({ camera: chunk.cameraId, err: String(e) }, 'cannot process frame chunk'))
      .finally(() => this.inProgress--);
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
    const camera = chunk.cameraId;
    const last = chunk.frames[chunk.frames.length - 1]!.capturedAt;
    return () => this.d.planner.settledThrough(camera, last);
  }

  /** Waits for the chunks being planned. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.background]);
  }
}
