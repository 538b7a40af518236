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
  const c = new CaptureClock({ maxLagMs: 2000, settleMs: 2000 });
  const t0 = 1_000_000;
  // Frames every 250 ms on the stream clock, arriving with up to 80 ms of jitter.
  const jitter = [0, 80, 10, 60, 0, 30];
  const stamps = jitter.map((j, i) => c.stamp(i * 0.25, t0 + i * 250 + j));
  // The anchor may creep by 0.1% of stream time (to follow a slow camera clock): ≤ 2 ms here.
  stamps.forEach((s, i) => assert.ok(Math.abs(s - (t0 + i * 250)) <= 2, `frame ${i}: ${s - t0}`));
  // An early arrival moves the anchor earlier (closer to the true capture time).
  assert.equal(c.stamp(1.5, t0 + 1450), t0 + 1450);
  // A burst of backlog (frames late by 5 s, then catching up) keeps the stream's timeline.
  assert.equal(c.stamp(1.75, t0 + 6700), t0 + 1700);
  // Frames that stay late past the settle time mean the stream paused: re-anchor to the
  // earliest arrival of the late period (1.75 s at +6700 → anchor +4950).
  assert.equal(c.stamp(2.0, t0 + 8000), t0 + 1950);
  c.stamp(2.25, t0 + 8250);
  assert.equal(c.stamp(2.5, t0 + 8700), t0 + 4950 + 2500);
  // After a reset (a new ffmpeg run) times never go backwards.
  c.reset();
  assert.equal(c.stamp(0, t0 + 7000), t0 + 7451);
});
