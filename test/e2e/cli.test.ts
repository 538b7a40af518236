import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KAFKA, dropDatabase, freePort, freshDatabaseUrl, metricSum, uid, waitFor } from '../helpers/env.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const vigil = (...args: string[]) => spawnSync(process.execPath, ['bin/vigil.js', ...args], { encoding: 'utf8' });

test('vigil validate: 0 for the sample config', () => {
  const r = vigil('validate', 'examples/vigil.yaml');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /valid \(2 cameras, 1 queries\)/);
});

test('vigil validate: each query\'s zone and view, and the crops a camera is cut into (decoded continuously)', () => {
  const file = join(dir, 'zones.yaml');
  writeFileSync(
    file,
    `model: { endpoints: ["http://127.0.0.1:8000"] }
ingest: { decode: on_demand }
cameras:
  - id: street-1
    url: "rtsp://127.0.0.1:8554/street-1"
    zones: [{ name: road, polygon: [[0, 0.41], [1, 0.41], [1, 0.78], [0, 0.78]] }]
queries:
  - { id: walker, cameras: [street-1], question: "Is a pedestrian on {zone}?", window: 8s, every: 4s, zone: road, zone_view: crop }
  - { id: drawn, cameras: [street-1], question: "Is a car on {zone}?", window: 8s, every: 4s, zone: road, zone_view: outline }
`,
  );
  const r = vigil('validate', file);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /query walker: zone road \(crop\)/);
  assert.match(r.stdout, /query drawn: zone road \(outline\)/);
  assert.match(r.stdout, /camera street-1: crops road \(x 0%, y 37%, 100% × 44% of the picture\); decoded continuously/);
});

test('vigil validate: what the trigger reads on each on_demand camera — a detect stream (its URL and password never printed) or keyframes', () => {
  const file = join(dir, 'detect.yaml');
  writeFileSync(
    file,
    `model: { endpoints: ["http://127.0.0.1:8000"] }
ingest: { decode: on_demand }
cameras:
  - { id: dock-1, url: "rtsp://viewer:dock-secret-1@10.0.0.7/main", detect_url: "rtsp://viewer:sub-secret-2@10.0.0.7/sub", detect_fps: 3 }
  - { id: dock-2, url: "rtsp://10.0.0.8/main", keyframe_every: 2 }
  - { id: gate, url: "rtsp://10.0.0.9/main", decode: continuous }
queries:
  - { id: q, cameras: [dock-1, dock-2, gate], question: "?", window: 8s, every: 4s }
`,
  );
  const r = vigil('validate', file);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /camera dock-1: decoded on demand; the trigger reads its detect stream at 3 fps/);
  assert.match(r.stdout, /camera dock-2: decoded on demand; the trigger reads one keyframe in 2 of its stream/);
  assert.doesNotMatch(r.stdout, /camera gate: decoded on demand/);
  assert.doesNotMatch(r.stdout + r.stderr, /secret|10\.0\.0\.7\/sub/);
  // A detect stream is only read under on_demand: said with the line.
  writeFileSync(file, readFileSync(file, 'utf8').replace('ingest: { decode: on_demand }', 'ingest: { decode: continuous }'));
  const bad = vigil('validate', file);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /detect\.yaml:4: cameras\[0\]\.detect_url: only read under decode: on_demand/);
});

test('vigil validate: 2 with the path named for a bad window or an unknown camera', () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(
    file,
    `model: { endpoints: ["http://127.0.0.1:8000"] }
kafka: { brokers: ["127.0.0.1:9092"] }
postgres: { url: "postgres://postgres@127.0.0.1:5432/vigil" }
cameras:
  - { id: dock-1, url: "rtsp://127.0.0.1:8554/dock-1" }
queries:
  - { id: a, cameras: [dock-1], question: "?", window: 8 seconds, every: 2s }
  - { id: b, cameras: [dock-2], question: "?", window: 8s, every: 2s }
`,
  );
  let r = vigil('validate', file);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bad\.yaml:7: queries\[0\]\.window: expected a duration like "8s"/);
  writeFileSync(file, readFileSync(file, 'utf8').replace('8 seconds', '8s'));
  r = vigil('validate', file);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bad\.yaml:8: queries\[1\]\.cameras\[0\]: unknown camera "dock-2"/);
  assert.equal(vigil('validate', join(dir, 'missing.yaml')).status, 2);
  assert.equal(vigil('frobnicate').status, 2);
  assert.equal(vigil('run', '--config', 'examples/vigil.yaml', '--service', 'ingest,bogus').status, 2);
});

test('vigil run: services serve moving counters and stop cleanly on SIGTERM', async () => {
  const clip = join(dir, 'clip.mp4');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-t', '4', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', clip]);
  const [httpPort, ingestPort, inferPort] = [await freePort(), await freePort(), await freePort()];
  const db = freshDatabaseUrl();
  const cam = `file-${uid()}`;
  const config = join(dir, 'run.yaml');
  writeFileSync(
    config,
    `model: { endpoints: ["http://127.0.0.1:9"], timeout: 2s }
kafka: { brokers: ["${KAFKA}"] }
postgres: { url: "${db}" }
http: { port: ${httpPort}, host: 127.0.0.1 }
ingest: { metrics_port: ${ingestPort} }
infer: { metrics_port: ${inferPort} }
cameras:
  - { id: ${cam}, url: "file://${clip}" }
`,
  );
  const child = spawn(process.execPath, ['bin/vigil.js', 'run', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const frames = async () => metricSum(await (await fetch(`http://127.0.0.1:${ingestPort}/metrics`)).text(), 'vigil_ingest_frames_total', `camera="${cam}"`);
    const first = await waitFor('frames ingested', frames, 30_000);
    const later = await waitFor('frame counter moving', async () => ((await frames()) > first + 4 ? frames() : 0), 15_000);
    assert.ok(later > first);
    for (const port of [httpPort, ingestPort, inferPort]) {
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 200, `healthz on ${port}`);
      assert.match(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), /vigil_/);
    }
    const ffmpegChildren = () => spawnSync('pgrep', ['-f', clip]).stdout.toString().trim();
    assert.notEqual(ffmpegChildren(), '', 'ffmpeg runs for the camera');
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.equal(code, 0, out.slice(-2000));
    assert.match(out, /ingest stopped/);
    assert.match(out, /alerts stopped/);
    assert.equal(ffmpegChildren(), '', 'ffmpeg ended with the service');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await dropDatabase(db);
  }
});
