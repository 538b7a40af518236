import { encodeFrameChunk, Topics, type FrameChunk } from '@vigil/contracts';
import type { Bus } from '@vigil/bus';
import type { Logger } from '@vigil/observability';
import type { IngestMetrics } from './metrics.ts';

/**
 * Publishes chunks without ever blocking a camera: each camera has a bounded queue; when
 * the bus is slow the oldest chunks are dropped (live video is perishable) and counted.
 * One pump sends whatever is queued, across cameras, as one batch.
 */
export class ChunkPublisher {
  private readonly queues = new Map<string, FrameChunk[]>();
  private pumping?: Promise<void>;
  private closed = false;
  private failing = false;

  constructor(
    private readonly bus: Bus,
    private readonly metrics: IngestMetrics,
    private readonly log: Logger,
    private readonly maxQueued = 30,
  ) {}

  enqueue(chunk: FrameChunk): void {
    if (this.closed) return;
    let q = this.queues.get(chunk.cameraId);
    if (!q) this.queues.set(chunk.cameraId, (q = []));
    q.push(chunk);
    while (q.length > this.maxQueued) {
      const dropped = q.shift()!;
      this.metrics.chunksDropped.inc({ camera: dropped.cameraId });
      this.metrics.framesDropped.inc({ camera: dropped.cameraId }, dropped.frames.length);
    }
    this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
  }

  /** Sends what is queued, then stops accepting chunks. */
  async close(): Promise<void> {
    if (this.pumping) await this.pumping;
    this.closed = true;
  }

  private async pump(): Promise<void> {
    while (!this.closed) {
      const batch = [...this.queues.values()].flatMap((q) => q.splice(0));
      if (batch.length === 0) return;
      const started = performance.now();
      try {
        await this.bus.publish(
          Topics.frames,
          batch.map((c) => ({ key: c.cameraId, value: encodeFrameChunk(c), timestamp: c.frames[0]?.capturedAt })),
        );
        if (this.failing) this.log.info('publishing frames again');
        this.failing = false;
        const ms = performance.now() - started;
        for (const c of batch) {
          this.metrics.publishLatency.observe(ms / 1000);
          this.metrics.chunksPublished.inc({ camera: c.cameraId });
          this.metrics.framesPublished.inc({ camera: c.cameraId }, c.frames.length);
        }
      } catch (e) {
        if (!this.failing) this.log.warn({ err: (e as Error).message }, 'cannot publish frames; keeping the newest, dropping the oldest');
        this.failing = true;
        // Put the batch back in front (bounded again by enqueue's policy) and wait a little.
        for (const c of batch.reverse()) this.queues.get(c.cameraId)?.unshift(c);
        for (const [camera, q] of this.queues) {
          while (q.length > this.maxQueued) {
            const dropped = q.shift()!;
            this.metrics.chunksDropped.inc({ camera });
            this.metrics.framesDropped.inc({ camera }, dropped.frames.length);
          }
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}
