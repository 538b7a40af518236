import type { QueryConfig, VigilConfig } from '@vigil/config';
import { encodeFrameChunk, Topics, topicSpecs, VIDEO_OPEN_SUBJECT, type Finding, type VideoOpen } from '@vigil/contracts';
import { jpegSize } from '@vigil/media';
import type { Bus } from '@vigil/bus';
import type { Control } from '@vigil/control';
import { ModelClient, type Endpoint } from '@vigil/model';
import { opsListener } from '@vigil/edge';
import { createLogger, createRegistry, redactUrl, startOpsServer, type Logger } from '@vigil/observability';
import { FairDispatcher, type Slots } from './dispatcher.ts';
import { WindowAsker } from './asker.ts';
import { Answering, type Work } from './answering.ts';
import { ChunkIntake } from './intake.ts';
import { ProgressReporter } from './progress.ts';
import { createInferMetrics, removeCameraSeries } from './metrics.ts';
import { SEVERITY_RANK, WindowPlanner, keyOf, needsStages } from './planner.ts';
import { WindowLedger } from './ledger.ts';
import { TokenBudget } from './budget.ts';
import { Delivery } from './delivery.ts';
import { FindingPublisher } from './publisher.ts';
import { serveAskNow } from './ask-now.ts';
import { AnalyticsStage } from './analytics/stage.ts';
import { DetectorStage } from './analytics/detector.ts';
import type { TriggerMemory } from './triggers.ts';
import { WindowBander } from './band.ts';

