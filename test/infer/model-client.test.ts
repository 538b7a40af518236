import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointPool, ModelClient, PROFILES, mapMentionedTimes, parseReasoningAnswer, readCompletion, serializeBody, type ProfileName, type Splice, type WindowFrame } from '@vigil/model';
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

// ---------------------------------------------------------------------------------------------
// prefix caching: question last, cached tokens read from the reply

/** One profile's request for `question` about `frames`: its messages as serialised, and the final part. */
function serialised(profile: ProfileName, question: string, over: { maxTokens?: number; temperature?: number } = {}) {
  const splices: Splice[] = [];
  const body = PROFILES[profile].buildBody('nvidia/cosmos-reason1-7b', { question, frames, fps: 4, label: 'l', sampling: { temperature: over.temperature } }, over.maxTokens ?? 4096, splices);
  const messages = body.messages as { role: string; content: string | { type: string; text?: string }[] }[];
  const last = messages.at(-1)!.content;
  assert.ok(Array.isArray(last), `${profile}: the last message has parts`);
  const final = last.at(-1)!;
  // The messages only: sampling and max_tokens are not part of the prompt.
  const bytes = Buffer.concat(serializeBody({ messages }, splices));
  const at = bytes.lastIndexOf(JSON.stringify(final));
  assert.ok(at > 0, `${profile}: the final part is found in the serialised body`);
  return { body, final, prefix: bytes.subarray(0, at) };
}

test('every profile sends system prompt, media, then the question last: two questions about the same frames share every byte before it', () => {
  const frameBase64 = red.toString('base64');
  for (const profile of Object.keys(PROFILES) as ProfileName[]) {
    const a = serialised(profile, 'Is there a red object in view?');
    const b = serialised(profile, 'Is a forklift at the dock?\nAnswer yes or no first.', { maxTokens: 256, temperature: 0 });
    assert.equal(a.final.type, 'text', profile);
    assert.ok(a.final.text!.startsWith('Is there a red object in view?'), `${profile}: the final part is the question`);
    assert.ok(b.final.text!.startsWith('Is a forklift at the dock?'), profile);
    assert.ok(a.prefix.equals(b.prefix), `${profile}: everything before the question is byte-identical`);
    assert.ok(a.prefix.includes(frameBase64), `${profile}: the frames come before the question`);
    assert.ok(!a.prefix.includes('red object') && !b.prefix.includes('forklift'), `${profile}: nothing of the question precedes the media`);
    // Request fields the server's processor reads with the media are the same too.
    assert.deepEqual(a.body.mm_processor_kwargs, b.body.mm_processor_kwargs, profile);
  }
});

test('against a server with a prefix cache, the second question about a window hits it, for every profile', async () => {
  const setups: [ProfileName, Parameters<typeof startModelServer>[0]][] = [
    ['cosmos-reason1', { profile: 'cosmos-reason1' }],
    ['cosmos-reason2', { profile: 'cosmos-reason2', reasoningParser: true }],
    ['openai-frames', { profile: 'openai-frames', modelId: 'llava' }],
  ];
  for (const [profile, opts] of setups) {
    await withServer(opts, async (s) => {
      const c = client([s.url], { profile });
      const first = await ask(c);
      const second = await ask(c, { question: 'Is anything moving?' });
      assert.equal(first.status, 'ok', first.error);
      assert.equal(second.status, 'ok', second.error);
      assert.equal(first.cachedTokens, 0, `${profile}: the first question fills the cache`);
      assert.ok(second.cachedTokens! > 0 && second.cachedTokens! < second.promptTokens, `${profile}: ${second.cachedTokens} of ${second.promptTokens}`);
      assert.deepEqual(s.requests.map((r) => r.cached), [false, true], profile);
    });
  }
  // A server that does not report cached tokens: 0; a request that got no reply: absent.
  await withServer({ prefixCache: false }, async (s) => {
    const c = client([s.url]);
    await ask(c);
    assert.equal((await ask(c)).cachedTokens, 0);
  });
  await withServer({ behavior: { failNext: 100 } }, async (s) => {
    assert.equal((await ask(client([s.url], { attempts: 1 }))).cachedTokens, undefined);
  });
});

test('cached tokens from a hostile reply: not a number reads as not reported, numbers are clamped to [0, prompt_tokens]', () => {
  const reply = (usage: unknown) => readCompletion(JSON.parse(`{"choices":[{"message":{"content":"x"}}],"usage":${JSON.stringify(usage)}}`));
  const cached = (usage: unknown) => reply(usage).cachedTokens;
  assert.equal(cached({ prompt_tokens: 100, prompt_tokens_details: { cached_tokens: 64 } }), 64);
  assert.equal(cached({ prompt_tokens: 100, prompt_tokens_details: { cached_tokens: 0 } }), 0);
  assert.equal(cached({ prompt_tokens: 100 }), undefined, 'absent');
  assert.equal(cached({ prompt_tokens: 100, prompt_tokens_details: null }), undefined, 'null (vLLM without --enable-prompt-tokens-details)');
  assert.equal(cached({ prompt_tokens: 100, prompt_tokens_details: {} }), undefined);
  assert.equal(cached({ prompt_tokens: 100, prompt_tokens_details: [64] }), undefined);
  assert.equal(cached({ prompt_tokens: 100, prompt_tokens_details: 'lots' }), undefined);
  assert.equal(cached({ prompt_tokens: 100, prompt_tokens_details: { cached_tokens: '64' } }), undefined);
  assert.equal(cached({ prompt_tokens: 100, prompt_tokens_details: { cached_tokens: null } }), undefined);
  assert.equal(cached({ prompt_tokens: 100, prompt_tokens_details: { cached_tokens: -5 } }), 0);
  assert.equal(cached({ prompt_tokens: 100, prompt_tokens_details: { cached_tokens: 5000 } }), 100, 'never more than the prompt');
  assert.equal(cached({ prompt_tokens: 100, prompt_tokens_details: { cached_tokens: 63.9 } }), 63);
  assert.equal(cached({ prompt_tokens: 'many', prompt_tokens_details: { cached_tokens: 64 } }), 0, 'a prompt of unknown size: nothing counted');
  // JSON numbers too large for a double parse as Infinity.
  const huge = readCompletion(JSON.parse('{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":100,"prompt_tokens_details":{"cached_tokens":1e400}}}'));
  assert.equal(huge.cachedTokens, 100);
  const negHuge = readCompletion(JSON.parse('{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":100,"prompt_tokens_details":{"cached_tokens":-1e400}}}'));
  assert.equal(negHuge.cachedTokens, 0);
});
