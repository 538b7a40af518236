import { test } from 'node:test';
import assert from 'node:assert/strict';
import jpeg from 'jpeg-js';
import { createLogger } from '@vigil/observability';
import { BandSplicer, jpegSize } from '@vigil/media';
import { rasterizeOutline, ZoneOutliner } from '../../services/infer/src/outline.ts';

const log = createLogger('test', { level: 'silent' });

/** Whether the overlay pixel at (x, y) is drawn (opaque yellow) or transparent. */
const drawn = (o: Buffer, width: number, x: number, y: number) => {
  const i = (y * width + x) * 4;
  if (o[i + 3] === 0) return false;
  assert.deepEqual([...o.subarray(i, i + 4)], [255, 255, 0, 255], `pixel ${x},${y}`);
  return true;
};

test('the outline rasteriser sets pixels on the polygon\'s edges, 2 px thick, and none inside or far outside', () => {
  const w = 200;
  const h = 100;
  // A rectangle from (41, 21) to (161, 81) in pixels (vertices on odd pixel boundaries), and a slanted triangle.
  const o = rasterizeOutline([[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.2, 0.8]], w, h);
  assert.equal(o.length, w * h * 4);
  // Top edge at y = 21: rows 20 and 21 set (one row of 4:2:0 colour samples), 19 and 22 not.
  for (const x of [45, 60, 100, 155]) {
    assert.ok(drawn(o, w, x, 20) && drawn(o, w, x, 21), `top edge at x=${x}`);
    assert.ok(!drawn(o, w, x, 19) && !drawn(o, w, x, 22), `top edge is 2 px at x=${x}`);
  }
  // Left edge at x = 41: columns 40 and 41 set; right edge at x = 161: 160 and 161; bottom at y = 81.
  for (const y of [30, 50, 70]) {
    assert.ok(drawn(o, w, 40, y) && drawn(o, w, 41, y) && !drawn(o, w, 42, y) && !drawn(o, w, 39, y));
    assert.ok(drawn(o, w, 160, y) && drawn(o, w, 161, y) && !drawn(o, w, 159, y) && !drawn(o, w, 162, y));
  }
  assert.ok(drawn(o, w, 100, 80) && drawn(o, w, 100, 81) && !drawn(o, w, 100, 82) && !drawn(o, w, 100, 79));
  // Corners are closed.
  assert.ok(drawn(o, w, 40, 20) && drawn(o, w, 161, 81));
  // Inside and far outside: nothing.
  for (const [x, y] of [[100, 50], [45, 25], [155, 75], [5, 5], [195, 95], [100, 5], [10, 50]] as const) assert.ok(!drawn(o, w, x, y), `${x},${y} not drawn`);
  let count = 0;
  for (let i = 3; i < o.length; i += 4) if (o[i]) count++;
  // Perimeter 2 × (120 + 60) = 360 px, 2 px thick: about 720 pixels.
  assert.ok(count >= 700 && count <= 740, `${count} pixels set`);

  const t = rasterizeOutline([[0, 0], [1, 0], [0, 1]], w, h);
  // Edges along the frame's border stay 2 px and inside the frame.
  assert.ok(drawn(t, w, 100, 0) && drawn(t, w, 100, 1) && !drawn(t, w, 100, 2));
  assert.ok(drawn(t, w, 0, 50) && drawn(t, w, 1, 50) && !drawn(t, w, 2, 50));
  // The hypotenuse from (199, 1) to (1, 99) passes (100, 50): drawn there, not 5 px off it.
  assert.ok(drawn(t, w, 100, 50) || drawn(t, w, 99, 50));
  assert.ok(!drawn(t, w, 95, 45) && !drawn(t, w, 105, 55));
  assert.ok(!drawn(t, w, 50, 25), 'inside the triangle');
});

