import type { QueryConfig, VigilConfig } from '@vigil/config';
import { ModelClient, type Endpoint } from '@vigil/model';
import type { Logger } from '@vigil/observability';
import { FairDispatcher, type Slots } from './dispatcher.ts';
import { WindowAsker } from './asker.ts';
import { Answering, type Work } from './answering.ts';
import { SEVERITY_RANK, WindowPlanner, keyOf, needsStages, type PlannerDeps } from './planner.ts';
import { WindowLedger } from './ledger.ts';
import { TokenBudget } from './budget.ts';
import type { FindingSink } from './publisher.ts';
import type { InferMetrics } from './metrics.ts';
import { AnalyticsStage } from './analytics/stage.ts';
import { DetectorStage } from './analytics/detector.ts';
import type { TriggerMemory } from './triggers.ts';
import type { WindowBander } from './band.ts';
import { ZoneOutliner } from './outline.ts';

export interface CoreDeps {
  config: VigilConfig;
  /** Absent: no model server; triggered windows become trigger findings. */
  model?: ModelClient;
  /** Absent when ffmpeg cannot make bands (Reason1 frames then go without one). */
  bander?: WindowBander;
  analytics?: AnalyticsStage;
  detector?: DetectorStage;
  metrics: InferMetrics;
  log: Logger;
  /** Where findings go (the findings topic; a collector in a replay). */
  sink: FindingSink;
  /** The clock the planner, budget and retries age windows by (default the wall clock). */
  now?: () => number;
  thumbnail?: PlannerDeps['thumbnail'];
  open?: PlannerDeps['open'];
}

/** Infer's decision path, the same in the service and in `vigil test`'s replay. */
export interface InferCore {
  planner: WindowPlanner;
  dispatcher: FairDispatcher<Work[], Endpoint>;
  answering: Answering;
  ledger: WindowLedger;
  /** From now on, windows dropped from the queue are not counted as superseded (the service is stopping). */
  stopping(): void;
}

/**
 * Wires planner → fair dispatcher → answering (model client, verdict) → sink. The service's
 * composition root adds the bus, the control plane and ops around it; the replay feeds it
 * chunks of a clip and collects the findings.
 */
export function buildCore(d: CoreDeps): InferCore {
  const { config, model, metrics, log } = d;
  const profileOf = (q: QueryConfig) => q.model.profile ?? config.model.profile;
  const ledger = new WindowLedger();
  const budget = new TokenBudget(config.model.budget ?? {}, d.now);
  const memory = new Map<string, TriggerMemory>();
  let stopping = false;
  // zone_view: outline draws with the same ffmpeg as ingest; nothing runs unless a query asks for it.
  const outliner = new ZoneOutliner({
    ffmpegPath: config.ingest.ffmpegPath,
    log,
    onFailure: () => metrics.outlineFailures.inc(),
    onOutlined: (s) => metrics.outlineSeconds.observe(s),
  });
  const answering = new Answering({
    asker: model && new WindowAsker(model, metrics, log, config.model.profile, d.bander, outliner),
    bander: d.bander,
    publisher: d.sink,
    ledger,
    budget,
    memory,
    metrics,
    log,
    now: d.now,
    resubmit: (w) => dispatcher.submit({ key: `retry\u0000${keyOf(w.job.cameraId, w.job.query.id)}@${w.job.end}`, camera: w.job.cameraId, priority: SEVERITY_RANK[w.job.query.severity] }, [w]),
  });
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
    analytics: d.analytics,
    detector: d.detector,
    ledger,
    budget,
    metrics,
    log,
    profileOf,
    memory,
    now: d.now,
    thumbnail: d.thumbnail,
    open: d.open,
    submit: (jobs, key, priority, replay, fused) => {
      if (!model) return jobs.forEach((job) => answering.withoutModel(job));
      // Live video: a newer window replaces a waiting one. Replayed windows after a restart
      // are owed answers: each gets its own key, so none replaces another.
      const first = jobs[0]!;
      dispatcher.submit({ key: replay ? `${key}@${first.end}` : key, camera: first.cameraId, priority, size: fused ? 1 : jobs.length, weight: jobs.length }, jobs.map((job) => ({ job, fused })));
    },
  });
  return { planner, dispatcher, answering, ledger, stopping: () => (stopping = true) };
}

/** The model client a config describes (`endpoints` overrides its servers, e.g. `vigil test --model`); undefined without any. */
export function createModelClient(config: VigilConfig, endpoints?: { url: string }[]): ModelClient | undefined {
  const servers = endpoints ?? config.model.endpointSettings ?? config.model.endpoints.map((url) => ({ url }));
  if (servers.length === 0) return undefined;
  return new ModelClient({
    endpoints: servers,
    maxInFlight: config.infer.concurrency,
    profile: config.model.profile,
    modelId: config.model.modelId,
    apiKey: config.model.apiKey,
    timeoutMs: config.model.timeoutMs,
    maxTokens: config.model.maxTokens,
    sampling: config.model.sampling,
  });
}

export interface TriggerStages {
  analytics?: AnalyticsStage;
  detector?: DetectorStage;
}

/** Opens the trigger stages a config's queries need and `open` lacks (they stay open across reloads); updates `open`. */
export async function openTriggerStages(config: VigilConfig, metrics: InferMetrics, open: TriggerStages): Promise<TriggerStages> {
  const onnx = config.infer.onnx;
  const need = needsStages(config);
  if (need.analytics) open.analytics ??= await AnalyticsStage.open({ provider: onnx.provider, maxBatch: onnx.maxBatch, waitMs: onnx.batchWaitMs, bandPx: 0, onBatch: (n) => metrics.analyticsBatch.observe(n) });
  if (need.detector && onnx.detector) open.detector ??= await DetectorStage.open(onnx.detector.model, { provider: onnx.provider, ...onnx.detector });
  return open;
}
