import { FINDING_TEXT_LIMITS, clipText, findingId, type Finding, type Frame } from '@vigil/contracts';
import { queryVersion, type QueryConfig } from '@vigil/config';
import { profileByName, type ModelClient, type ModelAnswer, type ProfileName } from '@vigil/model';
import { redactText, redactUrl, type Logger } from '@vigil/observability';
import type { InferMetrics } from './metrics.ts';
import { judge, questionFor } from './verdict.ts';
import { fusedQuestion, splitFused } from './fused.ts';
import { windowClock, type ModelFrame, type WindowBander } from './band.ts';
import type { ZoneOutliner } from './outline.ts';

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
  /**
   * zone_view: outline — the zone drawn on the frames, and the question as it reads when the
   * outline could not be drawn (the zone only named: no outline to point at).
   */
  outline?: { zone: string; polygon: [number, number][]; unoutlined: string };
}

/** Asks the model about one window and builds the finding, whatever the outcome. */
export class WindowAsker {
  constructor(
    private readonly model: ModelClient,
    private readonly metrics: InferMetrics,
    private readonly log: Logger,
    private readonly defaultProfile: ProfileName,
    private readonly bander?: WindowBander,
    private readonly outliner?: ZoneOutliner,
  ) {}

  /**
   * The frames as the model gets them. Every profile counts time from the window's first
   * frame; Reason1 also reads it off a band. A group of questions about the same frames
   * prepares them once: the same bytes for each, which is what the server's prefix cache keys on.
   * A zone_view: outline query's zone is drawn on them first (the band goes under the outlined frame).
   */
  async prepare(job: AskJob): Promise<ModelFrame[]> {
    const outlined = job.outline && this.outliner ? await this.outliner.outline(job.cameraId, { name: job.outline.zone, polygon: job.outline.polygon }, job.frames) : undefined;
    const frames = outlined ?? job.frames;
    const banded = profileByName(job.query.model.profile ?? this.defaultProfile).band && this.bander;
    const out: ModelFrame[] = banded ? await this.bander!.forModel(job.cameraId, frames, job.fps) : windowClock(frames);
    if (outlined) for (const f of out) f.outlined = true;
    return out;
  }

  async ask(job: AskJob, endpoint?: string, prepared?: ModelFrame[]): Promise<Finding> {
    const frames = prepared ?? (await this.prepare(job));
    const sent = asSent(job, frames);
    const answer = await this.askRaw(sent, questionFor(sent.question, sent.query.alert), endpoint, frames);
    return this.finish(buildFinding(sent, answer), sent, answer);
  }

  /**
   * Several questions about the same frames in one request (model.share: fused). Returns a
   * finding per job, or undefined for a job whose answer could not be split out (the caller
   * asks it on its own). A failed request is an error finding for every job: asking each
   * alone would multiply the load on a server that is already failing.
   */
  async askFused(jobs: AskJob[], endpoint?: string, prepared?: ModelFrame[]): Promise<(Finding | undefined)[]> {
    const frames = prepared ?? (await this.prepare(jobs[0]!));
    jobs = jobs.map((j) => asSent(j, frames));
    const lead = jobs[0]!;
    const answer = await this.askRaw(lead, fusedQuestion(jobs.map((j) => questionFor(j.question, j.query.alert))), endpoint, frames);
    for (const j of jobs.slice(1)) this.metrics.windowsAsked.inc({ query: j.query.id });
    this.metrics.fusedRequests.inc();
    const each = share(answer, jobs.length);
    const parts = answer.status === 'ok' ? splitFused(answer.answer, jobs.length) : jobs.map(() => '');
    const unsplit = parts.filter((p) => p === undefined).length;
    if (unsplit > 0) this.metrics.fusedUnsplit.inc(unsplit);
    return Promise.all(
      jobs.map((j, i) => {
        if (parts[i] === undefined) return undefined;
        const mine = answer.status === 'ok' ? { ...each, answer: parts[i]! } : each;
        return this.finish(buildFinding(j, mine), j, mine);
      }),
    );
  }

