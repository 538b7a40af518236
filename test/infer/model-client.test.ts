import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointPool, ModelClient, mapMentionedTimes, parseReasoningAnswer, type WindowFrame } from '@vigil/model';
import { startModelServer, type ModelServer } from '../fixtures/model-server.ts';
import { freePort } from '../helpers/env.ts';
import { makeJpeg } from './helpers.ts';

const red = makeJpeg({ red: true, box: { x: 0.3, y: 0.3 } });
const frames: WindowFrame[] = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ jpeg: red, capturedAt: 1_000_000 + i * 250, streamTime: 100 + i * 0.25 }));
const ask = (c: ModelClient, extra = {}) => c.ask({ question: 'Is there a red object in view?', frames, fps: 4, label: 'cam/q@t', ...extra });
const client = (endpoints: string[], extra = {}) => new ModelClient({ endpoints, profile: 'cosmos-reason1', timeoutMs: 2000, maxTokens: 4096, breaker: { cooldownMs: 200 }, ...extra });

async function withServer(opts: Parameters<typeof startModelServer>[0], fn: (s: ModelServer) => Promise<void>): Promise<void> {
  const s = await startModelServer(opts);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

test('each profile builds a request its server accepts, and reads the answer', async () => {
  await withServer({ profile: 'cosmos-reason1' }, async (s) => {
    const a = await ask(client([s.url]));
    assert.equal(a.status, 'ok', a.error);
    assert.equal(a.profile, 'cosmos-reason1');
    assert.match(a.answer, /^Yes/);
    assert.ok(a.reasoning.length > 0 && a.promptTokens > 0);
  });
  await withServer({ profile: 'cosmos-reason2', reasoningParser: true }, async (s) => {
    const a = await ask(client([s.url], { profile: 'cosmos-reason2' }));
    assert.equal(a.status, 'ok', a.error);
    assert.match(a.answer, /^Yes/);
    assert.ok(a.reasoning.length > 0, 'reasoning read from reasoning_content');
  });
  await withServer({ profile: 'openai-frames', modelId: 'llava' }, async (s) => {
    // Per-request profile override, sampling override.
    const a = await ask(client([s.url]), { profile: 'openai-frames', sampling: { temperature: 0 } });
    assert.equal(a.status, 'ok', a.error);
    assert.equal(a.profile, 'openai-frames');
    assert.match(a.answer, /Yes/);
    assert.equal(s.requests[0]!.frames, 8);
  });
});

test('500s then success: retried, answered', async () => {
  await withServer({ behavior: { failNext: 2 } }, async (s) => {
    const a = await ask(client([s.url]));
    assert.equal(a.status, 'ok', a.error);
    assert.deepEqual(s.requests.map((r) => r.status), [500, 500, 200]);
  });
});

test('a timeout is retried; a model that keeps failing gives an error naming the request', async () => {
  await withServer({ behavior: { hangNext: 1 } }, async (s) => {
    const a = await ask(client([s.url], { timeoutMs: 300 }));
    assert.equal(a.status, 'ok', a.error);
    assert.equal(s.requests.length, 2);
  });
  await withServer({ behavior: { failNext: 100 } }, async (s) => {
    const a = await ask(client([s.url], { attempts: 2 }));
    assert.equal(a.status, 'error');
    assert.match(a.error!, /^asking cam\/q@t failed: .*answered 500/);
  });
});

test('a truncated answer is truncated, garbage is an error — never a guess', async () => {
  await withServer({ behavior: { truncateNext: 1, garbageNext: 1 } }, async (s) => {
    const c = client([s.url]);
    const t = await ask(c);
    assert.equal(t.status, 'truncated');
    assert.equal(t.answer, '');
    const g = await ask(c);
    assert.equal(g.status, 'error');
    assert.match(g.error!, /no <answer> tag/);
  });
});

test('all endpoints down then one back: errors while down, circuits open, then answers again', async () => {
  const a = await startModelServer({ behavior: { down: true } });
  const b = await startModelServer({ behavior: { down: true } });
  try {
    const c = client([a.url, b.url], { attempts: 2 });
    const down = await ask(c);
    assert.equal(down.status, 'error');
    assert.match(down.error!, new RegExp(`${b.url}: GET /v1/models answered 503`));
    assert.ok(c.pool.endpoints.every((e) => c.pool.isOpen(e) || e.failures > 0));
    b.setBehavior({ down: false });
    await new Promise((r) => setTimeout(r, 450)); // past the cool-down: half-open
    const back = await ask(c);
    assert.equal(back.status, 'ok', back.error);
    assert.equal(back.endpoint, b.url);
    assert.equal(c.pool.endpoints.find((e) => e.url === b.url)!.failures, 0);
  } finally {
    await a.close();
    await b.close();
  }
});

test('endpoint pool: per-endpoint in-flight limits, least loaded first, circuit breaker with half-open probe', () => {
  let now = 0;
  const pool = new EndpointPool([{ url: 'a', maxInFlight: 2 }, { url: 'b', maxInFlight: 1 }], { failureThreshold: 2, cooldownMs: 100, now: () => now });
  const got = [pool.acquire(), pool.acquire(), pool.acquire(), pool.acquire()].map((e) => e?.url);
  assert.deepEqual(got, ['a', 'b', 'a', undefined]);
  for (const e of pool.endpoints) while (e.inFlight) pool.release(e);
  pool.failed('a');
  pool.failed('a');
  assert.equal(pool.isOpen(pool.endpoints[0]!), true);
  assert.deepEqual([pool.acquire()?.url, pool.acquire()?.url], ['b', undefined], 'open circuit takes no work');
  assert.deepEqual(pool.order('b').map((e) => e.url), ['b', 'a']);
  now += 150; // cool-down over: one probe
  assert.equal(pool.acquire()?.url, 'a');
  assert.equal(pool.acquire(), undefined, 'half-open: only one probe at a time');
  pool.succeeded('a');
  assert.equal(pool.acquire()?.url, 'a', 'closed again');
});

test('an unreachable endpoint fails over to the next', async () => {
  const dead = `http://127.0.0.1:${await freePort()}`;
  await withServer({}, async (s) => {
    const a = await ask(client([dead, s.url]));
    assert.equal(a.status, 'ok', a.error);
    assert.equal(a.endpoint, s.url);
  });
});

test('answers are parsed per format; band times map back to capture time', () => {
  assert.deepEqual(parseReasoningAnswer('<think>\nA red box.\n</think>\n\n<answer>\nYes.\n</answer>', { answerTag: true }), { status: 'ok', reasoning: 'A red box.', answer: 'Yes.' });
  assert.equal(parseReasoningAnswer('<think>\nI see a forklift and', { answerTag: true }).status, 'truncated');
  assert.equal(parseReasoningAnswer('<think>x</think><answer>Yes</answer>', { answerTag: true, finishReason: 'length' }).status, 'truncated');
  assert.deepEqual(parseReasoningAnswer('Yes.', { answerTag: false, reasoningContent: 'because' }), { status: 'ok', reasoning: 'because', answer: 'Yes.' });
  assert.deepEqual(mapMentionedTimes('from 100.25s to 100.75s, not 3.00s', frames), [1_000_250, 1_000_750]);
});
