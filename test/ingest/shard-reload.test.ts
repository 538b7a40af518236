// Sharding and reload: two shards over six cameras ingest each camera exactly once; a
// config change (file edit, or a reload message on NATS) adds and removes cameras without
// restarting the ones it does not touch; a broken config is refused and the running one kept.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Topics, decodeFrameChunk, type CameraStatus } from '@vigil/contracts';
import { KafkaBus } from '@vigil/bus';
import { NatsControl } from '@vigil/control';
import { loadConfig } from '@vigil/config';
import { createLogger } from '@vigil/observability';
import { RELOAD_SUBJECT, startIngest, type IngestService } from '@vigil/ingest';
import { shardOf } from '../../services/ingest/src/shard.ts';
import { ConfigReloads } from '@vigil/platform';
import { KAFKA, configFromYaml, metricSum, uid, waitFor } from '../helpers/env.ts';
import { cameras, clip, metricsText, readTopic } from './helpers.ts';

const NATS = process.env.VIGIL_TEST_NATS ?? 'nats://127.0.0.1:4222';
const id = uid();
const dir = mkdtempSync(join(tmpdir(), 'vigil-ingest-reload-'));
const log = () => createLogger('ingest', { level: process.env.VIGIL_TEST_LOG ?? 'silent' });
const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

async function openBus(): Promise<KafkaBus> {
  const bus = new KafkaBus({ brokers: [KAFKA], clientId: `ingest-shard-${id}`, logger: createLogger('test', { level: 'silent' }) });
  closers.push(() => bus.close());
  return bus;
}

async function start(...args: Parameters<typeof startIngest>): Promise<IngestService> {
  const s = await startIngest(...args);
  closers.push(() => s.close());
  return s;
}

const yaml = (ids: string[]) => `model: { endpoints: ["http://127.0.0.1:9"] }
kafka: { brokers: ["${KAFKA}"] }
ingest: { metrics_port: 0 }
cameras:
${ids.map((c) => `  - { id: ${c}, url: "file://${clip()}", fps: 2, width: 160 }`).join('\n')}
`;

test('two shards over six cameras: each camera is ingested exactly once', async () => {
  const startedAt = Date.now();
  // Random ids could all hash to one shard (3% of runs): take ids until each shard has three.
  const ids: string[] = [];
  const per = [0, 0];
  for (let i = 0; ids.length < 6; i++) {
    const c = `shard-${i}-${id}`;
    const s = shardOf(c, 2);
    if (per[s]! < 3) (per[s]!++, ids.push(c));
  }
  const config = configFromYaml(yaml(ids));
  const frames = await readTopic(KAFKA, Topics.frames, startedAt - 1000, (k) => ids.includes(k));
  closers.push(() => frames.close());
  const bus = await openBus();
  const shards = [
    await start(config, { bus, logger: log(), shard: { index: 0, count: 2 } }),
    await start(config, { bus, logger: log(), shard: { index: 1, count: 2 } }),
  ];
  const owned = shards.map((s) => s.cameras().map((c) => c.cameraId));
  assert.ok(owned.every((o) => o.length > 0), `both shards have work: ${owned.map((o) => o.length)}`);
  assert.deepEqual([...owned[0]!, ...owned[1]!].sort(), [...ids].sort(), 'together they cover every camera, none twice');
  // On Kafka: every camera has chunks, from one seq stream only (two ingesters would interleave two).
  await waitFor('chunks of every camera', () => ids.every((c) => frames.records.filter((r) => r.key === c).length >= 3), 20_000);
  for (const c of ids) {
    const seqs = frames.records.filter((r) => r.key === c).map((r) => (decodeFrameChunk(r.value) as { ok: true; value: { seq: number } }).value.seq);
    for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!, `${c}: seq ${seqs[i - 1]} then ${seqs[i]}`);
  }
  for (const [i, s] of shards.entries()) {
    const m = await metricsText(s.port);
    assert.equal(metricSum(m, 'vigil_ingest_cameras'), owned[i]!.length);
    for (const c of ids) assert.equal(metricSum(m, 'vigil_ingest_frames_total', `camera="${c}"`) > 0, owned[i]!.includes(c), `${c} on shard ${i}`);
  }
});

