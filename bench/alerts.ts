/**
 * `npm run bench -- alerts [--incidents 1000000] [--clients 500] [--writes 20000] [--keep] [--json]`
 *
 * 1. Loads N incidents into a PostgreSQL database (server-side generate_series, 100k per
 *    statement, through the real migrations and indexes), unless a kept one already has them.
 * 2. Search: mixed REST queries (text, text + camera, text + time range, all three, filters
 *    without text) against a running alerts, one at a time; p50/p95 per kind and overall.
 * 3. Fan-out: two alerts replicas joined by the Socket.IO Redis adapter, N clients split over
 *    them in a child process; findings enter replica A; latency = client receipt − the
 *    incident's created_at (the store's clock, same host): store → client.
 * 4. Writes: findings through the alerts handler into the 1M-row store, each opening a new
 *    episode (and closing the camera's previous one); sustained incidents per second.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { io as connect } from 'socket.io-client';
import { parseConfig } from '@vigil/config';
import { MemoryBus } from '@vigil/bus';
import { RedisState } from '@vigil/state';
import { findingId, Topics, type Finding, type Incident } from '@vigil/contracts';
import { PgDatabase, SqlIncidentStore } from '@vigil/store';
import { startAlerts } from '@vigil/alerts';
import { createLogger } from '@vigil/observability';
import { parseFlags } from './lib/proc.ts';

const POSTGRES = process.env.VIGIL_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432';
const REDIS = process.env.VIGIL_BENCH_REDIS ?? 'redis://127.0.0.1:6379';
const DB = `${POSTGRES}/vigil_bench_alerts`;
const CAMERAS = 200;
const SITES = 10;
const WARMUP_EVENTS = 10;

const OBJECTS = ['forklift', 'pallet', 'worker', 'truck', 'box', 'ladder', 'cart', 'spill', 'cone', 'door', 'conveyor', 'helmet', 'vest', 'crate', 'trolley'];
const COLOURS = ['red', 'blue', 'yellow', 'green', 'orange', 'white', 'black'];
const PLACES = ['loading dock', 'aisle seven', 'the ramp', 'the gate', 'bay three', 'the crosswalk', 'the exit', 'the racking', 'the yard', 'the office door'];
const sqlArray = (a: string[]) => `(ARRAY[${a.map((s) => `'${s.replace(/'/g, "''")}'`).join(',')}])`;

const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const round = (n: number) => Math.round(n * 10) / 10;
const log = (s: string) => process.stderr.write(`${s}\n`);

/** Fills the table up to `n` rows; texts vary by object, colour and place so selectivity varies. */
async function load(n: number): Promise<{ load_s: number; rows: number }> {
  const store = await SqlIncidentStore.open(await PgDatabase.open(DB));
  const have = Number((await store.db.query<{ n: string }>('SELECT count(*) AS n FROM incidents')).rows[0]!.n);
  if (have >= n) {
    await store.close();
    log(`reusing ${have} incidents in ${DB}`);
    return { load_s: 0, rows: have };
  }
  const t0 = performance.now();
  const o = sqlArray(OBJECTS), c = sqlArray(COLOURS), p = sqlArray(PLACES);
  const step = 100_000;
  for (let from = have + 1; from <= n; from += step) {
    const to = Math.min(n, from + step - 1);
    // One incident every ~31 s over the past year, newest = highest i; answer/reasoning from the vocabularies.
    await store.db.query(`
      INSERT INTO incidents (id, finding_id, kind, camera, site, query, question, answer, reasoning, severity, state,
                             started_at, ended_at, closed_at, created_at, updated_at, model, latency_ms, finding_count)
      SELECT md5('b' || i), md5('b' || i), 'finding', 'cam-' || (i % ${CAMERAS}), 'site-' || (i % ${CAMERAS} % ${SITES}), 'q-' || (i % 8),
             'Is there a ' || ob || ' near a person on foot?',
             'Yes, a ' || co || ' ' || ob || ' is at ' || pl || '.',
             'In the frames the ' || ob || ' moves toward ' || pl || ' while a ' || ${o}[1 + (i * 13 % ${OBJECTS.length})] || ' stays ' || ${c}[1 + (i * 17 % ${COLOURS.length})] || '.',
             (ARRAY['low','medium','high','critical'])[1 + i % 4], (ARRAY['closed','acknowledged','resolved','closed'])[1 + i % 4],
             t, t + ((4 + i % 60) * interval '1 second'), t + interval '2 minutes', t, t, 'nvidia/cosmos-reason1-7b', 500 + i % 1500, 1 + i % 5
      FROM generate_series(${from}, ${to}) AS i,
           LATERAL (SELECT now() - ((${n} - i) * interval '31.5 seconds') AS t,
                           ${o}[1 + (i * 7 % ${OBJECTS.length})] AS ob, ${c}[1 + (i * 3 % ${COLOURS.length})] AS co,
                           ${p}[1 + (i * 11 % ${PLACES.length})] AS pl) AS g`);
    log(`loaded ${to} incidents (${round((performance.now() - t0) / 1000)} s)`);
  }
  await store.db.query('ANALYZE incidents');
  await store.close();
  return { load_s: round((performance.now() - t0) / 1000), rows: n };
}

