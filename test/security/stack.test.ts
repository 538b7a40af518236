/**
 * Vigil as an attacker meets it: each input of the hardening issue, then a bounded, seeded
 * fuzzer over every edge (REST, raw HTTP, Socket.IO, WebSocket upgrades and frames, frame
 * chunks and findings on the bus, JPEG bytes, model replies). The process must stay up,
 * answer clear 4xx (or dead-letter), leak no secret anywhere and show no video to anyone
 * without a token. Replay a failure with VIGIL_FUZZ_SEED=<the printed seed>.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { io as ioClient, type Socket as IoSocket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { KafkaBus } from '@vigil/bus';
import { encodeFrameChunk, Topics, type Finding } from '@vigil/contracts';
import { createLogger } from '@vigil/observability';
import { KAFKA, waitFor } from '../helpers/env.ts';
import { fuzzSeed, mutate, rng, type Rng } from './fuzz.ts';
import { H, SECRETS, childCommands, hostileJpegs, listeningSockets, rawTcp, rawUpgrade, realJpeg, startStack, type Stack } from './stack-harness.ts';

const seed = fuzzSeed();
console.log('fuzz seed', seed);
const r: Rng = rng(seed);

let stack: Stack;
let bus: KafkaBus;
/** Every response body and header the stack sent during the run, searched for secrets at the end. */
const seen: string[] = [];
const fuzzCounts: Record<string, number> = {};
const count = (kind: string, n = 1) => (fuzzCounts[kind] = (fuzzCounts[kind] ?? 0) + n);

before(async () => {
  stack = await startStack();
  bus = new KafkaBus({ brokers: [KAFKA], clientId: 'sec-test', logger: createLogger('sec-test', { level: 'silent' }) });
});
after(async () => {
  await bus?.close().catch(() => undefined);
  await stack?.stop();
});

