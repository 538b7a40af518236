import { parseDuration, type QueryConfig } from '@vigil/config';
import { ASK_SUBJECT, parseAskRequest, type AskReply, type Finding } from '@vigil/contracts';
import type { Control } from '@vigil/control';
import type { AskJob } from './asker.ts';
import type { WindowPlanner } from './planner.ts';
import { estimateTokens } from '@vigil/model';

/** Above every severity: an operator is waiting. */
export const ASK_PRIORITY = 10;

/**
 * Serves `vigil.ask` (AskRequestSchema in @vigil/contracts: `{v: 1, cameraId, question,
 * windowMs}`; the unversioned `{camera, question, window: "8s"}` is accepted too): the
 * camera's most recent video is asked the question ahead of the standing queries, and the
 * reply carries the finding. A request that is invalid or cannot be answered throws: the
 * requester gets a RemoteError with the reason.
 */
export function serveAskNow(
  control: Control,
  planner: WindowPlanner,
  opts: { bufferMs: number; profile: string; ask(job: AskJob, priority: number): Promise<Finding> },
): () => void {
  return control.respond(ASK_SUBJECT, async (data): Promise<AskReply> => {
    const parsed = parseAskRequest(fromUnversioned(data));
    if (!parsed.ok) throw new Error(parsed.reason);
    const { cameraId, question, windowMs } = parsed.value;
    if (windowMs > opts.bufferMs) throw new Error(`window must be between 1s and ${opts.bufferMs / 1000}s`);
    const camera = planner.camera(cameraId);
    const ring = planner.ring(cameraId);
    if (!camera || !ring) throw new Error(`unknown camera "${cameraId}"`);
    const frames = await planner.recent(cameraId, windowMs);
    const latest = frames[frames.length - 1]?.capturedAt;
    if (latest === undefined || frames.length < 2) throw new Error(`no recent video from camera "${cameraId}"`);
    const query: QueryConfig = {
      id: 'ask',
      cameras: [camera.id],
      question,
      windowMs,
      everyMs: windowMs,
      alertWhen: /(?!)/,
      alert: { kind: 'regex', pattern: /(?!)/ },
      severity: 'critical',
      cooldownMs: 0,
      trigger: { type: 'always' },
      zoneView: 'name',
      model: { sampling: {} },
    };
    const job: AskJob = {
      cameraId: camera.id,
      site: camera.site,
      query,
      question,
      start: frames[0]!.capturedAt,
      end: latest,
      frames,
      fps: ring.fps,
      estimatedTokens: estimateTokens(frames.length, ring.width, ring.height, opts.profile),
    };
    const f = await opts.ask(job, ASK_PRIORITY);
    if (f.status !== 'ok') throw new Error(f.error ?? `the model's answer was ${f.status}`);
    return {
      v: 1,
      cameraId: f.cameraId,
      question: f.question,
      answer: f.answer,
      reasoning: f.reasoning,
      windowStart: f.windowStart,
      windowEnd: f.windowEnd,
      model: f.model.id,
      latencyMs: f.latencyMs,
      finding: f,
    };
  });
}

/** The request as first written, `{camera, question, window: "8s"}`, in the v1 shape. */
function fromUnversioned(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || 'v' in data || !('camera' in data)) return data;
  const { camera, question, window } = data as { camera?: unknown; question?: unknown; window?: unknown };
  let windowMs = window;
  if (typeof window === 'string') {
    try {
      windowMs = parseDuration(window);
    } catch {
      windowMs = window; // the schema names it
    }
  }
  return { v: 1, cameraId: camera, question, windowMs };
}