function config(port: number, prefix: string) {
  return parseConfig(
    `model: { endpoints: [] }
data_dir: ${mkdtempSync(join(tmpdir(), 'vigil-bench-alerts-'))}
postgres: { url: "${DB}" }
redis: { url: "${REDIS}", prefix: "${prefix}" }
http: { port: ${port}, host: 127.0.0.1 }
cameras: [${Array.from({ length: CAMERAS }, (_, i) => `{ id: cam-${i}, url: "rtsp://127.0.0.1/${i}", site: site-${i % SITES} }`).join(', ')}]
queries: [{ id: live, cameras: [${Array.from({ length: CAMERAS }, (_, i) => `cam-${i}`).join(', ')}], question: "Is a forklift near a person?", window: 4s, every: 2s, cooldown: 60s }]
`,
    'bench.yaml',
    {},
  );
}

/** Mixed searches: the shapes a dashboard and an investigator send. */
function searches(count: number): { kind: string; path: string }[] {
  const out: { kind: string; path: string }[] = [];
  const day = 86_400_000;
  for (let i = 0; i < count; i++) {
    const word = [...OBJECTS, ...COLOURS][(i * 7) % (OBJECTS.length + COLOURS.length)]!;
    const phrase = `"${COLOURS[i % COLOURS.length]} ${OBJECTS[(i * 5) % OBJECTS.length]}"`;
    const q = encodeURIComponent(i % 3 === 0 ? phrase : i % 3 === 1 ? word : `${word} -${OBJECTS[(i + 3) % OBJECTS.length]}`);
    const cam = `cam-${(i * 37) % CAMERAS}`;
    const to = Date.now() - ((i * 9973) % 300) * day;
    const range = `from=${new Date(to - 7 * day).toISOString()}&to=${new Date(to).toISOString()}`;
    const kinds = [
      ['text', `q=${q}`],
      ['text+camera', `q=${q}&camera=${cam}`],
      ['text+range', `q=${q}&${range}`],
      ['text+range+camera', `q=${q}&${range}&camera=${cam}`],
      ['range+camera', `${range}&camera=${cam}`],
      ['site+severity', `site=site-${i % SITES}&severity=high,critical`],
    ] as const;
    const [kind, qs] = kinds[i % kinds.length]!;
    out.push({ kind, path: `/api/incidents?${qs}&limit=50` });
  }
  return out;
}

async function measureSearch(port: number, count: number) {
  const base = `http://127.0.0.1:${port}`;
  for (const s of searches(30)) await (await fetch(base + s.path)).arrayBuffer(); // warm caches
  const byKind = new Map<string, number[]>();
  const all: number[] = [];
  for (const s of searches(count)) {
    const t0 = performance.now();
    const res = await fetch(base + s.path);
    await res.arrayBuffer();
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`${s.path} → ${res.status}`);
    all.push(ms);
    if (ms > 50) log(`slow search ${Math.round(ms)} ms: ${decodeURIComponent(s.path)}`);
    byKind.set(s.kind, [...(byKind.get(s.kind) ?? []), ms]);
  }
  for (const [k, xs] of byKind) log(`search ${k.padEnd(18)} p50 ${round(percentile(xs, 50))} ms, p95 ${round(percentile(xs, 95))} ms`);
  return { search_queries: all.length, search_p50_ms: round(percentile(all, 50)), search_p95_ms: round(percentile(all, 95)) };
}

