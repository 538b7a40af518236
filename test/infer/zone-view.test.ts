import { test } from 'node:test';
import assert from 'node:assert/strict';
import jpeg from 'jpeg-js';
import { MemoryBus } from '@vigil/bus';
import { createLogger } from '@vigil/observability';
import { startInfer } from '@vigil/infer';
import { startModelServer, type RecordedRequest } from '../fixtures/model-server.ts';
import { configFromYaml, metricSum, uid, waitFor } from '../helpers/env.ts';
import { collectFindings, makeJpeg, produceLive } from './helpers.ts';

const log = createLogger('test', { level: 'warn' });
const W = 320;
const H = 176;

// The zone lane: a rectangle from 0.25 to 0.75 of the frame. Its outline's vertices sit on odd
// pixel boundaries (81, 45) - (241, 133): 2 px edges at columns 80-81 and 240-241, rows 44-45 and 132-133.
const ON_EDGE: [number, number][] = [[160, 44], [160, 45], [81, 88], [240, 100], [120, 133]];
// Inside near an edge, the centre, outside near an edge, far outside.
const OFF_EDGE: [number, number][] = [[85, 88], [160, 88], [160, 40], [10, 10], [300, 170], [236, 100]];
const yellow = ([r, g, b]: number[]) => r! > 200 && g! > 200 && b! < 100;

test('zone_view: outline — the frames the model gets carry the zone\'s yellow outline and the question points at it; zone_view: name draws nothing', async () => {
  const id = uid();
  const cam = `z-${id}`;
  const server = await startModelServer({ samplePoints: [...ON_EDGE, ...OFF_EDGE] });
  const bus = new MemoryBus();
  const found = await collectFindings(bus, [cam], `z-${id}`);
  const infer = await startInfer(
    configFromYaml(`
model: { endpoints: ["${server.url}"] }
infer: { metrics_port: 0 }
cameras:
  - id: ${cam}
    url: "rtsp://sim/${cam}"
    zones: [{ name: lane, polygon: [[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]] }]
queries:
  - { id: drawn, cameras: [${cam}], question: "[o] Is there a red object in {zone}?", window: 2s, every: 1s, zone: lane, zone_view: outline }
  - { id: named, cameras: [${cam}], question: "[n] Is there a red object in {zone}?", window: 2s, every: 1s, zone: lane }
`),
    { bus, group: `g-${id}`, logger: log },
  );
  // A grey scene with a small red object outside the zone (the fixture answers yes: evidence is kept).
  const frame = makeJpeg({ width: W, height: H, grey: 90, red: true, box: { x: 0.85, y: 0.05, size: 0.1 } });
  const prod = produceLive(bus, [cam], () => frame, 4, { width: W, height: H });
  const asked = (tag: string) => server.requests.filter((r) => r.status === 200 && r.question.includes(tag));
  let metrics = '';
  try {
    await waitFor('both questions answered twice, with findings', () => asked('[o]').length >= 2 && asked('[n]').length >= 2 && found.findings.some((f) => f.queryId === 'drawn' && f.verdict) && found.findings.some((f) => f.queryId === 'named' && f.verdict), 30_000);
  } finally {
    await prod.stop();
    metrics = await (await fetch(`http://127.0.0.1:${infer.port}/metrics`)).text();
    await infer.close();
    await found.close();
    await server.close();
  }
  const check = (r: RecordedRequest, outlined: boolean) => {
    assert.ok(r.samples && r.samples.length === r.frames && r.frames >= 4, `samples of ${r.frames} frames`);
    r.samples.forEach((frame, i) => {
      ON_EDGE.forEach((p, k) => assert.equal(yellow(frame[k]!), outlined, `frame ${i} at ${p}: ${frame[k]}`));
      OFF_EDGE.forEach((p, k) => assert.ok(!yellow(frame[ON_EDGE.length + k]!), `frame ${i} at ${p} is not yellow: ${frame[ON_EDGE.length + k]}`));
    });
  };
  for (const r of asked('[o]')) {
    assert.match(r.question, /Is there a red object in lane \(the area inside the yellow outline\)\?/);
    check(r, true);
    // Outlined frames are ingest-like JPEGs: Reason1's band goes under them as under any frame.
    assert.deepEqual([r.width, r.height], [W, H + 28]);
  }
  for (const r of asked('[n]')) {
    assert.match(r.question, /Is there a red object in lane\?/);
    assert.doesNotMatch(r.question, /outline/);
    check(r, false);
  }
  // Different frames: never one group.
  assert.equal(metricSum(metrics, 'vigil_infer_window_groups_total'), 0);
  assert.equal(metricSum(metrics, 'vigil_infer_outline_failures_total'), 0);
  assert.ok(metricSum(metrics, 'vigil_infer_outline_seconds_count') >= 2);
  // The evidence of a positive finding is what the model saw: the outlined frames.
  const evidence = (q: string) => {
    const f = found.findings.find((x) => x.queryId === q && x.verdict)!;
    assert.ok(f.evidenceFrames && f.evidenceFrames.length >= 4);
    return f.evidenceFrames.map((e) => jpeg.decode(Buffer.from(e.jpeg, 'base64'), { useTArray: true }));
  };
  const at = (img: { data: Uint8Array; width: number }, [x, y]: [number, number]) => [...img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 3)];
  for (const img of evidence('drawn')) {
    for (const p of ON_EDGE) assert.ok(yellow(at(img, p)), `evidence at ${p}: ${at(img, p)}`);
    for (const p of OFF_EDGE) assert.ok(!yellow(at(img, p)), `evidence at ${p}`);
  }
  for (const img of evidence('named')) for (const p of ON_EDGE) assert.ok(!yellow(at(img, p)), `named evidence at ${p}`);
});