export interface InferService {
  port: number;
  /** Applies a new config: cameras, zones and queries change without a restart (see WindowPlanner.reconfigure). */
  reload(next: VigilConfig): Promise<{ added: string[]; removed: string[] }>;
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


/** Composition root of the infer service: `vigil.frames` → trigger stage → windows → model → `vigil.findings`. */
export async function startInfer(config: VigilConfig, deps: InferDeps): Promise<InferService> {
  const log = deps.logger ?? createLogger('infer');
  const registry = createRegistry('infer');
  const metrics = createInferMetrics(registry);
  const { bus } = deps;
  await bus.ensureTopics(topicSpecs([Topics.frames, Topics.thumbs, Topics.findings, Topics.deadLetter]));
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

  const onnx = config.infer.onnx;
  // Trigger stages open when a query first needs them (at start, or when a reload adds one).
  let analytics: AnalyticsStage | undefined;
  let detector: DetectorStage | undefined;
  const openStages = async (c: VigilConfig) => {
    const need = needsStages(c);
    if (need.analytics) analytics ??= await AnalyticsStage.open({ provider: onnx.provider, maxBatch: onnx.maxBatch, waitMs: onnx.batchWaitMs, bandPx: 0, onBatch: (n) => metrics.analyticsBatch.observe(n) });
    if (need.detector && onnx.detector) detector ??= await DetectorStage.open(onnx.detector.model, { provider: onnx.provider, ...onnx.detector });
    return { analytics, detector };
  };
  await openStages(config);

  const ledger = new WindowLedger();
  const budget = new TokenBudget(config.model.budget ?? {});
  const publisher = new FindingPublisher(bus);
  // Frames come without a band; each window gets its own 0-based one (model input and evidence).
  const bander = await WindowBander.open(log, () => metrics.bandFailures.inc(), config.ingest.ffmpegPath);
  const memory = new Map<string, TriggerMemory>();
  const answering = new Answering({
    asker: model && new WindowAsker(model, metrics, log, config.model.profile, bander),
    bander,
    publisher,
    ledger,
    budget,
    memory,
    metrics,
    log,
    resubmit: (w) => dispatcher.submit({ key: `retry\u0000${keyOf(w.job.cameraId, w.job.query.id)}@${w.job.end}`, camera: w.job.cameraId, priority: SEVERITY_RANK[w.job.query.severity] }, [w]),
  });
  let stopping = false;
  let thumbSeq = Date.now();

  const slots: Slots<Endpoint> = model
    ? { acquire: () => model.pool.acquire(), release: (e) => model.pool.release(e), onCapacity: (fn) => model.pool.onCapacity(fn), acquireMore: (e, n) => model.pool.acquireMore(e, n) }
    : { acquire: () => undefined, release: () => undefined };
  // A dispatched unit is one window's question, or a group of questions about the same frames.
  const dispatcher = new FairDispatcher<Work[], Endpoint>(
    slots,
    (ws, endpoint, more) => answering.run(ws, endpoint, more.length + 1),
    (ws) => ws.forEach((w) => answering.superseded(w, stopping)),
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
    memory,
    // The dashboard's tiles: one small recent picture per camera every few seconds, never the video.
    thumbnail: (cameraId, f) => {
      const size = jpegSize(f.jpeg);
      if (!size || stopping) return;
      const value = encodeFrameChunk({ cameraId, seq: thumbSeq++, width: size.width, height: size.height, fps: 0.5, codec: 'jpeg', frames: [{ capturedAt: f.capturedAt, streamTime: 0, jpeg: f.jpeg }] });
      bus.publish(Topics.thumbs, [{ key: cameraId, value }]).catch((e: unknown) => log.debug({ camera: cameraId, err: String(e) }, 'thumbnail not published'));
    },
    // on_demand cameras: ingest decodes a camera in full only while infer asks for it.
    open: deps.control
      ? (cameraId, from, until) => {
          const request: VideoOpen = { v: 1, cameraId, from: Math.round(from), until: Math.round(until) };
          deps.control!.publish(VIDEO_OPEN_SUBJECT, request).catch((e: unknown) => log.warn({ camera: cameraId, err: String(e) }, 'cannot ask ingest for the camera\'s pictures'));
        }
      : undefined,
    submit: (jobs, key, priority, replay, fused) => {
      if (!model) return jobs.forEach((job) => answering.withoutModel(job));
      // Live video: a newer window replaces a waiting one. Replayed windows after a restart
      // are owed answers: each gets its own key, so none replaces another.
      const first = jobs[0]!;
      dispatcher.submit({ key: replay ? `${key}@${first.end}` : key, camera: first.cameraId, priority, size: fused ? 1 : jobs.length, weight: jobs.length }, jobs.map((job) => ({ job, fused })));
    },
  });
  const intake = new ChunkIntake({ bus, planner, ledger, metrics, log, maxInProgress: Math.max(64, onnx.maxBatch), afterChunk: () => metrics.queued.set(dispatcher.queued) });
  const delivery = new Delivery({
    bus,
    topic: Topics.frames,
    group: deps.group ?? 'vigil-infer',
    log,
    process: (m, replay) => intake.take(m, replay),
    change: (ms) => ledger.change(ms),
    onHoldExpired: () => metrics.cursorHoldExpired.inc(),
    pinned: () => answering.publishRetrying,
  });
  await delivery.start();
  const progress = new ProgressReporter(bus, ledger, log);
  progress.start();

  const stopAsk = deps.control && model
    ? serveAskNow(deps.control, planner, {
        bufferMs: config.infer.bufferMs,
        profile: config.model.profile,
        ask: (job, priority) => new Promise<Finding>((resolve) => dispatcher.submit({ key: `ask\u0000${Math.random()}`, camera: job.cameraId, priority }, [{ job, reply: resolve }])),
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

  let running = config;
  let closing: Promise<void> | undefined;
  return {
    port: ops.port,
    reload: async (next) => {
      planner.useStages(await openStages(next));
      const { added, removed } = planner.reconfigure(next);
      for (const camera of removed) removeCameraSeries(metrics, camera);
      for (const key of ['model', 'infer'] as const) {
        if (JSON.stringify(next[key]) !== JSON.stringify(running[key])) log.warn({ section: key }, `changes to ${key} take effect when infer restarts`);
      }
      running = next;
      log.info({ cameras: next.cameras.length, queries: next.queries.length, added, removed }, 'config reloaded');
      return { added, removed };
    },
    close: () =>
      (closing ??= (async () => {
        stopping = true;
        clearInterval(gaugeTimer);
        const steps = [
          () => delivery.closeLive(),
          async () => stopAsk?.(),
          () => intake.drain(),
          () => dispatcher.close(),
          () => answering.drain(),
          () => progress.close(),
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
