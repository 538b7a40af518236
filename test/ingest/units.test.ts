// Pure parts of ingest, with small hand-written fakes for the bus: restart pacing,
// sharding, reload diffs, failure reasons, secret scrubbing, chunking, ffmpeg's log and
// command line, and the bounded publisher and status outbox.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { decodeFrameChunk, type CameraStatus, type FrameChunk } from '@vigil/contracts';
import type { Bus, OutMessage } from '@vigil/bus';
import { createLogger } from '@vigil/observability';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BandSplicer, FfmpegLog, FrameGroups, JpegSplitter, clipArgs, cropSize, ffmpegArgs, jpegSize } from '@vigil/media';
import { backoffDelay, DEFAULT_BACKOFF } from '../../services/ingest/src/backoff.ts';
import { checkShard, inShard, parseShard, shardOf } from '../../services/ingest/src/shard.ts';
import { diffCameras } from '../../services/ingest/src/reload.ts';
import { describeFailure } from '../../services/ingest/src/failure.ts';
import { scrubberFor, sourceUrl } from '../../services/ingest/src/camera-url.ts';
import { Chunker } from '../../services/ingest/src/chunker.ts';
import { RateWindow } from '../../services/ingest/src/rate-window.ts';
import { ChunkPublisher } from '../../services/ingest/src/publisher.ts';
import { StatusOutbox } from '../../services/ingest/src/status-outbox.ts';
import { createIngestMetrics } from '../../services/ingest/src/metrics.ts';
import { configFromYaml, metricSum, waitFor } from '../helpers/env.ts';

const quiet = createLogger('test', { level: 'silent' });

function camerasFrom(list: string): ReturnType<typeof configFromYaml>['cameras'] {
  return configFromYaml(`model: { endpoints: ["http://127.0.0.1:8000"] }\ncameras:\n${list}`).cameras;
}

test('backoff doubles from 1 s to a 30 s cap, with ±20% jitter', () => {
  const mid = () => 0.5;
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 20].map((n) => backoffDelay(n, DEFAULT_BACKOFF, mid)), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(backoffDelay(1, DEFAULT_BACKOFF, () => 0), 800);
  assert.equal(backoffDelay(6, DEFAULT_BACKOFF, () => 1), 36000);
  const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(3)));
  assert.ok(spread.size > 10, 'cameras failing together retry at different times');
});

test('shards cover every camera exactly once, and growing the count moves only what the new shard wins', () => {
  const ids = Array.from({ length: 600 }, (_, i) => `cam-${i}`);
  for (const count of [1, 2, 3, 5, 8]) {
    const owners = ids.map((id) => Array.from({ length: count }, (_, i) => i).filter((i) => inShard(id, { index: i, count })));
    assert.ok(owners.every((o) => o.length === 1), `n=${count}: one owner each`);
    const sizes = Array.from({ length: count }, (_, i) => owners.filter((o) => o[0] === i).length);
    assert.ok(Math.min(...sizes) > (600 / count) * 0.7, `n=${count}: balanced (${sizes})`);
  }
  for (const id of ids) {
    const [before, after] = [shardOf(id, 4), shardOf(id, 5)];
    assert.ok(after === before || after === 4, `${id} moved from ${before} to ${after}`);
  }
  assert.deepEqual(parseShard(' 2/3 '), { index: 2, count: 3 });
  assert.throws(() => parseShard('3/3'), /index must be 0…2/);
  assert.throws(() => parseShard('1-3'), /expected a shard like "0\/3"/);
  assert.throws(() => checkShard(0, 0), /count must be/);
});

test('a reload diff separates added, removed, restarted and relabelled cameras', () => {
  const before = camerasFrom(`  - { id: a, url: "rtsp://h/a" }\n  - { id: b, url: "rtsp://h/b" }\n  - { id: c, url: "rtsp://h/c", fps: 4 }\n  - { id: d, url: "rtsp://h/d" }\n`);
  const after = camerasFrom(`  - { id: a, url: "rtsp://h/a" }\n  - { id: c, url: "rtsp://h/c", fps: 2 }\n  - { id: d, url: "rtsp://h/d", tags: [dock] }\n  - { id: e, url: "rtsp://h/e" }\n`);
  const d = diffCameras(before, after);
  assert.deepEqual(d.added.map((c) => c.id), ['e']);
  assert.deepEqual(d.removed, ['b']);
  assert.deepEqual(d.changed.map((c) => c.id), ['c']);
  assert.deepEqual(d.relabelled.map((c) => c.id), ['d']);
  assert.deepEqual(d.unchanged, ['a']);
});

