import { parseDuration, type QueryConfig } from '@vigil/config';
import { ASK_SUBJECT, type AskReply, type Finding } from '@vigil/contracts';
import type { Control } from '@vigil/control';
import type { AskJob } from './asker.ts';
import type { WindowPlanner } from './planner.ts';
import { estimateTokens } from './asker.ts';

/** Above every severity: an operator is waiting. */
export const ASK_PRIORITY = 10;
const DEFAULT_WINDOW_MS = 8000;

/**
 * Serves `vigil.ask` (contract in @vigil/contracts ask.ts: `{v: 1, cameraId, question,
 * windowMs}`; `{camera, question, window: "8s"}` is accepted too): the camera's most
 * recent video is asked the question ahead of the standing queries, and the reply carries
 * the finding. A request that cannot be answered throws: the requester gets a RemoteError.
 */
export function serveAskNow(
  control: Control,
  planner: WindowPlanner,
  opts: { bufferMs: number; profile: string; ask(job: AskJob, priority: number): Promise<Finding> },
): () => void {
  return control.respond(ASK_SUBJECT, async (data): Promise<AskReply> => {
    const req = (data ?? {}) as { cameraId?: unknown; camera?: unknown; question?: unknown; windowMs?: unknown; window?: unknown };
    const cameraId = req.cameraId ?? req.camera;
    if (typeof cameraId !== 'string' || typeof req.question !== 'string' || req.question.trim() === '') {
      throw new Error('expected {v: 1, cameraId, question, windowMs}');
    }
    const w = req.windowMs ?? req.window;
    const windowMs = typeof w === 'number' ? w : typeof w === 'string' ? parseDuration(w) : DEFAULT_WINDOW_MS;
    if (!(windowMs >= 1000 && windowMs <= opts.bufferMs)) throw new Error(`window must be between 1s and ${opts.bufferMs / 1000}s`);
    const camera = planner.camera(cameraId);
    const ring = planner.ring(cameraId);
    if (!camera || !ring) throw new Error(`unknown camera "${cameraId}"`);
    const latest = ring.latest();
    const frames = latest === undefined ? [] : ring.between(latest - windowMs, latest + 1);
    if (latest === undefined || frames.length < 2) throw new Error(`no recent video from camera "${cameraId}"`);
    const query: QueryConfig = {
      id: 'ask',
      cameras: [camera.id],
      question: req.question,
      windowMs,
      everyMs: windowMs,
      alertWhen: /(?!)/,
      alert: { kind: 'regex', pattern: /(?!)/ },
      severity: 'critical',
      cooldownMs: 0,
      trigger: { type: 'always' },
      model: { sampling: {} },
    };
    const job: AskJob = {
      cameraId: camera.id,
      site: camera.site,
      query,
      question: req.question,
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
