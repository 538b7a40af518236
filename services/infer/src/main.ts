import type { VigilConfig } from '@vigil/config';
import { decodeFrameChunk, Topics } from '@vigil/contracts';
import type { Bus, InMessage } from '@vigil/bus';
import { ModelClient } from '@vigil/model';
import { createLogger, createRegistry, startOpsServer, type Logger } from '@vigil/observability';
import { FrameRing } from './frame-ring.ts';
import { dueWindow } from './windows.ts';
import { FairDispatcher } from './dispatcher.ts';
import { WindowAsker, type AskJob } from './asker.ts';
import { createInferMetrics } from './metrics.ts';

export interface InferService {
  port: number;
  close(): Promise<void>;
}

/** Composition root of the infer service: `vigil.frames` → windows → model → `vigil.findings`. */
/** What infer needs from outside; built once per process by the caller (see @vigil/platform). */
export interface InferDeps {
  bus: Bus;
  logger?: Logger;
  /** Consumer group on vigil.frames (default vigil-infer). */
  group?: string;
}

export async function startInfer(config: VigilConfig, deps: InferDeps): Promise<InferService> {
  const log = deps.logger ?? createLogger('infer');
  const registry = createRegistry('infer');
  const metrics = createInferMetrics(registry);
  const { bus } = deps;
  await bus.ensureTopics([
    { topic: Topics.frames, partitions: 6, config: { 'max.message.bytes': String(8 * 1024 * 1024) } },
    { topic: Topics.findings, partitions: 6, config: { 'max.message.bytes': String(8 * 1024 * 1024) } },
    { topic: Topics.deadLetter, partitions: 1 },
  ]);
  const model = new ModelClient({
    endpoints: config.model.endpoints,
    profile: config.model.profile,
    modelId: config.model.modelId,
    apiKey: config.model.apiKey,
    timeoutMs: config.model.timeoutMs,
    maxTokens: config.model.maxTokens,
  });
  const asker = new WindowAsker(model, bus, metrics, log);
  const dispatcher = new FairDispatcher<AskJob>(
    config.infer.concurrency,
    async (job) => {
      metrics.inFlight.inc();
      try {
        await asker.ask(job);
      } catch (e) {
        log.error({ camera: job.plan.cameraId, query: job.plan.query.id, err: (e as Error).message }, 'cannot publish finding');
      } finally {
        metrics.inFlight.dec();
      }
    },
    () => metrics.superseded.inc(),
  );
  const rings = new Map<string, FrameRing>();
  const lastPlanned = new Map<string, number>();
  const queriesByCamera = new Map(config.cameras.map((c) => [c.id, config.queries.filter((q) => q.cameras.includes(c.id))]));

  const onChunk = async (m: InMessage) => {
    const decoded = decodeFrameChunk(m.value);
    if (!decoded.ok) {
      metrics.badChunks.inc();
      log.warn({ partition: m.partition, offset: m.offset, reason: decoded.reason }, 'malformed frame chunk sent to dead letter');
      await bus.publish(Topics.deadLetter, [{ key: m.key, value: m.value, headers: { reason: decoded.reason, source: m.topic } }]);
      return;
    }
    const chunk = decoded.value;
    const queries = queriesByCamera.get(chunk.cameraId);
    if (!queries) return; // a camera this config does not know
    metrics.chunks.inc({ camera: chunk.cameraId });
    let ring = rings.get(chunk.cameraId);
    if (!ring) rings.set(chunk.cameraId, (ring = new FrameRing(config.infer.bufferMs)));
    ring.add(chunk.frames, chunk.fps);
    const latest = ring.latest();
    if (latest === undefined) return;
    for (const q of queries) {
      const key = `${chunk.cameraId}\u0000${q.id}`;
      const plan = dueWindow(q, chunk.cameraId, latest, lastPlanned.get(key) ?? -Infinity);
      if (!plan) continue;
      lastPlanned.set(key, plan.end);
      metrics.windowsPlanned.inc({ query: q.id });
      const frames = ring.between(plan.start, plan.end);
      const expected = (q.windowMs / 1000) * ring.fps;
      if (frames.length < Math.max(2, expected / 2)) {
        metrics.windowsSkipped.inc({ query: q.id, reason: 'too_few_frames' });
        continue;
      }
      dispatcher.submit(key, { plan, frames, fps: ring.fps });
    }
    metrics.queued.set(dispatcher.queued);
  };

  const sub = await bus.subscribe({ topic: Topics.frames, group: deps.group ?? 'vigil-infer', handle: onChunk });
  const ops = await startOpsServer({ port: config.infer.metricsPort, registry, health: { bus: () => ({ ok: true }) } });
  log.info({ queries: config.queries.length, metricsPort: ops.port, profile: config.model.profile }, 'infer started');

  let closing: Promise<void> | undefined;
  return {
    port: ops.port,
    close: () =>
      (closing ??= (async () => {
        const steps = [() => sub.close(), () => dispatcher.close(), () => ops.close()];
        for (const step of steps) await step().catch((e: unknown) => log.error({ err: String(e) }, 'error while stopping infer'));
        log.info('infer stopped');
      })()),
  };
}