test("ffmpeg's errors become reasons an operator can act on", () => {
  const table: [string, string][] = [
    ['method DESCRIBE failed: 401 Unauthorized; rtsp://admin:***@10.0.0.5/x: Server returned 401 Unauthorized (authorization failed)', '401 unauthorized'],
    ['Connection to tcp://127.0.0.1:1?timeout=5000000 failed: Connection refused; rtsp://127.0.0.1:1/x: Connection refused', 'connection refused'],
    ['Failed to resolve hostname nohost.invalid: Name or service not known; rtsp://nohost.invalid/x: Input/output error', 'host unreachable'],
    ["Stream map '0:v:0' matches no streams.", 'stream has no video'],
    ['method DESCRIBE failed: 404 Not Found', 'stream not found (404)'],
    ['/clips/missing.mp4: No such file or directory', 'file not found'],
    ['no frames for 10 s', 'no frames for 10 s'],
    ['stream ended', 'stream ended'],
    ['something nobody has seen before; and more', 'something nobody has seen before'],
  ];
  for (const [line, reason] of table) assert.equal(describeFailure(line), reason, line);
});

test('credentials reach ffmpeg but are scrubbed from anything reported', () => {
  const [inUrl, inFields, fileCam] = camerasFrom(
    `  - { id: a, url: "rtsp://admin:p%40ss-W0rd@10.0.0.5:554/s1" }\n  - { id: b, url: "rtsp://10.0.0.6/s1", username: viewer, password: "s3cr3t/&@pw" }\n  - { id: c, url: "file:///clips/a.mp4" }\n`,
  );
  assert.equal(sourceUrl(inUrl!), 'rtsp://admin:p%40ss-W0rd@10.0.0.5:554/s1');
  const built = new URL(sourceUrl(inFields!)!);
  assert.equal(decodeURIComponent(built.password), 's3cr3t/&@pw');
  assert.equal(decodeURIComponent(built.username), 'viewer');
  assert.equal(sourceUrl(fileCam!), 'file:///clips/a.mp4');
  assert.equal(sourceUrl({ ...inUrl!, url: 'rtsp://[oops/x' }), undefined);
  const scrubA = scrubberFor(inUrl!);
  assert.equal(scrubA('rtsp://admin:p%40ss-W0rd@10.0.0.5:554/s1: 401'), 'rtsp://admin:***@10.0.0.5:554/s1: 401');
  assert.equal(scrubA('password p@ss-W0rd rejected'), 'password *** rejected');
  const scrubB = scrubberFor(inFields!);
  assert.ok(!scrubB(`${sourceUrl(inFields!)} failed; raw s3cr3t/&@pw; encoded ${encodeURIComponent('s3cr3t/&@pw')}`).includes('s3cr3t'));
});

test('chunks close on frame count, on elapsed capture time, and on a frame size change; seq never repeats', () => {
  const f = (t: number) => ({ capturedAt: t, streamTime: t / 1000, jpeg: Buffer.from([0xff, 0xd8, 0xff, 0xd9]) });
  const c = new Chunker('cam', 4, 1000, 7);
  const out: FrameChunk[] = [];
  for (const t of [0, 250, 500, 750]) out.push(...c.add(f(t), 640, 388));
  assert.deepEqual(out.map((x) => [x.seq, x.frames.length]), [[7, 4]]);
  // A slow camera (1 fps): the chunk closes after 1 s of capture time, not after 4 frames.
  for (const t of [2000, 3000]) out.push(...c.add(f(t), 640, 388));
  assert.deepEqual(out.at(-1)!.frames.map((x) => x.capturedAt), [2000, 3000]);
  // A new resolution after a reconnect: the pending chunk goes out in the old size.
  out.push(...c.add(f(4000), 640, 388), ...c.add(f(4250), 640, 508));
  assert.deepEqual(out.slice(-1).map((x) => [x.height, x.frames.length]), [[388, 1]]);
  assert.equal(c.flush()!.height, 508);
  assert.deepEqual(out.map((x) => x.seq), [7, 8, 9]);
});

test('delivered fps is measured over a sliding window', () => {
  const r = new RateWindow(10_000);
  for (let t = 0; t < 20_000; t += 250) r.add(t); // 4 fps for 20 s
  assert.ok(Math.abs(r.rate(19_999) - 4) < 0.05);
  for (let t = 20_000; t < 30_000; t += 500) r.add(t); // then 2 fps
  assert.ok(Math.abs(r.rate(29_999) - 2) < 0.05);
  const fresh = new RateWindow(10_000);
  for (let t = 250; t <= 2_000; t += 250) fresh.add(t);
  assert.ok(Math.abs(fresh.rate(2_000, 0) - 4) < 0.01, 'a camera online for 2 s is measured over those 2 s');
});

