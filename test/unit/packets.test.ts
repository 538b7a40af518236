// Decode on demand's pieces that need no services: the packet chunk envelope (and hostile
// bytes against it), the packet capture clock, infer's packet ring and ingest's packet chunker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePacketChunk, encodePacketChunk, isPacketChunk, decodeFrameChunk, type PacketChunk } from '@vigil/contracts';
import { PacketClock } from '@vigil/media';
import { PacketRing } from '../../services/infer/src/packet-ring.ts';
import { PacketChunker } from '../../services/ingest/src/chunker.ts';

const T0 = Date.UTC(2026, 10, 27, 12, 0, 0);
const au = (n: number) => Buffer.from([0, 0, 0, 1, 0x65, n & 0xff, 1, 2, 3]);

function sample(): PacketChunk {
  return {
    cameraId: 'dock-1',
    seq: 2 ** 40 + 7,
    fps: 4,
    codec: 'h264',
    packets: [
      { capturedAt: T0 + 66, decodeAt: T0, key: true, data: au(1) },
      { capturedAt: T0 + 166, decodeAt: T0 + 33, key: false, data: au(2) },
      { capturedAt: T0 + 100, decodeAt: T0 + 66, key: false, data: au(3) },
    ],
  };
}

test('packet chunk: round trip, and told apart from a frame chunk', () => {
  const buf = encodePacketChunk(sample());
  assert.ok(isPacketChunk(buf));
  const d = decodePacketChunk(buf);
  assert.ok(d.ok, !d.ok ? d.reason : '');
  assert.deepEqual({ ...d.value, packets: d.value.packets.map((p) => ({ ...p, data: [...p.data] })) }, { ...sample(), packets: sample().packets.map((p) => ({ ...p, data: [...p.data] })) });
  const asFrames = decodeFrameChunk(buf);
  assert.ok(!asFrames.ok && /magic/.test(asFrames.reason));
});

test('packet chunk: malformed envelopes give a reason naming what is wrong, never a throw', () => {
  const good = encodePacketChunk(sample());
  const cases: [string, Buffer, RegExp][] = [
    ['short', good.subarray(0, 5), /too short/],
    ['version', Buffer.concat([good.subarray(0, 4), Buffer.from([9]), good.subarray(5)]), /version 9/],
    ['codec', Buffer.concat([good.subarray(0, 5), Buffer.from([7]), good.subarray(6)]), /codec 7/],
    ['truncated', good.subarray(0, good.length - 2), /truncated/],
    ['trailing', Buffer.concat([good, Buffer.from([0])]), /trailing/],
  ];
  for (const [name, buf, re] of cases) {
    const d = decodePacketChunk(buf);
    assert.ok(!d.ok && re.test(d.reason), `${name}: ${d.ok ? 'accepted' : d.reason}`);
  }
  const order = sample();
  order.packets[2]!.decodeAt = T0 - 5;
  const o = decodePacketChunk(encodePacketChunk(order));
  assert.ok(!o.ok && /decode order/.test(o.reason));
  const early = sample();
  early.packets[0]!.capturedAt = T0 - 1;
  const e = decodePacketChunk(encodePacketChunk(early));
  assert.ok(!e.ok && /capturedAt/.test(e.reason));
  const raw = sample();
  raw.packets[1]!.data = Buffer.from([1, 2, 3, 4, 5]);
  const r = decodePacketChunk(encodePacketChunk(raw));
  assert.ok(!r.ok && /Annex B/.test(r.reason));
  // Seeded fuzz: flipped bytes anywhere never throw.
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.from(good);
    for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    const d = decodePacketChunk(b.subarray(0, Math.floor(rnd() * (b.length + 1))));
    assert.equal(typeof d.ok, 'boolean');
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

test('packet chunker: about chunkMs of decode time per chunk, a codec change flushes, seq carries on', () => {
  const ch = new PacketChunker('cam', 4, 1000, 41);
  const out: PacketChunk[] = [];
  for (let i = 0; i < 90; i++) out.push(...ch.add({ capturedAt: T0 + i * 33, decodeAt: T0 + i * 33, key: i % 30 === 0, data: au(i) }, i < 60 ? 'h264' : 'hevc'));
  const last = ch.flush();
  if (last) out.push(last);
  assert.deepEqual(out.map((c) => c.seq), out.map((_, i) => 41 + i));
  assert.deepEqual(out.map((c) => c.codec), [...out.filter((c) => c.codec === 'h264').map(() => 'h264'), ...out.filter((c) => c.codec === 'hevc').map(() => 'hevc')]);
  for (const c of out.slice(0, -1)) assert.ok(c.packets.length >= 20 && c.packets.length <= 32, `chunk of ${c.packets.length}`);
  assert.equal(out.reduce((n, c) => n + c.packets.length, 0), 90);
});
