import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findingId, type Finding } from '@vigil/contracts';
import { PgDatabase, PgliteDatabase, SqlIncidentStore, type SqlDatabase } from '@vigil/store';
import { dropDatabase, freshDatabaseUrl } from '../helpers/env.ts';

// The same schema, migrations and SQL on a PostgreSQL server and on embedded PGlite.
const pgUrl = freshDatabaseUrl();
const pgliteDir = mkdtempSync(join(tmpdir(), 'vigil-pglite-'));
const impls: [string, () => Promise<SqlDatabase>][] = [
  ['PostgreSQL', () => PgDatabase.open(pgUrl)],
  ['PGlite', () => PgliteDatabase.open(pgliteDir)],
];
after(async () => {
  await dropDatabase(pgUrl);
  rmSync(pgliteDir, { recursive: true, force: true });
});

const T0 = Date.parse('2026-05-01T10:00:00Z');
const policy = { severity: 'low', cooldownMs: 60_000, webhooks: { open: [], update: [], close: [] } };
function finding(camera: string, i: number, answer: string): Finding {
  const start = T0 + i * 2000;
  return {
    v: 1,
    id: findingId(camera, `q${i}`, start),
    cameraId: camera,
    queryId: `q${i}`, // one episode per finding: this suite is about storage, test/alerts about episodes
    question: 'Is the dock door open while someone is in the loading lane?',
    windowStart: start,
    windowEnd: start + 3750,
    frameCount: 16,
    status: 'ok',
    verdict: true,
    answer,
    reasoning: 'Frames show the lane.',
    rawAnswer: '',
    model: { id: 'm', profile: 'cosmos-reason1', endpoint: 'e' },
    usage: { promptTokens: 1, completionTokens: 1 },
    latencyMs: 5,
    mentionedTimes: [],
    evidence: [],
    createdAt: 0,
  };
}

