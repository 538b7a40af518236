// Decode on demand through ingest and infer with real Kafka and real ffmpeg: 16 cameras read
// `on_demand`. The quiet ones cost a stream copy and a keyframe decoder in ingest and never
// reach the model; when red appears on one, infer asks ingest (vigil.video.open) for its
// pictures from the keyframe before the window, and the question goes out with the frames
// from before the trigger.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { KafkaBus } from '@vigil/bus';
import { createLogger } from '@vigil/observability';
import { KAFKA, metricSum, uid, waitFor } from '../helpers/env.ts';
import { startOnDemand } from './helpers.ts';

const log = createLogger('test', { level: 'warn' });
const FPS = 15;
/** The red box is on screen from this second of the clip (a keyframe: the GOP is 1 s). */
const EVENT_S = 8;
let bus: KafkaBus;
let dir: string;
before(() => {
  bus = new KafkaBus({ brokers: [KAFKA], clientId: 'on-demand-test', logger: log });
  dir = mkdtempSync(join(tmpdir(), 'vigil-on-demand-'));
});
after(async () => {
  await bus.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A camera-like H.264 clip: 640×360, 1 s GOP, no B-frames, sensor-like noise; red from EVENT_S when asked. */
function clip(name: string, red: boolean): string {
  const file = join(dir, `${name}.mp4`);
  const draw = red ? `,drawbox=x=200:y=100:w=200:h=150:color=red:t=fill:enable='gte(t,${EVENT_S})'` : '';
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-f', 'lavfi', '-i', `color=c=gray:s=640x360:r=${FPS},noise=alls=4:allf=t${draw}`, '-t', '30'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(FPS), '-keyint_min', String(FPS), '-sc_threshold', '0', '-pix_fmt', 'yuv420p', '-y', file],
  ]);
  return file;
}

/** Whether a JPEG shows the red box (its middle pixel). */
function isRed(j: Buffer): boolean {
  const img = jpeg.decode(j, { useTArray: true });
  const i = (Math.round(img.height * (175 / 360)) * img.width + Math.round(img.width * (300 / 640))) * 4;
  return img.data[i]! > 150 && img.data[i + 1]! < 90;
}

test('16 cameras on demand: quiet ones cost a copy and keyframes; red on one is decoded from the keyframe before its window and asked', async () => {
  const id = uid();
  const busy = `busy-${id}`;
  const quiet = Array.from({ length: 15 }, (_, i) => `quiet${i}-${id}`);
  const [event, still] = [clip('event', true), clip('still', false)];
  const startedAt = Date.now();
  // The first keyframe picture with red: the trigger frame, as ingest published it.
  let trigger: number | undefined;
  const { model, infer, ingest, found, close } = await startOnDemand({
    bus,
    logger: log,
    id,
    cameraIds: [busy, ...quiet],
    cameras: [busy, ...quiet].map((c) => `  - { id: ${c}, url: "file://${c === busy ? event : still}", fps: 4 }`).join('\n'),
    queries: `  - { id: red, cameras: [${[busy, ...quiet].join(', ')}], question: "Is there a red object in view?", window: 8s, every: 1s, trigger: { type: motion }, alert_when: "^\\\\s*yes" }`,
    onChunk: (c) => {
      if (trigger === undefined && c.cameraId === busy && c.keyframes && c.frames.some((f) => isRed(f.jpeg))) trigger = c.frames[0]!.capturedAt;
    },
  });
  const metrics = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  try {
    await waitFor('the trigger frame', () => trigger !== undefined, 40_000);
    await waitFor('a question about the red camera', () => model.requests.some((r) => r.status === 200), 30_000);
    const first = model.requests[0]!;
    const latency = (first.at - trigger!) / 1000;
    process.stderr.write(`on-demand: trigger frame → first window request ${latency.toFixed(2)} s (${first.frames} frames)\n`);
    // Budget 2.5 s (issue 16); the bound here leaves room for a loaded CI machine.
    assert.ok(latency < 6, `trigger → first request took ${latency.toFixed(2)} s`);
    await waitFor('the positive finding', () => found.findings.some((f) => f.cameraId === busy && f.verdict), 20_000).catch((e: Error) => {
      throw new Error(`${e.message}; findings: ${JSON.stringify(found.findings.map((x) => ({ camera: x.cameraId, status: x.status, answer: x.answer, verdict: x.verdict, frames: x.evidenceFrames?.length })))}`);
    });
    const f = found.findings.find((x) => x.cameraId === busy && x.verdict)!;
    const frames = f.evidenceFrames ?? [];
    assert.ok(frames.length >= 28, `the window holds its frames at 4 fps (got ${frames.length})`);
    // Decoded from the keyframe before the window: its first picture is before the trigger.
    assert.ok(frames[0]!.capturedAt < trigger!, `first frame ${frames[0]!.capturedAt - trigger!} ms from the trigger`);
    assert.ok(frames[0]!.capturedAt - f.windowStart < 300, 'the window starts with its first slot');
    const [ingestText, inferText] = [await metrics(ingest.port), await metrics(infer.port)];
    // The quiet cameras each have their keyframe decoder; the red one is decoded in full, and its
    // trigger pictures come from that decode (one decoder, not two).
    assert.equal(metricSum(ingestText, 'vigil_ingest_decoders', 'kind="keyframes"'), 15, 'a keyframe decoder per quiet camera');
    assert.equal(metricSum(ingestText, 'vigil_ingest_decoders', 'kind="full"'), 1, 'only the red camera is decoded in full');
    assert.ok(found.findings.every((x) => x.cameraId === busy), 'no quiet camera reached the model');
    assert.ok(metricSum(inferText, 'vigil_infer_windows_skipped_total', 'reason="still"') >= 15 * 3, 'quiet windows were judged on keyframes and skipped');
    assert.equal(metricSum(inferText, 'vigil_infer_windows_skipped_total', 'reason="undecodable"'), 0, 'every fired window got its pictures');
    assert.ok(Date.now() - startedAt < 120_000);
  } finally {
    await close();
  }
});
