/**
 * Every byte from outside is hostile: frame chunks (anyone on the network can write them)
 * carry JPEGs that infer decodes and splices, and a model server's replies are parsed and
 * kept in findings. Each input here must end in a result or a clear Error, quickly, without
 * a loop or an allocation that the input's size does not pay for.
 *
 * (a) the reproduced hostile inputs, (b) a seeded JPEG fuzzer (in a watched worker: a hang
 * fails the test), (c) hostile and fuzzed model replies through the real client over HTTP.
 * Replay a fuzz failure with VIGIL_FUZZ_SEED=<the printed seed>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import jpegJs from 'jpeg-js';
import type { QueryConfig } from '@vigil/config';
import { FINDING_TEXT_LIMITS } from '@vigil/contracts';
import { BandSplicer, JpegSplitter, decodeDcImage, jpegSize } from '@vigil/media';
import { ModelClient, REPLY_LIMITS, mapMentionedTimes, type ModelAnswer, type WindowFrame } from '@vigil/model';
import { createLogger } from '@vigil/observability';
import { AnalyticsStage } from '../../services/infer/src/analytics/stage.ts';
import { buildFinding, type AskJob } from '../../services/infer/src/asker.ts';
import { WindowBander } from '../../services/infer/src/band.ts';
import { MAX_JSON_STARTS, extractJson } from '../../services/infer/src/verdict.ts';
import { fuzzSeed, mutate, rng, runWatched, type Rng } from './fuzz.ts';
import type { JpegFuzzInput, JpegFuzzResult } from './jpeg-fuzz-worker.ts';
import { segments, tinyJpeg } from './jpegs.ts';

const seed = fuzzSeed();
console.log('fuzz seed', seed);

/** Runs `fn`, which must throw an Error (not a RangeError) whose message matches `re`; returns how long it took. */
function throwsClearly(fn: () => unknown, re: RegExp): number {
  const t0 = performance.now();
  assert.throws(fn, (e: unknown) => e instanceof Error && !(e instanceof RangeError) && re.test(e.message));
  return performance.now() - t0;
}