const positive = (camera: string, windowStart: number): Finding => ({
  v: 1, id: findingId(camera, 'live', windowStart), cameraId: camera, queryId: 'live', question: 'Is a forklift near a person?',
  windowStart, windowEnd: windowStart + 4000, frameCount: 16, status: 'ok', verdict: true, answer: 'Yes, a forklift passes a worker.',
  reasoning: 'The forklift crosses the aisle while a worker walks there.', rawAnswer: '', model: { id: 'm', profile: 'cosmos-reason1', endpoint: '' },
  usage: { promptTokens: 0, completionTokens: 0 }, latencyMs: 0, mentionedTimes: [], evidence: [], createdAt: Date.now(),
});

/** Child process: `clients` Socket.IO connections split over the ports; prints latencies (ms) as JSON. */
async function clientsChild(ports: number[], clients: number, expect: number): Promise<void> {
  const latencies: [number, number][] = []; // [event index, ms]
  const order = new Map<string, number>();
  let connected = 0;
  let received = 0;
  const sockets = Array.from({ length: clients }, (_, i) => {
    const s = connect(`http://127.0.0.1:${ports[i % ports.length]}`, { transports: ['websocket'], reconnection: false });
    s.on('connect', () => ++connected === clients && process.stdout.write('connected\n'));
    s.on('incident:new', (inc: Incident) => {
      if (!order.has(inc.id)) order.set(inc.id, order.size);
      latencies.push([order.get(inc.id)!, Date.now() - Date.parse(inc.created_at)]);
      received++;
    });
    return s;
  });
  const deadline = Date.now() + 120_000;
  while (received < clients * expect && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  sockets.forEach((s) => s.close());
  // Exit only once the (large) line is flushed to the pipe.
  process.stdout.write(`${JSON.stringify({ latencies })}\n`, () => process.exit(0));
}

async function measureFanout(clients: number, events: number, rate: number) {
  const prefix = `vigil-bench-${process.pid}:`;
  const busA = new MemoryBus();
  const logger = createLogger('alerts', { level: 'error' });
  const mk = async (bus: MemoryBus, port: number) => {
    const store = await SqlIncidentStore.open(await PgDatabase.open(DB));
    const state = new RedisState(REDIS, prefix);
    const alerts = await startAlerts(config(port, prefix), { bus, store, state, logger, group: 'bench' });
    return { alerts, close: async () => (await alerts.close(), await store.close(), await state.close()) };
  };
  const a = await mk(busA, 0);
  const b = await mk(new MemoryBus(), 0);
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--fanout-clients', `${a.alerts.port},${b.alerts.port}`, String(clients), String(events)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const connected = new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => ((out += d), out.includes('connected') && resolve())));
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await connected;
    log(`${clients} clients connected over 2 replicas (Redis adapter)`);
    const start = Date.now() + 3_600_000 * 24 * 400; // far from the loaded data and from other runs' episodes
    for (let k = 0; k < events; k++) {
      await busA.publish(Topics.findings, [{ key: `cam-${k % CAMERAS}`, value: Buffer.from(JSON.stringify(positive(`cam-${k % CAMERAS}`, start + Math.floor(k / CAMERAS) * 600_000 + process.pid))) }]);
      await new Promise((r) => setTimeout(r, 1000 / rate));
    }
    await done;
    const { latencies } = JSON.parse(out.slice(out.indexOf('{'))) as { latencies: [number, number][] };
    // The first events meet cold code paths (JIT, Redis adapter, pools): reported apart.
    const warm = latencies.filter(([i]) => i >= WARMUP_EVENTS).map(([, ms]) => ms);
    const all = latencies.map(([, ms]) => ms);
    log(`fan-out: ${all.length} of ${clients * events} deliveries; after ${WARMUP_EVENTS} warm-up events p50 ${percentile(warm, 50)} ms, p99 ${percentile(warm, 99)} ms; all events p99 ${percentile(all, 99)} ms, max ${Math.max(...all)} ms`);
    return {
      fanout_clients: clients,
      fanout_events: events,
      fanout_rate_per_s: rate,
      fanout_delivered: all.length,
      fanout_p50_ms: percentile(warm, 50),
      fanout_p99_ms: percentile(warm, 99),
      fanout_p99_incl_warmup_ms: percentile(all, 99),
    };
  } finally {
    await a.close();
    await b.close();
    await busA.close();
  }
}