test("ffmpeg's log: errors are kept, the input stream is described, continuation lines ignored", () => {
  const log = new FfmpegLog();
  log.push("[info] Input #0, rtsp, from 'rtsp://u:p@h/x':\n[info]   Metadata:\n[info]   Stream #0:0: Video: h264 (High), yuv420p(progressive), 1920x1080 [SAR 1:1 DAR 16:9], 29.97 fps, 29.97 tbr, 90k tbn\n");
  log.push('[info] Stream mapping:\n[rtsp @ 0x55d1] [error] method DESCRIBE failed: 401 Unauthorized\nTo ignore this, add a trailing');
  assert.deepEqual(log.stream, { codec: 'h264', width: 1920, height: 1080, fps: 29.97 });
  assert.equal(log.opened, true);
  assert.deepEqual(log.recentErrors(), ['method DESCRIBE failed: 401 Unauthorized']);
});

test('the ffmpeg command line: hwaccel and extra input options before -i, looping for files, always a pipe of JPEGs', () => {
  const base = { transport: 'udp' as const, hwaccel: 'cuda' as const, inputArgs: ['-probesize', '500000'], timeoutMs: 10_000 };
  const rtsp = ffmpegArgs({ ...base, url: 'rtsp://h/x' }, { fps: 4, width: 640 });
  const at = (a: string[], v: string) => a.indexOf(v);
  assert.ok(at(rtsp, '-rtsp_transport') < at(rtsp, '-i') && rtsp[at(rtsp, '-rtsp_transport') + 1] === 'udp');
  assert.equal(rtsp[at(rtsp, '-timeout') + 1], '10000000');
  assert.ok(at(rtsp, '-hwaccel') < at(rtsp, '-probesize') && at(rtsp, '-probesize') < at(rtsp, '-i'), 'config options last, so they can override');
  assert.deepEqual(rtsp.slice(-3), ['image2pipe', '-y', 'pipe:1']);
  const file = ffmpegArgs({ ...base, hwaccel: 'none', inputArgs: [], url: 'file:///clips/a%20b.mp4' }, { fps: 4, width: 640 });
  assert.ok(file.includes('-stream_loop') && file.includes('-re') && !file.includes('-hwaccel'));
  assert.equal(file[at(file, '-i') + 1], '/clips/a b.mp4');
});

