// Decode on demand through infer with real Kafka: 16 cameras send compressed packets (as
// ingest does under `decode: on_demand`); the quiet ones cost a keyframe decoder and never
// reach the model; when red appears on one camera, its full decode starts at the keyframe
// before the window, and the question goes out with the frames from before the trigger.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaBus } from '@vigil/bus';
import { encodePacketChunk, Topics, type VideoPacket } from '@vigil/contracts';
import { TsDemuxer } from '@vigil/media';
import { createLogger } from '@vigil/observability';
import { startInfer } from '@vigil/infer';
import { startModelServer } from '../fixtures/model-server.ts';
import { KAFKA, configFromYaml, metricSum, uid, waitFor } from '../helpers/env.ts';
import { collectFindings } from './helpers.ts';

const log = createLogger('test', { level: 'warn' });
const FPS = 15;
/** The red box is on screen from this second of the clip. */
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

/** A camera-like H.264 stream (1 s GOP, no B-frames) as access units with clip-relative times in ms. */
function clip(name: string, red: boolean): { t: number; d: number; key: boolean; data: Buffer }[] {
  const file = join(dir, `${name}.ts`);
  const draw = red ? `,drawbox=x=200:y=100:w=200:h=150:color=red:t=fill:enable='gte(t,${EVENT_S})'` : '';
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-f', 'lavfi', '-i', `color=c=gray:s=640x360:r=${FPS},noise=alls=4:allf=t${draw}`, '-t', '20'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', String(FPS), '-keyint_min', String(FPS), '-sc_threshold', '0', '-pix_fmt', 'yuv420p', '-f', 'mpegts', '-y', file],
  ]);
  const demux = new TsDemuxer();
  const units = [...demux.push(readFileSync(file)), ...demux.flush()];
  const d0 = units[0]!.dts;
  return units.map((u) => ({ t: (u.pts - d0) / 90, d: (u.dts - d0) / 90, key: u.key, data: u.data }));
}

test('16 cameras on demand: quiet ones cost a keyframe decoder; red on one is asked with the frames before it', async () => {
  const id = uid();
  const busy = `busy-${id}`;
  const quiet = Array.from({ length: 15 }, (_, i) => `quiet${i}-${id}`);
  const [event, still] = [clip('event', true), clip('still', false)];
  const model = await startModelServer();
  const infer = await startInfer(
    configFromYaml(`
model: { endpoints: ["${model.url}"] }
kafka: { brokers: ["${KAFKA}"] }
infer: { metrics_port: 0, onnx: { batch_wait: 20ms } }
cameras:
${[busy, ...quiet].map((c) => `  - { id: ${c}, url: "rtsp://sim/${c}", fps: 4 }`).join('\n')}
queries:
  - { id: red, cameras: [${[busy, ...quiet].join(', ')}], question: "Is there a red object in view?", window: 8s, every: 1s, trigger: { type: motion }, alert_when: "^\\\\s*yes" }
`),
    { bus, group: `g-${id}`, logger: log },
  );
  const found = await collectFindings(bus, [busy, ...quiet], `f-${id}`);
  const metrics = async () => (await fetch(`http://127.0.0.1:${infer.port}/metrics`)).text();
  // Live: each second's packets are published once that second has passed, capture time = wall clock.
  const t0 = Math.ceil(Date.now() / 1000) * 1000 + 1000;
  const trigger = t0 + EVENT_S * 1000;
  let stopped = false;
  const producer = (async () => {
    for (let s = 0; s < 20 && !stopped; s++) {
      await new Promise((r) => setTimeout(r, Math.max(0, t0 + (s + 1) * 1000 - Date.now())));
      const packetsOf = (units: typeof event): VideoPacket[] => units.filter((u) => u.d >= s * 1000 && u.d < (s + 1) * 1000).map((u) => ({ capturedAt: t0 + Math.round(u.t), decodeAt: t0 + Math.round(u.d), key: u.key, data: u.data }));
      await bus.publish(
        Topics.frames,
        [busy, ...quiet].map((c) => ({ key: c, value: encodePacketChunk({ cameraId: c, seq: s, fps: 4, codec: 'h264', packets: packetsOf(c === busy ? event : still) }) })),
      );
    }
  })();
  try {
    await waitFor('a question about the red camera', () => model.requests.some((r) => r.status === 200), 30_000);
    const first = model.requests[0]!;
    const latency = (first.at - trigger) / 1000;
    process.stderr.write(`on-demand: trigger frame → first window request ${latency.toFixed(2)} s (${first.frames} frames)\n`);
    // Budget 2.5 s (issue 16); the bound here leaves room for a loaded CI machine.
    assert.ok(latency < 6, `trigger → first request took ${latency.toFixed(2)} s`);
    await waitFor('the positive finding', () => found.findings.some((f) => f.cameraId === busy && f.verdict), 20_000);
    const f = found.findings.find((x) => x.cameraId === busy && x.verdict)!;
    const frames = f.evidenceFrames ?? [];
    assert.ok(frames.length >= 16, `the window holds its frames at 4 fps (got ${frames.length})`);
    // The full decode started at the keyframe before the window: its first picture is before the trigger.
    assert.ok(frames[0]!.capturedAt < trigger, `first frame ${frames[0]!.capturedAt - trigger} ms from the trigger`);
    assert.ok(frames[0]!.capturedAt - f.windowStart < 300, 'the window starts with its first slot');
    const text = await metrics();
    // The quiet cameras each have their keyframe decoder; the red one is decoded in full, and
    // its trigger pictures come from that decode (one decoder, not two).
    assert.equal(metricSum(text, 'vigil_infer_decoders', 'kind="keyframes"'), 15, 'a keyframe decoder per quiet camera');
    assert.equal(metricSum(text, 'vigil_infer_decoders', 'kind="full"'), 1, 'only the red camera is decoded in full');
    assert.ok(found.findings.every((x) => x.cameraId === busy), 'no quiet camera reached the model');
    assert.ok(metricSum(text, 'vigil_infer_windows_skipped_total', 'reason="still"') >= 15 * 3, 'quiet windows were judged on keyframes and skipped');
  } finally {
    stopped = true;
    await producer;
    await found.close();
    await infer.close();
    await model.close();
  }
});
