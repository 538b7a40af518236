import { findingId, type Finding } from '@vigil/contracts';
import type { FindingPolicy } from '@vigil/store';

export const T0 = Date.parse('2026-03-01T08:00:00Z');

/** A positive finding of window `i` (2 s grid, 3.75 s long) on a camera. */
export function finding(camera: string, i: number, answer = 'Yes, a forklift passes within a metre of a worker.', opts: Partial<Finding> = {}): Finding {
  const start = (opts.windowStart ?? T0) + i * 2000;
  const query = opts.queryId ?? 'forklift';
  return {
    v: 1,
    id: findingId(camera, query, start),
    cameraId: camera,
    queryId: query,
    question: 'Is a forklift moving near a person on foot?',
    windowStart: start,
    windowEnd: start + 3750,
    frameCount: 16,
    status: 'ok',
    verdict: true,
    answer,
    reasoning: 'I looked at every frame and saw the forklift approach the worker.',
    rawAnswer: '',
    model: { id: 'nvidia/cosmos-reason1-7b', profile: 'cosmos-reason1', endpoint: 'http://x' },
    usage: { promptTokens: 4800, completionTokens: 200 },
    latencyMs: 900,
    mentionedTimes: [],
    evidence: [],
    createdAt: Date.now(),
    ...opts,
    ...(opts.windowStart !== undefined ? { windowStart: start, windowEnd: start + 3750, id: findingId(camera, query, start) } : {}),
  };
}

export const policy = (over: Partial<FindingPolicy> = {}): FindingPolicy => ({
  severity: 'high',
  cooldownMs: 10_000,
  webhooks: { open: [], update: [], close: [] },
  ...over,
});
