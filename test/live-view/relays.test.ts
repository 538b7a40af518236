import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { LiveViewRelays, type LiveSource } from '@vigil/live-view';
import { createLogger } from '@vigil/observability';
import { startCameraSim, startRtspServer } from '../fixtures/camera-sim.ts';
import { freePort, waitFor } from '../helpers/env.ts';

const lines: string[] = [];
const logger = createLogger('live-test', { destination: { write: (s: string) => void lines.push(s) } as never });
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A websocket handshake by hand: resolves with the upgraded socket. */
function openWs(port: number, path: string): Promise<{ socket: Socket; head: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({
      port,
      path,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64') },
    });
    req.on('upgrade', (_res, socket, head) => resolve({ socket, head }));
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

test('a live view starts on demand through the API port and stops when the last viewer leaves', async () => {
  const [rtspPort, udp] = [await freePort(), await freePort()];
  const rtsp = await startRtspServer({ port: rtspPort, mounts: { cam: udp } });
  cleanups.push(() => rtsp.stop());
  const sim = await startCameraSim({ name: 'cam', udpPort: udp });
  cleanups.push(() => sim.stop());
  // A password in the URL: it must never reach the logs.
  const src: LiveSource = { id: 'cam', url: rtsp.url('cam').replace('rtsp://', 'rtsp://viewer:hunter2@'), transport: 'tcp' };
  const relays = new LiveViewRelays({ ffmpegPath: 'ffmpeg', log: logger, idleMs: 1500 });
  cleanups.push(() => relays.close());
  const server: Server = createServer((_q, r) => r.end());
  server.on('upgrade', (req, socket, head) => void relays.proxyUpgrade(src, req, socket, head));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;

  assert.deepEqual(relays.active(), {});
  const { socket: ws, head } = await openWs(port, '/api/cameras/cam/live');
  let bytes = Buffer.from(head);
  ws.on('data', (d: Buffer) => (bytes = Buffer.concat([bytes, d]).subarray(-200_000)));
  // node-rtsp-stream's 8-byte "jsmp" header, then MPEG-TS packets (sync byte 0x47) of MPEG-1 video.
  await waitFor('the stream header', () => bytes.includes(Buffer.from('jsmp')), 20_000);
  await waitFor('MPEG-TS video', () => bytes.length > 20_000, 30_000);
  assert.ok(bytes.includes(0x47));
  assert.equal(relays.active().cam, 1);

  ws.destroy();
  await waitFor('relay stopped after the last viewer left', () => relays.active().cam === undefined, 15_000);
  assert.ok(lines.some((l) => l.includes('live view stopped')));
  assert.ok(!lines.join('').includes('hunter2'));
});
