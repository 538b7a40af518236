import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { LiveViewRelays, type LiveSource, type LiveViewOptions } from '@vigil/live-view';
import { createLogger } from '@vigil/observability';
import { startCameraSim, startRtspServer } from '../fixtures/camera-sim.ts';
import { freePort, waitFor } from '../helpers/env.ts';

const lines: string[] = [];
const logger = createLogger('live-test', { level: 'debug', destination: { write: (s: string) => void lines.push(s) } as never });
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

// One simulated camera for the whole file, small so several relays fit on two cores.
// A password in the URL: it must never reach the logs.
const sources: Record<string, LiveSource> = {};
before(async () => {
  const [rtspPort, udp, closed] = [await freePort(), await freePort(), await freePort()];
  const rtsp = await startRtspServer({ port: rtspPort, mounts: { cam: udp } });
  cleanups.push(() => rtsp.stop());
  const sim = await startCameraSim({ name: 'cam', udpPort: udp, width: 640, height: 360 });
  cleanups.push(() => sim.stop());
  const url = rtsp.url('cam').replace('rtsp://', 'rtsp://viewer:hunter2@');
  sources.cam = { id: 'cam', url, transport: 'tcp' };
  sources['cam-b'] = { id: 'cam-b', url, transport: 'tcp' };
  sources.down = { id: 'down', url: `rtsp://viewer:hunter2@127.0.0.1:${closed}/cam`, transport: 'tcp' };
});

/**
 * Relays behind a test API server, as alerts wires them: `/api/cameras/<id>/live?who=<principal>`.
 * `?abort=1` resets the viewer's socket right after handing it over, mid-handshake.
 */
