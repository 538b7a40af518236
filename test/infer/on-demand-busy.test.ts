// Decode on demand, a camera that stays busy: once infer has kept its full decode running for
// `ingest.busy_after`, ingest reads it the way `continuous` does (ffmpeg decodes the camera
// directly: no copy, no packets through Node), and goes back to copying once infer stops
// asking. Real RTSP camera (GStreamer's server), real Kafka, real ffmpeg, infer and the model
// test server: the switches must lose no window picture and keep the trigger fed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { KafkaBus } from '@vigil/bus';
import { createLogger } from '@vigil/observability';
import { startCameraSim, startRtspServer, type CameraSim, type RtspServer } from '../fixtures/camera-sim.ts';
import { KAFKA, freePort, metricSum, uid, waitFor } from '../helpers/env.ts';
import { startOnDemand } from './helpers.ts';

const log = createLogger('test', { level: 'warn' });
const FPS = 10;
/** The sim's boxes move until this second (the motion trigger fires window after window), then the scene is still. */
const MOVING_S = 20;
let bus: KafkaBus;
let rtsp: RtspServer;
let sim: CameraSim;
const id = uid();
const camera = `busy-${id}`;

before(async () => {
  bus = new KafkaBus({ brokers: [KAFKA], clientId: 'on-demand-busy-test', logger: log });
  const udpPort = await freePort();
  rtsp = await startRtspServer({ port: await freePort(), mounts: { [camera]: udpPort } });
  sim = await startCameraSim({ name: camera, udpPort, width: 640, height: 360, fps: FPS, movingUntilS: MOVING_S });
});
after(async () => {
  await sim?.stop();
  await rtsp?.stop();
  await bus.close();
});

/** The command line of a running process (empty once it is gone). */
const cmdline = (pid: number | undefined) => {
  try {
    return pid ? readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0') : [];
  } catch {
    return [];
  }
};
const copies = (args: string[]) => args.some((a, i) => /^-c(odec)?(:v)?$/.test(a) && args[i + 1] === 'copy');

test('a camera infer keeps asking for is decoded by ffmpeg directly after busy_after, and copied again once it is quiet; no picture lost at either switch', async () => {
  const windowFrames: number[] = [];
  const keyFrames: number[] = [];
  const { model, infer, ingest, found, close } = await startOnDemand({
    bus,
    logger: log,
    id,
    cameraIds: [camera],
    ingest: 'busy_after: 3s',
    cameras: `  - { id: ${camera}, url: "${rtsp.url(camera)}", fps: 4 }`,
    queries: `  - { id: red, cameras: [${camera}], question: "Is there a red object in view?", window: 4s, every: 1s, cooldown: 4s, trigger: { type: motion }, alert_when: "^\\\\s*yes" }`,
    onChunk: (c) => {
      if (c.cameraId === camera) (c.keyframes ? keyFrames : windowFrames).push(...c.frames.map((f) => f.capturedAt));
    },
  });
  const metrics = async () => (await fetch(`http://127.0.0.1:${ingest.port}/metrics`)).text();
  // How the camera is read, sampled: [time, busy, the ffmpeg's command line copies].
  const phases: { at: number; busy: boolean; copy: boolean }[] = [];
  const sample = setInterval(() => {
    const c = ingest.cameras().find((x) => x.cameraId === camera);
    if (c?.state !== 'online') return;
    const args = cmdline(c.ffmpegPid);
    if (args.length > 0) phases.push({ at: Date.now(), busy: c.busy === true, copy: copies(args) });
  }, 100);
  try {
    // Busy: the flashes keep the trigger firing; after 3 s of full decode ffmpeg decodes the camera itself.
    await waitFor('the camera read as busy', () => phases.some((p) => p.busy && !p.copy), 30_000);
    const busyText = await metrics();
    assert.equal(metricSum(busyText, 'vigil_ingest_decoders', 'kind="busy"'), 1, 'counted as a busy camera');
    assert.equal(metricSum(busyText, 'vigil_ingest_decoders', 'kind="full"'), 0, 'no decode from packets besides it');
    assert.equal(metricSum(busyText, 'vigil_ingest_decoders', 'kind="keyframes"'), 0, 'no keyframe decoder besides it');
    const busyAt = phases.find((p) => p.busy)!.at;
    // Quiet: the boxes stop at 20 s; the trigger's last `until` is its cooldown (at least two windows, 8 s) later.
    await waitFor('the camera copied again', () => phases.some((p) => p.at > busyAt && !p.busy && p.copy), 45_000);
    const quietAt = phases.find((p) => p.at > busyAt && !p.busy)!.at;
    await waitFor('keyframe pictures from the copy again', () => keyFrames.some((t) => t > quietAt + 500), 10_000);
    const quietText = await metrics();
    assert.equal(metricSum(quietText, 'vigil_ingest_decoders', 'kind="busy"'), 0);
    assert.equal(metricSum(quietText, 'vigil_ingest_decoders', 'kind="keyframes"'), 1, 'the keyframe decoder is back');
    process.stderr.write(`on-demand-busy: busy from ${new Date(busyAt).toISOString()} to ${new Date(quietAt).toISOString()} (${((quietAt - busyAt) / 1000).toFixed(1)} s)\n`);

    // Capture times stay monotonic across both switches, on both kinds of chunk.
    for (const [name, times] of [['window', windowFrames], ['keyframe', keyFrames]] as const) {
      for (let i = 1; i < times.length; i++) assert.ok(times[i]! > times[i - 1]!, `${name} pictures go back in capture time at ${i}: ${times[i - 1]} → ${times[i]}`);
    }
    // The switch into busy loses no picture: the packets' decoder hands on what it holds before
    // ffmpeg's pictures follow, so the window pictures around it stay 4 fps apart (one missing slot allowed).
    const around = windowFrames.filter((t) => t > busyAt - 3000 && t < busyAt + 3000);
    const gaps = around.slice(1).map((t, i) => t - around[i]!);
    process.stderr.write(`on-demand-busy: ${around.length} window pictures within 3 s of the switch, largest gap ${Math.max(...gaps)} ms\n`);
    assert.ok(around.length >= 20, `window pictures around the switch (${around.length})`);
    assert.ok(Math.max(...gaps) <= 600, `largest gap around the switch ${Math.max(...gaps)} ms`);
    // The trigger stage kept seeing a picture a second throughout, busy or not.
    const keys = keyFrames.filter((t) => t > busyAt - 5000 && t < quietAt + 500);
    const keyGaps = keys.slice(1).map((t, i) => t - keys[i]!);
    assert.ok(Math.max(...keyGaps) <= 2000, `largest gap between trigger pictures ${Math.max(...keyGaps)} ms`);
    // The model was asked about windows while the camera was busy.
    assert.ok(found.findings.some((f) => f.status === 'ok' && f.windowStart + 4000 > busyAt && f.windowStart < quietAt), `findings: ${found.findings.length}`);
  } catch (e) {
    // What was seen, as transitions: time from the first sample, busy, copy.
    const t0 = phases[0]?.at ?? 0;
    const changes = phases.filter((p, i) => i === 0 || p.busy !== phases[i - 1]!.busy || p.copy !== phases[i - 1]!.copy).map((p) => `${((p.at - t0) / 1000).toFixed(1)}s busy=${p.busy} copy=${p.copy}`);
    throw new Error(`${(e as Error).message}; phases: ${changes.join(', ')}; findings ${found.findings.length}`);
  } finally {
    clearInterval(sample);
    await close();
  }
});
