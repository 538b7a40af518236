/**
 * `npm run bench -- infer --cameras 200 --seconds 60 [--queries-per-camera 1] [--share prefix|fused|none] [--json]`
 *
 * Simulated cameras' chunks (4 fps, 640×368 JPEGs as ingest makes them; the band is spliced per window), pre-encoded once with
 * ffmpeg) go through Kafka into an infer process, one standing query per camera (8 s
 * window every 2 s, trigger `always` unless --trigger says otherwise), against the model
 * test server at a fixed latency with an in-flight limit — demand well above capacity.
 * Infer runs in its own process so its CPU and memory are measured alone (/proc).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KafkaBus } from '@vigil/bus';
import { decodeFinding, encodeFrameChunk, Topics, topicSpecs } from '@vigil/contracts';
import { createLogger } from '@vigil/observability';
import { loadConfig } from '@vigil/config';
import { startModelServer } from '../test/fixtures/model-server.ts';
import { SERVICE_NODE_FLAGS } from '@vigil/platform';

const KAFKA = process.env.VIGIL_TEST_KAFKA ?? '127.0.0.1:9092';
const QUESTIONS = [
  'Is a forklift moving near a person?',
  'Is anyone in the loading lane while the dock door is open?',
  'Has the conveyor stopped?',
  'Is there smoke or fire?',
  'Is a pallet blocking the aisle?',
  'Is anyone without a high-visibility vest?',
  'Is a vehicle parked in the fire lane?',
  'Is the gate left open?',
];

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      cameras: { type: 'string', default: '200' },
      seconds: { type: 'string', default: '60' },
      // Steady state: the 12 s ring full and the first 8 s windows asked, before anything is measured.
      warmup: { type: 'string', default: '20' },
      'latency-ms': { type: 'string', default: '800' },
      'max-in-flight': { type: 'string', default: '32' },
      trigger: { type: 'string', default: 'always' },
      // Standing questions per camera, all on the same window: one window group each (model.share).
      'queries-per-camera': { type: 'string', default: '1' },
      share: { type: 'string', default: 'prefix' },
      json: { type: 'boolean', default: false },
      'role-infer': { type: 'string' },
      group: { type: 'string' },
      'role-model': { type: 'boolean', default: false },
    },
  });
  if (values['role-infer']) return runInfer(values['role-infer'], values.group!);
  if (values['role-model']) return runModel(Number(values['latency-ms']), Number(values['max-in-flight']));
  const cameras = Number(values.cameras);
  const seconds = Number(values.seconds);
  const warmup = Number(values.warmup);
  const limit = Number(values['max-in-flight']);
  const perCamera = Number(values['queries-per-camera']);
  if (!Number.isInteger(perCamera) || perCamera < 1 || perCamera > QUESTIONS.length) throw new Error(`--queries-per-camera: expected 1..${QUESTIONS.length}`);
  const log = createLogger('bench');
  const id = Math.random().toString(16).slice(2, 8);
  const frames = preEncodeFrames();

  // The model server runs in a process of its own, as a real one would: in this process the
  // producer's bursts (kafkajs computes CRCs in JS) would stall it and count as idle GPU.
  const model = await ModelProcess.start(Number(values['latency-ms']), limit);
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
  const ids = Array.from({ length: cameras }, (_, i) => `bench-${id}-${i}`);
  const metricsPort = 20000 + Math.floor(Math.random() * 20000);
  const cfg = join(dir, 'vigil.yaml');
  writeFileSync(
    cfg,
    [
      `model: { endpoints: [{ url: "${model.url}", max_in_flight: ${limit} }], timeout: 30s, share: ${values.share} }`,
      `kafka: { brokers: ["${KAFKA}"], client_id: bench-infer }`,
      `infer: { metrics_port: ${metricsPort}, buffer: 12s }`,
      'cameras:',
      ...ids.map((c) => `  - { id: ${c}, url: "rtsp://sim/${c}" }`),
      'queries:',
      ...QUESTIONS.slice(0, perCamera).map((q, i) => `  - { id: q${i}, cameras: { tags: [] }, question: "${q}", window: 8s, every: 2s, trigger: ${values.trigger} }`),
    ].join('\n'),
  );
  loadConfig(cfg, {}); // fail here, not in the child, on a bad config

  const bus = new KafkaBus({ brokers: [KAFKA], clientId: 'bench', logger: log });
  await bus.ensureTopics(topicSpecs([Topics.frames, Topics.findings]));
  const answered = new Map<string, number>();
  let measuring = false;
  const wanted = new Set(ids);
  const findingsSub = await bus.subscribe({
    topic: Topics.findings,
    group: `bench-findings-${id}`,
    handle: async (m) => {
      if (!measuring || !wanted.has(m.key)) return;
      const f = decodeFinding(m.value);
      if (f.ok && f.value.status === 'ok') answered.set(f.value.cameraId, (answered.get(f.value.cameraId) ?? 0) + 1);
    },
  });

  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, ...(process.env.VIGIL_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.VIGIL_BENCH_PROF] : []), '--import', 'tsx', fileURLToPath(import.meta.url), '--role-infer', cfg, '--group', `bench-infer-${id}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => b.toString().includes('READY') && resolve());
    child.once('exit', (code) => reject(new Error(`infer exited with ${code}`)));
  });

  // Producer: every second, one 1 s chunk per camera, capture time = now.
  let stop = false;
  let produced = 0;
  const producer = (async () => {
    let seq = 0;
    let next = Math.ceil(Date.now() / 1000) * 1000;
    while (!stop) {
      await sleep(Math.max(0, next - Date.now()));
      const start = next;
      next += 1000;
      const messages = ids.map((c, ci) => ({
        key: c,
        timestamp: start,
        value: encodeFrameChunk({
          cameraId: c,
          seq,
          width: 640,
          height: 368,
          fps: 4,
          codec: 'jpeg',
          frames: [0, 1, 2, 3].map((i) => ({ capturedAt: start + i * 250, streamTime: (start + i * 250) / 1000, jpeg: unique(frames[(seq * 4 + i + ci) % frames.length]!, `${c}/${seq}/${i}`) })),
        }),
      }));
      for (let i = 0; i < messages.length; i += 50) await bus.publish(Topics.frames, messages.slice(i, i + 50));
      produced += messages.length;
      seq++;
    }
  })();

  await sleep(warmup * 1000);
  const m0 = await scrape(metricsPort);
  const cpu0 = procCpuMs(child.pid!);
  const rss0 = procRssMb(child.pid!);
  measuring = true;
  await model.call('start');
  let samples = 0;
  let rssMax = rss0;
  const t0 = Date.now();
  while (Date.now() - t0 < seconds * 1000) {
    await sleep(50);
    samples++;
    if (samples % 20 === 0) rssMax = Math.max(rssMax, procRssMb(child.pid!));
  }
  const served = await model.call('stop');
  measuring = false;
  const elapsed = (Date.now() - t0) / 1000;
  const cpu1 = procCpuMs(child.pid!);
  const rss1 = procRssMb(child.pid!);
  const m1 = await scrape(metricsPort);
  stop = true;
  await producer;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await findingsSub.close();
  await bus.close();
  await model.close();

  const considered = metric(m1, 'vigil_infer_windows_considered_total') - metric(m0, 'vigil_infer_windows_considered_total');
  const asked = metric(m1, 'vigil_infer_windows_asked_total') - metric(m0, 'vigil_infer_windows_asked_total');
  const superseded = metric(m1, 'vigil_infer_windows_superseded_total') - metric(m0, 'vigil_infer_windows_superseded_total');
  const groups = metric(m1, 'vigil_infer_window_groups_total') - metric(m0, 'vigil_infer_window_groups_total');
  const counts = ids.map((c) => answered.get(c) ?? 0);
  const result = {
    cameras,
    seconds: Math.round(elapsed),
    trigger: values.trigger,
    queries_per_camera: perCamera,
    share: values.share,
    model_latency_ms: Number(values['latency-ms']),
    max_in_flight: limit,
    chunks_produced: produced,
    windows_considered: considered,
    windows_asked: asked,
    windows_superseded: superseded,
    windows_answered: counts.reduce((s, n) => s + n, 0),
    window_groups_dispatched: groups,
    // Window groups as the model server saw them: distinct videos (prefix-cache keys) answered.
    window_groups_answered: served.groups,
    model_requests_per_window_group: round(served.answered / Math.max(1, served.groups), 3),
    // Video prefills a prefix cache had to do per group (its misses): 1 is the floor.
    video_prefills_per_window_group: round(served.cacheMisses / Math.max(1, served.groups), 3),
    video_prefills_per_question: round(served.cacheMisses / Math.max(1, served.answered), 3),
    model_utilization: round(served.meanInFlight / limit, 3),
    cpu_ms_per_window: round((cpu1 - cpu0) / Math.max(1, considered), 2),
    infer_cpu_cores: round((cpu1 - cpu0) / 1000 / elapsed, 3),
    fairness: round(Math.min(...counts) / Math.max(1, ...counts), 3),
    answered_per_camera_min: Math.min(...counts),
    answered_per_camera_max: Math.max(...counts),
    model_requests: served.requests,
    model_rejected_429: served.rejected429,
    rss_mb: round(rss1, 1),
    rss_growth_mb: round(rssMax - rss0, 1),
  };
  for (const [k, v] of Object.entries(result)) console.log(`${k.padEnd(26)} ${v}`);
  if (values.json) console.log(JSON.stringify(result));
  return 0;
}

/** The infer side, in its own process: start, say READY, stop on SIGTERM. */
interface Served {
  meanInFlight: number;
  requests: number;
  rejected429: number;
  answered: number;
  /** Distinct videos asked about (prefix-cache keys of answered requests): window groups as the server saw them. */
  groups: number;
  /** Answered requests whose prefix was not cached: video prefills. */
  cacheMisses: number;
}

