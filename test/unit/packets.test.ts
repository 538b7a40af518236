// Decode on demand's pieces that need no services: keyframe chunks and the video-open
// request (and hostile input against them), the packet capture clock, ingest's packet ring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrameChunk, encodeFrameChunk, parseVideoOpen, type FrameChunk } from '@vigil/contracts';
import { PacketClock } from '@vigil/media';
import { PacketRing } from '../../services/ingest/src/packet-ring.ts';
import { Chunker } from '../../services/ingest/src/chunker.ts';
import { GopMeter } from '../../services/ingest/src/gop.ts';

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);
const JPEG = Buffer.from([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]);

test('frame chunks: keyframe chunks round trip and are told from window chunks; the chunker gives both one seq', () => {
  const ch = new Chunker('dock-1', 4, 1000, 41);
  const key = ch.keyframe({ capturedAt: T0, streamTime: 0, jpeg: JPEG }, 640, 368);
  const out: FrameChunk[] = [key];
  for (let i = 0; i < 4; i++) out.push(...ch.add({ capturedAt: T0 + i * 250, streamTime: 0, jpeg: JPEG }, 640, 368));
  assert.deepEqual(out.map((c) => c.seq), [41, 42], 'one sequence across both kinds');
  const k = decodeFrameChunk(encodeFrameChunk(key));
  assert.ok(k.ok && k.value.keyframes === true && k.value.frames.length === 1, 'keyframe chunk decoded as one');
  const w = decodeFrameChunk(encodeFrameChunk(out[1]!));
  assert.ok(w.ok && w.value.keyframes === undefined && w.value.frames.length === 4, 'window chunk decoded as one');
  const bad = encodeFrameChunk(key);
  bad[5] = 2;
  const b = decodeFrameChunk(bad);
  assert.ok(!b.ok && /codec 2/.test(b.reason), 'an unknown codec is refused with a reason');
});

test('video-open requests: valid ones parse; hostile ones are refused with a reason naming the field', () => {
  const ok = parseVideoOpen({ v: 1, cameraId: 'dock-1', from: T0, until: T0 + 60_000 });
  assert.ok(ok.ok, 'a valid request');
  const cases: [unknown, RegExp][] = [
    [{ v: 1, cameraId: '../x', from: T0, until: T0 }, /cameraId/],
    [{ v: 1, cameraId: 'a', from: T0, until: T0 - 1 }, /until/],
    [{ v: 1, cameraId: 'a', from: T0, until: T0 + 48 * 3600_000 }, /until/],
    [{ v: 1, cameraId: 'a', from: 1e300, until: 1e300 }, /from/],
    [{ v: 2, cameraId: 'a', from: T0, until: T0 }, /v/],
    ['nonsense', /videoOpen/],
  ];
  for (const [input, re] of cases) {
    const r = parseVideoOpen(input);
    assert.ok(!r.ok && re.test(r.reason), `${JSON.stringify(input)}: ${r.ok ? 'accepted' : r.reason}`);
  }
});

test('packet clock: capture = anchored decode time + the reorder offset; unwraps 33 bits; a jump starts a new timeline', () => {
  const c = new PacketClock();
  // I P B B: decode 0,1,2,3 frames; presentation 1,4,2,3 (90 kHz at 30 fps = 3000 ticks).
  const pts = [3000, 12000, 6000, 9000];
  const times = pts.map((p, i) => c.stamp(p, i * 3000, T0 + i * 34));
  assert.deepEqual(times.map((t) => t.decodeAt - T0), [0, 33, 67, 100]);
  assert.deepEqual(times.map((t) => t.capturedAt - T0), [33, 133, 67, 100]);
  // Presentation order is capture order.
  const shown = [...times].sort((a, b) => a.capturedAt - b.capturedAt).map((t) => times.indexOf(t));
  assert.deepEqual(shown, [0, 2, 3, 1]);
  // Across the 33-bit wrap the clock keeps counting.
  const w = new PacketClock();
  const a = w.stamp(2 ** 33 - 3000, 2 ** 33 - 3000, T0);
  const b = w.stamp(0, 0, T0 + 33);
  assert.equal(b.decodeAt - a.decodeAt, 33);
  // A 1 h jump (camera reboot) re-anchors on arrival instead of stamping an hour ahead.
  const j = w.stamp(3000 + 90_000 * 3600, 3000 + 90_000 * 3600, T0 + 66);
  assert.ok(j.decodeAt > b.decodeAt && j.decodeAt <= T0 + 66 + 1, `re-anchored: ${j.decodeAt - T0}`);
});

test('packet ring: decode order, duplicates dropped, bounded by age and bytes, starts at the keyframe before a time', () => {
  const ring = new PacketRing(10_000, 2_000);
  const p = (i: number, key = i % 10 === 0) => ({ capturedAt: T0 + i * 100, decodeAt: T0 + i * 100, key, data: Buffer.alloc(100, i) });
  ring.add(Array.from({ length: 15 }, (_, i) => p(i)));
  assert.equal(ring.add([p(3), p(14)]).length, 0, 'replayed packets are not added twice');
  assert.equal(ring.fromKeyframeBefore(T0 + 1250)[0]!.capturedAt, T0 + 1000);
  assert.equal(ring.fromKeyframeBefore(T0 + 950)[0]!.capturedAt, T0, 'the keyframe at or before the time');
  ring.add(Array.from({ length: 20 }, (_, i) => p(15 + i)));
  assert.ok(ring.heldBytes <= 2_000, `bytes bounded: ${ring.heldBytes}`);
  // The first keyframe held when none is old enough.
  assert.equal(ring.fromKeyframeBefore(T0)[0]!.key, true);
});


test('the GOP meter: a forced keyframe, a burst or a lost keyframe does not change the GOP; a new run starts afresh', () => {
  const gop = new GopMeter();
  gop.key(T0);
  gop.key(T0 + 25); // a keyframe forced when a client joined, one frame after the last
  gop.key(T0 + 1025);
  assert.equal(gop.ms, undefined, 'two intervals are not an estimate');
  gop.key(T0 + 2025);
  assert.equal(gop.ms, 1000);
  gop.key(T0 + 2425); // a scene cut
  gop.key(T0 + 3425);
  assert.equal(gop.ms, 1000);
  gop.key(T0 + 3425); // a repeated or backward time is not an interval
  gop.key(T0 + 3000);
  assert.equal(gop.ms, 1000);
  gop.key(T0 + 5425); // a lost keyframe: one interval of two GOPs
  gop.key(T0 + 6425);
  assert.equal(gop.ms, 1000);
  // The GOP itself changes (the camera was reconfigured): once most recent intervals say so.
  for (let i = 1; i <= 5; i++) gop.key(T0 + 6425 + i * 4000);
  assert.equal(gop.ms, 4000);
  gop.restart();
  assert.equal(gop.ms, undefined);
  gop.key(T0 + 60_000);
  gop.key(T0 + 62_000);
  gop.key(T0 + 64_000);
  gop.key(T0 + 66_000);
  assert.equal(gop.ms, 2000, 'the gap across the restart is not an interval');
});
