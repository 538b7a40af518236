/**
 * Tests for the fake Cosmos-Reason model server fixture.
 * Run: node --import tsx --test test/model-server.test.ts
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from 'jpeg-js';
import { startModelServer, REASON1_FORMAT, REASON2_FORMAT } from './fixtures/model-server.ts';
import type { ModelServer, ModelServerOptions } from './fixtures/model-server.ts';

// ---------------------------------------------------------------------------------------------
// frames

const W = 64;
const H = 64;
const BAND = 28;

function frame(opts: { red?: boolean; redInBand?: boolean; band?: boolean; grey?: number } = {}): string {
  const band = opts.band ?? true;
  const h = H + (band ? BAND : 0);
  const data = Buffer.alloc(W * h * 4);
  const grey = opts.grey ?? 128;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 4;
      let rgb: [number, number, number] = [grey, grey, grey];
      if (band && y >= H) {
        // black timestamp band with a white "label" block
        rgb = x >= 4 && x < 30 && y >= H + 6 && y < H + 22 ? [255, 255, 255] : [0, 0, 0];
        if (opts.redInBand && x >= 36 && x < 60) rgb = [230, 20, 20];
      } else if (opts.red && x >= 20 && x < 36 && y >= 20 && y < 36) {
        rgb = [230, 20, 20];
      }
      data[i] = rgb[0];
      data[i + 1] = rgb[1];
      data[i + 2] = rgb[2];
      data[i + 3] = 255;
    }
  }
  return encode({ width: W, height: h, data }, 90).data.toString('base64');
}

const GREY = frame();
const RED = frame({ red: true });
const RED_BAND_ONLY = frame({ redInBand: true });
const GREY_NOBAND = frame({ band: false });
const RED_NOBAND = frame({ red: true, band: false });

/** 16 frames (4 s at 4 fps) with red in frames [from, to] inclusive. */
function clip(from: number, to: number, red = RED, grey = GREY, n = 16): string[] {
  return Array.from({ length: n }, (_, i) => (i >= from && i <= to ? red : grey));
}

const videoUrl = (frames: string[]) => `data:video/jpeg;base64,${frames.join(',')}`;

const RED_Q = 'The timestamp is embedded at the bottom of each frame. Is there a red object in view? When?';

function reason1Body(frames: string[], over: Record<string, unknown> = {}, question = RED_Q) {
  return {
    model: 'nvidia/cosmos-reason1-7b',
    messages: [
      { role: 'system', content: `You are a helpful video analyst. ${REASON1_FORMAT}` },
      {
        role: 'user',
        content: [
          { type: 'text', text: question },
          { type: 'video_url', video_url: { url: videoUrl(frames) } },
        ],
      },
    ],
    max_tokens: 4096,
    temperature: 0.6,
    top_p: 0.95,
    mm_processor_kwargs: { videos_kwargs: { max_pixels: 6422528 } },
    ...over,
  };
}

function reason2Body(frames: string[], model: string, over: Record<string, unknown> = {}) {
  return {
    model,
    messages: [
      { role: 'system', content: 'You are a helpful assistant.' },
      {
        role: 'user',
        content: [
          { type: 'video_url', video_url: { url: videoUrl(frames) } },
          { type: 'text', text: `Is there a red object in view? When?\n${REASON2_FORMAT}` },
        ],
      },
    ],
    max_tokens: 4096,
    temperature: 0.6,
    top_p: 0.95,
    mm_processor_kwargs: { fps: 4, do_sample_frames: true },
    ...over,
  };
}

function framesBody(frames: string[], model: string) {
  return {
    model,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'These frames are 0.25 s apart. Is there a red object in view? When?' },
          ...frames.map((f) => ({ type: 'image_url', image_url: { url: `data:image/jpeg;base64,${f}` } })),
        ],
      },
    ],
    max_tokens: 512,
  };
}

// ---------------------------------------------------------------------------------------------
// http helpers

interface Resp {
  status: number;
  json: any;
}

