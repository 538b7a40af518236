import { FINDING_TEXT_LIMITS, clipText, findingId, type Finding, type Frame } from '@vigil/contracts';
import { queryVersion, type QueryConfig } from '@vigil/config';
import { profileByName, type ModelClient, type ModelAnswer, type ProfileName } from '@vigil/model';
import { redactText, redactUrl, type Logger } from '@vigil/observability';
import type { InferMetrics } from './metrics.ts';
import { judge, questionFor } from './verdict.ts';
import { windowClock, type WindowBander } from './band.ts';

/** One window to ask about. */
export interface AskJob {
  cameraId: string;
  site?: string;
  query: QueryConfig;
  /** The rendered question (template filled). */
  question: string;
  start: number;
  end: number;
  frames: Frame[];
  fps: number;
  /** Tokens this window is expected to cost, for the budget. */
  estimatedTokens: number;
  /** What fired the window's trigger (absent for ask-now). */
  trigger?: { type: string; zone?: string; detail: string };
}

/** Asks the model about one window and builds the finding, whatever the outcome. */
export class WindowAsker {
  constructor(
    private readonly model: ModelClient,
    private readonly metrics: InferMetrics,
    private readonly log: Logger,
    private readonly defaultProfile: ProfileName,
    private readonly bander?: WindowBander,
  ) {}

  async ask(job: AskJob, endpoint?: string): Promise<Finding> {
    const q = job.query;
    // Every profile counts time from the window's first frame; Reason1 also reads it off a band.
    const banded = profileByName(q.model.profile ?? this.defaultProfile).band && this.bander;
    const frames = banded ? await this.bander!.forModel(job.cameraId, job.frames, job.fps) : windowClock(job.frames);
    this.metrics.windowsAsked.inc({ query: q.id });
    const lagS = Math.max(0, Date.now() - job.end) / 1000;
    this.metrics.lag.observe(lagS);
    this.metrics.cameraLag.set({ camera: job.cameraId }, lagS);
    const answer = await this.model.ask({
      question: questionFor(job.question, q.alert),
      frames,
      fps: job.fps,
      label: `${job.cameraId}/${q.id}@${new Date(job.start).toISOString()}`,
      maxTokens: q.model.maxTokens,
      profile: q.model.profile,
      sampling: q.model.sampling,
      endpoint,
    });
    const finding = buildFinding({ ...job, frames }, answer);
    // Evidence is JPEGs with the band (made only for positive windows: it is rarely needed).
    if (finding.verdict && this.bander) {
      const withBand = await this.bander.band(job.cameraId, job.frames, job.fps);
      finding.evidenceFrames = evidenceFrames(withBand);
    }
    this.metrics.modelLatency.observe(answer.latencyMs / 1000);
    this.metrics.promptTokens.inc(answer.promptTokens);
    this.metrics.completionTokens.inc(answer.completionTokens);
    this.metrics.findings.inc({ query: q.id, status: answer.status, verdict: String(finding.verdict) });
    if (answer.status !== 'ok') this.log.warn({ camera: job.cameraId, query: q.id, status: answer.status, error: finding.error }, 'window not answered');
    return finding;
  }
}

/** What every finding of a window says about the window itself, whoever judged it. */
function windowPart(job: AskJob) {
  const { frames, query: q } = job;
  return {
    v: 1 as const,
    id: findingId(job.cameraId, q.id, job.start),
    cameraId: job.cameraId,
    queryId: q.id,
    // The job's query is the one the window started under: a reload mid-window keeps its version.
    queryVersion: queryVersion(q),
    question: job.question,
    windowStart: frames[0]?.capturedAt ?? job.start,
    windowEnd: frames[frames.length - 1]?.capturedAt ?? job.end,
    frameCount: frames.length,
    evidence: pickEvidence(frames).map((f) => ({ capturedAt: f.capturedAt })),
    createdAt: Date.now(),
  };
}

/** Every frame of the window as evidence (JPEG, base64), carried by positive findings only. */
const evidenceFrames = (frames: Frame[]) => frames.map((f) => ({ capturedAt: f.capturedAt, streamTime: f.streamTime, jpeg: f.jpeg.toString('base64') }));

/**
 * The finding for an answered (or failed) window. The model's text is cut to
 * FINDING_TEXT_LIMITS, saying so, and the verdict is judged on the answer as kept, so a
 * finding stays one modest bus message and its verdict follows from what it carries.
 */
export function buildFinding(job: AskJob, answer: ModelAnswer): Finding {
  const kept = answer.answer.slice(0, FINDING_TEXT_LIMITS.answer);
  const judged = answer.status === 'ok' ? judge(kept, job.query.alert) : { verdict: false };
  return {
    ...windowPart(job),
    status: answer.status,
    verdict: judged.verdict,
    structured: judged.structured,
    verdictError: judged.error === undefined ? undefined : clipText(judged.error, FINDING_TEXT_LIMITS.error),
    answer: clipText(answer.answer, FINDING_TEXT_LIMITS.answer),
    reasoning: clipText(answer.reasoning, FINDING_TEXT_LIMITS.reasoning),
    rawAnswer: clipText(answer.raw, FINDING_TEXT_LIMITS.rawAnswer),
    // Endpoint URLs may carry credentials; findings travel on the bus and into the API.
    error: answer.error === undefined ? undefined : clipText(redactText(answer.error), FINDING_TEXT_LIMITS.error),
    model: { id: answer.modelId, profile: answer.profile, endpoint: redactUrl(answer.endpoint) },
    usage: { promptTokens: answer.promptTokens, completionTokens: answer.completionTokens },
    latencyMs: Math.round(answer.latencyMs),
    mentionedTimes: answer.mentionedTimes,
    evidenceFrames: judged.verdict ? evidenceFrames(job.frames) : undefined,
  };
}

/**
 * The finding for a triggered window when there is no model server to ask: the trigger is the
 * event. Its answer says what the trigger measured and that no model was asked — never a
 * made-up model answer. Positive, so alerts opens (or extends) an incident with evidence.
 */
export function buildTriggerFinding(job: AskJob): Finding {
  const q = job.query;
  const trigger = job.trigger ?? { type: q.trigger.type, zone: q.trigger.zone, detail: `${q.trigger.type} trigger` };
  return {
    ...windowPart(job),
    status: 'trigger',
    verdict: true,
    answer: `${trigger.detail}. Not asked: no model server is connected.`,
    reasoning: '',
    rawAnswer: '',
    trigger,
    model: { id: '', profile: 'trigger', endpoint: '' },
    usage: { promptTokens: 0, completionTokens: 0 },
    latencyMs: 0,
    mentionedTimes: [],
    evidenceFrames: evidenceFrames(job.frames),
  };
}

/** First, middle and last frame: enough to show what the model saw. */
export function pickEvidence<T>(frames: T[]): T[] {
  if (frames.length <= 3) return frames;
  return [frames[0]!, frames[Math.floor(frames.length / 2)]!, frames[frames.length - 1]!];
}
