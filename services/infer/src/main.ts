import type { QueryConfig, VigilConfig } from '@vigil/config';
import { decodeFrameChunk, Topics, topicSpecs, type Finding } from '@vigil/contracts';
import type { Bus, InMessage } from '@vigil/bus';
import type { Control } from '@vigil/control';
import { ModelClient, type Endpoint } from '@vigil/model';
import { opsListener } from '@vigil/edge';
import { createLogger, createRegistry, redactUrl, startOpsServer, type Logger } from '@vigil/observability';
import { FairDispatcher, type Slots } from './dispatcher.ts';
import { WindowAsker, buildTriggerFinding, type AskJob } from './asker.ts';
import { createInferMetrics } from './metrics.ts';
import { WindowPlanner, keyOf } from './planner.ts';
import { WindowLedger } from './ledger.ts';
import { TokenBudget } from './budget.ts';
import { Delivery } from './delivery.ts';
import { FindingPublisher } from './publisher.ts';
import { serveAskNow } from './ask-now.ts';
import { AnalyticsStage } from './analytics/stage.ts';
import { DetectorStage } from './analytics/detector.ts';
import { needsAnalytics } from './triggers.ts';
import { WindowBander } from './band.ts';

export interface InferService {
  port: number;
  close(): Promise<void>;
}

/** What infer needs from outside; built once per process by the caller (see @vigil/platform). */
export interface InferDeps {
  bus: Bus;
  /** Serves "ask this camera now" (`vigil.ask`) when given. */
  control?: Control;
  logger?: Logger;
  /** Consumer group on vigil.frames (default vigil-infer); it commits only past settled windows. */
  group?: string;
}


interface Work {
  job: AskJob;
  /** Set for ask-now: the requester gets the finding instead of the bus. */
  reply?: (f: Finding) => void;
}

