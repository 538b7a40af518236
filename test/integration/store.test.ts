import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { findingId, type Finding } from '@vigil/contracts';
import { PgDatabase, SqlIncidentStore, BadCursorError } from '@vigil/store';
import { dropDatabase, freshDatabaseUrl } from '../helpers/env.ts';

let store: SqlIncidentStore;
const url = freshDatabaseUrl();
const T0 = Date.parse('2026-03-01T08:00:00Z');

function finding(camera: string, i: number, answer: string, reasoning = 'I looked at every frame.'): Finding {
  const start = T0 + i * 2000;
  return {
    v: 1,
    id: findingId(camera, 'q', start),
    cameraId: camera,
    queryId: 'q',
    question: 'Is a forklift moving near a person on foot?',
    windowStart: start,
    windowEnd: start + 3750,
    frameCount: 16,
    status: 'ok',
    verdict: true,
    answer,
    reasoning,
    rawAnswer: '',
    model: { id: 'nvidia/cosmos-reason1-7b', profile: 'cosmos-reason1', endpoint: 'http://x' },
    usage: { promptTokens: 4800, completionTokens: 200 },
    latencyMs: 900,
    mentionedTimes: [],
    evidence: [],
    createdAt: Date.now(),
  };
}

before(async () => {
  store = await SqlIncidentStore.open(await PgDatabase.open(url)); // creates the database and migrates it
});
after(async () => {
  await store.close();
  await dropDatabase(url);
});

test('opening an incident is idempotent on the finding id', async () => {
  const f = finding('dock-1', 0, 'Yes, a forklift passes within a metre of a worker.');
  const first = await store.openFromFinding(f, { severity: 'high' });
  assert.ok(first);
  assert.equal(first.severity, 'high');
  assert.equal(first.started_at, new Date(f.windowStart).toISOString());
  assert.equal(await store.openFromFinding(f, { severity: 'high' }), undefined);
  assert.deepEqual(await store.get(first.id), first);
});

test('migrations run once even when opened again', async () => {
  const again = await SqlIncidentStore.open(await PgDatabase.open(url));
  await again.close();
});

test('search: filters, full text with highlights, newest first, stable cursor pages', async () => {
  for (let i = 1; i <= 25; i++) {
    const text = i % 5 === 0 ? 'Yes, the conveyor belt stopped because a box jammed it.' : 'Yes, a forklift moves near a pedestrian.';
    await store.openFromFinding(finding(i % 2 ? 'dock-1' : 'dock-2', i, text), { severity: 'medium' });
  }
  const conveyor = await store.search({ q: 'conveyor jammed', limit: 50 });
  assert.equal(conveyor.items.length, 5);
  assert.ok(conveyor.items.every((i) => /conveyor/.test(i.answer)));
  assert.match(conveyor.items[0]!.highlight ?? '', /<mark>conveyor<\/mark>/);

  const dock2 = await store.search({ camera: 'dock-2', limit: 50 });
  assert.equal(dock2.items.length, 12);
  assert.ok(dock2.items.every((i) => i.camera === 'dock-2'));

  // Windows overlapping [from, to): window i spans [T0+2000i, T0+2000i+3750].
  const ranged = await store.search({ from: new Date(T0 + 20_000), to: new Date(T0 + 24_000), limit: 50 });
  assert.deepEqual(ranged.items.map((i) => Date.parse(i.started_at) - T0), [22_000, 20_000, 18_000]);

  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.search({ limit: 7, cursor });
    seen.push(...page.items.map((i) => i.started_at + i.id));
    // A new incident arriving mid-pagination must not shift later pages.
    if (pages === 0) await store.openFromFinding(finding('dock-3', 100, 'Yes, late arrival.'), { severity: 'low' });
    cursor = page.next_cursor ?? undefined;
    pages++;
  } while (cursor);
  assert.equal(seen.length, 26);
  assert.equal(new Set(seen).size, 26);
  assert.deepEqual([...seen].sort().reverse(), seen, 'newest first');
  await assert.rejects(store.search({ limit: 5, cursor: 'garbage' }), BadCursorError);
});

test('search text with operators and odd characters never becomes a query error', async () => {
  for (const q of ['"forklift moves" -conveyor', "it's (a) & | ! :*", 'OR OR', '\\']) {
    const r = await store.search({ q, limit: 5 });
    assert.ok(Array.isArray(r.items), q);
  }
});
