// Bad input, each camera failing its own way beside a healthy one: every bad camera goes
// offline (or degraded) with a reason that says which, and the healthy camera carries on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { CameraStatus } from '@vigil/contracts';
import { Topics } from '@vigil/contracts';
import { KafkaBus } from '@vigil/bus';
import { createLogger } from '@vigil/observability';
import { startIngest, type IngestService } from '@vigil/ingest';
import { KAFKA, configFromYaml, freePort, metricSum, uid, waitFor } from '../helpers/env.ts';
import { audioOnlyClip, cameras, clip, metricsText, readTopic, startRefusingRtspServer } from './helpers.ts';

const id = uid();
const cam = (name: string) => `${name}-${id}`;
let ingest: IngestService;
let bus: KafkaBus;
let refusing: Awaited<ReturnType<typeof startRefusingRtspServer>>;
let status: Awaited<ReturnType<typeof readTopic>>;

before(async () => {
  const startedAt = Date.now();
  refusing = await startRefusingRtspServer();
  const closedPort = await freePort();
  const config = configFromYaml(`
model: { endpoints: ["http://127.0.0.1:9"] }
kafka: { brokers: ["${KAFKA}"] }
ingest: { metrics_port: 0 }
cameras:
  - { id: ${cam('good')}, url: "file://${clip()}" }
  - { id: ${cam('refused')}, url: "rtsp://127.0.0.1:${closedPort}/stream" }
  - { id: ${cam('wrong-password')}, url: "rtsp://127.0.0.1:${refusing.port}/stream", username: admin, password: not-the-password }
  - { id: ${cam('no-host')}, url: "rtsp://camera-7.invalid/stream" }
  - { id: ${cam('no-video')}, url: "file://${audioOnlyClip()}" }
  - { id: ${cam('bad-url')}, url: "rtsp://[10.0.0.7/stream" }
  - { id: ${cam('slow')}, url: "file://${clip()}", input_args: ["-readrate", "0.5"] }
`);
  bus = new KafkaBus({ brokers: [KAFKA], clientId: `ingest-bad-${id}`, logger: createLogger('test', { level: 'silent' }) });
  ingest = await startIngest(config, { bus, logger: createLogger('ingest', { level: process.env.VIGIL_TEST_LOG ?? 'silent' }), rateWindowMs: 3000 });
  status = await readTopic(KAFKA, Topics.cameraStatus, startedAt - 1000, (k) => k.endsWith(id));
});

after(async () => {
  await ingest?.close();
  await bus?.close();
  await status?.close();
  await refusing?.close();
});

test('each bad camera is offline with a reason naming its problem', async () => {
  const expected: Record<string, string> = {
    [cam('refused')]: 'connection refused',
    [cam('wrong-password')]: '401 unauthorized',
    [cam('no-host')]: 'host unreachable',
    [cam('no-video')]: 'stream has no video',
    [cam('bad-url')]: 'invalid URL',
  };
  const seen = await waitFor(
    'every bad camera offline with its reason',
    async () => {
      const all = await cameras(ingest.port);
      return Object.entries(expected).every(([c, reason]) => all.get(c)?.state === 'offline' && all.get(c)?.reason === reason) ? all : undefined;
    },
    15_000,
  );
  for (const [c, reason] of Object.entries(expected)) assert.equal(seen.get(c)?.reason, reason, c);
  // The credentials were offered (so the 401 is about them, not a missing login).
  assert.ok(refusing.authorizations.some((a) => a === `Basic ${Buffer.from('admin:not-the-password').toString('base64')}`));
  // The same reasons went to Kafka, keyed by camera.
  await waitFor('statuses on Kafka', () =>
    Object.entries(expected).every(([c, reason]) =>
      status.records.some((r) => r.key === c && (JSON.parse(r.value.toString()) as CameraStatus).reason === reason),
    ),
  );
});

test('the healthy camera carries on, and one delivering half its fps is degraded', async () => {
  const all = await waitFor('slow camera degraded', async () => {
    const m = await cameras(ingest.port);
    return m.get(cam('slow'))?.state === 'degraded' ? m : undefined;
  }, 20_000);
  assert.match(all.get(cam('slow'))!.reason, /^delivering [12]\.\d of 4 fps$/);
  const good = all.get(cam('good'))!;
  assert.equal(good.state, 'online');
  assert.equal(good.restarts, 0);
  const metrics = await metricsText(ingest.port);
  assert.ok(metricSum(metrics, 'vigil_ingest_frames_published_total', `camera="${cam('good')}"`) >= 12);
  assert.equal(metricSum(metrics, 'vigil_ingest_camera_state', `camera="${cam('slow')}",state="degraded"`), 1);
  assert.ok(metricSum(metrics, 'vigil_ingest_camera_restarts_total', `camera="${cam('refused')}"`) >= 1, 'the refused camera is retried');
  assert.equal(metricSum(metrics, 'vigil_ingest_camera_restarts_total', `camera="${cam('bad-url')}"`), 0, 'an unparseable URL is not retried');
  const fpsIn = metricSum(metrics, 'vigil_ingest_camera_fps_in', `camera="${cam('good')}"`);
  assert.equal(fpsIn, 10, "the clip's own 10 fps");
});
