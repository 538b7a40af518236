/**
 * npm run bench -- standalone [--cameras N] [--seconds S] [--json]
 *
 * Runs one standalone Vigil process (in-process bus, PGlite, no model server) on N
 * simulated 640-wide cameras at 4 fps (looped clips through ffmpeg, the real ingest path)
 * with the trigger stage on, and reports whether it sustains them without drops, its
 * resident memory and the CPU cores it uses (Node plus its ffmpeg children).
 * Without --cameras it doubles N from 2 until a run fails and reports the largest that held.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metric, parseFlags, rssMb, treeCpuSeconds } from './lib/proc.ts';
import { SERVICE_NODE_FLAGS } from '@vigil/platform';

interface RunResult {
  cameras: number;
  seconds: number;
  fps_min: number;
  fps_mean: number;
  frames_dropped: number;
  rss_mb: number;
  cpu_cores: number;
  ok: boolean;
}

const CLIP = '.cache/bench/cam-640.mp4';

function ensureClip(): void {
  if (existsSync(CLIP)) return;
  mkdirSync('.cache/bench', { recursive: true });
  // A busy 640x360 25 fps scene (testsrc2 moves everywhere): worst case for motion triggers.
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-t', '20', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', '-pix_fmt', 'yuv420p', CLIP]);
}

async function runOnce(cameras: number, seconds: number): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
  const [httpPort, ingestPort, inferPort] = [18080 + cameras, 19101 + cameras, 19201 + cameras];
  const cams = Array.from({ length: cameras }, (_, i) => `  - { id: cam-${i}, url: "file://${process.cwd()}/${CLIP}", fps: 4, width: 640 }`).join('\n');
  const ids = Array.from({ length: cameras }, (_, i) => `cam-${i}`).join(', ');
  writeFileSync(
    join(dir, 'vigil.yaml'),
    `data_dir: "${dir}/data"
model: { endpoints: [] }
http: { port: ${httpPort}, host: 127.0.0.1 }
ingest: { metrics_port: ${ingestPort} }
infer: { metrics_port: ${inferPort} }
cameras:
${cams}
queries:
  - { id: activity, cameras: [${ids}], question: "Is anything unusual happening?", window: 8s, every: 2s, trigger: { type: motion } }
`,
  );
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, 'bin/vigil.js', 'run', '--config', join(dir, 'vigil.yaml')], { stdio: 'ignore', env: { ...process.env, VIGIL_LOG_LEVEL: 'warn' } });
  const scrape = async () => (await fetch(`http://127.0.0.1:${ingestPort}/metrics`)).text();
  try {
    // Warm up: every camera online.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        if (metric(await scrape(), 'vigil_ingest_camera_online') >= cameras) break;
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    await new Promise((r) => setTimeout(r, 3000));
    const m0 = await scrape();
    const cpu0 = treeCpuSeconds(child.pid!);
    const t0 = performance.now();
    let rssPeak = 0;
    while (performance.now() - t0 < seconds * 1000) {
      rssPeak = Math.max(rssPeak, rssMb(child.pid!));
      await new Promise((r) => setTimeout(r, 1000));
    }
    const m1 = await scrape();
    const wall = (performance.now() - t0) / 1000;
    const cpu = treeCpuSeconds(child.pid!) - cpu0;
    const fps = Array.from({ length: cameras }, (_, i) => {
      const l = `camera="cam-${i}"`;
      return (metric(m1, 'vigil_ingest_frames_total', l) - metric(m0, 'vigil_ingest_frames_total', l)) / wall;
    });
    const dropped = metric(m1, 'vigil_ingest_frames_dropped_total') - metric(m0, 'vigil_ingest_frames_dropped_total');
    const fpsMin = Math.min(...fps);
    return {
      cameras,
      seconds: Math.round(wall),
      fps_min: round(fpsMin),
      fps_mean: round(fps.reduce((a, b) => a + b, 0) / cameras),
      frames_dropped: dropped,
      rss_mb: Math.round(rssPeak),
      cpu_cores: round(cpu / wall),
      ok: dropped === 0 && fpsMin >= 3.8,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

export async function main(args: string[]): Promise<number> {
  const flags = parseFlags(args);
  const seconds = Number(flags.get('seconds') ?? 20);
  ensureClip();
  let result: RunResult;
  if (flags.has('cameras')) {
    result = await runOnce(Number(flags.get('cameras')), seconds);
    print(result);
  } else {
    let best: RunResult | undefined;
    for (let n = 2; n <= 64; n *= 2) {
      const r = await runOnce(n, seconds);
      print(r);
      if (!r.ok) break;
      best = r;
    }
    result = best ?? (await runOnce(1, seconds));
    console.log(`largest sustained: ${result.cameras} cameras`);
  }
  if (flags.has('json')) console.log(JSON.stringify(result));
  return 0;
}

function print(r: RunResult): void {
  console.log(
    `${r.cameras} cameras × ${r.seconds}s: ${r.fps_min}–${r.fps_mean} fps/camera (min–mean), dropped ${r.frames_dropped}, rss ${r.rss_mb} MiB, ${r.cpu_cores} cores → ${r.ok ? 'sustained' : 'NOT sustained'}`,
  );
}
