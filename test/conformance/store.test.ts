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
  });
}
