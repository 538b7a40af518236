import { findingId, Topics, type Finding, type Frame } from '@vigil/contracts';
import type { Bus } from '@vigil/bus';
import type { ModelClient } from '@vigil/model';
import type { Logger } from '@vigil/observability';
import type { InferMetrics } from './metrics.ts';
import type { WindowPlan } from './windows.ts';

export interface AskJob {
  plan: WindowPlan;
  frames: Frame[];
  fps: number;
}

/** Asks the model about one window and publishes the finding, whatever the outcome. */
export class WindowAsker {
  constructor(
    private readonly model: ModelClient,
    private readonly bus: Bus,
    private readonly metrics: InferMetrics,
    private readonly log: Logger,
  ) {}

  async ask(job: AskJob): Promise<Finding> {
    const { plan, frames } = job;
    const q = plan.query;
    this.metrics.windowsAsked.inc({ query: q.id });
    this.metrics.lag.observe(Math.max(0, Date.now() - plan.end) / 1000);
    const answer = await this.model.ask({
      question: q.question,
      frames,
      fps: job.fps,
      label: `${plan.cameraId}/${q.id}@${new Date(plan.start).toISOString()}`,
    });
    const verdict = answer.status === 'ok' && q.alertWhen.test(answer.answer);
    const finding: Finding = {
      v: 1,
      id: findingId(plan.cameraId, q.id, plan.start),
      cameraId: plan.cameraId,
      queryId: q.id,
      question: q.question,
      windowStart: frames[0]?.capturedAt ?? plan.start,
      windowEnd: frames[frames.length - 1]?.capturedAt ?? plan.end,
      frameCount: frames.length,
      status: answer.status,
      verdict,
      answer: answer.answer,
      reasoning: answer.reasoning,
      rawAnswer: answer.raw,
      error: answer.error,
      model: { id: answer.modelId, profile: this.model.profile.name, endpoint: answer.endpoint },
      usage: { promptTokens: answer.promptTokens, completionTokens: answer.completionTokens },
      latencyMs: Math.round(answer.latencyMs),
      mentionedTimes: answer.mentionedTimes,
      evidence: pickEvidence(frames).map((f) => ({ capturedAt: f.capturedAt })),
      evidenceFrames: verdict ? frames.map((f) => ({ capturedAt: f.capturedAt, streamTime: f.streamTime, jpeg: f.jpeg.toString('base64') })) : undefined,
      createdAt: Date.now(),
    };
    this.metrics.modelLatency.observe(answer.latencyMs / 1000);
    this.metrics.promptTokens.inc(answer.promptTokens);
    this.metrics.completionTokens.inc(answer.completionTokens);
    this.metrics.findings.inc({ query: q.id, status: answer.status, verdict: String(verdict) });
    if (answer.status !== 'ok') this.log.warn({ camera: plan.cameraId, query: q.id, status: answer.status, error: answer.error }, 'window not answered');
    await this.bus.publish(Topics.findings, [{ key: plan.cameraId, value: Buffer.from(JSON.stringify(finding)), timestamp: finding.windowStart }]);
    return finding;
  }
}

/** First, middle and last frame: enough to show what the model saw. */
export function pickEvidence<T>(frames: T[]): T[] {
  if (frames.length <= 3) return frames;
  return [frames[0]!, frames[Math.floor(frames.length / 2)]!, frames[frames.length - 1]!];
}
