import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnalyticsStage, type FrameStats } from '../../services/infer/src/analytics/stage.ts';
import { zoneCells } from '../../services/infer/src/analytics/grid.ts';
import { DetectorStage, decodeYolo, nms } from '../../services/infer/src/analytics/detector.ts';
import { encodeModel } from '../../services/infer/src/onnx/graph.ts';
import { evaluateTrigger, type TriggerMemory } from '../../services/infer/src/triggers.ts';
import { makeJpeg } from './helpers.ts';

const LEFT: [number, number][] = [[0, 0], [0.5, 0], [0.5, 1], [0, 1]];
const RIGHT: [number, number][] = [[0.5, 0], [1, 0], [1, 1], [0.5, 1]];
const zones = [
  { name: 'left', cells: zoneCells(LEFT) },
  { name: 'right', cells: zoneCells(RIGHT) },
];

test('analytics model: motion per zone, frozen feed, dark camera — batched across cameras', async () => {
  const stage = await AnalyticsStage.open({ provider: 'cpu', maxBatch: 64, waitMs: 5, bandPx: 0 });
  try {
    // Camera "m": a bright box moves within the left half. Camera "s": the same frame over and over.
    const moving = [0.05, 0.2, 0.05, 0.2].map((y) => makeJpeg({ width: 320, height: 180, box: { x: 0.1, y, size: 0.15 } }));
    const still = makeJpeg({ width: 320, height: 180, box: { x: 0.6, y: 0.4 } });
    const dark = makeJpeg({ width: 320, height: 180, grey: 3 });
    const [m, s, d] = await Promise.all([stage.analyze('m', moving, zones), stage.analyze('s', [still, still, still, still], zones), stage.analyze('d', [dark], zones)]);
    assert.equal(stage.batches, 1, 'frames of three cameras went through one run');
    const mm = m.slice(1) as FrameStats[];
    assert.ok(mm.every((f) => f.zones.left! > 0.02), `left zone moved: ${mm.map((f) => f.zones.left)}`);
    assert.ok(mm.every((f) => f.zones.right === 0), 'right zone is still');
    assert.ok(mm.every((f) => f.motion > 0 && f.change > 0));
    assert.ok((s as FrameStats[]).every((f) => f.motion === 0 && f.change === 0), 'identical frames: no motion, frozen');
    assert.ok(d[0]!.brightness < 16, `dark frame brightness ${d[0]!.brightness}`);
    assert.ok(s[0]!.brightness > 60);
    assert.ok(s[0]!.sharpness > d[0]!.sharpness, 'a picture with edges is sharper than a flat one');
    const [bad] = await stage.analyze('m', [Buffer.from('garbage')], zones);
    assert.equal(bad, undefined);
    assert.equal(stage.decodeErrors, 1);
  } finally {
    await stage.close();
  }
});

const stats = (motion: number, extra: Partial<FrameStats> = {}): FrameStats => ({ motion, zones: { belt: motion }, change: motion ? 5 : 0, brightness: 100, sharpness: 50, grid: new Float32Array(0), ...extra });

test('triggers: motion only since the last question; stall and tamper fire when they start', () => {
  const frames = (values: number[], t0 = 0) => values.map((v, i) => ({ capturedAt: t0 + i * 250, stats: stats(v) }));
  const memory: TriggerMemory = {};
  assert.deepEqual(evaluateTrigger({ type: 'motion' }, frames([0, 0, 0, 0]), memory, undefined, 1000), { fire: false, reason: 'still' });
  assert.deepEqual(evaluateTrigger({ type: 'motion' }, frames([0, 0.3, 0, 0]), memory, undefined, 1000), { fire: true, detail: 'Motion in the frame (peak 30% of the frame changed)' });
  memory.askedThrough = 500; // the window up to 500 was asked: the motion at 250 is old news
  assert.deepEqual(evaluateTrigger({ type: 'motion' }, frames([0, 0.3, 0, 0]), memory, undefined, 1000), { fire: false, reason: 'still' });
  assert.deepEqual(evaluateTrigger({ type: 'motion', zone: 'belt', threshold: 0.5 }, frames([0, 0.3, 0, 0.6]), {}, undefined, 1000), { fire: true, detail: 'Motion in zone belt (peak 60% of the zone changed)' });
  assert.deepEqual(evaluateTrigger({ type: 'motion' }, [{ capturedAt: 0 }], {}, undefined, 1000), { fire: false, reason: 'no_analytics' });

  const stall: TriggerMemory = {};
  const belt = { type: 'stall' as const, zone: 'belt', stillForMs: 1000 };
  assert.equal(evaluateTrigger(belt, frames([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]), stall, undefined, 2000).fire, false, 'still moving');
  assert.deepEqual(evaluateTrigger(belt, frames([0.1, 0.1, 0.1, 0.1, 0, 0, 0, 0]), stall, undefined, 2000), { fire: true, detail: 'Motion in zone belt stopped (still for 1.0 s after moving)' }, 'stopped');
  assert.deepEqual(evaluateTrigger(belt, frames([0.1, 0.1, 0.1, 0.1, 0, 0, 0, 0]), stall, undefined, 2000), { fire: false, reason: 'ongoing' });

  const tamper: TriggerMemory = {};
  const dark = [0, 1, 2, 3].map((i) => ({ capturedAt: i * 250, stats: stats(0.01, { brightness: 4, change: 1 }) }));
  assert.equal(evaluateTrigger({ type: 'tamper' }, frames([0.1, 0.1, 0.1, 0.1]), tamper, undefined, 1000).fire, false);
  assert.deepEqual(evaluateTrigger({ type: 'tamper' }, dark, tamper, undefined, 1000), { fire: true, detail: 'Camera dark or covered' });
  assert.deepEqual(evaluateTrigger({ type: 'tamper' }, frames([0, 0, 0, 0]), {}, undefined, 1000), { fire: true, detail: 'Camera picture frozen' });
});

