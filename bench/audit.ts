/**
 * `npm run bench -- audit [--windows 20000] [--json]`
 *
 * Sustained window-audit writes through alerts' real consumer path: findings (95 % "no", 5 %
 * "yes", which also open and extend incidents) and progress messages carrying skip runs enter
 * the findings topic of a running alerts; each is validated, stored as an asked window (or
 * merged into a skip run) and, when positive, folded into its episode, before the next is
 * taken. Run on PostgreSQL and on PGlite; prints windows per second for each and, on
 * PostgreSQL, the bytes an asked window takes (table and indexes, from
 * pg_total_relation_size over the partitions) and what that is per camera per day at one
 * query every 2 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseConfig } from '@vigil/config';
import { MemoryBus } from '@vigil/bus';
import { findingId, MESSAGE_TYPE_HEADER, PROGRESS_TYPE, Topics, type Finding, type WindowProgress } from '@vigil/contracts';
import { PgDatabase, PgliteDatabase, SqlIncidentStore, type SqlDatabase } from '@vigil/store';
import { startAlerts } from '@vigil/alerts';
import { createLogger } from '@vigil/observability';
import { parseFlags } from './lib/proc.ts';

const POSTGRES = process.env.VIGIL_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432';
const DB_NAME = 'vigil_bench_audit';
const CAMERAS = 100;
const EVERY_MS = 2000;
/** A progress message (with one skip run) after this many findings of a camera. */
const PROGRESS_EVERY = 10;
const round = (n: number) => Math.round(n * 10) / 10;
const log = (s: string) => process.stderr.write(`${s}\n`);

// Answer and reasoning of the length a reasoning model gives (about 60 and 420 characters).
const NO = 'No. The loading lane is clear and no forklift is moving.';
const YES = 'Yes. A forklift is moving within a metre of a worker on foot.';
const REASONING =
  'Looking at the frames in order: the dock door is open on the left and the loading lane runs from the bottom of the frame to the racking. ' +
  'In the first frames a pallet jack stands still by the door; a worker in a yellow vest crosses the lane at 10:02:14 and leaves at the right edge. ' +
  'No forklift enters the lane during the window, and nothing else moves near the people on foot, so the answer is based on that.';

function config(dataDir: string) {
  return parseConfig(
    `model: { endpoints: [] }
data_dir: ${dataDir}
http: { port: 0, host: 127.0.0.1 }
cameras: [${Array.from({ length: CAMERAS }, (_, i) => `{ id: cam-${i}, url: "rtsp://127.0.0.1/${i}" }`).join(', ')}]
queries: [{ id: lane, cameras: [${Array.from({ length: CAMERAS }, (_, i) => `cam-${i}`).join(', ')}], question: "Is a forklift moving near a person on foot?", window: 8s, every: 2s, cooldown: 10s }]
`,
    'bench.yaml',
    {},
  );
}

function finding(camera: string, k: number, start: number): Finding {
  const windowStart = start + k * EVERY_MS;
  const yes = k % 20 === 7;
  return {
    v: 1, id: findingId(camera, 'lane', windowStart), cameraId: camera, queryId: 'lane', queryVersion: '0123456789ab', question: 'Is a forklift moving near a person on foot?',
    windowStart, windowEnd: windowStart + 8000, frameCount: 16, status: 'ok', verdict: yes, answer: yes ? YES : NO, reasoning: REASONING, rawAnswer: '',
    model: { id: 'nvidia/Cosmos-Reason1-7B', profile: 'cosmos-reason1', endpoint: 'http://gpu-1:8000' },
    usage: { promptTokens: 4310, completionTokens: 182 }, latencyMs: 1400 + (k % 300), mentionedTimes: [], evidence: [], createdAt: Date.now(),
  };
}

/** Every PROGRESS_EVERY windows a camera skips one (its trigger saw nothing): one run each, merged as it grows. */
function progress(camera: string, k: number, start: number): WindowProgress {
  const from = start + 2_000_000; // after the asked windows: one run per camera, growing by a window each message
  const count = k / PROGRESS_EVERY + 1;
  return { v: 1, cameraId: camera, queryId: 'lane', through: start + k * EVERY_MS + 8000, skips: [{ reason: 'still', from, to: from + (count - 1) * EVERY_MS + 8000, count, everyMs: EVERY_MS }] };
}

