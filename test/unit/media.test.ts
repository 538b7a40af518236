import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CaptureClock, JpegSplitter } from '@vigil/media';

const img = (fill: number, n = 50) => Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(n, fill), Buffer.from([0xff, 0x00, 0xff, 0xd9])]);

test('splits a byte stream into JPEGs whatever the read boundaries', () => {
  const stream = Buffer.concat([img(1), img(2), img(3)]);
  for (const step of [1, 2, 3, 7, 56, 1000]) {
    const s = new JpegSplitter();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += step) out.push(...s.push(stream.subarray(i, i + step)));
    assert.equal(out.length, 3, `step ${step}`);
    assert.deepEqual(out.map((b) => b[2]), [1, 2, 3]);
    assert.ok(out.every((b) => b.length === 56));
  }
});

test('refuses a stream that never ends an image', () => {
  const s = new JpegSplitter(100);
  assert.throws(() => s.push(Buffer.alloc(200, 1)), /not MJPEG/);
});

test('capture clock follows the stream clock, not arrival jitter, and stays monotonic', () => {
  const c = new CaptureClock(2000);
  const t0 = 1_000_000;
  // Frames every 250 ms on the stream clock, arriving with up to 80 ms of jitter.
  const jitter = [0, 80, 10, 60, 0, 30];
  const stamps = jitter.map((j, i) => c.stamp(i * 0.25, t0 + i * 250 + j));
  assert.deepEqual(stamps, [t0, t0 + 250, t0 + 500, t0 + 750, t0 + 1000, t0 + 1250]);
  // An early arrival moves the anchor earlier (closer to the true capture time).
  assert.equal(c.stamp(1.5, t0 + 1450), t0 + 1450);
  // A long stall re-anchors to wall clock; after a reset times never go backwards.
  assert.equal(c.stamp(1.75, t0 + 9000), t0 + 9000);
  c.reset();
  assert.ok(c.stamp(0, t0 + 8000) > t0 + 9000);
});