/** A 4:2:0 baseline JPEG with standard tables, as ingest makes them (what the band splicer takes). */
async function ingestLikeJpegs(n: number, width: number, height: number): Promise<Buffer[]> {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `color=c=0x404040:size=${width}x${height}:rate=4`, '-frames:v', String(n), '-c:v', 'mjpeg', '-huffman', 'default', '-q:v', '5', '-f', 'image2pipe', 'pipe:1'], { maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, String(r.stderr));
  const { JpegSplitter } = await import('@vigil/media');
  return new JpegSplitter().push(r.stdout);
}

test('ZoneOutliner draws the zone on every frame of a window in one ffmpeg run; the frames keep their size and still take the band', async () => {
  const jpegs = await ingestLikeJpegs(8, 320, 176);
  assert.equal(jpegs.length, 8);
  let failures = 0;
  const outliner = new ZoneOutliner({ ffmpegPath: 'ffmpeg', log, onFailure: () => failures++ });
  const frames = jpegs.map((j, i) => ({ capturedAt: 1000 + i * 250, streamTime: i / 4, jpeg: j }));
  const zone = { name: 'lane', polygon: [[0.25, 0.25], [0.75, 0.25], [0.75, 0.75], [0.25, 0.75]] as [number, number][] };
  const out = await outliner.outline('cam', zone, frames);
  assert.ok(out, 'outlined');
  assert.equal(out.length, 8);
  assert.equal(failures, 0);
  assert.deepEqual(out.map((f) => f.capturedAt), frames.map((f) => f.capturedAt));
  for (const f of out) {
    assert.deepEqual(jpegSize(f.jpeg), { width: 320, height: 176 });
    const img = jpeg.decode(f.jpeg, { useTArray: true });
    const px = (x: number, y: number) => [...img.data.subarray((y * 320 + x) * 4, (y * 320 + x) * 4 + 3)];
    const yellow = ([r, g, b]: number[]) => r! > 200 && g! > 200 && b! < 90;
    // Top edge at y = 45, left edge at x = 81 (pixels 44-45 and 80-81).
    assert.ok(yellow(px(160, 44)) && yellow(px(160, 45)) && yellow(px(80, 88)) && yellow(px(81, 88)), `edge pixels ${px(160, 44)} ${px(80, 88)}`);
    assert.ok(!yellow(px(160, 88)) && !yellow(px(10, 10)) && !yellow(px(160, 50)), 'inside and outside stay grey');
  }
  // The same window again (another question about it) reuses the run.
  assert.equal(await outliner.outline('cam', zone, frames), out);
  // The outlined frames are what ingest makes: the band splicer extends them.
  const splicer = await BandSplicer.open({ labels: ['0.00s'] });
  const banded = splicer.splice(out[0]!.jpeg, '0.00s', 'left');
  assert.equal(jpegSize(banded)?.height, 176 + 28);
});

test('a window that cannot be outlined goes as it was: counted, warned once per camera', async () => {
  const warnings: unknown[] = [];
  const spy = { ...log, warn: (...a: unknown[]) => warnings.push(a) } as unknown as typeof log;
  let failures = 0;
  const outliner = new ZoneOutliner({ ffmpegPath: '/nonexistent/ffmpeg', log: spy, onFailure: () => failures++ });
  const jpegs = await ingestLikeJpegs(2, 64, 48);
  const zone = { name: 'lane', polygon: [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]] as [number, number][] };
  const frames = (t: number) => jpegs.map((j, i) => ({ capturedAt: t + i, streamTime: i, jpeg: j }));
  assert.equal(await outliner.outline('cam', zone, frames(0)), undefined);
  assert.equal(await outliner.outline('cam', zone, frames(10)), undefined);
  assert.equal(failures, 2);
  assert.equal(warnings.length, 1);
  // Not JPEG at all: refused before ffmpeg.
  const ok = new ZoneOutliner({ ffmpegPath: 'ffmpeg', log: spy, onFailure: () => failures++ });
  assert.equal(await ok.outline('cam2', zone, [{ capturedAt: 0, streamTime: 0, jpeg: Buffer.from('nope') }]), undefined);
  assert.equal(failures, 3);
  assert.equal(warnings.length, 2);
});
