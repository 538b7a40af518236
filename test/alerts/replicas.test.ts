import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaBus } from '@vigil/bus';
import { RedisState } from '@vigil/state';
import { Topics, type Finding, type Incident } from '@vigil/contracts';
import { PgDatabase, SqlIncidentStore } from '@vigil/store';
import { startAlerts, type AlertsService } from '@vigil/alerts';
import { configFromYaml, dropDatabase, freePort, freshDatabaseUrl, KAFKA, metricSum, uid, waitFor } from '../helpers/env.ts';
import { capturedLogger, finding, liveClient } from './helpers.ts';

// Real Kafka, PostgreSQL and Redis. Camera ids are unique per run: the findings topic is shared.
const id = uid();
const dbUrl = freshDatabaseUrl();
const prefix = `vigil-test-${id}:`;
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-replicas-'));
const cams = [`rep-a-${id}`, `rep-b-${id}`, `rep-c-${id}`];
const yaml = (port: number) => `
model: { endpoints: [] }
data_dir: ${dataDir}
kafka: { brokers: ["${KAFKA}"] }
postgres: { url: "${dbUrl}" }
redis: { url: "redis://127.0.0.1:6379", prefix: "${prefix}" }
http: { port: ${port}, host: 127.0.0.1 }
cameras:
${cams.map((c) => `  - { id: ${c}, url: "rtsp://127.0.0.1/${c}" }`).join('\n')}
  - { id: warm-${id}, url: "rtsp://127.0.0.1/warm" }
queries:
  - { id: forklift, cameras: [${cams.join(', ')}, warm-${id}], question: "Is a forklift moving near a person on foot?", window: 4s, every: 2s, cooldown: 60s }
`;

const quiet = capturedLogger('kafka').logger;
const bus = new KafkaBus({ brokers: [KAFKA], clientId: `test-${id}`, logger: quiet });
const publish = (fs: Finding[]) => bus.publish(Topics.findings, fs.map((f) => ({ key: f.cameraId, value: Buffer.from(JSON.stringify(f)) })));
let store: SqlIncidentStore;

