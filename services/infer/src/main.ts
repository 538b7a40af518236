import type { VigilConfig } from '@vigil/config';
import { encodeFrameChunk, Topics, topicSpecs, VIDEO_OPEN_SUBJECT, type Finding, type VideoOpen } from '@vigil/contracts';
import { jpegSize } from '@vigil/media';
import type { Bus } from '@vigil/bus';
import type { Control } from '@vigil/control';
import { opsListener } from '@vigil/edge';
import { createLogger, createRegistry, redactUrl, startOpsServer, type Logger } from '@vigil/observability';
import { ChunkIntake } from './intake.ts';
import { ProgressReporter } from './progress.ts';
import { createInferMetrics, removeCameraSeries } from './metrics.ts';
import { needsStages } from './planner.ts';
import { buildCore, createModelClient, openTriggerStages, type TriggerStages } from './core.ts';
import { Delivery } from './delivery.ts';
import { FindingPublisher } from './publisher.ts';
import { serveAskNow } from './ask-now.ts';
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
  const model = createModelClient(config);
  if (!model) log.warn('no model endpoint configured: questions wait for one; triggered windows raise trigger incidents');

  const onnx = config.infer.onnx;
  // Trigger stages open when a query first needs them (at start, or when a reload adds one).
  const stages: TriggerStages = {};
  const openStages = (c: VigilConfig) => openTriggerStages(c, metrics, stages);
  await openStages(config);

  const publisher = new FindingPublisher(bus);
  // Frames come without a band; each window gets its own 0-based one (model input and evidence).
  const bander = await WindowBander.open(log, () => metrics.bandFailures.inc(), config.ingest.ffmpegPath);
  let stopping = false;
  let thumbSeq = Date.now();
  const core = buildCore({
    config,
    model,
    bander,
    ...stages,
    metrics,
    log,
    sink: publisher,
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
  });
  const { planner, dispatcher, answering, ledger } = core;
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
  log.info({ queries: config.queries.length, metricsPort: ops.port, profile: config.model.profile, analytics: !!stages.analytics, detector: !!stages.detector }, 'infer started');

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
        core.stopping();
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
          async () => stages.analytics?.close(),
          async () => stages.detector?.close(),
          () => ops.close(),
        ];
        for (const step of steps) await step().catch((e: unknown) => log.error({ err: String(e) }, 'error while stopping infer'));
        log.info('infer stopped');
      })()),
  };
}
