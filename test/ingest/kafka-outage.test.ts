// Kafka goes away for 10 s: ingest keeps reading cameras, keeps a bounded buffer per
// camera, drops (and counts) the oldest chunks, and publishes again by itself when the
// broker returns. The broker here is this test's own (own ports, own folder), so stopping
// it disturbs nobody else's tests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Topics, decodeFrameChunk } from '@vigil/contracts';
import { KafkaBus } from '@vigil/bus';
import { createLogger } from '@vigil/observability';
import { startIngest, type IngestService } from '@vigil/ingest';
import { configFromYaml, freePort, metricSum, uid, waitFor } from '../helpers/env.ts';
import { cameras, clip, metricsText, readTopic } from './helpers.ts';

const run = promisify(execFile);
const id = uid();
const camera = `outage-${id}`;
const runDir = mkdtempSync(join(tmpdir(), 'vigil-kafka-outage-'));
let env: NodeJS.ProcessEnv;
let broker: string;
let ingest: IngestService;
let bus: KafkaBus;

const kafka = (cmd: 'start' | 'stop') => run('bash', ['scripts/kafka.sh', cmd], { env, timeout: 90_000 });
const published = async () => metricSum(await metricsText(ingest.port), 'vigil_ingest_chunks_published_total', `camera="${camera}"`);

before(async () => {
  const [port, controller] = [await freePort(), await freePort()];
  env = { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controller), KAFKA_RUN_DIR: runDir };
  broker = `127.0.0.1:${port}`;
  await kafka('start');
  const config = configFromYaml(`
model: { endpoints: ["http://127.0.0.1:9"] }
kafka: { brokers: ["${broker}"] }
ingest: { metrics_port: 0, buffer: 3s }
cameras:
  - { id: ${camera}, url: "file://${clip()}" }
`);
  bus = new KafkaBus({ brokers: [broker], clientId: `ingest-outage-${id}`, logger: createLogger('test', { level: 'silent' }) });
  ingest = await startIngest(config, { bus, logger: createLogger('ingest', { level: process.env.VIGIL_TEST_LOG ?? 'silent' }) });
});

after(async () => {
  await ingest?.close();
  await bus?.close().catch(() => undefined);
  await kafka('stop').catch(() => undefined);
  rmSync(runDir, { recursive: true, force: true });
});

test('ingest survives a 10 s Kafka outage, drops the oldest chunks within its buffer, and resumes alone', async () => {
  await waitFor('publishing', async () => (await published()) >= 3, 20_000);
  await kafka('stop');
  const stoppedAt = Date.now();
  const before = await cameras(ingest.port);
  const publishedAtStop = await published();
  let maxQueued = 0;
  while (Date.now() - stoppedAt < 10_000) {
    const m = await metricsText(ingest.port);
    maxQueued = Math.max(maxQueued, metricSum(m, 'vigil_ingest_queued_chunks', `camera="${camera}"`));
    await new Promise((r) => setTimeout(r, 500));
  }
  const during = await metricsText(ingest.port);
  const after = (await cameras(ingest.port)).get(camera)!;
  assert.equal(after.state, 'online', 'the camera keeps running while Kafka is down');
  assert.ok(after.framesTotal >= before.get(camera)!.framesTotal + 30, 'frames kept coming from ffmpeg');
  assert.ok(metricSum(during, 'vigil_ingest_chunks_dropped_total', `camera="${camera}"`) >= 4, 'oldest chunks dropped and counted');
  assert.ok(metricSum(during, 'vigil_ingest_frames_dropped_total', `camera="${camera}"`) >= 16);
  assert.ok(maxQueued <= 3, `queue bounded by ingest.buffer (3 chunks), saw ${maxQueued}`);
  assert.ok((await published()) <= publishedAtStop + 1, 'nothing can be published while the broker is down');
  assert.equal((await fetch(`http://127.0.0.1:${ingest.port}/healthz`)).status, 200);

  await kafka('start');
  const restartedAt = Date.now();
  await waitFor('publishing again', async () => (await published()) >= publishedAtStop + 5, 60_000, 500);
  // Fresh chunks really are on the restarted broker.
  const reader = await readTopic(broker, Topics.frames, restartedAt, (k) => k === camera);
  try {
    await waitFor('new chunks readable', () => reader.records.length >= 2, 30_000);
    const chunk = decodeFrameChunk(reader.records.at(-1)!.value);
    assert.ok(chunk.ok && chunk.value.cameraId === camera && chunk.value.frames.length > 0);
  } finally {
    await reader.close();
  }
  assert.equal((await cameras(ingest.port)).get(camera)!.restarts, 0, 'the camera never restarted');
});