  /** One request about a job's window with the given question text; counts it. */
  async askRaw(job: AskJob, question: string, endpoint?: string, prepared?: ModelFrame[]): Promise<ModelAnswer> {
    const q = job.query;
    const frames = prepared ?? (await this.prepare(job));
    this.metrics.windowsAsked.inc({ query: q.id });
    const lagS = Math.max(0, Date.now() - job.end) / 1000;
    this.metrics.lag.observe(lagS);
    this.metrics.cameraLag.set({ camera: job.cameraId }, lagS);
    const answer = await this.model.ask({
      question,
      frames,
      fps: job.fps,
      label: `${job.cameraId}/${q.id}@${new Date(job.start).toISOString()}`,
      maxTokens: q.model.maxTokens,
      profile: q.model.profile,
      sampling: q.model.sampling,
      endpoint,
    });
    this.metrics.modelLatency.observe(answer.latencyMs / 1000);
    this.metrics.promptTokens.inc(answer.promptTokens);
    this.metrics.completionTokens.inc(answer.completionTokens);
    recordPrefixCache(this.metrics, answer);
    return answer;
  }

  /**
   * Evidence for a positive finding, counters, and a warning for an unanswered window. `job`
   * holds the frames as sent (outlined, where they were), so the evidence shows what the model saw.
   */
  async finish(finding: Finding, job: AskJob, answer: ModelAnswer): Promise<Finding> {
    const q = job.query;
    // Evidence is JPEGs with the band (made only for positive windows: it is rarely needed).
    if (finding.verdict && this.bander) {
      const withBand = await this.bander.band(job.cameraId, job.frames, job.fps);
      finding.evidenceFrames = evidenceFrames(withBand);
    }
    this.metrics.findings.inc({ query: q.id, status: answer.status, verdict: String(finding.verdict) });
    if (answer.status !== 'ok') this.log.warn({ camera: job.cameraId, query: q.id, status: answer.status, error: finding.error }, 'window not answered');
    return finding;
  }
}

/**
 * The job as asked with these prepared frames: their JPEGs (outlined where the zone was drawn;
 * `finish` bands them again for evidence), and the question that fits them — an outline the
 * frames lack is not pointed at.
 */
function asSent(job: AskJob, frames: ModelFrame[]): AskJob {
  const question = job.outline && !frames[0]?.outlined ? job.outline.unoutlined : job.question;
  return { ...job, question, frames: frames.map((f) => ({ capturedAt: f.capturedAt, streamTime: f.streamTime, jpeg: f.jpeg })) };
}

/** One request's tokens spread over the questions it answered (charts sum them per query). */
function share(a: ModelAnswer, n: number): ModelAnswer {
  const per = (x: number) => Math.floor(x / n);
  return { ...a, promptTokens: per(a.promptTokens), completionTokens: per(a.completionTokens), cachedTokens: a.cachedTokens === undefined ? undefined : per(a.cachedTokens) };
}

/**
 * Prefix-cache use of one reply, per endpoint. Only replies count (a failed request has no
 * `cachedTokens`); a server that does not report cached tokens shows requests and no hits.
 * The label is the redacted URL: endpoint URLs may carry credentials.
 */
export function recordPrefixCache(metrics: InferMetrics, answer: ModelAnswer): void {
  const cached = answer.cachedTokens;
  if (cached === undefined) return;
  const labels = { endpoint: redactUrl(answer.endpoint) };
  metrics.prefixCacheRequests.inc(labels);
  if (cached > 0) {
    metrics.prefixCacheHits.inc(labels);
    metrics.prefixCachedTokens.inc(labels, cached);
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
    usage: { promptTokens: answer.promptTokens, completionTokens: answer.completionTokens, cachedTokens: answer.cachedTokens },
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