async function measureWrites(writes: number) {
  const bus = new MemoryBus();
  const store = await SqlIncidentStore.open(await PgDatabase.open(DB));
  const state = new RedisState(REDIS, `vigil-bench-w-${process.pid}:`);
  const alerts = await startAlerts(config(0, `vigil-bench-w-${process.pid}:`), { bus, store, state, logger: createLogger('alerts', { level: 'error' }), group: 'bench-writes' });
  try {
    const before = Number((await store.db.query<{ n: string }>('SELECT count(*) AS n FROM incidents')).rows[0]!.n);
    // 10 minutes apart per camera with a 60 s cooldown: every finding opens an incident and closes the camera's previous one.
    const start = Date.now() + 3_600_000 * 24 * 800 + process.pid * 1000;
    const msgs = Array.from({ length: writes }, (_, k) => {
      const cam = `cam-${k % CAMERAS}`;
      return { key: cam, value: Buffer.from(JSON.stringify(positive(cam, start + Math.floor(k / CAMERAS) * 600_000))) };
    });
    const t0 = performance.now();
    for (let i = 0; i < msgs.length; i += 500) await bus.publish(Topics.findings, msgs.slice(i, i + 500));
    while (bus.lag('bench-writes', Topics.findings) > 0) await new Promise((r) => setTimeout(r, 20));
    const s = (performance.now() - t0) / 1000;
    const after = Number((await store.db.query<{ n: string }>('SELECT count(*) AS n FROM incidents')).rows[0]!.n);
    log(`writes: ${after - before} incidents opened in ${round(s)} s`);
    return { writes: after - before, incidents_per_s: round((after - before) / s) };
  } finally {
    await alerts.close();
    await store.close();
    await state.close();
    await bus.close();
  }
}

/** The fan-out and write phases add episodes far in the future; a kept database drops them. */
async function dropFutureEpisodes(): Promise<void> {
  const db = await PgDatabase.open(DB);
  await db.query(`DELETE FROM incidents WHERE started_at > now() + interval '1 day'`);
  await db.close();
}

export async function main(args: string[]): Promise<number> {
  const flags = parseFlags(args);
  const n = Number(flags.get('incidents') ?? 1_000_000);
  const clients = Number(flags.get('clients') ?? 500);
  // --phases search,fanout,writes (default all): rerun parts against a --keep database.
  const phases = new Set((flags.get('phases') ?? 'search,fanout,writes').split(','));
  const loaded = await load(n);
  let search = {};
  if (phases.has('search')) {
    const store = await SqlIncidentStore.open(await PgDatabase.open(DB));
    const alerts = await startAlerts(config(0, `vigil-bench-s-${process.pid}:`), { bus: new MemoryBus(), store, logger: createLogger('alerts', { level: 'error' }), group: 'bench-search' });
    try {
      search = await measureSearch(alerts.port, Number(flags.get('searches') ?? 600));
    } finally {
      await alerts.close();
      await store.close();
    }
  }
  if (phases.has('fanout') || phases.has('writes')) await dropFutureEpisodes(); // left by an interrupted run
  const fanout = phases.has('fanout') ? await measureFanout(clients, Number(flags.get('events') ?? 100), Number(flags.get('rate') ?? 20)) : {};
  const writes = phases.has('writes') ? await measureWrites(Number(flags.get('writes') ?? 20_000)) : {};
  const result = { incidents: loaded.rows, load_s: loaded.load_s, ...search, ...fanout, ...writes };
  const r = result as Record<string, unknown>;
  console.log(`incidents ${r.incidents} · search p95 ${r.search_p95_ms} ms (target ≤ 50) · fan-out p99 ${r.fanout_p99_ms} ms to ${clients} clients (target ≤ 100) · ${r.incidents_per_s} incidents/s · load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`);
  if (flags.has('keep')) await dropFutureEpisodes();
  else {
    const u = new URL(DB);
    const admin = new pg.Client({ connectionString: `${POSTGRES}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${u.pathname.slice(1)}" WITH (FORCE)`);
    await admin.end();
  }
  if (flags.has('json')) console.log(JSON.stringify(result));
  return 0;
}

if (process.argv[2] === '--fanout-clients') await clientsChild(process.argv[3]!.split(',').map(Number), Number(process.argv[4]), Number(process.argv[5]));
