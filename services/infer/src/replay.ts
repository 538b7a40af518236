import type { VigilConfig } from '@vigil/config';
import type { Finding, FrameChunk } from '@vigil/contracts';
import type { ModelClient } from '@vigil/model';
import { createRegistry, type Logger } from '@vigil/observability';
import { buildCore, openTriggerStages, type InferCore, type TriggerStages } from './core.ts';
import { createInferMetrics, type InferMetrics } from './metrics.ts';
import { WindowBander } from './band.ts';

/**
 * Infer's decision path driven by recorded video instead of the bus (`vigil test`): the same
 * planner, trigger stage, window grid, dispatcher, model client and verdict, on a clock that
 * is the video's capture time. Nothing is dropped or superseded: every window is a replayed
 * one (owed an answer), and `feed` waits while the model is behind (backpressure).
 */
export class InferReplay {
  private constructor(
    /** Every window's finding, in the order they were answered. */
    readonly findings: Finding[],
    /** Capture time of the newest frame fed: the clock the planner, budget and retries read. */
    private readonly clock: { now: number },
    private readonly core: InferCore,
    private readonly metrics: InferMetrics,
    private readonly stages: TriggerStages,
    private readonly queueLimit: number,
  ) {}

  static async open(config: VigilConfig, opts: { model?: ModelClient; log: Logger }): Promise<InferReplay> {
    const metrics = createInferMetrics(createRegistry('infer-replay'));
    const stages = await openTriggerStages(config, metrics, {});
    const bander = await WindowBander.open(opts.log, () => metrics.bandFailures.inc(), config.ingest.ffmpegPath);
    const findings: Finding[] = [];
    const clock = { now: 0 };
    const core = buildCore({
      config,
      model: opts.model,
      bander,
      ...stages,
      metrics,
      log: opts.log,
      now: () => clock.now,
      // Evidence frames are for operators; a replay keeps the verdicts.
      sink: { publish: async (f) => void findings.push({ ...f, evidenceFrames: undefined }), drain: async () => undefined },
    });
    return new InferReplay(findings, clock, core, metrics, stages, Math.max(2, 2 * config.infer.concurrency));
  }

  /** One chunk of a camera's video, in capture order; resolves once the model has room for more. */
  async feed(chunk: FrameChunk): Promise<void> {
    const last = chunk.frames[chunk.frames.length - 1];
    if (last) this.clock.now = Math.max(this.clock.now, last.capturedAt);
    await this.core.planner.onChunk(chunk, true);
    while (this.core.dispatcher.queued > this.queueLimit) await this.settled();
  }

  /** Waits until every window planned so far has its finding. */
  async finish(): Promise<void> {
    const { dispatcher, answering } = this.core;
    while (dispatcher.queued + dispatcher.active + answering.pending > 0) await this.settled();
  }

  /** Windows not asked, per query and reason (schedule, no_trigger, budget_camera, …). */
  async skipped(): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    for (const v of (await this.metrics.windowsSkipped.get()).values) {
      const query = String(v.labels.query);
      (out[query] ??= {})[String(v.labels.reason)] = v.value;
    }
    return out;
  }

  async close(): Promise<void> {
    this.core.stopping();
    await this.core.dispatcher.close();
    await this.core.answering.drain();
    await this.stages.analytics?.close();
    await this.stages.detector?.close();
  }

  /** A short wait for answers to come in (the dispatcher runs them on the event loop). */
  private settled(): Promise<void> {
    return new Promise((r) => setTimeout(r, 5));
  }
}
