import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_FRAMES_PER_WINDOW, queryVersion } from '@vigil/config';
import { MAX_EVIDENCE_FRAMES, parseFinding, type Frame } from '@vigil/contracts';
import type { ModelAnswer } from '@vigil/model';
import { buildFinding, buildTriggerFinding, type AskJob } from '../../services/infer/src/asker.ts';
import { configFromYaml } from '../helpers/env.ts';

const config = (query: string, cameraName = 'Dock one') =>
  configFromYaml(`model: { endpoints: [] }
cameras:
  - { id: dock-1, name: "${cameraName}", url: "rtsp://10.0.0.21/s1" }
queries:
  - { id: forklift, cameras: [dock-1], ${query} }
`);
const version = (query: string, cameraName?: string) => queryVersion(config(query, cameraName).queries[0]!);
const BASE = 'question: "Is a forklift near {camera}?", window: 4s, every: 2s';

test('query version: a short stable hash of what is asked, not of where or who', () => {
  const v = version(BASE);
  assert.match(v, /^[0-9a-f]{12}$/);
  assert.equal(version(BASE), v, 'the same query gives the same version');
  assert.equal(version(BASE, 'Dock 1 (north)'), v, "renaming a camera is not a change to the question, even when {camera} is in it");
  assert.equal(version(`${BASE}, severity: medium, cooldown: 60s`), v, 'defaults written out are the same query');
  const changes = [
    'question: "Is a forklift near a person?", window: 4s, every: 2s',
    'question: "Is a forklift near {camera}?", window: 6s, every: 2s',
    'question: "Is a forklift near {camera}?", window: 4s, every: 3s',
    `${BASE}, trigger: motion`,
    `${BASE}, alert_when: "^\\\\s*yes\\\\b"`,
    `${BASE}, alert_when: { answer: "yes" }`,
    `${BASE}, severity: high`,
    `${BASE}, cooldown: 30s`,
    `${BASE}, model: { max_tokens: 256 }`,
    `${BASE}, schedule: { timezone: UTC, days: [mon], hours: ["08:00-17:00"] }`,
  ];
  const seen = new Set([v]);
  for (const q of changes) {
    const w = version(q);
    assert.ok(!seen.has(w), `${q} must change the version`);
    seen.add(w);
  }
});

test('evidence is bounded by the longest window a query may ask about', () => {
  assert.equal(MAX_EVIDENCE_FRAMES, MAX_FRAMES_PER_WINDOW);
});

test("infer's findings (answered, failed, trigger) pass the Finding schema alerts checks them with", () => {
  const query = config(`${BASE}, trigger: motion`).queries[0]!;
  const t0 = Date.parse('2026-03-01T08:00:00Z');
  const jpeg = Buffer.from([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]);
  const frames: Frame[] = Array.from({ length: MAX_FRAMES_PER_WINDOW }, (_, i) => ({ capturedAt: t0 + i * 250, streamTime: i / 4, jpeg }));
  const job: AskJob = { cameraId: 'dock-1', query, question: 'Is a forklift near Dock one?', start: t0, end: t0 + 4000, frames, fps: 4, estimatedTokens: 100 };
  const answer = (over: Partial<ModelAnswer>): ModelAnswer => ({
    profile: 'cosmos-reason1', status: 'ok', answer: 'Yes.', reasoning: 'r'.repeat(200_000), raw: 'x', modelId: 'm', endpoint: 'http://user:pw@model:8000',
    promptTokens: 5000, completionTokens: 100, latencyMs: 812.4, mentionedTimes: [t0 + 500], ...over,
  });
  const findings = [
    buildFinding(job, answer({})),
    buildFinding(job, answer({ status: 'error', answer: '', error: 'e'.repeat(50_000) })),
    buildFinding(job, answer({ status: 'truncated', answer: 'y'.repeat(100_000) })),
    buildTriggerFinding({ ...job, trigger: { type: 'motion', detail: 'motion in 12% of the frame' } }),
  ];
  for (const f of findings) {
    const r = parseFinding(Buffer.from(JSON.stringify(f)));
    assert.ok(r.ok, r.ok ? '' : r.reason);
    assert.equal(r.value.queryVersion, queryVersion(query), 'the finding carries the version of the query it was asked with');
  }
  assert.equal(findings[0]!.evidenceFrames?.length, MAX_FRAMES_PER_WINDOW, 'a positive window carries all its frames');
});

test('a positive finding of a long window of large frames is cut to fit the findings topic, keeping first and last frame', async () => {
  const { fitEvidence, parseFinding, TOPIC_SETTINGS, Topics } = await import('@vigil/contracts');
  const limit = TOPIC_SETTINGS[Topics.findings].maxMessageBytes! - 256 * 1024;
  const t = Date.UTC(2026, 0, 1);
  const jpeg = Buffer.alloc(90_000, 7).toString('base64'); // 120 KB of base64 a frame: 128 frames are 15 MB
  const f = {
    v: 1, id: 'abc', cameraId: 'cam', queryId: 'q', question: 'q', windowStart: t, windowEnd: t + 32_000, frameCount: 128, status: 'ok', verdict: true,
    answer: 'yes', reasoning: '', rawAnswer: 'yes', model: { id: 'm', profile: 'cosmos-reason1', endpoint: '' }, usage: { promptTokens: 1, completionTokens: 1 },
    latencyMs: 1, mentionedTimes: [], evidence: [], createdAt: t,
    evidenceFrames: Array.from({ length: 128 }, (_, i) => ({ capturedAt: t + i * 250, streamTime: i / 4, jpeg })),
  };
  const out = fitEvidence(f, limit);
  assert.ok(Buffer.byteLength(JSON.stringify(out)) <= limit, 'fits the topic');
  assert.ok(out.evidenceEvery && out.evidenceEvery >= 2);
  assert.equal(out.evidenceFrames![0]!.capturedAt, t);
  assert.equal(out.evidenceFrames!.at(-1)!.capturedAt, t + 127 * 250);
  assert.ok(parseFinding(JSON.stringify(out)).ok);
  assert.equal(fitEvidence({ ...f, evidenceFrames: f.evidenceFrames.slice(0, 4) }, limit).evidenceEvery, undefined, 'a finding that fits is left alone');
});

test('a finding may say how many prompt tokens the prefix cache served; older findings without it stay valid', () => {
  const t = Date.UTC(2026, 0, 1);
  const f = (usage: unknown) => ({
    v: 1, id: 'abc', cameraId: 'cam', queryId: 'q', question: 'q', windowStart: t, windowEnd: t + 8000, frameCount: 32, status: 'ok', verdict: false,
    answer: 'no', reasoning: '', rawAnswer: 'no', model: { id: 'm', profile: 'cosmos-reason1', endpoint: '' }, usage,
    latencyMs: 1, mentionedTimes: [], evidence: [], createdAt: t,
  });
  assert.ok(parseFinding(JSON.stringify(f({ promptTokens: 5000, completionTokens: 10 }))).ok, 'without cachedTokens');
  const withCache = parseFinding(JSON.stringify(f({ promptTokens: 5000, completionTokens: 10, cachedTokens: 4800 })));
  assert.ok(withCache.ok && withCache.value.usage.cachedTokens === 4800);
  for (const bad of [-1, 1.5, '4800', 1e9, 5001]) {
    const r = parseFinding(JSON.stringify(f({ promptTokens: 5000, completionTokens: 10, cachedTokens: bad })));
    assert.ok(!r.ok && /usage\.cachedTokens/.test(r.reason), `cachedTokens ${JSON.stringify(bad)} is refused`);
  }
});