async function call(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(stack.base + path, { ...init, redirect: 'manual', signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  seen.push(`${res.status} ${JSON.stringify([...res.headers])} ${text.slice(0, 200_000)}`);
  return { status: res.status, text };
}

const assertUp = async (what: string) => {
  assert.ok(stack.alive(), `the process died after ${what}:\n${stack.output().slice(-4000)}`);
  const h = await call('/healthz');
  assert.equal(h.status, 200, `/healthz after ${what}: ${h.text}`);
};

test('1, 8: an upgrade to "//" or an unknown path is answered and closed at once', async () => {
  for (const target of ['//', '//evil/x', '/nothing-here', '/api/cameras/x/live/../..', '/api/cameras/%zz/live']) {
    const t0 = Date.now();
    const res = await rawTcp(stack.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.alloc(16, 1).toString('base64')}\r\n\r\n`, 5000);
    seen.push(res.reply);
    assert.match(res.reply, /^HTTP\/1\.1 (400|401|404)/, `${target}: ${res.reply.slice(0, 100)}`);
    assert.ok(res.closed && Date.now() - t0 < 4000, `${target}: the socket was left open`);
  }
  await assertUp('hostile upgrade targets');
});

test('2: Socket.IO subscribe with a non-object interest and a non-function ack does not throw', async () => {
  const socket: IoSocket = ioClient(stack.base, { transports: ['websocket'], auth: { token: SECRETS.read }, reconnection: false });
  await waitFor('socket.io connection', () => socket.connected, 10_000);
  socket.emit('subscribe', { cameras: 5 }, 7);
  socket.emit('subscribe', 'x', null);
  socket.emit('subscribe', { cameras: ['../x'.repeat(100)] });
  const reply = await new Promise<unknown>((res) => socket.emit('subscribe', { cameras: 5 }, res));
  assert.deepEqual((reply as { ok: boolean }).ok, false);
  const good = await new Promise<unknown>((res) => socket.emit('subscribe', { cameras: [stack.camera] }, res));
  assert.deepEqual(good, { ok: true });
  socket.disconnect();
  await assertUp('hostile Socket.IO subscribes');
});

test('6, 7, 3: video only through the authenticated proxy, one relay for concurrent viewers, malformed frames survived', async () => {
  const allowed = new Set([stack.port, stack.ingestPort, stack.inferPort]);
  const path = `/api/cameras/${stack.camera}/live`;
  // No token, a wrong one, a forged cookie, a cross-site page: refused, and no video bytes.
  const attempts: Record<string, string>[] = [{}, H('not-a-token-at-all-0000'), { cookie: `vigil_media=${Buffer.from('ops').toString('base64url')}.${Date.now() + 1e6}.forged` }, { ...H(SECRETS.read), origin: 'http://evil.example' }];
  for (const headers of attempts) {
    const res = await rawUpgrade(stack.port, path, headers, 500);
    assert.ok(res.status === 401 || res.status === 403, `live view without valid credentials answered ${res.status}`);
    assert.ok(!res.bytes.includes('jsmp'), 'video reached an unauthenticated viewer');
  }
  // Five viewers at once: one relay; each gets the stream header.
  const viewers = await Promise.all(
    Array.from({ length: 5 }, () =>
      rawUpgrade(stack.port, path, H(SECRETS.read), 8000, (s) => {
        // One of them sends garbage frames meanwhile (bad opcode, unmasked, a 1 GB length).
        s.write(Buffer.from([0x8f, 0x80, 1, 2, 3, 4]));
        s.write(Buffer.from([0x82, 0x7f, 0, 0, 0, 0, 0x40, 0, 0, 0]));
        s.write(r.bytes(64));
      }),
    ),
  );
  for (const v of viewers) assert.equal(v.status, 101);
  const withHeader = viewers.filter((v) => v.bytes.includes('jsmp')).length;
  assert.ok(withHeader >= 1, 'no viewer received the stream');
  const relays = childCommands(stack.pid).filter((c) => c.includes('mpeg1video'));
  assert.ok(relays.length <= 1, `expected at most one relay ffmpeg, found ${relays.length}`);
  // A media session (cookie) opens the live view too; nothing else listens.
  const session = await call('/api/session', { method: 'POST', headers: H(SECRETS.read, { 'content-type': 'application/json' }), body: '{}' });
  assert.equal(session.status, 200);
  const cookie = /vigil_media=([^;]+)/.exec(seen[seen.length - 1]!)?.[1];
  assert.ok(cookie, 'no media cookie set');
  const byCookie = await rawUpgrade(stack.port, path, { cookie: `vigil_media=${cookie}` }, 4000);
  assert.equal(byCookie.status, 101);
  const listening = listeningSockets(stack.pid);
  const extra = listening.filter((l) => !allowed.has(l.port));
  assert.deepEqual(extra, [], `unexpected listening sockets: ${JSON.stringify(extra)}`);
  assert.ok(listening.every((l) => l.address === '127.0.0.1'), `a listener ignores http.host: ${JSON.stringify(listening)}`);
  await assertUp('live view abuse');
});

test('9: ops endpoints need a token; /healthz tells probes only whether it is ok', async () => {
  for (const port of [stack.port, stack.ingestPort, stack.inferPort]) {
    const base = `http://127.0.0.1:${port}`;
    const anon = await fetch(`${base}/metrics`);
    assert.equal(anon.status, 401, `${port}/metrics without a token`);
    const health = await fetch(`${base}/healthz`);
    seen.push(await health.text().then((t) => (assert.deepEqual(Object.keys(JSON.parse(t) as object), ['ok']), t)));
    const full = await fetch(`${base}/metrics`, { headers: H(SECRETS.read) });
    assert.equal(full.status, 200);
    seen.push(await full.text());
  }
  assert.equal((await fetch(`http://127.0.0.1:${stack.ingestPort}/cameras`)).status, 401);
});

test('10: cross-site and non-JSON mutations are refused', async () => {
  const id = 'x'.repeat(32);
  assert.equal((await call(`/api/incidents/${id}/ack`, { method: 'POST', headers: H(SECRETS.admin, { 'content-type': 'text/plain' }), body: '{}' })).status, 415);
  assert.equal((await call(`/api/incidents/${id}/ack`, { method: 'POST', headers: H(SECRETS.admin, { 'content-type': 'application/x-www-form-urlencoded' }), body: 'note=x' })).status, 415);
  assert.equal((await call(`/api/ask`, { method: 'POST', headers: H(SECRETS.admin, { 'content-type': 'application/json', origin: 'https://evil.example' }), body: '{}' })).status, 403);
  // A cross-site Socket.IO handshake is refused before it connects.
  const evil = ioClient(stack.base, { transports: ['websocket'], auth: { token: SECRETS.read }, reconnection: false, extraHeaders: { origin: 'http://evil.example' } });
  const outcome = await new Promise<string>((res) => {
    evil.on('connect', () => res('connected'));
    evil.on('connect_error', (e) => res(`refused: ${e.message}`));
  });
  evil.close();
  assert.match(outcome, /^refused/);
});

test('12, 13: camera URLs and error texts carry no credentials; /api/ask answers without the key', async () => {
  const cams = await call('/api/cameras', { headers: H(SECRETS.read) });
  assert.equal(cams.status, 200);
  assert.match(cams.text, /rtsp:\/\/admin:\*\*\*@127\.0\.0\.1:1\/x/);
  assert.match(cams.text, /pwd=\*\*\*/);
  // The model quotes the request back (key included) in a 500: the reply must not carry it on.
  stack.modelReplies = ['echo-auth', 'echo-auth', 'echo-auth', 'echo-auth', 'echo-auth', 'echo-auth'];
  const ask = await call('/api/ask', { method: 'POST', headers: H(SECRETS.admin, { 'content-type': 'application/json' }), body: JSON.stringify({ camera: stack.camera, question: 'What is there?' }) });
  assert.ok([200, 502, 503, 504].includes(ask.status), `ask: ${ask.status} ${ask.text}`);
  stack.modelReplies = [];
});

test('14: a finding whose id would leave the evidence folder is dead-lettered, nothing is written', async () => {
  const base: Finding = {
    v: 1, id: '../../../../../tmp/vigil-escape', cameraId: stack.camera, queryId: 'box', question: 'q', windowStart: Date.now() - 2000, windowEnd: Date.now(), frameCount: 1, status: 'ok', verdict: true,
    answer: 'yes', reasoning: '', rawAnswer: 'yes', model: { id: 'm', profile: 'cosmos-reason1', endpoint: '' }, usage: { promptTokens: 1, completionTokens: 1 }, latencyMs: 1, mentionedTimes: [], evidence: [],
    evidenceFrames: [{ capturedAt: Date.now(), streamTime: 0, jpeg: realJpeg().toString('base64') }], createdAt: Date.now(),
  };
  await bus.publish(Topics.findings, [{ key: stack.camera, value: Buffer.from(JSON.stringify(base)) }]);
  const metric = async () => (await call('/metrics', { headers: H(SECRETS.read) })).text;
  await waitFor('the finding dead-lettered', async () => /vigil_alerts_findings_rejected_total\{[^}]*\} [1-9]/.test(await metric()), 20_000);
  assert.ok(!existsSync('/tmp/vigil-escape'), 'evidence was written outside its folder');
  await assertUp('a path-traversal finding');
});

test('4, 5: hostile JPEGs in frame chunks and hostile model replies are survived', async () => {
  stack.modelReplies = ['huge', 'degenerate', 'digits', 'deep', 'not-json', 'wrong-shape', 'huge', 'degenerate'];
  const before = stack.modelRequests;
  const now = Date.now();
  const frames = hostileJpegs().map((jpeg, i) => ({ capturedAt: now + i * 250, streamTime: i * 0.25, jpeg }));
  await bus.publish(Topics.frames, [{ key: stack.camera, value: encodeFrameChunk({ cameraId: stack.camera, seq: 999_999, fps: 4, width: 320, height: 192, codec: 'jpeg', frames }) }]);
  await waitFor('the hostile model replies to be consumed', () => stack.modelRequests >= before + 8, 90_000, 500);
  await assertUp('hostile JPEGs and model replies');
});

/** Random values of every JSON type (and some that are not), nested up to `depth`. */
function anyValue(depth = 3): unknown {
  switch (r.int(depth > 0 ? 12 : 9)) {
    case 0: return r.int(1e6) - 5e5;
    case 1: return r.pick([0, -1, 1e300, -1e300, 2 ** 53, 0.1, NaN]);
    case 2: return r.pick(['', 'x', '../../etc/passwd', '%00', '\u0000', '<script>', '${x}', 'A'.repeat(r.int(5000)), '🦺', stack.camera]);
    case 3: return Buffer.from(r.bytes(r.int(20))).toString('latin1');
    case 4: return r.chance(0.5);
    case 5: return null;
    case 6: return undefined;
    case 7: return r.pick(['2026-01-01T00:00:00Z', 'yes', 'no', 'open', 'critical']);
    case 8: return r.int(10);
    case 9: return Array.from({ length: r.int(5) }, () => anyValue(depth - 1));
    case 10: return Object.fromEntries(Array.from({ length: r.int(5) }, () => [r.pick(['cameras', 'sites', 'camera', 'note', 'by', 'question', 'window', '__proto__', 'constructor', 'x']), anyValue(depth - 1)]));
    default: return { cameras: anyValue(depth - 1), sites: anyValue(depth - 1) };
  }
}

const ROUTES = ['/api/incidents', '/api/incidents/{id}', '/api/incidents/{id}/ack', '/api/incidents/{id}/resolve', '/api/incidents/{id}/frames/{n}.jpg', '/api/incidents/{id}/clip.mp4', '/api/stats/incidents', '/api/stats/model', '/api/stats/uptime', '/api/cameras', '/api/cameras/{id}', '/api/cameras/{id}/latest.jpg', '/api/queries', '/api/ask', '/api/session', '/api/openapi.json', '/metrics', '/healthz', '/', '/app.js', '/socket.io/'];
const PARAMS = ['camera', 'site', 'query', 'severity', 'state', 'from', 'to', 'q', 'limit', 'cursor', 'sort', 'bucket', 'by', 'metric', 'access_token', 'x'];
const fuzzString = () => String(anyValue(0) ?? '');

test(`fuzz: REST parameters, bodies and headers`, async () => {
  const N = 1200;
  for (let i = 0; i < N; i++) {
    const path = r.pick(ROUTES).replace('{id}', () => encodeURIComponent(r.chance(0.3) ? stack.camera : fuzzString()).slice(0, 300) || 'x').replace('{n}', String(r.int(20_000) - 5));
    const qs = Array.from({ length: r.int(4) }, () => `${r.pick(PARAMS)}=${encodeURIComponent(fuzzString()).slice(0, 2000)}`).join('&');
    const method = r.pick(['GET', 'GET', 'POST', 'POST', 'DELETE', 'PUT', 'HEAD', 'OPTIONS', 'PATCH']);
    const headers: Record<string, string> = {};
    if (r.chance(0.7)) headers.authorization = r.pick([`Bearer ${SECRETS.admin}`, `Bearer ${SECRETS.read}`, 'Bearer', 'Basic YTpi', `Bearer ${fuzzString().replace(/[^\x21-\x7e]/g, '')}`]);
    if (r.chance(0.6)) headers['content-type'] = r.pick(['application/json', 'text/plain', 'application/json; charset=utf-8', 'multipart/form-data']);
    if (r.chance(0.2)) headers.origin = r.pick(['http://evil.example', 'null', stack.base]);
    if (r.chance(0.2)) headers.range = r.pick(['bytes=0-10', 'bytes=-5', 'bytes=99999999-', 'bytes=a-b', 'items=1-2']);
    if (r.chance(0.1)) headers.cookie = `vigil_media=${fuzzString().replace(/[^\x21-\x7e]/g, '')}`;
    const body = method === 'GET' || method === 'HEAD' ? undefined : r.chance(0.7) ? JSON.stringify(anyValue()) ?? 'null' : Buffer.from(r.bytes(r.int(r.chance(0.05) ? 200_000 : 300)));
    const res = await call(`${path}${qs ? `?${qs}` : ''}`, { method, headers, body });
    count('rest');
    // /api/ask may answer 502/503/504: infer's state, reported as such.
    const allowed5xx = path === '/api/ask' && [502, 503, 504].includes(res.status);
    assert.ok(res.status < 500 || allowed5xx, `${method} ${path}?${qs.slice(0, 200)} → ${res.status} ${res.text.slice(0, 300)} (seed ${seed}, case ${i})`);
  }
  await assertUp('the REST fuzzer');
});

test('fuzz: raw HTTP request lines and headers', async () => {
  const N = 150;
  for (let i = 0; i < N; i++) {
    const line = r.pick([
      `GET ${fuzzString().replace(/\s/g, '')} HTTP/1.1`,
      `${fuzzString().replace(/\s/g, '')} / HTTP/1.1`,
      'GET / HTTP/9.9',
      `GET /api/incidents HTTP/1.1\r\nHost: 127.0.0.1\r\nX: ${'a'.repeat(r.int(40_000))}`,
      `POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999\r\nContent-Type: application/json`,
      `GET /api/cameras HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5`,
      Buffer.from(r.bytes(r.int(500))).toString('latin1'),
    ]);
    const res = await rawTcp(stack.port, `${line}\r\n\r\n`, 300);
    seen.push(res.reply);
    count('raw_http');
  }
  await assertUp('raw HTTP');
});

test('fuzz: Socket.IO events, arguments and acks; WebSocket upgrade targets and frames', async () => {
  const socket: IoSocket = ioClient(stack.base, { transports: ['websocket'], auth: { token: SECRETS.read }, reconnection: false });
  await waitFor('socket.io connection', () => socket.connected, 10_000);
  socket.onAny((...args: unknown[]) => seen.push(JSON.stringify(args).slice(0, 50_000)));
  for (let i = 0; i < 400; i++) {
    const args = Array.from({ length: r.int(4) }, () => (r.chance(0.15) ? () => undefined : r.chance(0.1) ? Buffer.from(r.bytes(r.int(1000))) : anyValue()));
    socket.emit(r.pick(['subscribe', 'subscribe', 'snapshot', 'incident:new', 'x', fuzzString().slice(0, 50) || 'y']), ...args);
    count('socketio');
    if (i % 50 === 0) await new Promise((res) => setTimeout(res, 20));
  }
  // An event larger than the server takes: the server drops that client, nothing else.
  socket.emit('subscribe', { cameras: ['a'.repeat(200_000)] });
  await new Promise((res) => setTimeout(res, 500));
  socket.disconnect();
  // Below the client library: raw engine.io/Socket.IO packets, reserved event names, garbage.
  for (let i = 0; i < 40; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${stack.port}/socket.io/?EIO=4&transport=websocket`);
    ws.on('error', () => undefined);
    ws.on('message', (d) => seen.push(String(d).slice(0, 50_000)));
    await new Promise<void>((res) => (ws.once('open', () => res()), ws.once('close', () => res())));
    if (ws.readyState !== WebSocket.OPEN) continue;
    ws.send(`40${JSON.stringify({ token: SECRETS.read })}`);
    for (let k = 0; k < 10; k++) {
      const packet = r.pick([
        `42${JSON.stringify([r.pick(['disconnect', 'connect', 'subscribe', 'error', 'newListener']), anyValue(), anyValue()]) ?? ''}`,
        `42${r.int(100)}${JSON.stringify(['subscribe', anyValue()])}`,
        `4${r.int(10)}${fuzzString().slice(0, 500)}`,
        `${r.int(10)}${fuzzString().slice(0, 500)}`,
        `451-["subscribe",{"_placeholder":true,"num":${r.int(5) - 1}}]`,
        Buffer.from(r.bytes(r.int(300))),
      ]);
      ws.send(packet);
      count('socketio_raw');
    }
    await new Promise((res) => setTimeout(res, 30));
    ws.terminate();
  }
  for (let i = 0; i < 120; i++) {
    const target = r.pick([`/api/cameras/${stack.camera}/live`, `/api/cameras/${encodeURIComponent(fuzzString()).slice(0, 200)}/live`, `/socket.io/?EIO=${r.int(6)}&transport=websocket`, `/${encodeURIComponent(fuzzString()).slice(0, 300)}`, '//', '/api/cameras//live']);
    const res = await rawUpgrade(stack.port, target, r.chance(0.5) ? H(SECRETS.read) : {}, 150, (s) => s.write(Buffer.from(r.bytes(r.int(200)))));
    if (res.status !== 101) seen.push(res.bytes.toString('latin1'));
    if (res.status === 101 && !target.startsWith('/api/cameras/' + stack.camera)) assert.ok(target.startsWith('/socket.io/'), `upgraded at ${target}`);
    count('websocket');
  }
  await assertUp('the Socket.IO and WebSocket fuzzer');
});

test('fuzz: frame chunks, JPEG bytes and findings on the bus', async () => {
  const jpeg = realJpeg();
  const valid = encodeFrameChunk({ cameraId: stack.camera, seq: 1, fps: 4, width: 320, height: 192, codec: 'jpeg', frames: [{ capturedAt: Date.now(), streamTime: 0, jpeg }] });
  const chunks = [];
  for (let i = 0; i < 300; i++) {
    const kind = r.int(4);
    const value =
      kind === 0
        ? Buffer.from(mutate.flipBits(r, valid, r.range(1, 8)))
        : kind === 1
          ? Buffer.from(mutate.truncate(r, valid))
          : kind === 2
            ? Buffer.from(r.bytes(r.int(2000)))
            : encodeFrameChunk({ cameraId: stack.camera, seq: 2 + i, fps: 4, width: 320, height: 192, codec: 'jpeg', frames: [{ capturedAt: Date.now() + i, streamTime: i / 4, jpeg: Buffer.from(mutate.flipBits(r, jpeg, r.range(1, 30))) }] });
    chunks.push({ key: r.chance(0.8) ? stack.camera : fuzzString().slice(0, 50), value });
  }
  await bus.publish(Topics.frames, chunks);
  count('frame_chunks', chunks.length);
  const finding = (): Record<string, unknown> => ({
    v: 1, id: `f${r.int(1e9)}`, cameraId: stack.camera, queryId: 'box', question: 'q', windowStart: Date.now() - 2000, windowEnd: Date.now(), frameCount: 1, status: 'ok', verdict: false,
    answer: 'no', reasoning: '', rawAnswer: 'no', model: { id: 'm', profile: 'cosmos-reason1', endpoint: '' }, usage: { promptTokens: 1, completionTokens: 1 }, latencyMs: 1, mentionedTimes: [], evidence: [], createdAt: Date.now(),
  });
  const KEYS = Object.keys(finding());
  const findings = [];
  for (let i = 0; i < 300; i++) {
    const f = finding();
    for (let k = r.int(4); k > 0; k--) f[r.pick(KEYS)] = anyValue();
    findings.push({ key: stack.camera, value: r.chance(0.1) ? Buffer.from(r.bytes(r.int(500))) : Buffer.from(JSON.stringify(f) ?? 'null') });
  }
  await bus.publish(Topics.findings, findings);
  count('findings', findings.length);
  // Let both consumers work through them.
  await new Promise((res) => setTimeout(res, 8000));
  await assertUp('hostile chunks and findings');
});

test('no secret in any response, log line or metric; the process is still up', async () => {
  await assertUp('the whole run');
  for (const port of [stack.port, stack.ingestPort, stack.inferPort]) seen.push(await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: H(SECRETS.read) })).text());
  const haystacks: [string, string][] = [
    ['responses', seen.join('\n')],
    ['logs', stack.output()],
  ];
  for (const [where, text] of haystacks) {
    for (const [name, secret] of Object.entries(SECRETS)) {
      const forms = [secret, encodeURIComponent(secret)];
      for (const f of forms) {
        const at = text.indexOf(f);
        assert.equal(at, -1, `${name} appears in ${where}: …${text.slice(Math.max(0, at - 200), at + 50)}…`);
      }
    }
  }
  console.log('fuzz cases', JSON.stringify(fuzzCounts), 'total', Object.values(fuzzCounts).reduce((a, b) => a + b, 0));
});