/** The model test server in a child process, sampling its own in-flight count every 50 ms while asked to. */
class ModelProcess {
  private replies: ((s: Served & { url?: string }) => void)[] = [];
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on('message', (m) => this.replies.shift()?.(m as Served));
  }

  static async start(latencyMs: number, maxInFlight: number): Promise<ModelProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--role-model', '--latency-ms', String(latencyMs), '--max-in-flight', String(maxInFlight)], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.once('message', (m) => resolve((m as { url: string }).url));
      child.once('exit', (code) => reject(new Error(`model server exited with ${code}`)));
    });
    return new ModelProcess(child, url);
  }

  /** `start`: begin sampling (and counting requests); `stop`: end it and report. */
  call(cmd: 'start' | 'stop'): Promise<Served> {
    return new Promise((resolve) => {
      this.replies.push(resolve);
      this.child.send(cmd);
    });
  }

  async close(): Promise<void> {
    this.child.kill('SIGTERM');
    if (this.child.exitCode === null) await new Promise((r) => this.child.once('exit', r));
  }
}

async function runModel(latencyMs: number, maxInFlight: number): Promise<number> {
  const model = await startModelServer({ behavior: { latencyMs, maxInFlight }, inspectFrames: false });
  let sum = 0;
  let samples = 0;
  let from = 0;
  let timer: NodeJS.Timeout | undefined;
  process.on('message', (cmd) => {
    if (cmd === 'start') {
      from = model.requests.length;
      timer = setInterval(() => ((sum += model.inFlight), samples++), 50);
      process.send!({});
    } else if (cmd === 'stop') {
      clearInterval(timer);
      const seen = model.requests.slice(from);
      const answered = seen.filter((r) => r.status === 200);
      process.send!({
        meanInFlight: sum / Math.max(1, samples),
        requests: seen.length,
        rejected429: seen.filter((r) => r.status === 429).length,
        answered: answered.length,
        groups: new Set(answered.map((r) => r.prefix)).size,
        cacheMisses: answered.filter((r) => !r.cached).length,
      });
    }
  });
  process.send!({ url: model.url });
  await new Promise((r) => process.once('SIGTERM', r));
  await model.close();
  process.disconnect(); // the IPC channel would keep this process alive
  return 0;
}

