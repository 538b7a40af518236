/**
 * npm run bench -- ingest [--cameras 4[,8,…]] [--seconds 30] [--warmup 5] [--repeat 1]
 *                         [--brokers 127.0.0.1:9092] [--kafkajs-idle-fix] [--json]
 *
 * N simulated 1080p30 H.264 cameras (one 4 Mbit/s clip, looped in real time with
 * `file://`) through ingest into Kafka, against the same N inputs through bare ffmpeg
 * doing the same decode, 4 fps, scale and JPEG encode to /dev/null (the very same
 * command line, from @vigil/media's ffmpegArgs, only the output differs).
 *
 * CPU is read from /proc (utime + stime) over the same measured window for both: Node
 * plus its ffmpeg children for ingest, the ffmpeg processes for the baseline. Start-up
 * (tsx compiling, Kafka connecting, ffmpeg probing) is left out by a warm-up. Ingest runs
 * in a child process that is nothing but `startIngest` with a Kafka bus, so the Node CPU
 * is ingest's own. The machine's total busy CPU is reported too: other work on it makes
 * the figures noisy, and this says how noisy.
 *
 * --kafkajs-idle-fix patches kafkajs 2.2.4's request queue in the ingest child only, to
 * show what the upstream fix for its idle timer loop (a 1 ms setTimeout per broker
 * connection, tulios/kafkajs#1556) would save; without it the figures are production's.
 *
 * The last line with --json is one object: the first N's figures plus `runs` (every N)
 * and `largest_n_holding_4fps` among the Ns tried.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ffmpegArgs } from '@vigil/media';
import { cpuSeconds, percentile, parseFlags } from './lib/proc.ts';

const CLIP = resolve('.cache/bench/cam-1080p30-h264.mp4');
const FPS = 4;
const WIDTH = 640;

interface RunResult {
  cameras: number;
  seconds: number;
  ingest_cpu_s: number;
  ingest_node_cpu_s: number;
  ingest_ffmpeg_cpu_s: number;
  ffmpeg_cpu_s: number;
  cpu_ratio_vs_ffmpeg: number;
  frames_published: number;
  frames_dropped: number;
  frames_expected: number;
  min_camera_fps: number;
  publish_p50_ms: number;
  publish_p99_ms: number;
  restarts: number;
  holds_4fps: boolean;
  machine_busy_cores_ingest: number;
  machine_busy_cores_ffmpeg: number;
}

/** A 20 s 1080p30 H.264 clip like a camera's: high profile, no B-frames, 1 s GOP, ~4 Mbit/s, sensor-like noise. */
function ensureClip(): void {
  if (existsSync(CLIP)) return;
  mkdirSync('.cache/bench', { recursive: true });
  process.stderr.write('bench ingest: making the 1080p30 clip (once, ~30 s)…\n');
  const tmp = `${CLIP}.tmp.mp4`;
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30,noise=alls=6:allf=t', '-t', '20'],
    ...['-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-b:v', '4M', '-maxrate', '4M', '-bufsize', '8M', '-g', '30', '-bf', '0', '-y', tmp],
  ]);
  renameSync(tmp, CLIP);
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
function machineJiffies(): { busy: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - (f[4] ?? 0) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sum = (pids: number[]) => pids.reduce((s, p) => s + cpuSeconds(p), 0);

/** CPU seconds of `pids` and machine busy cores over `seconds`. */
async function measure(pids: () => number[], seconds: number): Promise<{ cpu: number; busyCores: number; from: number; to: number }> {
  const ids = pids();
  const [c0, m0, from] = [sum(ids), machineJiffies(), Date.now()];
  await sleep(seconds * 1000);
  const [c1, m1, to] = [sum(ids), machineJiffies(), Date.now()];
  // /proc/stat counts jiffies of 1/100 s, summed over cores.
  return { cpu: c1 - c0, busyCores: (m1.busy - m0.busy) / 100 / ((to - from) / 1000), from, to };
}

function bareArgs(): string[] {
  return ffmpegArgs({ url: pathToFileURL(CLIP).href, transport: 'tcp', hwaccel: 'none', inputArgs: [], timeoutMs: 10_000 }, { fps: FPS, width: WIDTH }, '/dev/null');
}

async function runBare(n: number, warmup: number, seconds: number) {
  const procs = Array.from({ length: n }, () => spawn('ffmpeg', bareArgs(), { stdio: 'ignore' }));
  try {
    await sleep(warmup * 1000);
    const alive = procs.filter((p) => p.exitCode === null);
    if (alive.length !== n) throw new Error(`bare ffmpeg: ${n - alive.length} of ${n} exited early`);
    return await measure(() => procs.map((p) => p.pid!), seconds);
  } finally {
    for (const p of procs) p.kill('SIGKILL');
  }
}

/** The ingest child: answers commands on stdin with one JSON line each on stdout. */
class IngestChild {
  private readonly lines: AsyncIterator<string>;
  constructor(readonly proc: ChildProcess) {
    this.lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  }
  async ask<T>(command: object): Promise<T> {
    this.proc.stdin!.write(`${JSON.stringify(command)}\n`);
    for (;;) {
      const { value, done } = await this.lines.next();
      if (done) throw new Error('ingest child exited');
      if (value.startsWith('{')) return JSON.parse(value) as T;
    }
  }
}

interface Counters {
  pids: number[];
  frames: Record<string, number>;
  published: number;
  dropped: number;
  restarts: number;
  latencies?: number[];
}

async function runOnce(n: number, warmup: number, seconds: number, brokers: string, idleFix: boolean): Promise<RunResult> {
  const bare = await runBare(n, warmup, seconds);
  const ing = await runIngest(n, warmup, seconds, brokers, idleFix);
  const { m, c0, c1 } = ing;
  const perCamera = Object.keys(c1.frames).map((k) => ((c1.frames[k] ?? 0) - (c0.frames[k] ?? 0)) / ((m.to - m.from) / 1000));
  const published = c1.published - c0.published;
  const dropped = c1.dropped - c0.dropped;
  const lat = (c1.latencies ?? []).sort((a, b) => a - b);
  const minFps = Math.min(...perCamera);
  const restarts = c1.restarts - c0.restarts;
  return {
    cameras: n,
    seconds,
    ingest_cpu_s: round(m.cpu),
    ingest_node_cpu_s: round(ing.node),
    ingest_ffmpeg_cpu_s: round(ing.ffmpeg),
    ffmpeg_cpu_s: round(bare.cpu),
    cpu_ratio_vs_ffmpeg: round(m.cpu / bare.cpu, 3),
    frames_published: published,
    frames_dropped: dropped,
    frames_expected: n * FPS * seconds,
    min_camera_fps: round(minFps),
    publish_p50_ms: round(percentile(lat, 50)),
    publish_p99_ms: round(percentile(lat, 99)),
    restarts,
    holds_4fps: dropped === 0 && restarts === 0 && minFps >= FPS * 0.95,
    machine_busy_cores_ingest: round(m.busyCores),
    machine_busy_cores_ffmpeg: round(bare.busyCores),
  };
}

/** Ingest in a child process; the window's CPU, also split into Node's and ffmpeg's. */
async function runIngest(n: number, warmup: number, seconds: number, brokers: string, idleFix: boolean) {
  const self = fileURLToPath(import.meta.url);
  const proc = spawn(process.execPath, ['--import', 'tsx', self, '--child', JSON.stringify({ n, brokers, clip: CLIP, idleFix })], { stdio: ['pipe', 'pipe', 'inherit'] });
  const child = new IngestChild(proc);
  try {
    await child.ask({ cmd: 'online', timeoutMs: 60_000 });
    await sleep(warmup * 1000);
    const c0 = await child.ask<Counters>({ cmd: 'counters' });
    if (c0.pids.length !== n) throw new Error(`expected ${n} ffmpeg processes, found ${c0.pids.length}`);
    const [node0, ff0] = [cpuSeconds(proc.pid!), sum(c0.pids)];
    const m = await measure(() => [proc.pid!, ...c0.pids], seconds);
    const [node1, ff1] = [cpuSeconds(proc.pid!), sum(c0.pids)];
    const c1 = await child.ask<Counters>({ cmd: 'counters', from: m.from, to: m.to });
    return { m, c0, c1, node: node1 - node0, ffmpeg: ff1 - ff0 };
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Number.isFinite(x) ? Math.round(x * f) / f : x;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function main(args: string[]): Promise<number> {
  const flags = parseFlags(args);
  const ns = (flags.get('cameras') ?? '4').split(',').map(Number);
  const seconds = Number(flags.get('seconds') ?? 30);
  const warmup = Number(flags.get('warmup') ?? 5);
  const repeat = Number(flags.get('repeat') ?? 1);
  const brokers = flags.get('brokers') ?? '127.0.0.1:9092';
  if (ns.some((n) => !(n >= 1)) || !(seconds > 0) || !(repeat >= 1)) {
    process.stderr.write('usage: npm run bench -- ingest [--cameras 4[,8]] [--seconds 30] [--warmup 5] [--repeat 1] [--brokers host:port] [--json]\n');
    return 2;
  }
  ensureClip();
  const runs: RunResult[] = [];
  for (const n of ns) {
    const tries: RunResult[] = [];
    for (let r = 0; r < repeat; r++) {
      const res = await runOnce(n, warmup, seconds, brokers, flags.has('kafkajs-idle-fix'));
      tries.push(res);
      process.stdout.write(
        `cameras=${n} try=${r + 1}: ingest ${res.ingest_cpu_s} cpu-s (node ${res.ingest_node_cpu_s}, ffmpeg ${res.ingest_ffmpeg_cpu_s}) vs bare ffmpeg ${res.ffmpeg_cpu_s} cpu-s → ratio ${res.cpu_ratio_vs_ffmpeg}; ` +
          `published ${res.frames_published}/${res.frames_expected} frames, dropped ${res.frames_dropped}, min ${res.min_camera_fps} fps/camera, publish p50 ${res.publish_p50_ms} ms p99 ${res.publish_p99_ms} ms; ` +
          `machine busy ${res.machine_busy_cores_ingest} / ${res.machine_busy_cores_ffmpeg} cores (ingest / bare window)\n`,
      );
    }
    // With repeats, the try with the median ratio stands for N (noise from other work on the machine).
    const mid = median(tries.map((t) => t.cpu_ratio_vs_ffmpeg));
    const chosen = tries.find((t) => t.cpu_ratio_vs_ffmpeg === mid)!;
    runs.push({ ...chosen, holds_4fps: tries.every((t) => t.holds_4fps) });
  }
  const holding = runs.filter((r) => r.holds_4fps).map((r) => r.cameras);
  const summary = { ...runs[0]!, repeat, kafkajs_idle_fix: flags.has('kafkajs-idle-fix'), load_average_1m: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]), runs, largest_n_holding_4fps: holding.length ? Math.max(...holding) : 0 };
  process.stdout.write(`largest N holding ${FPS} fps per camera without drops (of ${ns.join(', ')}): ${summary.largest_n_holding_4fps}\n`);
  if (flags.has('json')) process.stdout.write(`${JSON.stringify(summary)}\n`);
  return 0;
}

/** Child mode: one ingest on a Kafka bus, driven by JSON commands on stdin. */
async function child(spec: { n: number; brokers: string; clip: string; idleFix?: boolean }): Promise<void> {
  if (spec.idleFix) {
    // Only for --kafkajs-idle-fix: schedule the pending-request check only when something is pending or throttled.
    const { createRequire } = await import('node:module');
    const queue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as { prototype: Record<string, unknown> };
    const schedule = queue.prototype.scheduleCheckPendingRequests as (this: { pending: unknown[]; throttledUntil: number }) => void;
    queue.prototype.scheduleCheckPendingRequests = function (this: { pending: unknown[]; throttledUntil: number }) {
      if (this.pending.length > 0 || this.throttledUntil > Date.now()) schedule.call(this);
    };
  }
  const { parseConfig } = await import('@vigil/config');
  const { KafkaBus } = await import('@vigil/bus');
  const { createLogger } = await import('@vigil/observability');
  const { startIngest } = await import('@vigil/ingest');
  const run = Math.random().toString(36).slice(2, 8);
  const ids = Array.from({ length: spec.n }, (_, i) => `bench-${run}-${i}`);
  const config = parseConfig(
    `model: { endpoints: [] }
kafka: { brokers: ["${spec.brokers}"] }
ingest: { metrics_port: 0 }
cameras:
${ids.map((id) => `  - { id: ${id}, url: "${pathToFileURL(spec.clip).href}", fps: ${FPS}, width: ${WIDTH} }`).join('\n')}
`,
    'bench.yaml',
    {},
  );
  const logger = createLogger('bench-ingest', { level: 'warn', destination: process.stderr as unknown as never });
  const bus = new KafkaBus({ brokers: [spec.brokers], clientId: 'bench-ingest', logger });
  const published: { at: number; ms: number; frames: number }[] = [];
  let publishedFrames = 0;
  const ingest = await startIngest(config, {
    bus,
    logger,
    onPublished: (chunk, ms) => {
      publishedFrames += chunk.frames;
      published.push({ at: Date.now(), ms, frames: chunk.frames });
    },
  });
  const metricsUrl = `http://127.0.0.1:${ingest.port}/metrics`;
  const { metric } = await import('./lib/proc.ts');
  const reply = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  process.once('SIGTERM', () => void ingest.close().then(() => bus.close()).finally(() => process.exit(0)));
  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = JSON.parse(line) as { cmd: string; timeoutMs?: number; from?: number; to?: number };
    if (cmd.cmd === 'online') {
      const deadline = Date.now() + (cmd.timeoutMs ?? 30_000);
      while (Date.now() < deadline && !ingest.cameras().every((c) => c.state === 'online')) await sleep(200);
      reply({ online: ingest.cameras().filter((c) => c.state === 'online').length });
    } else if (cmd.cmd === 'counters') {
      const cams = ingest.cameras();
      const text = await (await fetch(metricsUrl)).text();
      reply({
        pids: cams.map((c) => c.ffmpegPid).filter((p): p is number => p !== undefined),
        frames: Object.fromEntries(cams.map((c) => [c.cameraId, c.framesTotal])),
        published: publishedFrames,
        dropped: metric(text, 'vigil_ingest_frames_dropped_total'),
        restarts: metric(text, 'vigil_ingest_camera_restarts_total'),
        latencies: cmd.from === undefined ? undefined : published.filter((p) => p.at >= cmd.from! && p.at <= cmd.to!).map((p) => p.ms),
      } satisfies Counters);
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === '--child') {
  await child(JSON.parse(process.argv[3]!) as { n: number; brokers: string; clip: string; idleFix?: boolean });
}