/** Composition root of the infer service: `vigil.frames` → trigger stage → windows → model → `vigil.findings`. */
export async function startInfer(config: VigilConfig, deps: InferDeps): Promise<InferService> {
  const log = deps.logger ?? createLogger('infer');
  const registry = createRegistry('infer');
  const metrics = createInferMetrics(registry);
  const { bus } = deps;
  await bus.ensureTopics(topicSpecs([Topics.frames, Topics.findings, Topics.deadLetter]));
  const endpoints = config.model.endpointSettings ?? config.model.endpoints.map((url) => ({ url }));
  const model =
    endpoints.length > 0
      ? new ModelClient({
          endpoints,
          maxInFlight: config.infer.concurrency,
          profile: config.model.profile,
          modelId: config.model.modelId,
          apiKey: config.model.apiKey,
          timeoutMs: config.model.timeoutMs,
          maxTokens: config.model.maxTokens,
          sampling: config.model.sampling,
        })
      : undefined;
  if (!model) log.warn('no model endpoint configured: questions wait for one; triggered windows raise trigger incidents');
  const profileOf = (q: QueryConfig) => q.model.profile ?? config.model.profile;

  const needs = config.queries.some((q) => needsAnalytics(q.trigger));
  const onnx = config.infer.onnx;
  const analytics = needs ? await AnalyticsStage.open({ provider: onnx.provider, maxBatch: onnx.maxBatch, waitMs: onnx.batchWaitMs, bandPx: 0, onBatch: (n) => metrics.analyticsBatch.observe(n) }) : undefined;
  const detector =
    onnx.detector && config.queries.some((q) => q.trigger.type === 'object') ? await DetectorStage.open(onnx.detector.model, { provider: onnx.provider, ...onnx.detector }) : undefined;

  const ledger = new WindowLedger();
  const budget = new TokenBudget(config.model.budget ?? {});
  const publisher = new FindingPublisher(bus);
  // Frames come without a band; each window gets its own 0-based one (model input and evidence).
  const bander = config.queries.length > 0 ? await WindowBander.open(log, () => metrics.bandFailures.inc(), config.ingest.ffmpegPath) : undefined;
  const asker = model && new WindowAsker(model, metrics, log, config.model.profile, bander);
  const background = new Set<Promise<void>>();
  const track = (p: Promise<void>) => (background.add(p), void p.finally(() => background.delete(p)));
  let stopping = false;

  const settle = (w: Work) => ledger.settled(keyOf(w.job.cameraId, w.job.query.id), w.job.end);
  const slots: Slots<Endpoint> = model
    ? { acquire: () => model.pool.acquire(), release: (e) => model.pool.release(e), onCapacity: (fn) => model.pool.onCapacity(fn) }
    : { acquire: () => undefined, release: () => undefined };
  const dispatcher = new FairDispatcher<Work, Endpoint>(
    slots,
    async (w, endpoint) => {
      const { job } = w;
      const memory = planner.memory.get(keyOf(job.cameraId, job.query.id));
      if (memory && !w.reply) memory.askedThrough = Math.max(memory.askedThrough ?? -Infinity, job.end);
      let finding: Finding;
      try {
        finding = await asker!.ask(job, endpoint.url);
      } catch (e) {
        // ModelClient turns model failures into findings; reaching here is a bug: say so once.
        log.error({ camera: job.cameraId, query: job.query.id, err: String(e) }, 'cannot ask the model');
        settle(w);
        return;
      }
      budget.record(job.cameraId, job.site, finding.usage.promptTokens + finding.usage.completionTokens);
      if (w.reply) return w.reply(finding);
      // The slot is free as soon as the model has answered; publishing happens beside it.
      track(
        publisher.publish(finding).then(
          () => settle(w),
          (e: unknown) => {
            metrics.publishFailures.inc();
            log.error({ camera: job.cameraId, query: job.query.id, err: String(e) }, 'cannot publish finding; its chunk stays uncommitted');
          },
        ),
      );
    },
    (w) => {
      if (w.reply) return;
      if (!stopping) {
        metrics.superseded.inc();
        settle(w);
      }
    },
  );

  const planner = new WindowPlanner({
    config,
    analytics,
    detector,
    ledger,
    budget,
    metrics,
    log,
    profileOf,
    submit: (job, key, priority, replay) => {
      if (!model) {
        // Without a model server an event trigger (motion, stall, tamper…) is the incident itself;
        // `always`/`schedule` windows say nothing happened, so they just wait for a model.
        if (!needsAnalytics(job.query.trigger)) {
          metrics.windowsSkipped.inc({ query: job.query.id, reason: 'no_model' });
          ledger.settled(key, job.end);
          return;
        }
        const memory = planner.memory.get(key);
        if (memory) memory.askedThrough = Math.max(memory.askedThrough ?? -Infinity, job.end);
        metrics.triggerFindings.inc({ query: job.query.id });
        track(
          (bander ? bander.band(job.cameraId, job.frames, job.fps) : Promise.resolve(job.frames))
            .then((frames) => publisher.publish(buildTriggerFinding({ ...job, frames })))
            .then(
            () => ledger.settled(key, job.end),
            (e: unknown) => {
              metrics.publishFailures.inc();
              log.error({ camera: job.cameraId, query: job.query.id, err: String(e) }, 'cannot publish trigger finding; its chunk stays uncommitted');
            },
          ),
        );
        return;
      }
      // Live video: a newer window replaces a waiting one. Replayed windows after a restart
      // are owed answers: each gets its own key, so none replaces another.
      dispatcher.submit({ key: replay ? `${key}@${job.end}` : key, camera: job.cameraId, priority }, { job });
    },
  });

  const processChunk = async (m: InMessage, replay: boolean) => {
    const decoded = decodeFrameChunk(m.value);
    if (!decoded.ok) {
      metrics.badChunks.inc();
      log.warn({ partition: m.partition, offset: m.offset, reason: decoded.reason }, 'malformed frame chunk sent to dead letter');
      await bus.publish(Topics.deadLetter, [{ key: m.key, value: m.value, headers: { reason: decoded.reason, source: m.topic } }]);
      return;
    }
    const chunk = decoded.value;
    if (!planner.knows(chunk.cameraId)) return; // a camera this config does not know
    metrics.chunks.inc({ camera: chunk.cameraId });
    await planner.onChunk(chunk, replay);
    metrics.queued.set(dispatcher.queued);
  };
  // Bounded work in progress: chunks wait here when the trigger stage falls behind.
  let inProgress = 0;
  const maxInProgress = Math.max(64, onnx.maxBatch);
  const processLive = async (m: InMessage, replay: boolean) => {
    while (inProgress >= maxInProgress) await ledger.change(5);
    inProgress++;
    const p = processChunk(m, replay).finally(() => inProgress--);
    // Planning order per camera is kept by the trigger stage (batches complete in order).
    track(p.catch((e: unknown) => log.error({ err: String(e) }, 'cannot process frame chunk')));
  };
  const delivery = new Delivery({
    bus,
    topic: Topics.frames,
    group: deps.group ?? 'vigil-infer',
    log,
    process: processLive,
    watch: (m) => {
      // Only the camera and the last capture time are kept, not the message (see Delivery).
      const decoded = decodeFrameChunk(m.value);
      const frames = decoded.ok ? decoded.value.frames : [];
      if (!decoded.ok || frames.length === 0) return () => true;
      const camera = decoded.value.cameraId;
      const last = frames[frames.length - 1]!.capturedAt;
      return () => planner.settledThrough(camera, last);
    },
    change: (ms) => ledger.change(ms),
    onHoldExpired: () => metrics.cursorHoldExpired.inc(),
  });
  await delivery.start();

  const stopAsk = deps.control && model
    ? serveAskNow(deps.control, planner, {
        bufferMs: config.infer.bufferMs,
        profile: config.model.profile,
        ask: (job, priority) => new Promise<Finding>((resolve) => dispatcher.submit({ key: `ask\u0000${Math.random()}`, camera: job.cameraId, priority }, { job, reply: resolve })),
      })
    : undefined;

  const refreshGauges = () => {
    for (const e of model?.pool.endpoints ?? []) {
      // Label by the redacted URL: an endpoint's credentials never reach /metrics.
      metrics.endpointInFlight.set({ endpoint: redactUrl(e.url) }, e.inFlight);
      metrics.endpointOpen.set({ endpoint: redactUrl(e.url) }, model!.pool.isOpen(e) ? 1 : 0);
    }
    metrics.queued.set(dispatcher.queued);
    metrics.inFlight.set(dispatcher.active);
  };
  const gaugeTimer = setInterval(refreshGauges, 1000);
  gaugeTimer.unref();

  const ops = await startOpsServer({ port: config.infer.metricsPort, ...opsListener(config), registry, health: { bus: () => ({ ok: bus.healthy() }) } });
  log.info({ queries: config.queries.length, metricsPort: ops.port, profile: config.model.profile, analytics: !!analytics, detector: !!detector }, 'infer started');

  let closing: Promise<void> | undefined;
  return {
    port: ops.port,
    close: () =>
      (closing ??= (async () => {
        stopping = true;
        clearInterval(gaugeTimer);
        const steps = [
          () => delivery.closeLive(),
          async () => stopAsk?.(),
          () => dispatcher.close(),
          async () => void (await Promise.allSettled([...background])),
          () => publisher.drain(),
          () => delivery.close(),
          async () => model?.pool.close(),
          async () => analytics?.close(),
          async () => detector?.close(),
          () => ops.close(),
        ];
        for (const step of steps) await step().catch((e: unknown) => log.error({ err: String(e) }, 'error while stopping infer'));
        log.info('infer stopped');
      })()),
  };
}