async function runInfer(cfgFile: string, group: string): Promise<number> {
  const { startInfer } = await import('@vigil/infer');
  const config = loadConfig(cfgFile, {});
  const log = createLogger('infer', { level: 'warn' });
  const bus = new KafkaBus({ brokers: config.kafka!.brokers, clientId: 'bench-infer', logger: log });
  const infer = await startInfer(config, { bus, logger: log, group });
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  // VIGIL_BENCH_MEM=1: where the memory is (V8 heap, Buffers), every 5 s, to tell heap growth from allocator growth.
  const mem = process.env.VIGIL_BENCH_MEM
    ? setInterval(() => {
        const m = process.memoryUsage();
        const mb = (n: number) => (n / 1048576).toFixed(0);
        process.stderr.write(`infer memory MB: rss ${mb(m.rss)} heapUsed ${mb(m.heapUsed)} heapTotal ${mb(m.heapTotal)} external ${mb(m.external)} arrayBuffers ${mb(m.arrayBuffers)}\n`);
      }, 5000)
    : undefined;
  console.log('READY');
  await new Promise((r) => process.once('SIGTERM', r));
  clearInterval(mem);
  process.stderr.write(`infer event loop delay ms: p50 ${(loop.percentile(50) / 1e6).toFixed(1)} p99 ${(loop.percentile(99) / 1e6).toFixed(1)} max ${(loop.max / 1e6).toFixed(0)}\n`);
  await infer.close();
  await bus.close();
  return 0;
}

/** A few real frames as ingest makes them (640×368, standard Huffman tables), encoded once. */
function preEncodeFrames(): Buffer[] {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-frames-'));
  execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x368:rate=4', '-frames:v', '16', '-huffman', 'default', '-q:v', '5', join(dir, 'f%02d.jpg')]);
  return readdirSync(dir)
    .sort()
    .map((f) => readFileSync(join(dir, f)));
}

/**
 * A pre-encoded frame made unique with a JPEG comment (COM) segment after SOI, as every real
 * camera's frames are: otherwise windows of the 16 cycled frames repeat across cameras and a
 * prefix cache would find videos it never saw.
 */
function unique(jpeg: Buffer, tag: string): Buffer {
  const text = Buffer.from(tag, 'latin1');
  const seg = Buffer.alloc(4);
  seg.writeUInt16BE(0xfffe, 0);
  seg.writeUInt16BE(text.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), seg, text, jpeg.subarray(2)]);
}

function procCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, USER_HZ = 100
}

function procRssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

async function scrape(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

function metric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)$/.exec(line);
    if (m && m[1] === name) sum += Number(m[3]);
  }
  return sum;
}

const round = (v: number, d: number) => Math.round(v * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Run directly (the infer and model child processes): `node --import tsx bench/infer.ts --role-infer …` or `--role-model`.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = await main(process.argv.slice(2));
