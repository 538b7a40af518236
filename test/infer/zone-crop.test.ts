// zone_view: crop through ingest (real ffmpeg, one decode with the crop as a second stream),
// the in-process bus and infer, to the model test server: the model gets the zone's box cut
// from the 1280×720 picture, at the size cropSize says, and so sees a red object that is too
// small for it in the 640 px picture of the whole scene.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { MemoryBus } from '@vigil/bus';
import { cropBox } from '@vigil/config';
import { cropSize } from '@vigil/media';
import { createLogger } from '@vigil/observability';
import { startInfer } from '@vigil/infer';
import { startIngest } from '@vigil/ingest';
import { startModelServer, type RecordedRequest } from '../fixtures/model-server.ts';
import { configFromYaml, metricSum, uid, waitFor } from '../helpers/env.ts';
import { collectFindings } from './helpers.ts';

const log = createLogger('test', { level: 'warn' });
const dir = mkdtempSync(join(tmpdir(), 'vigil-crop-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ZONE: [number, number][] = [[0.5, 0.5], [0.9, 0.5], [0.9, 0.9], [0.5, 0.9]];
// In the 1280×720 source: a 56×40 red box at the zone's centre (0.24% of the whole scene,
// under the test server's 0.5% "sees red"; about 1% of the crop) and a green box outside the zone.
const RED = { x: 868, y: 484, w: 56, h: 40 };
const GREEN = { x: 160, y: 120, w: 80, h: 60 };
// Sample points: the red box's centre in the crop (608×336 from 614×346 at x 588, y 330)
// and in the whole picture (640×368), a grey corner, and the green box's centre in the whole picture.
const P_RED_CROP: [number, number] = [305, 169];
const P_RED_WHOLE: [number, number] = [448, 258];
const P_GREY: [number, number] = [10, 10];
const P_GREEN_WHOLE: [number, number] = [100, 77];
const red = ([r, g, b]: number[]) => r! > 150 && g! < 90 && b! < 90;
const green = ([r, g, b]: number[]) => g! > 100 && r! < 90 && b! < 90;
const grey = ([r, g, b]: number[]) => [r!, g!, b!].every((v) => v > 60 && v < 130);

function clip(): string {
  const file = join(dir, 'dock.mp4');
  const box = (b: typeof RED, color: string) => `drawbox=x=${b.x}:y=${b.y}:w=${b.w}:h=${b.h}:color=${color}:t=fill`;
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-f', 'lavfi', '-i', `color=c=0x5a5a5a:s=1280x720:r=10,${box(RED, 'red')},${box(GREEN, 'green')}`, '-t', '20'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', '-pix_fmt', 'yuv420p', '-y', file],
  ]);
  return file;
}

test('zone_view: crop — the model gets the zone cut from the full-resolution picture, at the expected size, and sees what the whole scene hides', async () => {
  const id = uid();
  const cam = `crop-${id}`;
  const server = await startModelServer({ samplePoints: [P_RED_CROP, P_RED_WHOLE, P_GREY, P_GREEN_WHOLE] });
  const bus = new MemoryBus();
  const config = configFromYaml(`
model: { endpoints: ["${server.url}"] }
ingest: { metrics_port: 0, decode: on_demand }
infer: { metrics_port: 0 }
cameras:
  - id: ${cam}
    url: "file://${clip()}"
    zones: [{ name: dock, polygon: ${JSON.stringify(ZONE)} }]
queries:
  - { id: cropped, cameras: [${cam}], question: "[c] Is there a red object in {zone}?", window: 2s, every: 1s, zone: dock, zone_view: crop }
  - { id: whole, cameras: [${cam}], question: "[w] Is there a red object in {zone}?", window: 2s, every: 1s, zone: dock }
`);
  // The crop needs the full-resolution decode: the camera is read continuously whatever ingest.decode says.
  assert.equal(config.cameras[0]!.decode, 'continuous');
  assert.deepEqual(config.cameras[0]!.crops, [{ zone: 'dock', box: { x: 0.46, y: 0.46, w: 0.48, h: 0.48 } }]);
  const found = await collectFindings(bus, [cam], `crop-${id}`);
  const infer = await startInfer(config, { bus, group: `g-${id}`, logger: log });
  const ingest = await startIngest(config, { bus, logger: log });
  const asked = (tag: string) => server.requests.filter((r) => r.status === 200 && r.question.includes(tag));
  let metrics = '';
  try {
    await waitFor('both questions answered twice', () => asked('[c]').length >= 2 && asked('[w]').length >= 2 && found.findings.some((f) => f.queryId === 'cropped' && f.verdict), 60_000);
  } finally {
    await ingest.close();
    metrics = await (await fetch(`http://127.0.0.1:${infer.port}/metrics`)).text();
    await infer.close();
    await found.close();
    await server.close();
  }
  const expected = cropSize(cropBox(ZONE), 1280, 720, 640);
  assert.deepEqual(expected, { width: 608, height: 336 }, 'the zone at its own resolution: under the 640 px picture\'s pixels, so not scaled');
  const every = (r: RecordedRequest, check: (frame: number[][]) => void) => {
    assert.ok(r.samples && r.samples.length === r.frames && r.frames >= 4, `samples of ${r.frames} frames`);
    r.samples.forEach(check);
  };
  for (const r of asked('[c]')) {
    // Reason1's timestamp band goes under the crop as under any frame.
    assert.deepEqual([r.width, r.height], [expected.width, expected.height + 28]);
    assert.match(r.question, /Is there a red object in dock\?/);
    assert.match(r.answer ?? '', /yes/i, 'the crop shows the red object big enough to see');
    every(r, ([atRed, , atGrey, atGreen]) => {
      assert.ok(red(atRed!), `crop: red box at ${P_RED_CROP}: ${atRed}`);
      assert.ok(grey(atGrey!), `crop: grey corner: ${atGrey}`);
      assert.ok(!green(atGreen!), `crop: nothing outside the zone: ${atGreen}`);
    });
  }
  for (const r of asked('[w]')) {
    assert.deepEqual([r.width, r.height], [640, 368 + 28]);
    assert.match(r.answer ?? '', /no/i, 'the red object is too small in the whole scene');
    every(r, ([, atRed, atGrey, atGreen]) => {
      assert.ok(red(atRed!), `whole: red box at ${P_RED_WHOLE}: ${atRed}`);
      assert.ok(grey(atGrey!), `whole: grey corner: ${atGrey}`);
      assert.ok(green(atGreen!), `whole: green box outside the zone: ${atGreen}`);
    });
  }
  assert.ok(!found.findings.some((f) => f.queryId === 'whole' && f.verdict));
  // Different frames: never one group; no window went without its crop.
  assert.equal(metricSum(metrics, 'vigil_infer_window_groups_total'), 0);
  assert.equal(metricSum(metrics, 'vigil_infer_windows_skipped_total', 'reason="no_crop"'), 0);
  // The evidence is what the model saw: the crops, with their band.
  const f = found.findings.find((x) => x.queryId === 'cropped' && x.verdict)!;
  assert.ok(f.evidenceFrames && f.evidenceFrames.length >= 4);
  for (const e of f.evidenceFrames) {
    const img = jpeg.decode(Buffer.from(e.jpeg, 'base64'), { useTArray: true });
    assert.deepEqual([img.width, img.height], [expected.width, expected.height + 28]);
  }
});