async function serve(opts: Partial<LiveViewOptions> = {}, unix = false): Promise<{ relays: LiveViewRelays; port: number | string; stop: () => Promise<void> }> {
  const relays = new LiveViewRelays({ ffmpegPath: 'ffmpeg', log: logger, idleMs: 1500, width: 480, ...opts });
  const server: Server = createServer((_q, r) => r.end());
  server.on('upgrade', (req, socket, head) => {
    const u = new URL(req.url ?? '/', 'http://localhost');
    const src = sources[u.pathname.split('/')[3] ?? ''];
    if (!src) return void socket.destroy();
    void relays.proxyUpgrade(src, req, socket, head, { principal: u.searchParams.get('who') ?? undefined });
    if (u.searchParams.has('abort')) socket.destroy(new Error('reset by the test'));
  });
  const path = join(tmpdir(), `vigil-live-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
  await new Promise<void>((r) => (unix ? server.listen(path, () => r()) : server.listen(0, '127.0.0.1', () => r())));
  const stop = async () => {
    await relays.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  cleanups.push(stop);
  return { relays, port: unix ? path : (server.address() as { port: number }).port, stop };
}

const HANDSHAKE = { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13' };

/** A websocket handshake by hand: resolves with the upgraded socket. */
function openWs(to: number | string, path: string, key = randomBytes(16).toString('base64')): Promise<{ socket: Socket; head: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ ...(typeof to === 'number' ? { port: to } : { socketPath: to }), path, headers: { ...HANDSHAKE, 'Sec-WebSocket-Key': key } });
    req.on('upgrade', (_res, socket, head) => resolve({ socket, head }));
    req.on('response', (res) => {
      res.resume();
      reject(new Error(`no upgrade: ${res.statusCode}`));
    });
    req.on('error', reject);
    req.end();
  });
}

/** What a viewer received, from the server's (unmasked) frames. */
interface Watched {
  socket: Socket;
  /** The first binary message: JSMpeg's header. */
  header?: Buffer;
  video: number;
  closeCode?: number;
  closed: boolean;
}

function watch({ socket, head }: { socket: Socket; head: Buffer }): Watched {
  const w: Watched = { socket, video: 0, closed: false };
  let buf = Buffer.alloc(0);
  const onData = (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) return;
      let len = buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) [len, off] = buf.length < 4 ? [-1, 0] : [buf.readUInt16BE(2), 4];
      else if (len === 127) [len, off] = buf.length < 10 ? [-1, 0] : [Number(buf.readBigUInt64BE(2)), 10];
      if (len < 0 || buf.length < off + len) return;
      const opcode = buf[0]! & 0x0f;
      const payload = buf.subarray(off, off + len);
      if (opcode === 2 && !w.header) w.header = Buffer.from(payload);
      else if (opcode === 2) w.video += len;
      else if (opcode === 8 && len >= 2) w.closeCode = payload.readUInt16BE(0);
      buf = buf.subarray(off + len);
    }
  };
  socket.on('data', onData);
  socket.on('error', () => undefined);
  socket.on('close', () => (w.closed = true));
  onData(head);
  return w;
}

async function viewer(port: number | string, camera = 'cam', who?: string): Promise<Watched> {
  return watch(await openWs(port, `/api/cameras/${camera}/live${who ? `?who=${who}` : ''}`));
}

const hasHeader = (w: Watched) => w.header?.length === 8 && w.header.subarray(0, 4).toString() === 'jsmp' && w.header.readUInt16BE(4) === 480;

/** Waits until the viewer has received `bytes` more video than it has now. */
async function moreVideo(w: Watched, bytes = 20_000, timeoutMs = 20_000): Promise<void> {
  const from = w.video;
  await waitFor(`${bytes} more bytes of video`, () => w.video - from >= bytes, timeoutMs);
}

/** Relay ffmpeg processes this test process started (the camera simulator's ffmpeg is not one). */
function relayFfmpegs(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === process.pid && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('mpeg1video') ? [Number(d)] : [];
      } catch {
        return []; // exited while we looked
      }
    });
}

/** Inodes of the listening TCP sockets the given processes hold open. */
function listeningSockets(pids: number[]): Set<string> {
  const listening = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const row of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const cols = row.trim().split(/\s+/);
      if (cols[3] === '0A') listening.add(cols[9]!); // st 0A: LISTEN
    }
  }
  const held = new Set<string>();
  for (const pid of pids) {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        if (inode && listening.has(inode)) held.add(inode);
      } catch {
        // closed while we looked
      }
    }
  }
  return held;
}

/** A raw client frame; client frames must be masked (mask 0 leaves the payload as is). */
function frame(opcode: number, payload: Buffer, masked = true): Buffer {
  const len = payload.length < 126 ? [payload.length] : [126, payload.length >> 8, payload.length & 0xff];
  return Buffer.concat([Buffer.from([0x80 | opcode, (masked ? 0x80 : 0) | len[0]!, ...len.slice(1)]), masked ? Buffer.alloc(4) : Buffer.alloc(0), payload]);
}

test('a live view starts on demand through the API port and stops when the last viewer leaves', async () => {
  const { relays, port } = await serve();
  assert.deepEqual(relays.active(), {});
  const ws = await viewer(port);
  // The 8-byte "jsmp" header, then MPEG-TS packets (sync byte 0x47) of MPEG-1 video.
  await waitFor('the stream header', () => hasHeader(ws), 20_000);
  await moreVideo(ws, 20_000, 30_000);
  assert.equal(relays.active().cam, 1);

  ws.socket.destroy();
  await waitFor('relay stopped after the last viewer left', () => relays.active().cam === undefined, 15_000);
  await waitFor('its ffmpeg gone', () => relayFfmpegs().length === 0, 10_000);
  assert.ok(lines.some((l) => l.includes('live view stopped')));
  assert.ok(!lines.join('').includes('hunter2'));
});

test('a running relay listens on no port, nor does its ffmpeg', async () => {
  const { relays, port, stop } = await serve();
  const before = listeningSockets([process.pid]);
  const ws = await viewer(port);
  await moreVideo(ws);
  const ffmpegs = relayFfmpegs();
  assert.equal(ffmpegs.length, 1);
  assert.deepEqual(listeningSockets([process.pid, ...ffmpegs]), before);
  assert.equal(relays.active().cam, 1);
  await stop();
});

/** A connected TCP socket; `upgrade()` sends the handshake and resolves once it is accepted. */
async function connected(port: number, path: string): Promise<{ upgrade: () => Promise<{ socket: Socket; head: Buffer }> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const upgrade = () =>
    new Promise<{ socket: Socket; head: Buffer }>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        if (!buf.subarray(0, 12).toString().endsWith('101')) return reject(new Error(`no upgrade: ${buf.subarray(0, 12).toString()}`));
        resolve({ socket, head: buf.subarray(end + 4) });
      };
      socket.on('data', onData);
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`);
    });
  return { upgrade };
}

