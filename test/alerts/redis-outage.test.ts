import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus } from '@vigil/bus';
import { Topics } from '@vigil/contracts';
import { PgDatabase, SqlIncidentStore } from '@vigil/store';
import { RedisState } from '@vigil/state';
import { startAlerts } from '@vigil/alerts';
import { configFromYaml, dropDatabase, freePort, freshDatabaseUrl, waitFor } from '../helpers/env.ts';
import { capturedLogger, finding, liveClient } from './helpers.ts';

// Redis is shared state, not the source of truth: with it away, alerts keeps storing incidents
// and serving its own clients, nothing rejects unhandled, and the other replicas' clients get
// what they missed once it is back. A private redis-server, so stopping it touches nothing else.
const dir = mkdtempSync(join(tmpdir(), 'vigil-redis-out-'));
const dbUrl = freshDatabaseUrl();
const cleanups: (() => Promise<unknown> | unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await dropDatabase(dbUrl);
  rmSync(dir, { recursive: true, force: true });
});

function startRedis(port: number): Promise<ChildProcess> {
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    p.stdout!.on('data', (d: Buffer) => /Ready to accept connections/.test(d.toString()) && resolve(p));
    p.once('exit', (code) => reject(new Error(`redis-server exited ${code}`)));
  });
}
const stop = (p: ChildProcess) => new Promise((r) => (p.exitCode !== null ? r(undefined) : (p.once('exit', r), p.kill('SIGKILL'))));

test('with Redis away an incident is stored and reaches this replica’s clients; the other replica’s clients get it when Redis is back', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  cleanups.push(() => process.off('unhandledRejection', onUnhandled));
  const redisPort = await freePort();
  let redis = await startRedis(redisPort);
  cleanups.push(() => stop(redis));
  const yaml = async () => `
model: { endpoints: [] }
data_dir: ${dir}
postgres: { url: "${dbUrl}" }
redis: { url: "redis://127.0.0.1:${redisPort}", prefix: "out-test:" }
http: { port: ${await freePort()}, host: 127.0.0.1 }
cameras: [{ id: dock-1, url: "rtsp://10.0.0.21/s1" }]
queries: [{ id: forklift, cameras: [dock-1], question: "Forklift?", window: 4s, every: 2s, cooldown: 30s }]
`;
  // Replica A consumes the findings; replica B shares the database and Redis, and only serves clients.
  const replica = async (bus: MemoryBus) => {
    const store = await SqlIncidentStore.open(await PgDatabase.open(dbUrl));
    const state = new RedisState(`redis://127.0.0.1:${redisPort}`, 'out-test:');
    const alerts = await startAlerts(configFromYaml(await yaml()), { bus, store, state, logger: capturedLogger('alerts').logger, tickMs: 200 });
    cleanups.push(async () => (await alerts.close(), await state.close(), await store.close(), await bus.close()));
    return { alerts, store };
  };
  const busA = new MemoryBus();
  const a = await replica(busA);
  const b = await replica(new MemoryBus());
  const clientA = liveClient(a.alerts.port);
  const clientB = liveClient(b.alerts.port);
  cleanups.push(() => (clientA.socket.close(), clientB.socket.close()));
  await waitFor('both clients connected', () => clientA.socket.connected && clientB.socket.connected, 10_000);
  // Redis up: an incident reaches both replicas' clients.
  const start = Date.now() - 60_000;
  await busA.publish(Topics.findings, [{ key: 'dock-1', value: Buffer.from(JSON.stringify(finding('dock-1', 0, 'Yes, one.', { windowStart: start }))) }]);
  await waitFor('the first incident on both replicas', () => clientA.of('incident:new').length === 1 && clientB.of('incident:new').length === 1, 10_000);

  await stop(redis);
  const second = finding('dock-1', 100, 'Yes, two.', { windowStart: start });
  await busA.publish(Topics.findings, [{ key: 'dock-1', value: Buffer.from(JSON.stringify(second)) }]);
  const t0 = Date.now();
  await waitFor('stored without Redis', async () => (await a.store.get(second.id)) !== undefined, 10_000);
  await waitFor("this replica's client told without Redis", () => clientA.of('incident:new', (i) => i.id === second.id).length === 1, 10_000);
  assert.ok(Date.now() - t0 < 8000, 'the write path did not wait on Redis for long');
  assert.equal(clientB.of('incident:new', (i) => i.id === second.id).length, 0);

  redis = await startRedis(redisPort);
  await waitFor("the other replica's client gets what it missed", () => clientB.of('incident:new', (i) => i.id === second.id).length === 1, 20_000);
  assert.equal(clientA.of('incident:new', (i) => i.id === second.id).length, 1, 'no second copy to the replica that was told');
  assert.deepEqual(unhandled, [], 'a rejection went unhandled');
});