/** JPEG frames from ffmpeg's test source, as ingest encodes them unless `args` say otherwise. */
function ffmpegJpegs(n: number, args: string[] = [], size = '160x96'): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const p = spawn('ffmpeg', ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=4`, '-frames:v', String(n), '-c:v', 'mjpeg', '-huffman', 'default', '-pix_fmt', 'yuvj420p', '-q:v', '5', ...args, '-f', 'image2pipe', 'pipe:1']);
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => (err += c));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(new JpegSplitter().push(Buffer.concat(out))) : reject(new Error(`ffmpeg: ${err}`))));
  });
}

/** The JPEG with its frame header's size set to width × height. */
function withSize(jpeg: Uint8Array, width: number, height: number): Buffer {
  const sof = segments(jpeg).find((s) => s.marker === 0xc0)!;
  return Buffer.from(mutate.overwrite(jpeg, sof.payload + 1, [height >> 8, height & 0xff, width >> 8, width & 0xff]));
}

const silent = createLogger('security-test', { level: 'silent' });

// ---------------------------------------------------------------------------------------
// (a) Reproduced hostile JPEGs
// ---------------------------------------------------------------------------------------

test('tiny hand-built JPEGs decode (the builder the hostile cases start from is sound)', () => {
  const dc = decodeDcImage(tinyJpeg({ width: 64, height: 48 }));
  assert.deepEqual([dc.width, dc.height, dc.imageWidth, dc.imageHeight], [8, 6, 64, 48]);
  assert.ok(dc.data.every((v) => v === 128), 'flat mid-grey');
  const restarted = decodeDcImage(tinyJpeg({ width: 64, height: 48, restart: 5 }));
  assert.deepEqual(restarted.data, dc.data, 'with restart intervals too');
});

test('hostile JPEG: a sampling factor of 0 is refused (it looped forever)', () => {
  const zero = tinyJpeg({ width: 64, height: 64, comps: [{ id: 1, h: 0, v: 1 }] });
  throwsClearly(() => decodeDcImage(zero), /^bad JPEG: component 1 has sampling factors 0×1 \(each must be 1\.\.4\)$/);
  const five = tinyJpeg({ width: 64, height: 64, comps: [{ id: 1, h: 5, v: 5 }] });
  throwsClearly(() => decodeDcImage(five), /sampling factors 5×5/);
});

test('hostile JPEG: 152 bytes claiming 65535×65535 are refused before anything is allocated (it cost seconds and 64 MB)', () => {
  const huge = tinyJpeg({ width: 65535, height: 65535, dataBytes: 12 });
  assert.equal(huge.length, 152);
  const before = process.memoryUsage().arrayBuffers;
  const ms = throwsClearly(() => decodeDcImage(huge), /^bad JPEG: image is 65535×65535 px, more than 8192 px a side$/);
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.ok(grown < 8 * 1024 * 1024, `${grown} bytes of buffers allocated (the 1/8-scale picture alone was 64 MB)`);
  assert.ok(ms < 1000, `refused in ${ms.toFixed(1)} ms`); // generous: the fix refuses in microseconds
  // Within the side limit but over the area limit, and within both but with data too short
  // for the MCUs it claims: refused up front, again before the DC image is allocated.
  throwsClearly(() => decodeDcImage(tinyJpeg({ width: 8192, height: 8192, dataBytes: 12 })), /more than 40000000 pixels/);
  throwsClearly(() => decodeDcImage(tinyJpeg({ width: 8192, height: 4096, dataBytes: 12 })), /^bad JPEG: 14 bytes of scan data cannot hold 524288 MCUs of a 8192×4096 picture \(at least 131072 bytes\)$/);
});

test('hostile JPEG: data that ends early, bits that match no code, a marker inside the scan, missing restart markers', () => {
  const ok = tinyJpeg({ width: 64, height: 64 }); // 64 blocks × 2 bits = 16 bytes of data
  const dataAt = segments(ok).find((s) => s.marker === 0xda)!.end;
  // Enough bytes to pass the up-front check, but an EOI after 4 of them.
  const early = Buffer.concat([ok.subarray(0, dataAt), Buffer.from([0, 0, 0, 0, 0xff, 0xd9]), Buffer.alloc(12)]);
  throwsClearly(() => decodeDcImage(early), /^bad JPEG: scan data ends before MCU 16 of 64$/);
  const badCode = Buffer.from(ok);
  badCode[dataAt] = 0x80; // DC code "1": the table only has "0"
  throwsClearly(() => decodeDcImage(badCode), /^bad JPEG: corrupt scan: bits match no Huffman code$/);
  const restart = tinyJpeg({ width: 64, height: 64, restart: 4 });
  const noRst = Buffer.from(restart.toString('latin1').replace(/\xff[\xd0-\xd7]/g, '\0\0'), 'latin1');
  throwsClearly(() => decodeDcImage(noRst), /^bad JPEG: scan data ends before MCU \d+ of 64$/);
  // Header segments that lie about their length, and tables a decoder would misread.
  throwsClearly(() => decodeDcImage(ok.subarray(0, 30)), /^bad JPEG: truncated segment 0xdb at byte 2$/);
  const overfull = Buffer.from(ok);
  const dht = segments(ok).find((s) => s.marker === 0xc4)!;
  overfull[dht.payload + 1] = 3; // three codes of length 1
  throwsClearly(() => decodeDcImage(overfull), /^bad JPEG: .*(truncated DHT|more codes of length 1 than fit)/);
});

test('hostile JPEG through the band splicer: limits, short data and lying headers are clear errors', async () => {
  const [frame] = await ffmpegJpegs(1);
  const s = await BandSplicer.open({ labels: ['0.00s'] });
  assert.ok(s.splice(frame!, '0.00s', 'left').length > frame!.length, 'a real frame splices');
  throwsClearly(() => s.splice(withSize(frame!, 65535, 65520), '0.00s', 'left'), /^cannot splice a band: image is 65535×65520 px, more than 8192 px a side$/);
  throwsClearly(() => s.splice(tinyJpeg({ width: 64, height: 64, comps: [{ id: 1, h: 0, v: 1 }] }), '0.00s', 'left'), /^cannot splice a band: not 4:2:0/);
  // 4096×4096 is within the limits, but 65536 MCUs are more than the band's DRI can span.
  throwsClearly(() => s.splice(withSize(frame!, 4096, 4096), '0.00s', 'left'), /more than a restart interval can span/);
  const sos = segments(frame!).find((s) => s.marker === 0xda)!;
  const marker = Buffer.from(frame!);
  marker.set([0xff, 0xd9], sos.end + 40); // EOI inside the scan
  throwsClearly(() => s.splice(marker, '0.00s', 'left'), /^cannot splice a band: marker 0x(d9|ff) inside the scan/);
});

test('jpegSize reads the frame header as the decoder does: fill bytes and APPn/COM skipped, lying segments undefined, never a throw', () => {
  const ok = tinyJpeg({ width: 64, height: 48 });
  assert.deepEqual(jpegSize(ok), { width: 64, height: 48 });
  const sof = segments(ok).find((s) => s.marker === 0xc0)!;
  const com = Buffer.from([0xff, 0xfe, 0, 5, 0x61, 0x62, 0x63, 0xff, 0xff]); // COM "abc", then two fill bytes
  const padded = Buffer.concat([ok.subarray(0, 2), Buffer.from([0xff, 0xe1, 0, 2]), com, ok.subarray(2)]);
  assert.deepEqual(jpegSize(padded), { width: 64, height: 48 });
  assert.equal(decodeDcImage(padded).imageWidth, 64, 'the decoder reads it too');
  const lying = Buffer.from(ok);
  lying.writeUInt16BE(0xfff0, sof.at + 2); // the frame header runs past the data
  for (const bad of [lying, ok.subarray(2), ok.subarray(0, sof.at + 6), Buffer.from('junk'), Buffer.alloc(0)]) assert.equal(jpegSize(bad), undefined);
  // Where the decoder reads a frame, jpegSize agrees with it; elsewhere it returns or is undefined.
  const r = rng(seed);
  for (let i = 0; i < 2000; i++) {
    const m = Buffer.from(r.chance(0.5) ? mutate.flipBits(r, ok, r.range(1, 4)) : mutate.insert(r, ok, Uint8Array.from([0xff, r.pick([0xff, 0xd0, 0xd8, 0xe0, 0xfe, r.int(256)])])));
    let dc: ReturnType<typeof decodeDcImage> | undefined;
    try {
      dc = decodeDcImage(m);
    } catch {
      dc = undefined;
    }
    const size = jpegSize(m);
    if (dc) assert.deepEqual(size, { width: dc.imageWidth, height: dc.imageHeight });
  }
});

test('callers skip and count hostile frames: the trigger stage and the window bander', async () => {
  const good = tinyJpeg({ width: 64, height: 48 });
  const hostile = [tinyJpeg({ width: 64, height: 64, comps: [{ id: 1, h: 0, v: 1 }] }), tinyJpeg({ width: 65535, height: 65535, dataBytes: 12 }), Buffer.from('junk')];
  const stage = await AnalyticsStage.open({ provider: 'cpu', maxBatch: 8, waitMs: 5, bandPx: 0 });
  try {
    const stats = await stage.analyze('cam', [good, ...hostile, good], []);
    assert.deepEqual(stats.map((s) => s !== undefined), [true, false, false, false, true], 'the good frames of the batch still get stats');
    assert.equal(stage.decodeErrors, 3);
  } finally {
    await stage.close();
  }
  let failures = 0;
  const bander = (await WindowBander.open(silent, () => failures++, 'ffmpeg'))!;
  const [frame] = await ffmpegJpegs(1);
  const frames = [frame!, ...hostile, withSize(frame!, 4096, 4096)].map((jpeg, i) => ({ capturedAt: i * 250, streamTime: i / 4, jpeg }));
  const banded = await bander.band('cam', frames, 4);
  assert.equal(failures, 4, 'each hostile frame counted (vigil_infer_band_failures_total)');
  assert.ok(banded[0]!.jpeg.length > frame!.length, 'the good frame has its band');
  assert.deepEqual(banded.slice(1).map((f) => f.jpeg), frames.slice(1).map((f) => f.jpeg), 'hostile frames go on as they came');
  const forModel = await bander.forModel('cam', frames, 4);
  assert.deepEqual(forModel.map((f) => f.base64 !== undefined), [true, false, false, false, false]);
});

// ---------------------------------------------------------------------------------------
// (b) Seeded JPEG fuzzer
// ---------------------------------------------------------------------------------------

const JPEG_CASES = 4000;

test(`JPEG fuzz: ${JPEG_CASES} mutated frames through the DC decoder, the band splicer and the splitter end in a result or a clear Error`, async () => {
  const raw = (w: number, h: number, r: Rng) => {
    const data = Buffer.alloc(w * h * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i & 3) === 3 ? 255 : ((i >> 6) * 7 + r.int(40)) & 255;
    return Buffer.from(jpegJs.encode({ width: w, height: h, data }, 75).data);
  };
  const r = rng(seed);
  const [ingest, optimal, yuv444, yuv422] = await Promise.all([
    ffmpegJpegs(2),
    ffmpegJpegs(1, ['-huffman', 'optimal']),
    ffmpegJpegs(1, ['-pix_fmt', 'yuvj444p']),
    ffmpegJpegs(1, ['-pix_fmt', 'yuvj422p']),
  ]);
  const bases = [
    { name: 'ingest 4:2:0 #1', jpeg: ingest[0]! },
    { name: 'ingest 4:2:0 #2', jpeg: ingest[1]! },
    { name: '4:2:0 optimal tables', jpeg: optimal[0]! },
    { name: '4:4:4', jpeg: yuv444[0]! },
    { name: '4:2:2', jpeg: yuv422[0]! },
    { name: 'jpeg-js 4:4:4', jpeg: raw(96, 64, r) },
    { name: 'tiny grey', jpeg: tinyJpeg({ width: 64, height: 48 }) },
    { name: 'tiny with restarts', jpeg: tinyJpeg({ width: 64, height: 48, restart: 3 }) },
  ];
  const t0 = performance.now();
  const input: JpegFuzzInput = { seed, cases: JPEG_CASES, bases };
  const res = await runWatched<JpegFuzzResult>(new URL('./jpeg-fuzz-worker.ts', import.meta.url), input, 15_000);
  console.log(`JPEG fuzz: ${res.cases} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s; returned ${JSON.stringify(res.ok)}; threw ${JSON.stringify(res.threw)}; slowest ${res.slowestMs.toFixed(1)} ms (${res.slowest})`);
  const top = Object.entries(res.messages).sort((a, b) => b[1] - a[1]);
  console.log(`JPEG fuzz: ${top.length} distinct errors, most common: ${top.slice(0, 12).map(([m, n]) => `${n}× ${m}`).join(' | ')}`);
  assert.equal(res.failure, undefined, `seed ${seed}: ${res.failure}`);
  assert.equal(res.cases, JPEG_CASES);
  assert.ok((res.ok.decodeDcImage ?? 0) > 0 && (res.threw.decodeDcImage ?? 0) > 0, 'the mutations reach both outcomes');
});

// ---------------------------------------------------------------------------------------
// (c) Hostile model replies through the real client
// ---------------------------------------------------------------------------------------

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** A model server on 127.0.0.1 whose every answer is whatever `handler` says. */
async function hostileServer(): Promise<{ url: string; set(h: Handler): void; close(): Promise<void> }> {
  let handler: Handler = (_q, s) => s.end();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    set: (h) => (handler = h),
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

const json = (body: unknown): Handler => (_q, s) => s.writeHead(200, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));
const completion = (content: unknown, extra: Record<string, unknown> = {}) => ({ choices: [{ message: { content }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 5 }, ...extra });
const frames: WindowFrame[] = [0, 1, 2, 3].map((i) => ({ jpeg: tinyJpeg({ width: 16, height: 16 }), capturedAt: 1_000_000 + i * 250, streamTime: i * 0.25 }));

const JSON_RULE = {
  kind: 'json' as const,
  schema: { type: 'object' as const, required: ['verdict'], properties: { verdict: { type: 'string' as const, enum: ['yes', 'no'] }, items: { type: 'array' as const, items: { type: 'number' as const } } } },
  when: { verdict: 'yes' },
};
const query = { id: 'q', cameras: ['cam'], question: 'Is it?', windowMs: 1000, everyMs: 1000, alertWhen: /$^/, alert: JSON_RULE, trigger: { type: 'always' }, model: { sampling: {} }, severity: 'low' } as unknown as QueryConfig;
const job: AskJob = { cameraId: 'cam', query, question: 'Is it?', start: 1_000_000, end: 1_001_000, frames: [], fps: 4, estimatedTokens: 0 };

/** Bytes of a finding built from an answer, without evidence frames (those are the window's own JPEGs). */
function findingBytes(a: ModelAnswer): number {
  const f = buildFinding(job, a);
  return Buffer.byteLength(JSON.stringify({ ...f, evidenceFrames: undefined }));
}

/** Text limits plus the cut notes, structured verdict and the rest of a finding. */
const FINDING_MAX_BYTES = 4 * (FINDING_TEXT_LIMITS.answer + FINDING_TEXT_LIMITS.reasoning + FINDING_TEXT_LIMITS.rawAnswer + FINDING_TEXT_LIMITS.error) + 256 * 1024;

test('hostile model replies: capped bodies, wrong shapes and degenerate text end in a clear error or a bounded answer', async () => {
  const server = await hostileServer();
  const client = (extra = {}) => new ModelClient({ endpoints: [server.url], profile: 'cosmos-reason1', modelId: 'm', timeoutMs: 10_000, maxTokens: 512, attempts: 1, ...extra });
  const ask = (c: ModelClient) => c.ask({ question: 'Is it?', frames, fps: 4, label: 'cam/q@t' });
  try {
    // A body streamed slowly past the cap: the client must hang up, not read on.
    let written = 0;
    let hungUp = false;
    server.set((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const piece = Buffer.alloc(256 * 1024, 'a');
      res.on('close', () => (hungUp = true));
      // Slowly, and only as fast as the client reads: `written` is what it was offered.
      const more = (): void => {
        if (hungUp || written > 4 * REPLY_LIMITS.completion) return void res.end();
        written += piece.length;
        if (res.write(piece)) setTimeout(more, 1);
        else res.once('drain', more);
      };
      res.write('{"choices":[{"message":{"content":"');
      more();
    });
    let a = await ask(client());
    assert.equal(a.status, 'error');
    assert.match(a.error!, new RegExp(`model reply exceeded ${REPLY_LIMITS.completion} bytes`));
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(hungUp, 'the client destroyed the socket');
    assert.ok(written < 2 * REPLY_LIMITS.completion, `the server got to write ${written} bytes before the client hung up`);

    // A Content-Length over the cap: refused before the body is read.
    server.set((_q, res) => res.writeHead(200, { 'content-length': String(100 * 1024 * 1024) }).write('{'));
    a = await ask(client());
    assert.match(a.error!, /model reply exceeded 16777216 bytes \(Content-Length 104857600\)/);

    // /v1/models is capped lower, and must name a model.
    server.set(json({ data: [{ id: 'x'.repeat(2 * REPLY_LIMITS.models) }] }));
    a = await ask(client({ modelId: undefined }));
    assert.match(a.error!, /model reply exceeded 1048576 bytes/);
    for (const [body, re] of [
      [{ data: 'nope' }, /GET \/v1\/models listed no model/],
      [{ data: [{ id: 42 }] }, /GET \/v1\/models listed no model/],
      [{ data: [{ id: 'y'.repeat(1000) }] }, /model id of 1000 characters/],
    ] as const) {
      server.set(json(body));
      assert.match((await ask(client({ modelId: undefined }))).error!, re);
    }

    // Valid HTTP, hostile JSON: each a clear error naming what is wrong.
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    for (const [body, re] of [
      ['{"choices": [', /invalid JSON: "\{\\"choices\\": \["/],
      ['null', /not a chat completion: the reply is null/],
      [deep, /not a chat completion: the reply is an array/],
      [`{"choices": ${deep}}`, /choices\[0\] is an array/],
      [{ choices: 'abc' }, /choices is a string/],
      [{}, /choices is missing/],
      [{ choices: [] }, /choices\[0\] is missing/],
      [{ choices: [{ message: 'hi' }] }, /choices\[0\]\.message is a string/],
      [completion(42), /choices\[0\]\.message\.content is a number/],
      [completion({ text: 'x' }), /choices\[0\]\.message\.content is an object/],
      [completion('x', { usage: 7 }), /usage is a number/],
    ] as const) {
      server.set(json(body));
      const t0 = performance.now();
      a = await ask(client());
      assert.equal(a.status, 'error', `${String(body).slice(0, 40)} → ${a.error}`);
      assert.match(a.error!, re);
      assert.doesNotMatch(a.error!, /TypeError|Cannot read|is not a function/);
      assert.ok(performance.now() - t0 < 5000);
    }

    // Degenerate but well-formed replies: answered, in linear time, and kept bounded.
    const digits = '1'.repeat(1_000_000);
    const cases: [string, unknown, (a: ModelAnswer) => void][] = [
      ['20,000 { after <answer>', completion(`<think>x</think><answer>${'{'.repeat(20_000)}</answer>`), (x) => {
        assert.equal(x.status, 'ok');
        assert.match(buildFinding(job, x).verdictError ?? '', /holds no JSON object/);
      }],
      ['<think> soup', completion('<think>'.repeat(200_000)), (x) => assert.equal(x.status, 'truncated')],
      ['<answer> soup', completion(`<think>a</think>${'<answer>'.repeat(200_000)}`), (x) => assert.equal(x.status, 'truncated')],
      ['a million digits, no unit', completion(`<think>${digits}</think><answer>${digits}</answer>`), (x) => assert.deepEqual(x.mentionedTimes, [])],
      ['cached tokens past the prompt, and a million-digit one', `{"choices":[{"message":{"content":"<think>a</think><answer>yes</answer>"}}],"usage":{"prompt_tokens":10,"prompt_tokens_details":{"cached_tokens":${digits}}}}`, (x) => {
        assert.equal(x.cachedTokens, 10);
        assert.equal(buildFinding(job, x).usage.cachedTokens, 10);
      }],
      ['cached tokens as a string', completion('<think>a</think><answer>yes</answer>', { usage: { prompt_tokens: 10, prompt_tokens_details: { cached_tokens: '10' } } }), (x) => assert.equal(x.cachedTokens, 0)],
      ['a million-digit token count', `{"choices":[{"message":{"content":"<think>a</think><answer>yes</answer>"}}],"usage":{"prompt_tokens":${digits}}}`, (x) => assert.equal(x.promptTokens, 0)],
      ['times spammed', completion(`<think>${'0.25s, '.repeat(300_000)}${Array.from({ length: 500 }, (_, i) => `${(i / 1000).toFixed(3)}s`).join(' ')}</think><answer>yes</answer>`), (x) => assert.ok(x.mentionedTimes.length <= 64)],
      ['a 12 MB answer', completion(`<think>${'r'.repeat(4_000_000)}</think><answer>{"verdict":"yes"} ${'a'.repeat(8_000_000)}</answer>`), (x) => {
        const f = buildFinding(job, x);
        assert.equal(f.verdict, true, 'judged on the answer as kept');
        assert.equal(f.answer.length, FINDING_TEXT_LIMITS.answer + `… [cut: ${x.answer.length - FINDING_TEXT_LIMITS.answer} more characters]`.length);
        assert.match(f.reasoning, /… \[cut: 3934464 more characters\]$/);
      }],
      ['a JSON verdict with 3,000 bad items', completion(`<think>a</think><answer>{"verdict":"yes","items":[${Array(3000).fill('"x"').join(',')}]}</answer>`), (x) => {
        const f = buildFinding(job, x);
        assert.match(f.verdictError ?? '', /; and 2992 more$/);
      }],
    ];
    for (const [name, body, check] of cases) {
      server.set(json(body));
      const t0 = performance.now();
      a = await ask(client());
      const ms = performance.now() - t0;
      assert.notEqual(a.status, 'error', `${name}: ${a.error}`);
      check(a);
      assert.ok(findingBytes(a) < FINDING_MAX_BYTES, `${name}: finding of ${findingBytes(a)} bytes`);
      assert.ok(ms < 5000, `${name}: ${ms.toFixed(0)} ms`); // generous: each is tens of ms
    }
  } finally {
    await server.close();
  }
});

/** A random reply: a valid completion with parts replaced by hostile values, or mangled text. */
function fuzzReply(r: Rng): string {
  const texts = [
    () => '<think>' + 'x'.repeat(r.int(100)) + '</think><answer>' + r.pick(['yes', 'no', '{"verdict":"yes"}', '{"verdict":']) + '</answer>',
    () => r.pick(['<think>', '</think>', '<answer>', '</answer>', '{', '}', '"', '\\', '1', '.5', 's', ' ']).repeat(r.range(1, 50_000)),
    () => Array.from({ length: r.range(1, 200) }, () => r.pick(['<think>', '</think>', '<answer>', '</answer>', '{', '"verdict":"yes"', '}', '12.5s', '9'.repeat(r.int(1000)), '\ud83d', '\u0000'])).join(''),
    () => '9'.repeat(r.range(1, 300_000)) + r.pick(['', 's', '.', ' sec', 'x']),
  ];
  const values = [null, 0, -1, 1e308, 'str', [], {}, [[[[]]]], true, () => r.pick(texts)()];
  const value = () => {
    const v = r.pick(values);
    return typeof v === 'function' ? v() : v;
  };
  const c: Record<string, unknown> = completion(r.pick(texts)());
  const choice = (c.choices as Record<string, unknown>[])[0]!;
  const message = choice.message as Record<string, unknown>;
  for (let i = 0, n = r.chance(0.5) ? r.range(1, 2) : 0; i < n; i++) {
    const [obj, key] = r.pick([[c, 'choices'], [c, 'usage'], [choice, 'message'], [choice, 'finish_reason'], [message, 'content'], [message, 'reasoning_content']] as const);
    obj[key] = value();
  }
  let text = JSON.stringify(c);
  if (r.chance(0.2)) text = Buffer.from(mutate.flipBits(r, Buffer.from(text), r.range(1, 4))).toString('latin1');
  if (r.chance(0.1)) text = text.slice(0, r.int(text.length));
  return text;
}

const REPLY_CASES = 1000;

test(`model reply fuzz: ${REPLY_CASES} seeded replies through the client end in an answer or a clear error, and a bounded finding`, async () => {
  const server = await hostileServer();
  const r = rng(seed ^ 0x5eed);
  const client = new ModelClient({ endpoints: [server.url], profile: 'cosmos-reason1', modelId: 'm', timeoutMs: 10_000, maxTokens: 512, attempts: 1, breaker: { cooldownMs: 0 } });
  const t0 = performance.now();
  const outcomes: Record<string, number> = {};
  try {
    for (let i = 0; i < REPLY_CASES; i++) {
      const body = fuzzReply(r);
      server.set(json(body));
      const a = await client.ask({ question: 'Is it?', frames, fps: 4, label: 'cam/q@t' });
      const what = `seed ${seed} case ${i}: ${body.slice(0, 80)}…`;
      outcomes[a.status] = (outcomes[a.status] ?? 0) + 1;
      assert.ok(['ok', 'truncated', 'error'].includes(a.status), what);
      if (a.status === 'error') assert.doesNotMatch(a.error ?? '', /TypeError|Cannot read|is not a function|undefined/, what);
      assert.ok(typeof a.answer === 'string' && typeof a.reasoning === 'string', what);
      assert.ok(a.mentionedTimes.length <= 64, what);
      assert.ok(findingBytes(a) < FINDING_MAX_BYTES, what);
    }
  } finally {
    await server.close();
  }
  console.log(`model reply fuzz: ${REPLY_CASES} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(outcomes)}`);
});

test('answer text helpers stay linear on degenerate input', () => {
  // Direct checks of the two functions that were quadratic, at sizes where quadratic would take minutes.
  assert.equal(extractJson('{'.repeat(200_000)), undefined);
  assert.deepEqual(extractJson(`${'{'.repeat(MAX_JSON_STARTS - 1)} {"a":1}`), { a: 1 });
  assert.equal(extractJson(`${'{'.repeat(MAX_JSON_STARTS)} {"a":1}`), undefined, 'past the starts tried: not looked for, by design');
  assert.deepEqual(extractJson('text {"a": {"b": "}"}} more'), { a: { b: '}' } });
  assert.deepEqual(mapMentionedTimes('9'.repeat(2_000_000), frames), []);
  assert.deepEqual(mapMentionedTimes('at 0.25s, then 1.0.5 s', frames), [1_000_250, 1_000_500]);
});
