import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrameChunk, encodeFrameChunk, type FrameChunk } from '@vigil/contracts';

const jpeg = (n: number) => Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(n, 7), Buffer.from([0xff, 0xd9])]);
const chunk: FrameChunk = {
  cameraId: 'dock-1',
  seq: 2 ** 40 + 5,
  width: 640,
  height: 388,
  fps: 4,
  codec: 'jpeg',
  frames: [
    { capturedAt: 1_700_000_000_000, streamTime: 0, jpeg: jpeg(10) },
    { capturedAt: 1_700_000_000_250.5, streamTime: 0.25, jpeg: jpeg(20) },
  ],
};

test('round-trips a chunk', () => {
  const r = decodeFrameChunk(encodeFrameChunk(chunk));
  assert.ok(r.ok);
  assert.equal(r.value.cameraId, 'dock-1');
  assert.equal(r.value.seq, chunk.seq);
  assert.equal(r.value.fps, 4);
  assert.deepEqual(r.value.frames.map((f) => [f.capturedAt, f.streamTime, f.jpeg.length]), [
    [1_700_000_000_000, 0, 14],
    [1_700_000_000_250.5, 0.25, 24],
  ]);
});

test('rejects malformed chunks with a reason instead of throwing', () => {
  const good = encodeFrameChunk(chunk);
  const cases: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /too short/],
    ['wrong magic', Buffer.from('JUNKJUNKJUNK'), /bad magic/],
    ['future version', Buffer.concat([good.subarray(0, 4), Buffer.from([9]), good.subarray(5)]), /unsupported version 9/],
    ['truncated', good.subarray(0, good.length - 5), /truncated/],
    ['trailing bytes', Buffer.concat([good, Buffer.from([1, 2])]), /2 trailing bytes/],
  ];
  for (const [name, buf, reason] of cases) {
    const r = decodeFrameChunk(buf);
    assert.equal(r.ok, false, name);
    if (!r.ok) assert.match(r.reason, reason, name);
  }
  const notJpeg = { ...chunk, frames: [{ capturedAt: 1_700_000_000_000, streamTime: 0, jpeg: Buffer.from('not a jpeg') }] };
  const r = decodeFrameChunk(encodeFrameChunk(notJpeg));
  assert.ok(!r.ok && /frame 0: not a JPEG/.test(r.reason));
  const backwards = { ...chunk, frames: [chunk.frames[1]!, chunk.frames[0]!] };
  const r2 = decodeFrameChunk(encodeFrameChunk(backwards));
  assert.ok(!r2.ok && /not monotonic/.test(r2.reason));
  // Values a hostile producer could pick to poison what comes after: refused by name.
  // The header is checked against FrameChunkHeaderSchema: the reason names the field.
  const hostile: [FrameChunk, RegExp][] = [
    [{ ...chunk, frames: [{ ...chunk.frames[0]!, capturedAt: 1e300 }] }, /^frameChunk\.frames\[0\]\.capturedAt: expected ms since the epoch between 2000 and 2100/],
    [{ ...chunk, frames: [{ ...chunk.frames[0]!, capturedAt: 5 }] }, /^frameChunk\.frames\[0\]\.capturedAt: /],
    [{ ...chunk, frames: [{ ...chunk.frames[0]!, streamTime: Number.NaN }] }, /^frameChunk\.frames\[0\]\.streamTime: expected a number/],
    [{ ...chunk, fps: 4_000_000 }, /^frameChunk\.fps: must be at most 120/],
    [{ ...chunk, cameraId: '..' }, /^frameChunk\.cameraId: expected an id/],
    [{ ...chunk, cameraId: 'dock/../../etc' }, /^frameChunk\.cameraId: expected an id/],
    [{ ...chunk, width: 9000 }, /^frameChunk\.width: must be at most 8192/],
    [{ ...chunk, width: 8000, height: 8000 }, /^frameChunk\.width: width × height must be at most/],
    [{ ...chunk, seq: 2 ** 60 }, /^frameChunk\.seq: /],
  ];
  for (const [bad, reason] of hostile) {
    const r3 = decodeFrameChunk(encodeFrameChunk(bad));
    assert.ok(!r3.ok && reason.test(r3.reason), `${String(reason)}: ${r3.ok ? 'accepted' : r3.reason}`);
  }
});

test('zone_view: crop — frames carry their zones\' crops (codec 4); a frame may lack one; hostile crop tables are refused with a reason', () => {
  const withCrops: FrameChunk = {
    ...chunk,
    frames: [
      { ...chunk.frames[0]!, crops: new Map([['dock', jpeg(30)], ['lane', jpeg(40)]]) },
      { ...chunk.frames[1]!, crops: new Map([['lane', jpeg(50)]]) },
    ],
  };
  const buf = encodeFrameChunk(withCrops);
  assert.equal(buf[5], 4);
  const r = decodeFrameChunk(buf);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  assert.deepEqual(r.value.frames.map((f) => [f.jpeg.length, [...(f.crops ?? [])].map(([z, c]) => [z, c.length])]), [
    [14, [['dock', 34], ['lane', 44]]],
    [24, [['lane', 54]]],
  ]);
  assert.equal('cropZones' in r.value, false);
  // Without crops the envelope is the plain one (codec 1), readable by older consumers.
  assert.equal(encodeFrameChunk(chunk)[5], 1);
  // The crop table sits after the frame table: 2 frames × 20 bytes from the header's end.
  const table = buf.length - (14 + 24 + 34 + 44 + 54) - 4 * 4 - (1 + 2 + 4 + 2 + 4);
  const at = (i: number, v: number, bytes = 1) => {
    const b = Buffer.from(buf);
    b.writeUIntBE(v, i, bytes);
    return decodeFrameChunk(b);
  };
  const fails = (r: ReturnType<typeof decodeFrameChunk>, re: RegExp) => assert.ok(!r.ok && re.test(r.reason), r.ok ? 'accepted' : r.reason);
  fails(at(table, 0), /crop zones: expected 1-16, got 0/);
  fails(at(table, 17), /crop zones: expected 1-16, got 17/);
  fails(at(table + 1 + 2 + 4 + 2, Buffer.from('dock').readUInt32BE(0), 4), /crop zones: a zone is named twice/);
  fails(at(table + 1 + 2 + 4 + 2 + 4, 0xffff, 4), /crop of zone 0: truncated|trailing/);
  // A crop that is not a JPEG.
  const b = Buffer.from(buf);
  b[buf.length - 54] = 0;
  fails(decodeFrameChunk(b), /frame 1: crop of zone 1: not a JPEG/);
  fails(decodeFrameChunk(buf.subarray(0, table + 3)), /truncated crop table/);
  assert.throws(() => encodeFrameChunk({ ...chunk, frames: [{ ...chunk.frames[0]!, crops: new Map(Array.from({ length: 17 }, (_, i) => [`z${i}`, jpeg(1)])) }] }), /at most 16 zones/);
});
