// A camera that drops and comes back, and one that stalls: real simulator, real RTSP
// server, real ffmpeg, real Kafka. The camera goes offline with a reason and comes back
// online by itself; frames resume; the reconnect is counted; nothing crashes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Topics, decodeFrameChunk, topicSpecs, type CameraStatus } from '@vigil/contracts';
import { KafkaBus } from '@vigil/bus';
import { createLogger } from '@vigil/observability';
import { startIngest, type IngestService } from '@vigil/ingest';
import { startCameraSim, startRtspServer, type CameraSim, type RtspServer } from '../fixtures/camera-sim.ts';
import { KAFKA, configFromYaml, freePort, metricSum, uid, waitFor } from '../helpers/env.ts';
import { cameras, metricsText, readTopic } from './helpers.ts';

const id = uid();
const camera = `dock-${id}`;
let rtsp: RtspServer;
let sim: CameraSim;
let udpPort: number;
let ingest: IngestService;
let bus: KafkaBus;
let status: Awaited<ReturnType<typeof readTopic>>;
let frames: Awaited<ReturnType<typeof readTopic>>;

const simulate = () => startCameraSim({ name: camera, udpPort, width: 640, height: 360, fps: 15 });
const view = async () => (await cameras(ingest.port)).get(camera)!;
const states = () => status.records.map((r) => JSON.parse(r.value.toString()) as CameraStatus);

before(async () => {
  const startedAt = Date.now();
  [udpPort] = [await freePort()];
  rtsp = await startRtspServer({ port: await freePort(), mounts: { [camera]: udpPort } });
  sim = await simulate();
  const config = configFromYaml(`
model: { endpoints: ["http://127.0.0.1:9"] }
kafka: { brokers: ["${KAFKA}"] }
ingest: { metrics_port: 0 }
cameras:
  - { id: ${camera}, url: "${rtsp.url(camera)}", transport: tcp, stall_timeout: 3s }
`);
  bus = new KafkaBus({ brokers: [KAFKA], clientId: `ingest-reconnect-${id}`, logger: createLogger('test', { level: 'silent' }) });
  // The readers start before ingest (which creates the topics): on a fresh broker they must exist first.
  await bus.ensureTopics(topicSpecs([Topics.frames, Topics.cameraStatus]));
  status = await readTopic(KAFKA, Topics.cameraStatus, startedAt - 1000, (k) => k === camera);
  frames = await readTopic(KAFKA, Topics.frames, startedAt - 1000, (k) => k === camera);
  ingest = await startIngest(config, { bus, logger: createLogger('ingest', { level: process.env.VIGIL_TEST_LOG ?? 'silent' }) });
  await waitFor('camera online', async () => (await view()).state === 'online', 20_000);
});

after(async () => {
  await ingest?.close();
  await bus?.close();
  await Promise.all([status?.close(), frames?.close()]);
  await sim?.stop();
  await rtsp?.stop();
});

test('the camera drops (RTSP mount taken down) and comes back: offline, then online, frames resume', async () => {
  await waitFor('frames flowing', async () => (await view()).framesTotal >= 8, 10_000);
  await rtsp.down(camera);
  const offline = await waitFor('offline', async () => {
    const v = await view();
    return v.state === 'offline' ? v : undefined;
  }, 15_000);
  assert.ok(offline.reason.length > 0 && !offline.reason.includes('rtsp://'), `reason: ${offline.reason}`);
  const framesWhenDown = offline.framesTotal;
  await new Promise((r) => setTimeout(r, 1500));
  await rtsp.up(camera, udpPort);
  const back = await waitFor('online again', async () => {
    const v = await view();
    return v.state === 'online' && v.framesTotal > framesWhenDown + 4 ? v : undefined;
  }, 30_000);
  assert.ok(back.restarts >= 1 && back.runs >= 2, `restarts ${back.restarts}, runs ${back.runs}`);
  const metrics = await metricsText(ingest.port);
  assert.ok(metricSum(metrics, 'vigil_ingest_camera_restarts_total', `camera="${camera}"`) >= 1, 'reconnect counted');
  assert.equal(metricSum(metrics, 'vigil_ingest_camera_online', `camera="${camera}"`), 1);
  // Kafka saw the same story, in order.
  await waitFor('statuses on Kafka', () => {
    const s = states().map((x) => x.state);
    const on = s.indexOf('online');
    const off = s.indexOf('offline', on);
    return on >= 0 && off > on && s.indexOf('online', off) > off;
  });
  assert.equal(states()[0]!.state, 'starting');
});

test('a stalled stream (source gone, connection open) is restarted after the stall timeout', async () => {
  await sim.stop();
  const stalled = await waitFor('offline for lack of frames', async () => {
    const v = await view();
    return v.state === 'offline' ? v : undefined;
  }, 15_000);
  assert.equal(stalled.reason, 'no frames for 3 s');
  sim = await simulate();
  await waitFor('online after the source returns', async () => (await view()).state === 'online', 40_000);
  await waitFor('status "no frames for 3 s" on Kafka', () => states().some((s) => s.state === 'offline' && s.reason === 'no frames for 3 s'));
});

test('capture times and chunk seqs on Kafka only move forward, across every reconnect', async () => {
  await waitFor('chunks on Kafka', () => frames.records.length >= 8);
  const chunks = frames.records.map((r) => {
    const d = decodeFrameChunk(r.value);
    assert.ok(d.ok, d.ok ? '' : d.reason);
    return d.value;
  });
  for (let i = 1; i < chunks.length; i++) {
    assert.ok(chunks[i]!.seq > chunks[i - 1]!.seq, `seq ${chunks[i - 1]!.seq} → ${chunks[i]!.seq}`);
    assert.ok(chunks[i]!.frames[0]!.capturedAt > chunks[i - 1]!.frames.at(-1)!.capturedAt, 'capture time monotonic');
  }
  const now = Date.now();
  assert.ok(chunks.every((c) => c.frames.every((f) => f.capturedAt <= now && f.capturedAt > now - 120_000)), 'capture times are wall clock');
});