for (const [name, open] of impls) {
  describe(`IncidentStore conformance: ${name}`, () => {
    let store: SqlIncidentStore;
    before(async () => {
      store = await SqlIncidentStore.open(await open());
    });
    after(() => store.close());

    test('idempotent on finding id', async () => {
      const f = finding('dock-1', 0, 'Yes, a worker is in the lane with the door open.');
      assert.equal((await store.recordFinding(f, policy)).outcome, 'opened');
      assert.equal((await store.recordFinding(f, policy)).outcome, 'duplicate');
    });

    test('full text, filters and pagination give the same answers', async () => {
      for (let i = 1; i <= 9; i++) await store.recordFinding(finding(i % 3 ? 'dock-1' : 'dock-2', i, i % 2 ? 'Yes, the door is open.' : 'Yes, a pallet blocks the lane.'), policy);
      const pallets = await store.search({ q: 'pallet', limit: 50 });
      assert.equal(pallets.items.length, 4);
      assert.match(pallets.items[0]!.highlight ?? '', /<mark>pallet<\/mark>/);
      assert.equal((await store.search({ camera: 'dock-2', limit: 50 })).items.length, 3);
      const p1 = await store.search({ limit: 4 });
      const p2 = await store.search({ limit: 4, cursor: p1.next_cursor! });
      const p3 = await store.search({ limit: 4, cursor: p2.next_cursor! });
      assert.deepEqual([p1, p2, p3].map((p) => p.items.length), [4, 4, 2]);
      assert.equal(p3.next_cursor, null);
    });

    test('survives reopening (migrations applied once, data kept)', async () => {
      await store.close();
      store = await SqlIncidentStore.open(await open());
      assert.equal((await store.search({ limit: 50 })).items.length, 10);
    });

    test('a trigger finding (no model asked) opens an incident of kind trigger', async () => {
      const f: Finding = { ...finding('dock-3', 20, 'Motion in zone walkway (peak 12% of the zone changed). Not asked: no model server is connected.'), status: 'trigger', reasoning: '', model: { id: '', profile: 'trigger', endpoint: '' }, latencyMs: 0 };
      const r = await store.recordFinding(f, policy);
      assert.equal(r.outcome, 'opened');
      assert.equal(r.incident.kind, 'trigger');
      assert.equal(r.incident.model, '');
      assert.equal((await store.search({ q: 'walkway', limit: 5 })).items[0]?.kind, 'trigger');
    });

    test("query_version round-trips: the opening finding's, then the latest window's", async () => {
      // Windows k of one episode on dock-4 / versioned (2 s apart, well inside the cooldown).
      const w = (k: number, queryVersion?: string): Finding => {
        const f = { ...finding('dock-4', 40 + k, `Yes, window ${k}.`), queryId: 'versioned', queryVersion };
        return { ...f, id: findingId('dock-4', 'versioned', f.windowStart) };
      };
      const opened = await store.recordFinding(w(2, 'aaaaaaaaaaaa'), policy);
      assert.equal(opened.incident!.query_version, 'aaaaaaaaaaaa');
      assert.equal((await store.get(opened.incident!.id))?.query_version, 'aaaaaaaaaaaa');
      assert.equal((await store.recordFinding(w(3, 'bbbbbbbbbbbb'), policy)).incident!.query_version, 'bbbbbbbbbbbb', 'a later window brings its version');
      assert.equal((await store.recordFinding(w(1, 'cccccccccccc'), policy)).incident!.query_version, 'bbbbbbbbbbbb', 'a late, earlier window does not');
      assert.equal((await store.recordFinding(w(4), policy)).incident!.query_version, 'bbbbbbbbbbbb', 'a finding without a version keeps it');
      const found = (await store.search({ query: 'versioned', limit: 5 })).items;
      assert.deepEqual(found.map((i) => [i.query_version, i.findings]), [['bbbbbbbbbbbb', 4]]);
      const unversioned = await store.recordFinding(finding('dock-4', 60, 'Yes, from an older producer.'), policy);
      assert.equal(unversioned.incident!.query_version, null);
    });

    test('model usage per hour: mean latency, tokens and errors by query or camera', async () => {
      const h0 = new Date(T0);
      const h1 = new Date(T0 + 3_600_000);
      const d = (hour: Date, camera: string, query: string, findings: number, latency: number, prompt: number, completion: number, errors = 0) => ({ hour, camera, query, findings, errors, latencyMsSum: latency, promptTokens: prompt, completionTokens: completion });
      await store.addModelUsage([d(h0, 'dock-1', 'lane', 2, 1600, 9000, 300), d(h0, 'dock-2', 'lane', 1, 500, 4500, 100, 1), d(h1, 'dock-1', 'belt', 4, 4000, 100, 50)]);
      await store.addModelUsage([d(h0, 'dock-1', 'lane', 1, 1100, 4500, 150)]); // adds to the same row
      const range = { bucket: 'hour' as const, from: h0, to: new Date(T0 + 7_200_000) };
      assert.deepEqual(await store.modelStats({ ...range, metric: 'latency_ms', by: 'query' }), [
        { key: 'belt', points: [{ t: h1.toISOString(), value: 1000 }] },
        { key: 'lane', points: [{ t: h0.toISOString(), value: 800 }] }, // (1600 + 500 + 1100) / 4
      ]);
      assert.deepEqual(await store.modelStats({ ...range, metric: 'tokens', by: 'camera' }), [
        { key: 'dock-1', points: [{ t: h0.toISOString(), value: 13950 }, { t: h1.toISOString(), value: 150 }] },
        { key: 'dock-2', points: [{ t: h0.toISOString(), value: 4600 }] },
      ]);
      assert.deepEqual(await store.modelStats({ ...range, bucket: 'day', metric: 'errors', by: 'query', camera: 'dock-2' }), [
        { key: 'lane', points: [{ t: '2026-05-01T00:00:00.000Z', value: 1 }] },
      ]);
      assert.deepEqual(await store.modelStats({ ...range, from: new Date(T0 + 7_200_000), to: new Date(T0 + 9_000_000), metric: 'requests', by: 'query' }), []);
    });

    test('camera uptime per hour from its state changes', async () => {
      const status = (state: 'online' | 'offline' | 'degraded', minutes: number) => ({ v: 1 as const, cameraId: 'up-1', state, reason: state, at: T0 + minutes * 60_000, fps: 4 });
      await store.saveCameraStatus(status('online', 0));
      await store.saveCameraStatus(status('offline', 15));
      await store.saveCameraStatus(status('offline', 20)); // same state: the spell goes on
      await store.saveCameraStatus(status('degraded', 30)); // degraded still delivers frames: up
      await store.saveCameraStatus(status('online', 45));
      await store.saveCameraStatus(status('offline', 10)); // older than what is stored: ignored
      const r = await store.uptime({ bucket: 'hour', from: new Date(T0), to: new Date(T0 + 2 * 3_600_000), camera: 'up-1' });
      assert.deepEqual(r, [{ key: 'up-1', points: [{ t: new Date(T0).toISOString(), value: 75 }, { t: new Date(T0 + 3_600_000).toISOString(), value: 100 }] }]);
      // Before the first status nothing is known: no point rather than a guess.
      assert.deepEqual(await store.uptime({ bucket: 'hour', from: new Date(T0 - 3_600_000), to: new Date(T0), camera: 'up-1' }), []);
    });
  });
}

test('PostgreSQL: replicas starting together on a database that does not exist yet all open it', async () => {
  const url = freshDatabaseUrl();
  try {
    const dbs = await Promise.all(Array.from({ length: 4 }, () => PgDatabase.open(url)));
    const stores = await Promise.all(dbs.map((db) => SqlIncidentStore.open(db)));
    await Promise.all(stores.map((s) => s.close()));
  } finally {
    await dropDatabase(url);
  }
});
