import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { migrations, PgDatabase, PgliteDatabase, SqlIncidentStore, BadCursorError, type SqlDatabase } from '@vigil/store';
import { dropDatabase, freshDatabaseUrl } from '../helpers/env.ts';
import { finding, policy, T0 } from './helpers.ts';

// One suite, run against a PostgreSQL server and embedded PGlite: same migrations, same SQL.
const pgUrl = freshDatabaseUrl();
const impls: [string, () => Promise<SqlDatabase>][] = [
  ['PostgreSQL', () => PgDatabase.open(pgUrl)],
  ['PGlite (in memory)', () => PgliteDatabase.open()],
];
after(() => dropDatabase(pgUrl));

for (const [name, open] of impls) {
  describe(`incident store on ${name}`, () => {
    let store: SqlIncidentStore;
    before(async () => {
      store = await SqlIncidentStore.open(await open());
    });
    after(() => store.close());

    test('every migration is applied, once', async () => {
      const rows = (await store.db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows;
      assert.deepEqual(rows.map((r) => r.version), migrations().map((m) => m.version));
    });

    test('positive findings within the cooldown extend one incident; a replay changes nothing', async () => {
      const a = await store.recordFinding(finding('ep-1', 0, 'Yes, first.'), policy());
      assert.equal(a.outcome, 'opened');
      assert.equal(a.incident.state, 'open');
      const b = await store.recordFinding(finding('ep-1', 3, 'Yes, later.'), policy()); // 6 s later, cooldown 10 s
      assert.equal(b.outcome, 'extended');
      assert.equal(b.incident.id, a.incident.id);
      assert.equal(b.incident.findings, 2);
      assert.equal(b.incident.answer, 'Yes, later.');
      assert.equal(b.incident.ended_at, new Date(T0 + 6000 + 3750).toISOString());
      const replay = await store.recordFinding(finding('ep-1', 3, 'Yes, later.'), policy());
      assert.equal(replay.outcome, 'duplicate');
      assert.equal(replay.incident.findings, 2);
      // 30 s of quiet (capture time) later: a new episode, and the stale one is closed by it.
      const c = await store.recordFinding(finding('ep-1', 20, 'Yes, again.'), policy());
      assert.equal(c.outcome, 'opened');
      assert.notEqual(c.incident.id, a.incident.id);
      assert.equal(c.closed?.id, a.incident.id);
      assert.equal(c.closed?.state, 'closed');
      assert.equal((await store.search({ camera: 'ep-1', limit: 10 })).items.length, 2);
    });

    test('racing findings of one episode open one incident (advisory lock + unique active episode)', async () => {
      const outcomes = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => store.recordFinding(finding('race-1', i), policy())));
      assert.equal(outcomes.filter((o) => o.outcome === 'opened').length, 1);
      assert.equal(new Set(outcomes.map((o) => o.incident!.id)).size, 1);
    });

    test('episodes close on capture-time progress, by the wall clock only when it stops coming; once', async () => {
      // Window 0: 0–3.75 s, cooldown 1 s → close_after 4.75 s; a 4 s window may start before it and still be positive.
      const o = await store.recordFinding(finding('sweep-1', 0), policy({ cooldownMs: 1000, windowMs: 4000 }));
      const closeAfter = T0 + 3750 + 1000;
      const wall = new Date(Date.now() + 3_600_000); // an hour on: the wall clock alone must not close it
      const isClosed = async () => (await store.closeQuiet(wall, () => [], 24 * 3_600_000)).some((i) => i.id === o.incident!.id);
      await store.recordProgress([{ camera: 'sweep-1', query: 'forklift', through: closeAfter + 3999 }]);
      assert.equal(await isClosed(), false, 'windows that started before close_after are still undecided');
      await store.recordProgress([{ camera: 'sweep-1', query: 'forklift', through: closeAfter - 10_000 }]); // late and older: ignored
      await store.recordProgress([{ camera: 'sweep-1', query: 'forklift', through: closeAfter + 4000 }]);
      const closed = await store.closeQuiet(wall, () => [], 24 * 3_600_000);
      assert.ok(closed.some((i) => i.id === o.incident!.id && i.state === 'closed' && i.closed_at), 'closed once progress passed it');
      assert.ok(!(await store.closeQuiet(wall, () => [])).some((i) => i.id === o.incident!.id), 'closed only once');
      // No progress at all (an older producer): the wall clock, but only after the stale time.
      const n = await store.recordFinding(finding('sweep-2', 0), policy({ cooldownMs: 1000, windowMs: 4000 }));
      assert.ok(!(await store.closeQuiet(new Date(closeAfter + 30_000), () => [], 60_000)).some((i) => i.id === n.incident!.id));
      assert.ok((await store.closeQuiet(new Date(closeAfter + 61_000), () => [], 60_000)).some((i) => i.id === n.incident!.id));
      // Progress that stopped coming (updated long ago, by this call's clock): the wall clock too.
      const s = await store.recordFinding(finding('sweep-3', 0), policy({ cooldownMs: 1000, windowMs: 4000 }));
      await store.recordProgress([{ camera: 'sweep-3', query: 'forklift', through: closeAfter }]);
      assert.ok(!(await store.closeQuiet(new Date(Date.now() + 10_000), () => [], 60_000)).some((i) => i.id === s.incident!.id), 'fresh progress: wait for it');
      assert.ok((await store.closeQuiet(new Date(Date.now() + 61_000), () => [], 60_000)).some((i) => i.id === s.incident!.id), 'stale progress: the wall clock');
      // A camera that went offline: the wall clock at once.
      const f = await store.recordFinding(finding('sweep-4', 0), policy({ cooldownMs: 1000, windowMs: 4000 }));
      await store.recordProgress([{ camera: 'sweep-4', query: 'forklift', through: closeAfter }]);
      await store.saveCameraStatus({ v: 1, cameraId: 'sweep-4', state: 'offline', reason: 'stream ended', at: T0 + 5000, fps: 4 });
      assert.ok((await store.closeQuiet(new Date(closeAfter + 1000), () => [], 60_000)).some((i) => i.id === f.incident!.id), 'offline: closed by the wall clock');
      // Removed from the config: forgotten, so no offline incident opens for it (nor for the next tests).
      await store.forgetCamera('sweep-4');
      assert.ok(!(await store.cameraStatuses()).some((c) => c.camera === 'sweep-4'));
      assert.deepEqual(await store.openOfflineIncidents(new Date(Date.now() + 3_600_000), 1000, () => ({ webhooks: [] })).then((l) => l.filter((i) => i.camera === 'sweep-4')), []);
      const acked = await store.act(o.incident!.id, 'ack', 'ana', 'looking');
      assert.ok(acked && acked !== 'conflict');
      assert.equal(acked.state, 'acknowledged');
      assert.deepEqual([acked.acknowledged?.by, acked.acknowledged?.note], ['ana', 'looking']);
      const resolved = await store.act(o.incident!.id, 'resolve', 'bo', 'false alarm');
      assert.ok(resolved && resolved !== 'conflict');
      assert.equal(resolved.state, 'resolved');
      assert.equal(resolved.acknowledged?.by, 'ana');
      assert.equal(await store.act(o.incident!.id, 'ack', 'cy', ''), 'conflict');
      assert.equal(await store.act('nope', 'resolve', 'cy', ''), undefined);
    });

    test('resolving an active incident ends its episode: the next finding opens a new one', async () => {
      const o = await store.recordFinding(finding('res-1', 0), policy());
      await store.act(o.incident!.id, 'resolve', 'ana', '');
      const n = await store.recordFinding(finding('res-1', 1), policy());
      assert.equal(n.outcome, 'opened');
    });

    test('evidence is attached once per finding and expires by age, then by size, text kept', async () => {
      const frames = [{ capturedAt: T0, streamTime: 0, jpeg: '' }];
      assert.equal((await store.recordFinding(finding('ev-0', 0), policy())).evidencePending, false, 'no frames: nothing pending');
      const o = await store.recordFinding({ ...finding('ev-1', 0), evidenceFrames: frames }, policy());
      assert.equal(o.evidencePending, true);
      const entry = { finding: o.incident.findingId, dir: 'x/y', frames: [{ file: 'frame-0.jpg', captured_at: new Date(T0).toISOString() }], clip: 'clip.mp4', bytes: 1000 };
      const withEv = await store.attachEvidence(o.incident.id, entry);
      assert.equal(withEv?.evidence.frames.length, 1);
      assert.equal(withEv?.evidence.clip_url, `/api/incidents/${o.incident.id}/clip.mp4`);
      await store.attachEvidence(o.incident.id, entry); // replay
      assert.equal((await store.get(o.incident.id))?.evidence.bytes, 1000);
      assert.equal((await store.recordFinding({ ...finding('ev-1', 0), evidenceFrames: frames }, policy())).evidencePending, false);
      const second = await store.recordFinding({ ...finding('ev-2', 100), evidenceFrames: frames }, policy());
      await store.attachEvidence(second.incident!.id, { ...entry, finding: second.incident!.findingId, bytes: 500 });
      // Nothing older than the cutoff and under the size cap: nothing to expire.
      assert.deepEqual(await store.evidenceToExpire(new Date(0), 10_000, 10), []);
      // Over the cap by 1 byte: the oldest goes first, and only it.
      const total = await store.evidenceBytes();
      const bySize = await store.evidenceToExpire(new Date(0), total - 1, 10);
      assert.deepEqual(bySize.map((e) => e.id), [o.incident.id]);
      const byAge = await store.evidenceToExpire(new Date(T0 + 1_000_000), 10_000_000, 10);
      assert.ok(byAge.some((e) => e.id === second.incident!.id));
      await store.markEvidenceDeleted([o.incident.id]);
      const after = await store.get(o.incident.id);
      assert.equal(after?.evidence.frames.length, 0);
      assert.ok(after?.evidence.deleted_at);
      assert.equal(after?.answer, o.incident.answer);
    });

    test('camera offline past the grace opens one incident, closed when the camera is back', async () => {
      const at = Date.now() - 120_000;
      const base = { v: 1 as const, cameraId: 'cam-off', reason: 'connection refused', fps: 4 };
      await store.saveCameraStatus({ ...base, state: 'online', at: at - 1000 });
      await store.saveCameraStatus({ ...base, state: 'offline', at });
      await store.saveCameraStatus({ ...base, state: 'offline', at: at + 500, reason: 'still refused' });
      const st = (await store.cameraStatuses()).find((s) => s.camera === 'cam-off');
      assert.equal(st?.since, new Date(at).toISOString(), 'since moves only on a state change');
      assert.deepEqual(await store.openOfflineIncidents(new Date(at + 30_000), 60_000, () => ({ webhooks: [] })), [], 'within the grace');
      const opened = await store.openOfflineIncidents(new Date(), 60_000, () => ({ webhooks: ['w'] }));
      assert.equal(opened.length, 1);
      assert.equal(opened[0]!.kind, 'camera-offline');
      assert.deepEqual(await store.openOfflineIncidents(new Date(), 60_000, () => ({ webhooks: [] })), [], 'once');
      assert.equal((await store.deliveriesOf(opened[0]!.id))[0]?.event, 'camera-offline');
      const back = await store.saveCameraStatus({ ...base, state: 'online', at: Date.now() });
      assert.equal(back.closed?.id, opened[0]!.id);
      assert.ok(back.closed?.closed_at);
      // A status older than the stored one is ignored.
      assert.equal((await store.saveCameraStatus({ ...base, state: 'offline', at: at + 1 })).stored, undefined);
    });

    test('webhook outbox: enqueued with the incident, claimed once, retried, delivered', async () => {
      const o = await store.recordFinding(finding('wh-1', 0), policy({ webhooks: { open: ['ops'], update: [], close: [] } }));
      const claimed = (await store.claimDeliveries(50, 60_000)).filter((d) => d.incidentId === o.incident!.id);
      assert.equal(claimed.length, 1);
      assert.equal(claimed[0]!.attempts, 1);
      assert.equal((await store.claimDeliveries(50, 60_000)).filter((d) => d.incidentId === o.incident!.id).length, 0, 'leased');
      await store.finishDelivery(claimed[0]!.id, { ok: false, error: 'connect ECONNREFUSED', retryAt: new Date(Date.now() - 1) });
      const again = (await store.claimDeliveries(50, 60_000)).filter((d) => d.incidentId === o.incident!.id);
      assert.equal(again[0]?.attempts, 2);
      await store.finishDelivery(again[0]!.id, { ok: true });
      const [d] = (await store.get(o.incident!.id, { deliveries: true }))!.deliveries!;
      assert.deepEqual([d?.status, d?.attempts, d?.last_error], ['delivered', 2, null]);
    });

    test('search: filters, full text with highlights, both sort orders, stable cursor pages', async () => {
      const start = Date.parse('2026-04-01T00:00:00Z');
      for (let i = 0; i < 25; i++) {
        const text = i % 5 === 0 ? 'Yes, the conveyor belt stopped because a box jammed it.' : 'Yes, a forklift moves near a pedestrian.';
        // 30 s apart with a 1 s cooldown: every finding is its own incident.
        await store.recordFinding(finding(i % 2 ? 'srch-1' : 'srch-2', i * 15, text, { windowStart: start, queryId: 'srch' }), policy({ cooldownMs: 1000, site: i % 2 ? 'north' : 'south' }));
      }
      const conveyor = await store.search({ q: 'conveyor jammed', query: 'srch', limit: 50 });
      assert.equal(conveyor.items.length, 5);
      assert.match(conveyor.items[0]!.highlight ?? '', /<mark>conveyor<\/mark>/);
      assert.equal((await store.search({ camera: 'srch-2', query: 'srch', limit: 50 })).items.length, 13);
      assert.equal((await store.search({ site: 'north', query: 'srch', limit: 50 })).items.length, 12);
      assert.equal((await store.search({ query: 'srch', severity: ['low'], limit: 50 })).items.length, 0);
      assert.equal((await store.search({ query: 'srch', state: ['open'], limit: 50 })).items.length, 2, 'on each camera, each new episode closed the previous one');
      // Window i spans [start + 30 s·i, +3.75 s]: [60 s, 95 s) overlaps windows 2, 3.
      const ranged = await store.search({ query: 'srch', from: new Date(start + 60_000), to: new Date(start + 95_000), limit: 50 });
      assert.deepEqual(ranged.items.map((i) => (Date.parse(i.started_at) - start) / 30_000), [3, 2]);
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.search({ query: 'srch', limit: 7, cursor, sort: 'oldest' });
        seen.push(...page.items.map((i) => i.started_at));
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      assert.equal(seen.length, 25);
      assert.deepEqual([...seen].sort(), seen, 'oldest first');
      const newest = await store.search({ query: 'srch', limit: 5 });
      await assert.rejects(store.search({ query: 'srch', limit: 5, cursor: newest.next_cursor!, sort: 'oldest' }), BadCursorError);
      await assert.rejects(store.search({ limit: 5, cursor: 'garbage' }), BadCursorError);
      for (const q of ['"forklift moves" -conveyor', "it's (a) & | ! :*", 'OR OR', '\\']) assert.ok(Array.isArray((await store.search({ q, limit: 5 })).items), q);
    });

    test('stats: counts per hour bucket and key', async () => {
      const series = await store.stats({ bucket: 'hour', by: 'camera', from: new Date('2026-04-01T00:00:00Z'), to: new Date('2026-04-02T00:00:00Z'), query: 'srch' });
      assert.deepEqual(series.map((s) => [s.key, s.points.reduce((a, p) => a + p.count, 0)]), [['srch-1', 12], ['srch-2', 13]]);
      assert.equal(series[0]!.points[0]!.t, '2026-04-01T00:00:00.000Z');
    });

    test('active incidents are the ones not closed', async () => {
      const active = await store.active(100);
      assert.ok(active.length > 0);
      assert.ok(active.every((i) => i.closed_at === null));
    });
  });
}