test('five viewers opening one camera at once share one ffmpeg, and all get the stream', async () => {
  let { relays, port, stop } = await serve();
  // Callers in one burst share one start.
  await Promise.all([1, 2, 3, 4, 5].map(() => relays.open(sources.cam!)));
  assert.equal(relayFfmpegs().length, 1);
  assert.deepEqual(relays.active(), { cam: 0 });
  await stop();
  // Viewers too: connect first, then send all five handshakes in one go.
  ({ relays, port, stop } = await serve());
  const sockets = await Promise.all([1, 2, 3, 4, 5].map(() => connected(port as number, '/api/cameras/cam/live')));
  const viewers = (await Promise.all(sockets.map((s) => s.upgrade()))).map(watch);
  await waitFor('every header', () => viewers.every(hasHeader), 20_000);
  await Promise.all(viewers.map((w) => moreVideo(w)));
  assert.equal(relayFfmpegs().length, 1);
  assert.deepEqual(relays.active(), { cam: 5 });
  await stop();
});

test('malformed frames from viewers neither crash the process nor disturb other viewers', async () => {
  const { relays, port, stop } = await serve();
  const good = await viewer(port);
  await moreVideo(good);
  const bad: [string, Buffer][] = [
    ['reserved opcode', frame(0x3, Buffer.alloc(0))],
    ['unmasked client frame', frame(0x2, Buffer.from('hello'), false)],
    // 2^30 bytes announced: refused from the header, nothing is buffered.
    ['1 GiB length', Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0])],
    ['garbage', Buffer.concat([Buffer.from('this is not a websocket frame'), randomBytes(512)])],
    ['payload over the limit', frame(0x2, Buffer.alloc(2048))],
    ['a message (viewers send none)', frame(0x1, Buffer.from('hi'))],
  ];
  for (const [what, bytes] of bad) {
    const w = await viewer(port);
    await waitFor(`${what}: header`, () => w.header, 10_000);
    w.socket.write(bytes);
    await waitFor(`${what}: viewer closed`, () => w.closed, 10_000);
  }
  await moreVideo(good);
  assert.equal(good.closed, false);
  assert.deepEqual(relays.active(), { cam: 1 });
  assert.equal(relayFfmpegs().length, 1);
  await stop();
});

