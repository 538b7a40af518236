/**
 * Alerts with authentication off (the demo's default): no token is needed, so the guard is
 * all that stands between a web page in the operator's browser and the API — DNS rebinding,
 * cross-site requests and cross-site WebSockets must all be refused.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as ioClient } from 'socket.io-client';
import { MemoryBus } from '@vigil/bus';
import { PgliteDatabase, SqlIncidentStore, type IncidentStore } from '@vigil/store';
import { startAlerts, type AlertsService } from '@vigil/alerts';
import { configFromYaml, freePort } from '../helpers/env.ts';
import { capturedLogger } from '../alerts/helpers.ts';
import { rawTcp, rawUpgrade } from './stack-harness.ts';

let alerts: AlertsService;
let store: IncidentStore;
let bus: MemoryBus;
let dir: string;
let port: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-open-'));
  port = await freePort();
  bus = new MemoryBus();
  store = await SqlIncidentStore.open(await PgliteDatabase.open());
  const config = configFromYaml(`
model: { endpoints: [] }
data_dir: ${dir}
http: { port: ${port}, host: 127.0.0.1, allowed_hosts: [vigil.lan] }
cameras: [{ id: dock-1, url: "rtsp://10.0.0.21/s1" }]
`);
  alerts = await startAlerts(config, { bus, store, logger: capturedLogger('alerts').logger, tickMs: 200 });
});
after(async () => {
  await alerts?.close();
  await store?.close();
  await bus?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A request with headers fetch would not let us set (Host). */
function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('auth off: a rebound DNS name is refused; IP addresses, localhost and allowed hosts are served', async () => {
  const rebound = await raw('GET', '/api/incidents', { host: `attacker.example:${port}` });
  assert.equal(rebound.status, 421);
  assert.match(rebound.text, /http\.allowed_hosts/);
  assert.equal((await raw('GET', '/', { host: 'attacker.example' })).status, 421, 'the page too');
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'vigil.lan']) assert.equal((await raw('GET', '/api/incidents', { host })).status, 200, host);
  const live = await rawUpgrade(port, '/api/cameras/dock-1/live', { host: 'attacker.example' }, 300);
  assert.equal(live.status, 421);
  assert.ok(!live.bytes.includes('jsmp'));
});

test('auth off: cross-site and form-encoded mutations are refused before any route', async () => {
  const host = `127.0.0.1:${port}`;
  const form = await raw('POST', '/api/incidents/abc/ack', { host, 'content-type': 'application/x-www-form-urlencoded' }, 'note=x');
  assert.equal(form.status, 415);
  const cross = await raw('POST', '/api/incidents/abc/ack', { host, 'content-type': 'application/json', origin: 'https://attacker.example' }, '{}');
  assert.equal(cross.status, 403);
  const same = await raw('POST', '/api/incidents/abc/ack', { host, 'content-type': 'application/json', origin: `http://${host}` }, '{}');
  assert.equal(same.status, 404, 'a same-origin JSON request reaches the route');
  // A cross-site WebSocket (Socket.IO) is refused at the handshake.
  const evil = ioClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false, extraHeaders: { origin: 'https://attacker.example' } });
  const outcome = await new Promise<string>((res) => {
    evil.on('connect', () => res('connected'));
    evil.on('connect_error', () => res('refused'));
  });
  evil.close();
  assert.equal(outcome, 'refused');
  const own = ioClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
  const ok = await new Promise<string>((res) => {
    own.on('connect', () => res('connected'));
    own.on('connect_error', (e) => res(`refused: ${e.message}`));
  });
  own.close();
  assert.equal(ok, 'connected');
});

test('upgrades to "//" and to unknown paths are answered and closed; shutdown is not held up by them', async () => {
  for (const target of ['//', '/nope']) {
    const res = await rawTcp(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.alloc(16).toString('base64')}\r\n\r\n`, 3000);
    assert.match(res.reply, /^HTTP\/1\.1 (400|404)/);
    assert.ok(res.closed);
  }
});