test('editing the config file adds and removes cameras without restarting the others; a bad file is refused', async () => {
  const startedAt = Date.now();
  const [a, b, c] = ['a', 'b', 'c'].map((x) => `reload-${x}-${id}`) as [string, string, string];
  const file = join(dir, 'vigil.yaml');
  writeFileSync(file, yaml([a, b]));
  const status = await readTopic(KAFKA, Topics.cameraStatus, startedAt - 1000, (k) => [a, b, c].includes(k));
  closers.push(() => status.close());
  const ingest = await start(loadConfig(file, {}), { bus: await openBus(), logger: log() });
  // Reloads come the way `vigil run` wires them: the file watched, every change validated first.
  const refusals: string[] = [];
  const reloads = new ConfigReloads(loadConfig(file, {}), () => [{ name: 'ingest', reload: (c) => ingest.reload(c), reloadRefused: (e) => refusals.push(e) }], { file, env: {}, log: log(), signal: false }).start();
  closers.push(() => reloads.close());
  const first = await waitFor('a and b online', async () => {
    const m = await cameras(ingest.port);
    return m.get(a)?.state === 'online' && m.get(b)?.state === 'online' ? m : undefined;
  }, 15_000);
  const aBefore = first.get(a)!;

  writeFileSync(file, yaml([a, c]));
  const next = await waitFor('b removed, c added', async () => {
    const m = await cameras(ingest.port);
    return !m.has(b) && m.get(c)?.state === 'online' ? m : undefined;
  }, 15_000);
  const aAfter = next.get(a)!;
  assert.equal(aAfter.ffmpegPid, aBefore.ffmpegPid, 'a kept its ffmpeg process');
  assert.equal(aAfter.runs, 1);
  assert.equal(aAfter.restarts, 0);
  assert.ok(aAfter.framesTotal > aBefore.framesTotal, 'a kept delivering');
  const metrics = await metricsText(ingest.port);
  assert.ok(!metrics.includes(`camera="${b}"`), 'the removed camera left /metrics');
  await waitFor('b reported removed on Kafka', () =>
    status.records.some((r) => r.key === b && (JSON.parse(r.value.toString()) as CameraStatus).reason === 'removed from config'),
  );

  writeFileSync(file, yaml([a, c]).replace('cameras:', 'cameras: [oops'));
  await waitFor('the bad file refused', () => refusals.length > 0, 10_000);
  assert.match(refusals[0]!, /invalid config/);
  const still = await cameras(ingest.port);
  assert.deepEqual([...still.keys()].sort(), [a, c].sort());
  assert.equal(still.get(a)!.ffmpegPid, aBefore.ffmpegPid);
});

test('a reload message on NATS vigil.control.reload applies a changed config file', async () => {
  const [a, d] = ['a', 'd'].map((x) => `nats-${x}-${id}`) as [string, string];
  const file = join(dir, 'nats.yaml');
  writeFileSync(file, yaml([a]));
  const control = await NatsControl.connect(NATS);
  closers.push(() => control.close());
  const sender = await NatsControl.connect(NATS);
  closers.push(() => sender.close());
  // Not watching the file: only the message can make this ingest notice the change.
  const ingest = await start(loadConfig(file, {}), { bus: await openBus(), logger: log() });
  const reloads = new ConfigReloads(loadConfig(file, {}), () => [{ name: 'ingest', reload: (c) => ingest.reload(c) }], { file, env: {}, log: log(), watch: false, signal: false, control }).start();
  closers.push(() => reloads.close());
  await waitFor('a online', async () => (await cameras(ingest.port)).get(a)?.state === 'online', 15_000);
  const pid = (await cameras(ingest.port)).get(a)!.ffmpegPid;
  writeFileSync(file, yaml([a, d]));
  // A request that is not a ReloadRequest is refused (and logged), like no message at all.
  await sender.publish(RELOAD_SUBJECT, { reason: 'test' });
  await new Promise((r) => setTimeout(r, 700));
  assert.ok(!(await cameras(ingest.port)).has(d), 'nothing happens before a valid message');
  await sender.publish(RELOAD_SUBJECT, { v: 1, requestedBy: 'test' });
  const m = await waitFor('d added', async () => {
    const v = await cameras(ingest.port);
    return v.get(d)?.state === 'online' ? v : undefined;
  }, 15_000);
  assert.equal(m.get(a)!.ffmpegPid, pid, 'a untouched');
});