test('viewers that vanish mid-handshake give their slot back; over a cap, a clear refusal', async () => {
  const { relays, port, stop } = await serve({ maxViewersPerCamera: 2, maxViewers: 3 });
  // Reset right after the handover, while the relay starts.
  for (let i = 0; i < 3; i++) await assert.rejects(openWs(port, '/api/cameras/cam/live?abort=1'));
  // Reset from the client's side just after the request is sent.
  for (let i = 0; i < 3; i++) {
    const s = connect(port as number, '127.0.0.1');
    s.on('error', () => undefined);
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write(`GET /api/cameras/cam/live HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 20 * i));
    s.resetAndDestroy();
  }
  // A handshake ws rejects never reaches our callback.
  await assert.rejects(openWs(port, '/api/cameras/cam/live', 'not-a-key'), /no upgrade: 400/);
  await new Promise((r) => setTimeout(r, 300));

  const [a, b] = [await viewer(port), await viewer(port)];
  await waitFor('both headers', () => hasHeader(a) && hasHeader(b), 20_000);
  await assert.rejects(viewer(port), /no upgrade: 503/);
  const c = await viewer(port, 'cam-b');
  await waitFor('cam-b header', () => hasHeader(c), 20_000);
  await assert.rejects(viewer(port, 'cam-b'), /no upgrade: 503/);
  assert.deepEqual(relays.active(), { cam: 2, 'cam-b': 1 });
  assert.ok(lines.some((l) => l.includes('live view refused: camera has 2 viewers')));
  assert.ok(lines.some((l) => l.includes('live view refused: 3 viewers in all')));
  await stop();
});

test('a viewer that stops reading is dropped once its queue passes the bound; others keep playing', async () => {
  // On a unix socket the kernel holds ~200 KB for a stalled reader; loopback TCP grows to
  // 4 MB, minutes of this stream, before anything queues in ws.
  const { relays, port, stop } = await serve({ maxBufferedBytes: 128 * 1024 }, true);
  const good = await viewer(port);
  const { socket: slow } = await openWs(port, '/api/cameras/cam/live?who=slow');
  slow.pause(); // never reads again
  await waitFor('two viewers', () => relays.active().cam === 2, 10_000);
  await waitFor('the slow viewer dropped', () => relays.active().cam === 1, 60_000, 250);
  assert.ok(lines.some((l) => l.includes('live viewer dropped: not keeping up') && l.includes('"principal":"slow"')));
  await moreVideo(good);
  assert.equal(good.closed, false);
  slow.destroy();
  await stop();
});

test('closeViewers closes only the viewers it picks', async () => {
  const { relays, port, stop } = await serve();
  const [alice1, bob, alice2] = [await viewer(port, 'cam', 'alice'), await viewer(port, 'cam', 'bob'), await viewer(port, 'cam', 'alice')];
  await waitFor('every header', () => [alice1, bob, alice2].every(hasHeader), 20_000);
  assert.equal(
    relays.closeViewers((v) => v.principal === 'alice'),
    2,
  );
  await waitFor("alice's viewers closed", () => alice1.closed && alice2.closed, 5_000);
  assert.equal(alice1.closeCode, 1008);
  assert.deepEqual(relays.active(), { cam: 1 });
  await moreVideo(bob);
  assert.equal(bob.closed, false);
  assert.equal(relays.closeViewers((v) => v.principal === 'carol'), 0);
  await stop();
});

test('when ffmpeg dies its viewers are closed, and the next viewer starts a fresh one', async () => {
  const { relays, port, stop } = await serve();
  const first = await viewer(port);
  await moreVideo(first);
  const [pid, ...others] = relayFfmpegs();
  assert.deepEqual(others, []);
  process.kill(pid!, 'SIGKILL');
  await waitFor('the viewer closed', () => first.closed, 10_000);
  assert.equal(first.closeCode, 1011);
  assert.deepEqual(relays.active(), {});
  const next = await viewer(port);
  await moreVideo(next);
  assert.notDeepEqual(relayFfmpegs(), [pid]);
  assert.equal(relayFfmpegs().length, 1);
  await stop();
});

test("an unreachable camera ends its relay and logs ffmpeg's error without the password", async () => {
  const { relays, port, stop } = await serve();
  const ws = await viewer(port, 'down');
  await waitFor('the viewer closed', () => ws.closed, 15_000);
  assert.equal(ws.closeCode, 1011);
  assert.deepEqual(relays.active(), {});
  const ended = lines.find((l) => l.includes('live view ended') && l.includes('"camera":"down"'));
  assert.match(ended ?? '', /rtsp:\/\/viewer:\*\*\*@127\.0\.0\.1:\d+\/cam: Connection refused/);
  assert.ok(!lines.join('').includes('hunter2'));
  await stop();

  // ffmpeg itself missing: the upgrade is answered 502.
  const missing = await serve({ ffmpegPath: '/nonexistent/ffmpeg' });
  await assert.rejects(viewer(missing.port), /no upgrade: 502/);
  assert.deepEqual(missing.relays.active(), {});
  await missing.stop();
});

test('close() stops every ffmpeg and closes every viewer; twice is fine; later viewers are refused', async () => {
  const { relays, port } = await serve();
  const viewers = [await viewer(port), await viewer(port), await viewer(port, 'cam-b')];
  await waitFor('every header', () => viewers.every(hasHeader), 20_000);
  assert.equal(relayFfmpegs().length, 2);
  await Promise.all([relays.close(), relays.close()]);
  assert.deepEqual(relayFfmpegs(), []);
  assert.deepEqual(relays.active(), {});
  await waitFor('every viewer closed', () => viewers.every((w) => w.closed), 5_000);
  assert.ok(viewers.every((w) => w.closeCode === 1001));
  await relays.close();
  await assert.rejects(viewer(port), /no upgrade: 503/);
});

test('limits must be positive integers', () => {
  assert.throws(() => new LiveViewRelays({ ffmpegPath: 'ffmpeg', log: logger, maxViewers: 0 }), /maxViewers must be a positive integer, got 0/);
});
