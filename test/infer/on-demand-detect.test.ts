// Decode on demand with a detect substream (`detect_url`, Frigate's `detect` role): the trigger
// stage reads the camera's low-resolution substream, decoded continuously at `detect_fps`,
// and the main stream is only copied until a trigger fires; then the window comes from the
// main stream. When the substream goes down the main stream's keyframes stand in. Real RTSP
// cameras (GStreamer's server), Kafka, ffmpeg, infer and the model test server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import jpeg from 'jpeg-js';
import { KafkaBus } from '@vigil/bus';
import { createLogger } from '@vigil/observability';
import { startCameraSim, startRtspServer, type CameraSim, type RtspServer } from '../fixtures/camera-sim.ts';
import { KAFKA, freePort, metricSum, uid, waitFor } from '../helpers/env.ts';
import { startOnDemand } from './helpers.ts';

const log = createLogger('test', { level: (process.env.TEST_LOG as 'info') ?? 'warn' });
/** Red on both streams from this second of the sims for 10 s; nothing moves before. */
const RED = { atS: 30, durationS: 10 };
let bus: KafkaBus;
let rtsp: RtspServer;
const sims: CameraSim[] = [];
const id = uid();
const camera = `cam-${id}`;
const [main, sub] = [`main-${id}`, `sub-${id}`];
let subUdp = 0;

before(async () => {
  bus = new KafkaBus({ brokers: [KAFKA], clientId: 'on-demand-detect-test', logger: log });
  const mainUdp = await freePort();
  subUdp = await freePort();
  rtsp = await startRtspServer({ port: await freePort(), mounts: { [main]: mainUdp, [sub]: subUdp } });
  // The substream: a quarter of the main stream's pixels, the same scene and event.
  const [m, s] = await Promise.all([
    startCameraSim({ name: main, udpPort: mainUdp, width: 640, height: 360, fps: 10, movingBox: false, red: RED }),
    startCameraSim({ name: sub, udpPort: subUdp, width: 320, height: 180, fps: 10, movingBox: false, red: RED }),
  ]);
  sims.push(m, s);
});
after(async () => {
  for (const s of sims) await s.stop();
  await rtsp?.stop();
  await bus.close();
});

function isRed(j: Buffer): boolean {
  const img = jpeg.decode(j, { useTArray: true });
  // The sim's red box covers x 6–46%, y 42–92%: its middle.
  const i = (Math.round(img.height * 0.67) * img.width + Math.round(img.width * 0.26)) * 4;
  return img.data[i]! > 150 && img.data[i + 1]! < 90;
}

test('the trigger reads the detect substream (2 fps, no keyframe decoder); a trigger there decodes the window from the main stream; the main stream\'s keyframes stand in when the substream is down', async () => {
  const keys: { at: number; width: number; red: boolean }[] = [];
  const { model, infer, ingest, found, close } = await startOnDemand({
    bus,
    logger: log,
    id,
    cameraIds: [camera],
    cameras: `  - { id: ${camera}, url: "${rtsp.url(main)}", detect_url: "${rtsp.url(sub)}", detect_fps: 2, fps: 4, stall_timeout: 8s }`,
    queries: `  - { id: red, cameras: [${camera}], question: "Is there a red object in view?", window: 4s, every: 1s, cooldown: 4s, trigger: { type: motion }, alert_when: "^\\\\s*yes" }`,
    onChunk: (c) => {
      if (c.cameraId !== camera || !c.keyframes) return;
      for (const f of c.frames) keys.push({ at: f.capturedAt, width: c.width, red: isRed(f.jpeg) });
    },
  });
  const metrics = async () => (await fetch(`http://127.0.0.1:${ingest.port}/metrics`)).text();
  try {
    // Quiet: the substream feeds the trigger, the main stream is copied and nothing decodes its keyframes.
    // Past ffmpeg's start-up burst (what it buffered while connecting comes out at once).
    await waitFor('substream pictures', () => keys.filter((k) => k.width === 320).length >= 14, 30_000);
    // The main stream's keyframes wait for the substream to fail: none fed the trigger at start
    // (a change of source could fire it on every camera).
    assert.ok(!keys.some((k) => k.width === 640), 'no keyframe pictures from the main stream while the substream delivers');
    let quiet = '';
    await waitFor('no full decode while quiet', async () => metricSum((quiet = await metrics()), 'vigil_ingest_decoders', 'kind="full"') === 0, 20_000);
    assert.equal(metricSum(quiet, 'vigil_ingest_decoders', 'kind="detect"'), 1);
    assert.equal(metricSum(quiet, 'vigil_ingest_decoders', 'kind="keyframes"'), 0, 'no keyframe decoder while the substream delivers');
    assert.ok(!keys.some((k) => k.red), 'measured before the event');
    const sub320 = keys.filter((k) => k.width === 320).slice(6);
    const span = (sub320[sub320.length - 1]!.at - sub320[0]!.at) / 1000;
    assert.ok(Math.abs((sub320.length - 1) / span - 2) < 0.5, `about 2 pictures a second (${((sub320.length - 1) / span).toFixed(2)})`);
    const cam = ingest.cameras().find((c) => c.cameraId === camera)!;
    assert.equal(cam.triggerFps, 2, 'the status says what the trigger sees');

    // The red event: seen first on the substream; the window comes from the main stream, from before it.
    await waitFor('red on the substream', () => keys.some((k) => k.red && k.width === 320), 40_000);
    const trigger = keys.find((k) => k.red)!.at;
    await waitFor('a positive finding', () => found.findings.some((f) => f.verdict), 30_000);
    const f = found.findings.find((x) => x.verdict)!;
    const frames = f.evidenceFrames ?? [];
    assert.ok(frames.length >= 12, `the window's frames at 4 fps (${frames.length})`);
    const size = jpeg.decode(Buffer.from(frames[0]!.jpeg, 'base64')).width;
    assert.equal(size, 640, 'the window is decoded from the main stream');
    assert.ok(frames.some((x) => isRed(Buffer.from(x.jpeg, 'base64'))), 'and shows the event');
    assert.ok(frames[0]!.capturedAt < trigger, 'from before the trigger picture');
    process.stderr.write(`on-demand-detect: trigger picture → first request ${((model.requests[0]!.at - trigger) / 1000).toFixed(2)} s\n`);

    // The substream goes down: the main stream's keyframes feed the trigger within the stall timeout.
    await rtsp.down(sub);
    const downAt = Date.now();
    await waitFor('keyframe pictures from the main stream', () => keys.some((k) => k.width === 640 && k.at > downAt), 30_000);
    const down = await metrics();
    assert.equal(metricSum(down, 'vigil_ingest_decoders', 'kind="detect"'), 0);
    assert.ok(ingest.cameras().find((c) => c.cameraId === camera)!.triggerFps! <= 1.01, 'the status says the trigger sees keyframes now');
    // And back: the substream takes over again once it delivers.
    await rtsp.up(sub, subUdp);
    const upAt = Date.now();
    await waitFor('substream pictures again', () => keys.some((k) => k.width === 320 && k.at > upAt), 60_000);
    assert.equal(metricSum(await metrics(), 'vigil_ingest_decoders', 'kind="detect"'), 1);
  } finally {
    await close();
  }
});