async function post(s: ModelServer, body: unknown, init: { raw?: string; signal?: AbortSignal } = {}): Promise<Resp> {
  const res = await fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: init.raw ?? JSON.stringify(body),
    signal: init.signal,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function get(s: ModelServer, path: string): Promise<Resp> {
  const res = await fetch(`${s.url}${path}`);
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

function parseReason1(content: string): { think: string; answer: string } {
  const m = /^<think>\n([\s\S]*)\n<\/think>\n\n<answer>\n([\s\S]*)\n<\/answer>$/.exec(content);
  assert.ok(m, `unparseable content: ${content}`);
  return { think: m[1]!, answer: m[2]! };
}

function assertError(r: Resp, status: number, re?: RegExp) {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.equal(r.json.object, 'error');
  assert.equal(r.json.code, status);
  assert.equal(typeof r.json.type, 'string');
  assert.ok('param' in r.json);
  if (re) assert.match(r.json.message, re);
}

// ---------------------------------------------------------------------------------------------
// reason1 (default profile)

let s1: ModelServer;
before(async () => {
  s1 = await startModelServer({ port: 0 });
});
after(async () => {
  await s1.close();
});
const reset = () =>
  s1.setBehavior({ latencyMs: 0, failNext: 0, hangNext: 0, truncateNext: 0, garbageNext: 0, down: false, maxInFlight: Infinity });

test('lists the served model and answers health probes', async () => {
  const m = await get(s1, '/v1/models');
  assert.equal(m.status, 200);
  assert.equal(m.json.object, 'list');
  assert.equal(m.json.data[0].id, 'nvidia/cosmos-reason1-7b');
  assert.equal(m.json.data[0].object, 'model');
  assert.equal(m.json.data[0].owned_by, 'nvidia');
  assert.deepEqual((await get(s1, '/v1/health/ready')).json, { object: 'health.response', message: 'Service is ready.' });
  assert.deepEqual((await get(s1, '/v1/health/live')).json, { object: 'health.response', message: 'Service is live.' });
  const h = await get(s1, '/health');
  assert.equal(h.status, 200);
  assert.equal(h.json, null);
  assert.equal((await get(s1, '/v1/nope')).status, 404);
});

test('reason1: sees a red object and names the right times', async () => {
  reset();
  const r = await post(s1, reason1Body(clip(5, 12)));
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.object, 'chat.completion');
  assert.match(r.json.id, /^chatcmpl-/);
  assert.equal(r.json.model, 'nvidia/cosmos-reason1-7b');
  const choice = r.json.choices[0];
  assert.equal(choice.index, 0);
  assert.equal(choice.finish_reason, 'stop');
  assert.equal(choice.message.role, 'assistant');
  assert.equal(choice.message.reasoning_content, null);
  const { think, answer } = parseReason1(choice.message.content);
  assert.match(answer, /^Yes/);
  assert.match(answer, /from 1\.25s to 3\.00s/);
  assert.match(think, /from 1\.25s to 3\.00s/);
  // usage: ceil(16/2) * ceil(92/28) * ceil(64/28) = 8*4*3 = 96 vision tokens + text
  assert.ok(r.json.usage.prompt_tokens > 96 && r.json.usage.prompt_tokens < 200, String(r.json.usage.prompt_tokens));
  assert.ok(r.json.usage.completion_tokens > 10);
  assert.equal(r.json.usage.total_tokens, r.json.usage.prompt_tokens + r.json.usage.completion_tokens);
  const rec = s1.requests[s1.requests.length - 1]!;
  assert.equal(rec.status, 200);
  assert.equal(rec.frames, 16);
  assert.equal(rec.width, 64);
  assert.equal(rec.height, 92);
  assert.equal(rec.maxTokens, 4096);
  assert.equal(rec.profile, 'cosmos-reason1');
  assert.match(rec.question, /red object/);
  assert.equal(rec.answer, choice.message.content);
});

test('reason1: several separate sightings, single-frame sighting', async () => {
  reset();
  const frames = clip(0, 1);
  frames[9] = RED;
  const r = await post(s1, reason1Body(frames));
  const { answer } = parseReason1(r.json.choices[0].message.content);
  assert.equal(answer, 'Yes, a red object is in view from 0.00s to 0.25s and at 2.25s.');
});

test('reason1: no red → No; red only inside the timestamp band is ignored', async () => {
  reset();
  const none = parseReason1((await post(s1, reason1Body(clip(-1, -1)))).json.choices[0].message.content);
  assert.match(none.answer, /^No/);
  const band = parseReason1((await post(s1, reason1Body(clip(0, 15, RED_BAND_ONLY)))).json.choices[0].message.content);
  assert.equal(band.answer, 'No, there is no red object in view.');
});

test('reason1: a question not about red gets "No." and a generic description', async () => {
  reset();
  const r = await post(s1, reason1Body(clip(3, 4), {}, 'Is anyone climbing the fence?'));
  const { think, answer } = parseReason1(r.json.choices[0].message.content);
  assert.equal(answer, 'No.');
  assert.match(think, /brightness/);
});

test('rejects bad requests like vLLM/NIM', async () => {
  reset();
  const seenBefore = s1.requests.length;
  assertError(await post(s1, null, { raw: '{not json' }), 400);
  const noModel: Record<string, unknown> = reason1Body(clip(1, 2));
  delete noModel.model;
  assertError(await post(s1, noModel), 400);
  assertError(await post(s1, reason1Body(clip(1, 2), { model: 'nvidia/other' })), 404, /The model `nvidia\/other` does not exist\./);
  assertError(await post(s1, reason1Body(clip(1, 2), { messages: [] })), 400);
  assertError(await post(s1, reason1Body(clip(1, 2), { messages: [{ role: 'user' }] })), 400);
  // reasoning format missing (or with escaped instead of real newlines)
  const noFormat = reason1Body(clip(1, 2));
  noFormat.messages[0] = { role: 'system', content: 'You are a helpful assistant.' };
  assertError(await post(s1, noFormat), 400, /missing reasoning format/);
  const escaped = reason1Body(clip(1, 2));
  escaped.messages[0] = { role: 'system', content: REASON1_FORMAT.replace(/\n/g, '\\n') };
  assertError(await post(s1, escaped), 400, /missing reasoning format/);
  // frames
  const corrupt = clip(1, 2);
  corrupt[3] = 'not*base64!!';
  assertError(await post(s1, reason1Body(corrupt)), 400, /frame 3/);
  const notJpeg = clip(1, 2);
  notJpeg[4] = Buffer.from('hello, this is not a jpeg').toString('base64');
  assertError(await post(s1, reason1Body(notJpeg)), 400, /frame 4/);
  const truncated = clip(1, 2);
  truncated[5] = GREY.slice(0, 200);
  assertError(await post(s1, reason1Body(truncated)), 400, /frame 5/);
  assertError(await post(s1, reason1Body(clip(0, 0, RED, GREY, 129))), 400, /too many frames/);
  assertError(await post(s1, reason1Body([GREY])), 400, /at least 2 frames/);
  assertError(await post(s1, reason1Body([GREY, GREY_NOBAND])), 400, /same size/);
  // sampling parameters and mm_processor_kwargs
  assertError(await post(s1, reason1Body(clip(1, 2), { max_tokens: 0 })), 400);
  assertError(await post(s1, reason1Body(clip(1, 2), { max_tokens: 1.5 })), 400);
  assertError(await post(s1, reason1Body(clip(1, 2), { max_tokens: 40000 })), 400);
  assertError(await post(s1, reason1Body(clip(1, 2), { temperature: 2.5 })), 400);
  assertError(await post(s1, reason1Body(clip(1, 2), { top_p: 0 })), 400);
  assertError(await post(s1, reason1Body(clip(1, 2), { mm_processor_kwargs: 'fps=4' })), 400);
  // images are not the reason1 shape
  const images = framesBody(clip(1, 2), 'nvidia/cosmos-reason1-7b');
  images.messages.unshift({ role: 'system', content: [{ type: 'text', text: REASON1_FORMAT }] });
  assertError(await post(s1, images), 400);
  const statuses = s1.requests.slice(seenBefore).map((r) => r.status);
  assert.equal(statuses.length, 20);
  assert.equal(statuses.filter((st) => st === 400).length, 19);
  assert.equal(s1.inFlight, 0);
});

test('failNext → 500 then OK', async () => {
  reset();
  s1.setBehavior({ failNext: 1 });
  assertError(await post(s1, reason1Body(clip(5, 12))), 500);
  const ok = await post(s1, reason1Body(clip(5, 12)));
  assert.equal(ok.status, 200);
  const tail = s1.requests.slice(-2).map((r) => r.status);
  assert.deepEqual(tail, [500, 200]);
});

test('truncateNext → unclosed <think> with finish_reason length; small max_tokens cuts too', async () => {
  reset();
  s1.setBehavior({ truncateNext: 1 });
  const r = await post(s1, reason1Body(clip(5, 12)));
  assert.equal(r.status, 200);
  const c = r.json.choices[0];
  assert.equal(c.finish_reason, 'length');
  assert.ok(c.message.content.startsWith('<think>\n'));
  assert.ok(!c.message.content.includes('</think>'));
  assert.ok(!c.message.content.includes('<answer>'));
  const short = await post(s1, reason1Body(clip(5, 12), { max_tokens: 20 }));
  assert.equal(short.json.choices[0].finish_reason, 'length');
  assert.ok(!short.json.choices[0].message.content.includes('</think>'));
  assert.equal(short.json.usage.completion_tokens, 20);
  // back to normal
  parseReason1((await post(s1, reason1Body(clip(5, 12)))).json.choices[0].message.content);
});

test('garbageNext → 200 with no tags', async () => {
  reset();
  s1.setBehavior({ garbageNext: 1 });
  const r = await post(s1, reason1Body(clip(5, 12)));
  assert.equal(r.status, 200);
  assert.doesNotMatch(r.json.choices[0].message.content, /<\/?(think|answer)>/);
});

test('latencyMs delays answers; maxInFlight gives 429 above the limit', async () => {
  reset();
  s1.setBehavior({ latencyMs: 150, maxInFlight: 1 });
  const t0 = Date.now();
  const [a, b] = await Promise.all([post(s1, reason1Body(clip(5, 12))), post(s1, reason1Body(clip(5, 12)))]);
  assert.ok(Date.now() - t0 >= 140);
  assert.deepEqual([a.status, b.status].sort(), [200, 429]);
  assertError(a.status === 429 ? a : b, 429);
  assert.equal(s1.inFlight, 0);
  assert.ok(s1.maxInFlightSeen >= 1);
});

test('down → 503 everywhere, then back up', async () => {
  reset();
  s1.setBehavior({ down: true });
  assert.equal((await get(s1, '/v1/health/ready')).status, 503);
  assert.equal((await get(s1, '/v1/models')).status, 503);
  assert.equal((await get(s1, '/health')).status, 503);
  assertError(await post(s1, reason1Body(clip(5, 12))), 503);
  assert.equal(s1.requests[s1.requests.length - 1]!.status, 503);
  s1.setBehavior({ down: false });
  assert.equal((await get(s1, '/v1/health/ready')).status, 200);
});

test('hangNext: the client aborts, the server still closes fast', async () => {
  const s = await startModelServer({ behavior: { hangNext: 2 } });
  await assert.rejects(post(s, reason1Body(clip(5, 12)), { signal: AbortSignal.timeout(150) }), (e: Error) =>
    ['TimeoutError', 'AbortError'].includes(e.name),
  );
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(s.inFlight, 0);
  assert.equal(s.requests[0]!.status, 0);
  // a second hung request is still pending when the server closes
  const pending = post(s, reason1Body(clip(5, 12))).then(
    () => 'answered',
    () => 'failed',
  );
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(s.inFlight, 1);
  const t0 = Date.now();
  await s.close();
  assert.ok(Date.now() - t0 < 500, `close took ${Date.now() - t0} ms`);
  assert.equal(await pending, 'failed');
});

// ---------------------------------------------------------------------------------------------
// other profiles

test('cosmos-reason2 profile: user-prompt format, plain answer after </think>, reasoning parser', async () => {
  const model = 'nvidia/nvidia/cosmos-reason2-2b';
  const s = await startModelServer({ profile: 'cosmos-reason2', modelId: model });
  const p = await startModelServer({ profile: 'cosmos-reason2', modelId: model, reasoningParser: true });
  try {
    const frames = clip(5, 12, RED_NOBAND, GREY_NOBAND);
    const r = await post(s, reason2Body(frames, model));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const content: string = r.json.choices[0].message.content;
    const m = /^<think>\n([\s\S]*)\n<\/think>\n\n([\s\S]*)$/.exec(content);
    assert.ok(m, content);
    assert.ok(!content.includes('<answer>'));
    assert.equal(m[2], 'Yes, a red object is in view from 1.25s to 3.00s.');
    // 64x64 frames: ceil(16/2) * 3 * 3 = 72 vision tokens
    assert.ok(r.json.usage.prompt_tokens > 72 && r.json.usage.prompt_tokens < 150);
    // fps from mm_processor_kwargs sets the times
    const r2 = await post(s, reason2Body(frames, model, { mm_processor_kwargs: { fps: 2 } }));
    assert.match(r2.json.choices[0].message.content, /from 2\.50s to 6\.00s\.$/);
    // reasoning parser splits it
    const rp = await post(p, reason2Body(frames, model));
    assert.equal(rp.json.choices[0].message.content, 'Yes, a red object is in view from 1.25s to 3.00s.');
    assert.match(rp.json.choices[0].message.reasoning_content, /1\.25s to 3\.00s/);
    // rejects
    assertError(await post(s, reason2Body(frames, model, { mm_processor_kwargs: { fps: '4' } })), 400);
    const r1 = reason1Body(frames, { model });
    assertError(await post(s, r1), 400, /missing reasoning format/);
    const sysOnly = reason2Body(frames, model);
    sysOnly.messages[0] = { role: 'system', content: REASON2_FORMAT };
    (sysOnly.messages[1]!.content as Array<{ type: string; text?: string }>)[1]!.text = 'Is there a red object?';
    assertError(await post(s, sysOnly), 400, /missing reasoning format/);
    assertError(await post(s, reason2Body(frames, 'nvidia/cosmos-reason1-7b')), 404);
  } finally {
    await Promise.all([s.close(), p.close()]);
  }
});

test('openai-frames profile: image_url parts accepted, video_url rejected', async () => {
  const model = 'some/vlm';
  const s = await startModelServer({ profile: 'openai-frames', modelId: model });
  try {
    const frames = clip(2, 3, RED_NOBAND, GREY_NOBAND, 6);
    const r = await post(s, framesBody(frames, model));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.match(r.json.choices[0].message.content, /^Yes, a red object is in view from 0\.50s to 0\.75s\./);
    // images cost frames * ceil(H/28) * ceil(W/28) = 6 * 9 = 54
    assert.ok(r.json.usage.prompt_tokens >= 54 && r.json.usage.prompt_tokens < 120);
    const none = await post(s, framesBody(clip(-1, -1, RED_NOBAND, GREY_NOBAND, 4), model));
    assert.match(none.json.choices[0].message.content, /^No/);
    assertError(await post(s, reason1Body(frames, { model })), 400);
    assertError(await post(s, framesBody([GREY_NOBAND], model)), 400);
    const bad = framesBody(frames, model);
    (bad.messages[0]!.content[2] as { image_url: { url: string } }).image_url.url = 'data:image/jpeg;base64,AAAA';
    assertError(await post(s, bad), 400, /image 1/);
    assert.deepEqual(
      s.requests.map((q) => q.status),
      [200, 200, 400, 400, 400],
    );
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------------------------------------
// prefix cache

const SYSTEM = `You are a helpful assistant. ${REASON1_FORMAT}`;

/** Reason1 as Vigil sends it: system prompt, video, then the question last. */
function questionLast(frames: string[], question: string) {
  return {
    model: 'nvidia/cosmos-reason1-7b',
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: [{ type: 'video_url', video_url: { url: videoUrl(frames) } }, { type: 'text', text: question }] },
    ],
    max_tokens: 4096,
  };
}

/** The fixture's token arithmetic: words × 1.3, rounded up. */
const textTokens = (text: string) => Math.ceil(text.split(/\s+/).filter(Boolean).length * 1.3);
const cachedOf = (r: Resp): unknown => r.json.usage.prompt_tokens_details?.cached_tokens;

test('prefix cache: the same frames with another question hit; other frames, or the question before the video, miss', async () => {
  const s = await startModelServer();
  try {
    const a = clip(5, 12);
    const first = await post(s, questionLast(a, RED_Q));
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.equal(cachedOf(first), 0);
    const second = await post(s, questionLast(a, 'Is anyone climbing the fence?'));
    assert.equal(second.status, 200);
    // The prefix is the system prompt and the video: 8 × 4 × 3 = 96 vision tokens + the system text.
    assert.equal(cachedOf(second), textTokens(SYSTEM) + 96);
    assert.ok((cachedOf(second) as number) < second.json.usage.prompt_tokens);
    assert.deepEqual(s.requests.map((r) => r.cached), [false, true]);
    assert.equal(s.cacheHits, 1);
    assert.equal(s.cacheMisses, 1);

    // Different frames: a different prefix.
    assert.equal(cachedOf(await post(s, questionLast(clip(0, 3), RED_Q))), 0);
    // Question before the video: only the system prompt before it is shared, the video is prefilled again.
    assert.equal(cachedOf(await post(s, reason1Body(a, {}, 'Is there a red object?'))), 0);
    const firstQuestion = await post(s, reason1Body(a, {}, 'Is there a blue object?'));
    assert.equal(cachedOf(firstQuestion), textTokens(`You are a helpful video analyst. ${REASON1_FORMAT}`));
    // Another system prompt: another prefix.
    const otherSystem = questionLast(a, RED_Q);
    otherSystem.messages[0] = { role: 'system', content: `You watch a loading dock. ${REASON1_FORMAT}` };
    assert.equal(cachedOf(await post(s, otherSystem)), 0);
    assert.equal(s.cacheHits, 2);
    assert.equal(s.cacheMisses, 4);

    // Only answered requests fill it: a 500 does not.
    s.resetCache();
    assert.equal(s.cacheHits + s.cacheMisses, 0);
    s.setBehavior({ failNext: 1 });
    assertError(await post(s, questionLast(a, RED_Q)), 500);
    assert.equal(cachedOf(await post(s, questionLast(a, RED_Q))), 0);
    assert.ok((cachedOf(await post(s, questionLast(a, 'Is it dark?'))) as number) > 0);
    assert.equal(s.requests.at(-3)!.cached, false);
  } finally {
    await s.close();
  }
});

test('prefix cache: one per server (endpoint); LRU eviction; off means no prompt_tokens_details', async () => {
  const one = await startModelServer();
  const two = await startModelServer();
  const small = await startModelServer({ prefixCache: { entries: 2 } });
  const off = await startModelServer({ prefixCache: false });
  try {
    const a = clip(5, 12);
    assert.equal(cachedOf(await post(one, questionLast(a, RED_Q))), 0);
    assert.equal(cachedOf(await post(two, questionLast(a, 'Is anything moving?'))), 0, 'the other server has not seen the video');
    assert.ok((cachedOf(await post(one, questionLast(a, 'Is anything moving?'))) as number) > 0);

    const [A, B, C] = [clip(0, 0), clip(1, 1), clip(2, 2)];
    const hit = async (frames: string[]) => (cachedOf(await post(small, questionLast(frames, RED_Q))) as number) > 0;
    assert.deepEqual(
      [await hit(A), await hit(B), await hit(A), await hit(C), await hit(A), await hit(B)],
      // C evicts B (A was used more recently); B then evicts C.
      [false, false, true, false, true, false],
    );
    assert.equal(small.cacheHits, 2);
    assert.equal(small.cacheMisses, 4);

    const r = await post(off, questionLast(a, RED_Q));
    const again = await post(off, questionLast(a, RED_Q));
    assert.equal(again.status, 200);
    assert.ok(!('prompt_tokens_details' in r.json.usage) && !('prompt_tokens_details' in again.json.usage));
    assert.deepEqual(off.requests.map((q) => q.cached), [false, false]);
    assert.equal(off.cacheHits + off.cacheMisses, 0);
    await assert.rejects(startModelServer({ prefixCache: { entries: 0 } }), /positive integer/);
  } finally {
    await Promise.all([one.close(), two.close(), small.close(), off.close()]);
  }
});