before(async () => {
  store = await SqlIncidentStore.open(await PgDatabase.open(dbUrl));
});
after(async () => {
  await store.close();
  await bus.close();
  await dropDatabase(dbUrl);
  const redis = new Redis('redis://127.0.0.1:6379');
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Publishes a warm-up finding until every given replica has consumed one (Kafka groups join lazily). */
async function warmUp(ports: number[]): Promise<void> {
  let k = 0;
  await waitFor('every replica consuming', async () => {
    await publish([finding(`warm-${id}`, k++, 'Yes.', { windowStart: Date.now() })]);
    const counts = await Promise.all(ports.map(async (p) => metricSum(await (await fetch(`http://127.0.0.1:${p}/metrics`)).text(), 'vigil_alerts_findings_total')));
    return counts.every((n) => n > 0);
  }, 60_000, 1000);
}

test('two replicas that both consume every finding open one incident per episode, and a client on each replica sees it once', async () => {
  const replicas: AlertsService[] = [];
  const states: RedisState[] = [];
  try {
    for (const r of ['a', 'b']) {
      const state = new RedisState('redis://127.0.0.1:6379', prefix);
      states.push(state);
      // Different consumer groups: the worst case (a rebalance, a replay) where both replicas get every finding.
      replicas.push(await startAlerts(configFromYaml(yaml(await freePort())), { bus: new KafkaBus({ brokers: [KAFKA], clientId: `alerts-${r}-${id}`, logger: quiet }), store, state, group: `alerts-${r}-${id}`, logger: capturedLogger(`alerts-${r}`).logger }));
    }
    await warmUp(replicas.map((r) => r.port));
    const clients = replicas.map((r) => liveClient(r.port));
    await waitFor('snapshots', () => clients.every((c) => c.of('snapshot').length > 0), 10_000);
    const start = Date.now();
    // Two episodes' worth of findings per camera, 2 s apart (cooldown 60 s: one episode each).
    await publish(cams.flatMap((c) => [0, 1, 2].map((i) => finding(c, i, `Yes, window ${i}.`, { windowStart: start }))));
    const stored = await waitFor('all findings stored', async () => {
      const items = (await Promise.all(cams.map((c) => store.search({ camera: c, limit: 10 })))).flatMap((p) => p.items);
      return items.length === 3 && items.every((i) => i.findings === 3) ? items : undefined;
    }, 30_000);
    assert.equal(stored.length, 3, 'one incident per (camera, query) episode');
    for (const c of clients) {
      await waitFor('incident:new on every replica', () => cams.every((cam) => c.of('incident:new', (i: Incident) => i.camera === cam).length > 0), 10_000);
    }
    await new Promise((r) => setTimeout(r, 1000)); // anything doubled would have arrived by now
    for (const c of clients) {
      for (const cam of cams) assert.equal(c.of('incident:new', (i: Incident) => i.camera === cam).length, 1, `exactly one incident:new for ${cam}`);
    }
    clients.forEach((c) => c.socket.close());
  } finally {
    for (const r of replicas) await r.close();
    for (const s of states) await s.close();
  }
});

/**
 * Publishes warm-up findings on many keys until the group has committed an offset on every
 * partition of the topic. A group with no committed offset on a partition starts at its end,
 * so a crash before the first commit there would skip what was published meanwhile.
 */
async function warmUpCommitted(port: number, group: string): Promise<void> {
  const admin = new Kafka({ brokers: [KAFKA], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    let k = 0;
    await waitFor('an offset committed on every partition', async () => {
      await publish(Array.from({ length: 12 }, (_, j) => finding(`warm-${id}-${(k * 12 + j) % 48}`, k, 'Yes.', { windowStart: Date.now() })));
      k++;
      const [t] = await admin.fetchOffsets({ groupId: group, topics: [Topics.findings] });
      return t!.partitions.every((p) => Number(p.offset) >= 0);
    }, 60_000, 1500);
  } finally {
    await admin.disconnect();
  }
  await warmUp([port]);
}

test('alerts killed between the store write and the offset commit loses nothing and doubles nothing after a restart', async () => {
  const port = await freePort();
  const file = join(dataDir, 'crash.yaml');
  writeFileSync(file, yaml(port));
  const group = `alerts-crash-${id}`;
  const run = (killOn?: string) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/alerts/fixtures/alerts-proc.ts', file, group, ...(killOn ? [killOn] : [])], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, VIGIL_LOG_LEVEL: 'warn' } });
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.once('exit', (code, sig) => reject(new Error(`alerts exited early (${code ?? sig})`)));
    });
    return { child, ready };
  };
  const start = Date.now() + 60_000; // a fresh episode, clear of the first test's
  const fs = [
    finding(cams[0]!, 0, 'Yes, first.', { windowStart: start }),
    finding(cams[0]!, 1, 'Yes, second.', { windowStart: start }),
    finding(cams[1]!, 0, 'Yes, other camera.', { windowStart: start }),
    finding(cams[0]!, 2, 'Yes, third.', { windowStart: start }),
  ];
  const victim = fs[1]!;
  const first = run(victim.id);
  await first.ready;
  await warmUpCommitted(port, group);
  const exited = new Promise<NodeJS.Signals | null>((r) => first.child.once('exit', (_c, sig) => r(sig)));
  await publish(fs);
  assert.equal(await exited, 'SIGKILL', 'killed itself right after writing the victim finding');
  const written = (await store.db.query<{ n: string }>('SELECT count(*) AS n FROM incident_findings WHERE finding_id = $1', [victim.id])).rows[0]!.n;
  assert.equal(Number(written), 1, 'the victim was written before the kill');

  const second = run();
  let child: ChildProcess | undefined = second.child;
  try {
    await second.ready;
    const items = await waitFor('every finding folded in after the restart', async () => {
      const a = (await store.search({ camera: cams[0]!, from: new Date(start), limit: 10 })).items;
      const b = (await store.search({ camera: cams[1]!, from: new Date(start), limit: 10 })).items;
      return a.length === 1 && a[0]!.findings === 3 && b.length === 1 ? [...a, ...b] : undefined;
    }, 60_000, 500);
    assert.equal(items[0]!.answer, 'Yes, third.');
    const rows = (await store.db.query<{ n: string }>('SELECT count(*) AS n FROM incident_findings WHERE finding_id = ANY($1::text[])', [fs.map((f) => f.id)])).rows[0]!.n;
    assert.equal(Number(rows), 4, 'each finding recorded exactly once');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
    child = undefined;
  }
});