async function run(name: string, db: SqlDatabase, windows: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-bench-audit-'));
  const store = await SqlIncidentStore.open(db);
  const bus = new MemoryBus();
  const alerts = await startAlerts(config(dataDir), { bus, store, logger: createLogger('alerts', { level: 'error' }), group: 'bench-audit' });
  try {
    const start = Math.floor((Date.now() - 3_600_000) / EVERY_MS) * EVERY_MS;
    const msgs: { key: string; value: Buffer; headers?: Record<string, string> }[] = [];
    let skipped = 0;
    for (let i = 0; i < windows; i++) {
      const camera = `cam-${i % CAMERAS}`;
      const k = Math.floor(i / CAMERAS);
      msgs.push({ key: camera, value: Buffer.from(JSON.stringify(finding(camera, k, start))) });
      if (k % PROGRESS_EVERY === 0) {
        msgs.push({ key: camera, value: Buffer.from(JSON.stringify(progress(camera, k, start))), headers: { [MESSAGE_TYPE_HEADER]: PROGRESS_TYPE } });
        skipped++; // each message's run grows by one window
      }
    }
    const t0 = performance.now();
    for (let i = 0; i < msgs.length; i += 500) await bus.publish(Topics.findings, msgs.slice(i, i + 500));
    while (bus.lag('bench-audit', Topics.findings) > 0) await new Promise((r) => setTimeout(r, 20));
    const s = (performance.now() - t0) / 1000;
    const asked = Number((await store.db.query<{ n: string }>('SELECT count(*) AS n FROM audit_windows')).rows[0]!.n);
    const runs = Number((await store.db.query<{ n: string }>('SELECT count(*) AS n FROM audit_skips')).rows[0]!.n);
    if (asked !== windows) throw new Error(`${name}: ${asked} of ${windows} windows stored`);
    const perS = round((asked + skipped) / s);
    log(`${name}: ${asked} asked windows and ${skipped} skip-run updates (${runs} runs) in ${round(s)} s: ${perS} windows/s`);
    let bytes: number | undefined;
    if (name === 'postgresql') {
      await store.db.query('VACUUM ANALYZE audit_windows');
      const r = await store.db.query<{ b: string }>("SELECT sum(pg_total_relation_size(relid))::bigint AS b FROM pg_partition_tree('audit_windows') WHERE isleaf");
      bytes = Math.round(Number(r.rows[0]!.b) / asked);
    }
    return { windows_per_s: perS, asked, skip_messages: skipped, seconds: round(s), bytes_per_window: bytes };
  } finally {
    await alerts.close();
    await store.close();
    await bus.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function dropDb(admin: pg.Client) {
  await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
}

export async function main(args: string[]): Promise<number> {
  const flags = parseFlags(args);
  const windows = Number(flags.get('windows') ?? 20_000);
  const admin = new pg.Client({ connectionString: `${POSTGRES}/postgres` });
  await admin.connect();
  await dropDb(admin);
  await admin.query(`CREATE DATABASE ${DB_NAME}`);
  const pgliteDir = mkdtempSync(join(tmpdir(), 'vigil-bench-audit-pglite-'));
  try {
    const p = await run('postgresql', await PgDatabase.open(`${POSTGRES}/${DB_NAME}`), windows);
    const l = await run('pglite', await PgliteDatabase.open(pgliteDir), windows);
    const perDay = 86_400_000 / EVERY_MS;
    const dayBytes = (p.bytes_per_window ?? 0) * perDay;
    const result = {
      windows,
      postgresql_windows_per_s: p.windows_per_s,
      pglite_windows_per_s: l.windows_per_s,
      bytes_per_asked_window: p.bytes_per_window,
      bytes_per_camera_day_every_2s: dayBytes,
      cores: cpus().length,
    };
    console.log(
      `window audit · PostgreSQL ${p.windows_per_s} windows/s · PGlite ${l.windows_per_s} windows/s · ${p.bytes_per_window} B per asked window (table + indexes) → ${round(dayBytes / 1e6)} MB per camera per day at one query every 2 s · load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`,
    );
    if (flags.has('json')) console.log(JSON.stringify(result));
    return 0;
  } finally {
    await dropDb(admin);
    await admin.end();
    rmSync(pgliteDir, { recursive: true, force: true });
  }
}