/**
 * A tiny YOLO-style detector: output [N, 4 + 2, 3] = three fixed candidate boxes whose
 * scores are the picture's mean brightness times fixed weights, so a bright picture
 * detects and a dark one does not. Boxes 0 and 1 overlap (NMS keeps one).
 */
function tinyYolo(input: number): Buffer {
  const boxes = [
    [40, 40, 20, 20], // person, strong
    [42, 41, 20, 20], // person, weaker duplicate of box 0
    [100, 100, 10, 10], // forklift
  ];
  const rows = 6;
  const geometry = new Float32Array(rows * 3);
  const weights = new Float32Array(rows * 3);
  boxes.forEach((b, j) => b.forEach((v, r) => (geometry[r * 3 + j] = v)));
  // scores: person 0.9 / 0.8 for boxes 0, 1; forklift 0.7 for box 2 (times brightness 0..1)
  weights[4 * 3 + 0] = 0.9;
  weights[4 * 3 + 1] = 0.8;
  weights[5 * 3 + 2] = 0.7;
  return encodeModel({
    name: 'tiny-yolo',
    inputs: [{ name: 'images', type: 'float', shape: ['N', 3, input, input] }],
    outputs: [{ name: 'output0', type: 'float', shape: ['N', rows, 3] }],
    initializers: [
      { name: 'geometry', dims: [1, rows, 3], type: 'float', values: geometry },
      { name: 'weights', dims: [1, rows, 3], type: 'float', values: weights },
      { name: 'per_image', dims: [3], type: 'int64', values: [-1, 1, 1] },
    ],
    nodes: [
      { op: 'ReduceMean', inputs: ['images'], outputs: ['mean'], attrs: { axes: [1, 2, 3], keepdims: 1 } },
      { op: 'Reshape', inputs: ['mean', 'per_image'], outputs: ['mean3'] },
      { op: 'Mul', inputs: ['weights', 'mean3'], outputs: ['scores'] },
      { op: 'Add', inputs: ['geometry', 'scores'], outputs: ['output0'] },
    ],
  });
}

test('a user YOLO-style ONNX detector: decode, score filter and NMS', async () => {
  const detector = await DetectorStage.open(tinyYolo(128), { provider: 'cpu', input: 128, labels: ['person', 'forklift'], score: 0.3, iou: 0.5 });
  try {
    const bright = new Float32Array(64 * 36).fill(255);
    const dark = new Float32Array(64 * 36).fill(10);
    const [b, d] = await detector.detect([bright, dark]);
    assert.deepEqual(
      b!.map((x) => [x.label, Number(x.score.toFixed(2))]),
      [['person', 0.9], ['forklift', 0.7]],
      'the weaker overlapping person box was suppressed',
    );
    const person = b![0]!.box;
    assert.deepEqual([person.x1, person.y1, person.x2, person.y2].map((v) => Number(v.toFixed(3))), [0.234, 0.234, 0.391, 0.391]);
    assert.deepEqual(d, [], 'a dark picture scores below the threshold');
    // The object trigger: a person inside the zone fires, outside it does not.
    const frame = { capturedAt: 0, stats: stats(0), detections: b };
    assert.equal(evaluateTrigger({ type: 'object', label: 'person' }, [frame], {}, LEFT, 1000).fire, true);
    assert.equal(evaluateTrigger({ type: 'object', label: 'person' }, [frame], {}, RIGHT, 1000).fire, false);
  } finally {
    await detector.close();
  }
  // decodeYolo picks the best class per box; nms is per label.
  const out = new Float32Array([10, 10, 4, 4, 0.2, 0.6]);
  assert.deepEqual(decodeYolo(out, [1, 6, 1], 0, 100, ['a', 'b'], 0.5).map((x) => x.label), ['b']);
  const box = { x1: 0, y1: 0, x2: 1, y2: 1 };
  assert.equal(nms([{ label: 'a', score: 0.9, box }, { label: 'b', score: 0.8, box }], 0.5).length, 2);
});
