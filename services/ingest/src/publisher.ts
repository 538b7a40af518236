import { encodeFrameChunk, Topics, type FrameChunk } from '@vigil/contracts';
import type { Bus } from '@vigil/bus';
import type { Logger } from '@vigil/observability';
import type { IngestMetrics } from './metrics.ts';

/** A chunk waiting to be sent: its encoded bytes and what the metrics need, not the frames. */
export interface QueuedChunk {
  cameraId: string;
  seq: number;
  frames: number;
  capturedAt?: number;
  value: Buffer;
  at: number;
}

export interface PublisherOptions {
  /** Chunks kept per camera while the bus is slow or down; beyond it the oldest are dropped. */
  maxQueuedPerCamera: number;
  /** Upper bound on one send, so a backlog after an outage goes out in pieces the broker accepts. */
  maxBatchBytes?: number;
  /** Pause after a failed send before the next try. */
  retryMs?: number;
  /** Called for each chunk the bus acknowledged, with the time from enqueue to ack. */
  onPublished?(chunk: QueuedChunk, ms: number): void;
}

/**
 * Publishes chunks without ever blocking a camera: each camera has a bounded queue; when
 * the bus is slow or down the oldest chunks are dropped (live video is perishable) and
 * counted. One pump sends what is queued, taking cameras in turn so a backlog from one
 * cannot starve the others, and keeps retrying by itself until the bus answers again.
 */
export class ChunkPublisher {
  private readonly queues = new Map<string, QueuedChunk[]>();
  /** Cameras with chunks in the send under way. */
  private readonly inFlight = new Set<string>();
  private pumping?: Promise<void>;
  private closed = false;
  private failing = false;
  private wake?: () => void;
  private readonly maxBatchBytes: number;
  private readonly retryMs: number;

  constructor(
    private readonly bus: Bus,
    private readonly metrics: IngestMetrics,
    private readonly log: Logger,
    private readonly opts: PublisherOptions,
  ) {
    this.maxBatchBytes = opts.maxBatchBytes ?? 4 * 1024 * 1024;
    this.retryMs = opts.retryMs ?? 500;
  }

  enqueue(chunk: FrameChunk): void {
    if (this.closed) return;
    const id = chunk.cameraId;
    let q = this.queues.get(id);
    if (!q) this.queues.set(id, (q = []));
    // Encode now and keep only the bytes: the frames (views on ffmpeg's pipe reads) are let go.
    q.push({ cameraId: id, seq: chunk.seq, frames: chunk.frames.length, capturedAt: chunk.frames[0]?.capturedAt, value: encodeFrameChunk(chunk), at: performance.now() });
    this.trim(id, q);
    this.metrics.queued.set({ camera: id }, q.length);
    this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
  }

  /** Chunks waiting, all cameras together. */
  get queuedChunks(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /** Resolves once `camera`'s queued chunks are sent or dropped (at most `waitMs`), then forgets it. */
  async drained(camera: string, waitMs = 5000): Promise<void> {
    const until = Date.now() + waitMs;
    while (Date.now() < until && ((this.queues.get(camera)?.length ?? 0) > 0 || this.inFlight.has(camera))) {
      await new Promise((r) => setTimeout(r, 50));
    }
    this.queues.delete(camera);
  }

  /** Tries to send what is queued within `graceMs`, then stops accepting chunks. */
  async close(graceMs = 5000): Promise<void> {
    const drained = this.pumping ?? Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    this.closed = true;
    this.wake?.();
  }

  private trim(camera: string, q: QueuedChunk[]): void {
    while (q.length > this.opts.maxQueuedPerCamera) {
      const dropped = q.shift()!;
      this.metrics.chunksDropped.inc({ camera });
      this.metrics.framesDropped.inc({ camera }, dropped.frames);
    }
  }

  /** Oldest first from each camera in turn, up to the batch size. */
  private takeBatch(): QueuedChunk[] {
    const batch: QueuedChunk[] = [];
    let bytes = 0;
    for (let more = true; more; ) {
      more = false;
      for (const q of this.queues.values()) {
        const next = q[0];
        if (!next) continue;
        if (batch.length > 0 && bytes + next.value.length > this.maxBatchBytes) return batch;
        batch.push(q.shift()!);
        bytes += next.value.length;
        more = true;
      }
    }
    return batch;
  }

  private async pump(): Promise<void> {
    while (!this.closed) {
      const batch = this.takeBatch();
      if (batch.length === 0) return;
      for (const b of batch) this.inFlight.add(b.cameraId);
      try {
        await this.bus.publish(
          Topics.frames,
          batch.map((b) => ({ key: b.cameraId, value: b.value, timestamp: b.capturedAt })),
        );
        if (this.failing) this.log.info('publishing frames again');
        this.failing = false;
        const now = performance.now();
        for (const b of batch) {
          const camera = b.cameraId;
          const ms = now - b.at;
          this.metrics.publishLatency.observe(ms / 1000);
          this.metrics.chunksPublished.inc({ camera });
          this.metrics.framesPublished.inc({ camera }, b.frames);
          this.opts.onPublished?.(b, ms);
        }
      } catch (e) {
        if (!this.failing) this.log.warn({ err: (e as Error).message }, 'cannot publish frames; keeping the newest, dropping the oldest');
        this.failing = true;
        // Back in front, in order; the bound applies again, so the oldest go first.
        for (const b of batch.reverse()) {
          const id = b.cameraId;
          let q = this.queues.get(id);
          if (!q) this.queues.set(id, (q = []));
          q.unshift(b);
        }
        for (const [camera, q] of this.queues) this.trim(camera, q);
        await new Promise<void>((r) => {
          const t = setTimeout(r, this.retryMs);
          this.wake = () => (clearTimeout(t), r());
        });
      }
      this.inFlight.clear();
      for (const [camera, q] of this.queues) this.metrics.queued.set({ camera }, q.length);
    }
  }
}