test("ingest's frames are what infer's band splicer extends: height a multiple of 16, standard Huffman tables", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-args-'));
  try {
    const clip = join(dir, 'cam.mp4');
    execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=25', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', clip]);
    const args = ffmpegArgs({ url: `file://${clip}`, transport: 'tcp', hwaccel: 'none', inputArgs: [], timeoutMs: 5000 }, { fps: 4, width: 640 });
    assert.ok(args.join(' ').includes('-c:v mjpeg -huffman default'));
    const ff = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    const splitter = new JpegSplitter();
    const frames: Buffer[] = [];
    await new Promise<void>((resolve) => {
      ff.stdout!.on('data', (d: Buffer) => {
        frames.push(...splitter.push(d));
        if (frames.length >= 3) (ff.kill('SIGKILL'), resolve());
      });
      ff.once('exit', () => resolve());
    });
    assert.ok(frames.length >= 3, 'ffmpeg produced frames');
    assert.deepEqual(jpegSize(frames[0]!), { width: 640, height: 368 }, '16:9 at 640 wide (360), rounded to a multiple of 16');
    const splicer = await BandSplicer.open({ labels: ['0.00s', '0.25s'] });
    const banded = splicer.splice(frames[1]!, '0.25s', 'right');
    assert.deepEqual(jpegSize(banded), { width: 640, height: 396 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A bus that fails while `down` is set, recording what it was sent. */
class FlakyBus implements Pick<Bus, 'publish'> {
  down = false;
  sent: OutMessage[] = [];
  attempts = 0;
  async publish(_topic: string, messages: OutMessage[]): Promise<void> {
    this.attempts++;
    await new Promise((r) => setTimeout(r, 5));
    if (this.down) throw new Error('broker unreachable');
    this.sent.push(...messages);
  }
}

const chunk = (cameraId: string, seq: number): FrameChunk => ({
  cameraId,
  seq,
  width: 64,
  height: 64,
  fps: 4,
  codec: 'jpeg',
  frames: [{ capturedAt: 1_700_000_000_000 + seq, streamTime: seq, jpeg: Buffer.from([0xff, 0xd8, 0xff, 0xd9]) }],
});

test('the publisher keeps a bounded queue per camera while the bus is down, drops the oldest, and resumes alone', async () => {
  const registry = new Registry();
  const metrics = createIngestMetrics(registry);
  const bus = new FlakyBus();
  bus.down = true;
  const pub = new ChunkPublisher(bus as unknown as Bus, metrics, quiet, { maxQueuedPerCamera: 3, retryMs: 20 });
  for (let s = 0; s < 20; s++) {
    pub.enqueue(chunk('a', s));
    if (s < 2) pub.enqueue(chunk('b', s));
    assert.ok(pub.queuedChunks <= 6, 'never more than the bound per camera');
  }
  await waitFor('a few failed attempts', () => bus.attempts >= 3, 2000, 5);
  const text = await registry.metrics();
  assert.equal(metricSum(text, 'vigil_ingest_chunks_dropped_total', 'camera="a"'), 17);
  assert.equal(metricSum(text, 'vigil_ingest_chunks_dropped_total', 'camera="b"'), 0);
  bus.down = false;
  await waitFor('the queue drained once the bus is back', () => pub.queuedChunks === 0 && bus.sent.length === 5, 2000, 5);
  const seqs = (id: string) => bus.sent.filter((m) => m.key === id).map((m) => (decodeFrameChunk(m.value) as { ok: true; value: FrameChunk }).value.seq);
  assert.deepEqual(seqs('a'), [17, 18, 19], 'the newest survive, in order');
  assert.deepEqual(seqs('b'), [0, 1]);
  assert.equal(metricSum(await registry.metrics(), 'vigil_ingest_frames_published_total'), 5);
  await pub.close();
});

test('camera status waits for the bus and goes out in order per camera', async () => {
  const bus = new FlakyBus();
  bus.down = true;
  const outbox = new StatusOutbox(bus as unknown as Bus, quiet, 20);
  const status = (state: CameraStatus['state'], at: number): CameraStatus => ({ v: 1, cameraId: 'a', state, reason: state, at, fps: 4 });
  outbox.publish(status('starting', 1));
  outbox.publish(status('online', 2));
  await waitFor('a failed attempt', () => bus.attempts >= 2, 2000, 5);
  outbox.publish(status('offline', 3));
  bus.down = false;
  await waitFor('statuses sent', () => bus.sent.length === 3, 2000, 5);
  assert.deepEqual(bus.sent.map((m) => (JSON.parse(m.value.toString()) as CameraStatus).state), ['starting', 'online', 'offline']);
  await outbox.close();
});

test('zone_view: crop — one decode writes each picture then its crops; cropSize predicts ffmpeg\'s sizes at any resolution; the band goes under a crop', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-crop-args-'));
  const boxes = [
    { x: 0.46, y: 0.46, w: 0.48, h: 0.48 },
    { x: 0.123, y: 0.0, w: 0.2, h: 0.777 },
    { x: 0, y: 0, w: 1, h: 1 },
    { x: 0.7, y: 0.8, w: 0.2, h: 0.2 },
  ];
  try {
    for (const [w, h] of [[1280, 720], [1920, 1080], [704, 576], [2688, 1520]] as const) {
      const clip = join(dir, `cam-${w}.mp4`);
      execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${w}x${h}:rate=10`, '-t', '1', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', clip]);
      const out = execFileSync('ffmpeg', clipArgs(clip, { fps: 2, width: 640, crops: boxes }, 'none', 'pipe:1'), { maxBuffer: 64 * 1024 * 1024 });
      const groups = new FrameGroups(boxes.length);
      const frames = new JpegSplitter().push(out).map((j) => groups.push(j)).filter((g) => g !== undefined);
      assert.equal(frames.length, 2, `${w}×${h}: one group per picture`);
      for (const g of frames) {
        const picture = jpegSize(g.picture)!;
        assert.equal(picture.width, 640, `${w}×${h}: the picture comes first`);
        assert.deepEqual(g.crops.map((c) => jpegSize(c)), boxes.map((b) => cropSize(b, w, h, 640)), `${w}×${h}`);
        for (const c of g.crops) {
          const s = jpegSize(c)!;
          assert.ok(s.width % 16 === 0 && s.height % 16 === 0 && s.width * s.height <= picture.width * (picture.height + 16), `${w}×${h}: ${s.width}×${s.height}`);
        }
      }
      const splicer = await BandSplicer.open({ labels: ['0.00s'] });
      assert.deepEqual(jpegSize(splicer.splice(frames[0]!.crops[0]!, '0.00s', 'left')), { ...cropSize(boxes[0]!, w, h, 640), height: cropSize(boxes[0]!, w, h, 640).height + 28 });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FrameGroups: a picture and its crops, in order; no crops: every picture alone', () => {
  const b = (n: number) => Buffer.from([n]);
  const g = new FrameGroups(2);
  assert.deepEqual([b(1), b(2), b(3), b(4), b(5)].map((x) => g.push(x)), [undefined, undefined, { picture: b(1), crops: [b(2), b(3)] }, undefined, undefined]);
  assert.deepEqual(new FrameGroups(0).push(b(9)), { picture: b(9), crops: [] });
});
