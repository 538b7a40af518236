import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findingId, WindowPageSchema, type Finding, type WindowItem } from '@vigil/contracts';
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

    // The window audit: asked windows on audit/lane (2 s grid), skip runs between them.
    const W0 = Date.parse('2026-06-10T23:59:50Z'); // crosses midnight: two daily partitions
    const asked = (k: number, verdict: boolean, answer: string, status: Finding['status'] = 'ok'): Finding => {
      const start = W0 + k * 2000;
      return { ...finding('audit-1', 0, answer), id: findingId('audit-1', 'lane', start), queryId: 'lane', queryVersion: 'abcdef12', windowStart: start, windowEnd: start + 8000, verdict, status, latencyMs: 900 + k, usage: { promptTokens: 4000, completionTokens: 30 + k } };
    };
    const all = async (s: Omit<Parameters<typeof store.searchWindows>[0], 'limit'>, limit = 3): Promise<WindowItem[]> => {
      const out: WindowItem[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 50; pages++) {
        const page = WindowPageSchema.parse(await store.searchWindows({ ...s, limit, cursor }));
        assert.ok(page.items.length <= limit);
        out.push(...page.items);
        if (!page.next_cursor) return out;
        cursor = page.next_cursor;
      }
      throw new Error('paging never ended');
    };

    test('window audit: asked windows once each, skip runs merged, one timeline paged by cursor', async () => {
      const fs = [asked(0, false, 'No, the lane is clear.'), asked(1, true, 'Yes, a forklift is beside a person.'), asked(6, false, 'No one is there.', 'truncated'), asked(7, false, '', 'error')];
      assert.equal(await store.recordWindows(fs), 4);
      assert.equal(await store.recordWindows([fs[1]!, fs[2]!]), 0, 'a replayed finding adds no row');
      const run = (k: number, count: number, reason: string) => ({ reason, from: W0 + k * 2000, to: W0 + (k + count - 1) * 2000 + 8000, count, everyMs: 2000 });
      // Windows 2..5 skipped: sent as a growing run (2, then 2..3), then continued (4..5), then resent whole.
      await store.recordSkips('audit-1', 'lane', [run(2, 1, 'still')]);
      await store.recordSkips('audit-1', 'lane', [run(2, 2, 'still')]);
      await store.recordSkips('audit-1', 'lane', [run(4, 2, 'still')]);
      await store.recordSkips('audit-1', 'lane', [run(2, 4, 'still')]);
      // Windows 8..9 for another reason, 11 still (not contiguous with 2..5: a separate run).
      await store.recordSkips('audit-1', 'lane', [run(8, 2, 'budget_camera'), run(11, 1, 'still')]);
      const items = await all({ camera: 'audit-1', query: 'lane' });
      assert.deepEqual(
        items.map((i) => (i.kind === 'asked' ? `asked ${(Date.parse(i.start) - W0) / 2000} ${i.status} ${i.verdict}` : `skipped ${(Date.parse(i.start) - W0) / 2000} ${i.reason} ×${i.count}`)),
        ['asked 0 ok false', 'asked 1 ok true', 'skipped 2 still ×4', 'asked 6 truncated false', 'asked 7 error false', 'skipped 8 budget_camera ×2', 'skipped 11 still ×1'],
      );
      const still = items.find((i) => i.kind === 'skipped' && i.count === 4)!;
      assert.equal(still.end, new Date(W0 + 5 * 2000 + 8000).toISOString());
      const yes = items.find((i) => i.kind === 'asked' && i.verdict)!;
      assert.ok(yes.kind === 'asked');
      assert.deepEqual([yes.answer, yes.latency_ms, yes.prompt_tokens, yes.completion_tokens, yes.query_version, yes.model, yes.frames], ['Yes, a forklift is beside a person.', 901, 4000, 31, 'abcdef12', 'm', 16]);
      // Window 12 continues 11's run; 8..9 (another reason) keeps them apart from 2..5.
      await store.recordSkips('audit-1', 'lane', [run(12, 1, 'still')]);
      assert.equal((await all({ camera: 'audit-1', status: ['skipped'] })).filter((i) => i.kind === 'skipped' && i.reason === 'still').map((i) => (i.kind === 'skipped' ? i.count : 0)).join(','), '4,2');
    });

    test('window audit: filters, full text and a range', async () => {
      const only = (i: WindowItem[]) => i.map((x) => (Date.parse(x.start) - W0) / 2000);
      assert.deepEqual(only(await all({ camera: 'audit-1', verdict: true })), [1]);
      assert.deepEqual(only(await all({ camera: 'audit-1', status: ['truncated', 'error'] })), [6, 7]);
      assert.deepEqual(only(await all({ camera: 'audit-1', q: 'forklift' })), [1]);
      assert.deepEqual(only(await all({ camera: 'audit-1', q: 'clear' })), [0]);
      assert.deepEqual(only(await all({ camera: 'other' })), []);
      // [16 s, 18 s): the windows overlapping it (8 s long, so those starting from 8 s on).
      const range = await all({ camera: 'audit-1', from: new Date(W0 + 16_000), to: new Date(W0 + 18_000) });
      assert.deepEqual(only(range), [2, 6, 7, 8]);
      await assert.rejects(store.searchWindows({ limit: 5, cursor: 'bm90IGEgY3Vyc29y' }), /cursor/);
    });

    test('shadow queries: agreement over windows both answered, the differences paged; shadow incidents stored, never listed or delivered', async () => {
      const S0 = Date.parse('2026-07-01T08:00:00Z');
      const w = (query: string, k: number, verdict: boolean, status: Finding['status'] = 'ok'): Finding => {
        const start = S0 + k * 2000;
        return { ...finding('shadow-1', 0, `${query} ${k} ${verdict ? 'yes' : 'no'}`), id: findingId('shadow-1', query, start), queryId: query, windowStart: start, windowEnd: start + 4000, verdict, status };
      };
      // Windows 0..3 both answered (agree on 0 and 2); 4 only the shadow asked; 5 the shadowed one failed.
      const lane = [w('lane', 0, true), w('lane', 1, true), w('lane', 2, false), w('lane', 3, false), w('lane', 5, false, 'error')];
      const alt = [w('alt', 0, true), w('alt', 1, false), w('alt', 2, false), w('alt', 3, true), w('alt', 4, true), w('alt', 5, true)];
      await store.recordWindows([...lane, ...alt]);
      const pair = { query: 'alt', shadows: 'lane' };
      const sum = await store.shadowSummary(pair, {});
      assert.deepEqual(sum, { query: 'alt', shadows: 'lane', compared: 4, agreed: 2, agreement: 0.5, shadow_yes: 2, shadow_no: 2, shadowed_yes: 2, shadowed_no: 2, shadow_incidents: 0 });
      assert.equal((await store.shadowSummary(pair, { from: new Date(S0 + 4000) })).compared, 2, 'windows starting in the range');
      assert.equal((await store.shadowSummary({ query: 'nope', shadows: 'lane' }, {})).agreement, null);
      const diffs = [];
      let cursor: string | undefined;
      for (let n = 0; n < 10; n++) {
        const page = await store.shadowDifferences(pair, { limit: 1, cursor });
        diffs.push(...page.items);
        if (!page.next_cursor) break;
        cursor = page.next_cursor;
      }
      assert.deepEqual(diffs.map((d) => [(Date.parse(d.start) - S0) / 2000, d.shadow.answer, d.shadowed.answer, d.shadowed.id]), [
        [1, 'alt 1 no', 'lane 1 yes', lane[1]!.id],
        [3, 'alt 3 yes', 'lane 3 no', lane[3]!.id],
      ]);
      await assert.rejects(store.shadowDifferences(pair, { limit: 5, cursor: 'bm90IGEgY3Vyc29y' }), /cursor/);
      // A shadow episode: stored and counted, with no delivery though a webhook is configured.
      const hooks = { open: ['ops'], update: ['ops'], close: ['ops'] };
      const opened = await store.recordFinding(alt[3]!, { ...policy, webhooks: hooks, shadow: true });
      assert.equal(opened.outcome, 'opened');
      assert.equal(opened.shadow, true);
      const extended = await store.recordFinding(alt[4]!, { ...policy, webhooks: hooks, shadow: true });
      assert.equal(extended.outcome, 'extended');
      assert.equal((await store.recordFinding(alt[4]!, { ...policy, webhooks: hooks, shadow: true })).shadow, true, 'a replay knows it too');
      assert.equal((await store.shadowSummary(pair, {})).shadow_incidents, 1);
      const id = opened.incident!.id;
      assert.equal(await store.get(id), undefined);
      assert.equal(await store.evidenceOf(id), undefined);
      assert.equal(await store.act(id, 'ack', 'op', ''), undefined);
      assert.deepEqual((await store.search({ camera: 'shadow-1', limit: 50 })).items, []);
      assert.ok(!(await store.active(500)).some((i) => i.id === id));
      assert.deepEqual(await store.stats({ bucket: 'hour', by: 'query', from: new Date(S0 - 3_600_000), to: new Date(S0 + 3_600_000), camera: 'shadow-1' }), []);
      assert.ok(!(await store.deliveriesOf(id)).length);
      // It closes by the same rules, silently: not returned to be announced.
      const closed = await store.closeQuiet(new Date(S0 + 3_600_000), () => ['ops']);
      assert.ok(!closed.some((i) => i.id === id));
      const reopened = await store.recordFinding(w('alt', 900, true), { ...policy, shadow: true });
      assert.equal(reopened.outcome, 'opened', 'the quiet episode was closed');
      // The real query's episode beside it is listed as ever.
      const real = await store.recordFinding(lane[0]!, { ...policy, webhooks: hooks });
      assert.equal(real.shadow, false);
      assert.deepEqual((await store.search({ camera: 'shadow-1', limit: 50 })).items.map((i) => i.query), ['lane']);
      assert.deepEqual((await store.deliveriesOf(real.incident!.id)).map((d) => d.event), ['open']);
      // A reload makes `lane` a shadow mid-episode: its next positive window opens a shadow
      // episode, and the real one it ends still sends its close where the open went.
      const switched = await store.recordFinding(lane[1]!, { ...policy, webhooks: { open: [], update: [], close: [] }, shadow: true, formerClose: ['ops'] });
      assert.equal(switched.shadow, true);
      assert.equal(switched.closed?.id, real.incident!.id);
      assert.deepEqual((await store.deliveriesOf(real.incident!.id)).map((d) => d.event), ['open', 'close']);
    });

    test('window audit retention drops whole daily partitions and ended skip runs', async () => {
      // Windows 0..4 start on 2026-06-10, the rest on 2026-06-11.
      const r = await store.expireWindows(new Date('2026-06-11T00:00:00Z'));
      assert.deepEqual(r.partitions, ['audit_windows_20260610']);
      assert.equal(r.skips, 0, 'every run ends after midnight');
      assert.deepEqual((await all({ camera: 'audit-1' })).map((i) => i.kind + ':' + ((Date.parse(i.start) - W0) / 2000)), ['skipped:2', 'asked:6', 'asked:7', 'skipped:8', 'skipped:11']);
      assert.deepEqual((await store.expireWindows(new Date('2026-06-11T00:00:00Z'))).partitions, [], 'idempotent');
      // A late window of a dropped day comes back in a partition of its own.
      assert.equal(await store.recordWindows([asked(1, true, 'Yes, late.')]), 1);
      const later = await store.expireWindows(new Date('2026-06-13T00:00:00Z'));
      assert.deepEqual(later.partitions, ['audit_windows_20260610', 'audit_windows_20260611']);
      assert.equal(later.skips, 3);
      assert.deepEqual(await all({ camera: 'audit-1' }), []);
    });
    test('labels: added with who and when, listed by camera, query and overlapping range, deleted once', async () => {
      const at = (m: number) => new Date(Date.UTC(2026, 10, 27, 2, m));
      const fp = await store.addLabel({ kind: 'false_positive', camera: 'lbl-cam', query: 'lbl-q', from: at(10), to: at(11), incident: 'inc-1', by: 'ana', note: 'a shadow, not a forklift' });
      const missed = await store.addLabel({ kind: 'missed', camera: 'lbl-cam', query: 'lbl-q', from: at(30), to: at(32), incident: null, by: 'ben', note: '' });
      await store.addLabel({ kind: 'missed', camera: 'lbl-other', query: 'lbl-q', from: at(30), to: at(32), incident: null, by: 'ben', note: '' });
      assert.deepEqual([fp.kind, fp.incident, fp.by, fp.note, fp.from, fp.to], ['false_positive', 'inc-1', 'ana', 'a shadow, not a forklift', at(10).toISOString(), at(11).toISOString()]);
      assert.ok(Math.abs(Date.parse(fp.at) - Date.now()) < 60_000, 'labelled now');
      assert.notEqual(fp.id, missed.id);
      const ids = async (s: Parameters<typeof store.listLabels>[0]) => (await store.listLabels(s)).map((l) => l.id);
      assert.deepEqual(await ids({ camera: 'lbl-cam', query: 'lbl-q', limit: 10 }), [fp.id, missed.id], 'oldest first, the other camera left out');
      assert.deepEqual(await ids({ camera: 'lbl-cam', from: at(31), to: at(40), limit: 10 }), [missed.id], 'overlapping the range');
      assert.deepEqual(await ids({ camera: 'lbl-cam', from: at(11), to: at(30), limit: 10 }), [fp.id], 'to is exclusive, from inclusive');
      assert.equal((await store.listLabels({ limit: 1 })).length, 1);
      assert.equal(await store.deleteLabel(fp.id), true);
      assert.equal(await store.deleteLabel(fp.id), false);
      assert.deepEqual(await ids({ camera: 'lbl-cam', limit: 10 }), [missed.id]);
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
