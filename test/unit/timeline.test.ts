import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { WindowItem, WindowPage } from '@vigil/contracts';
import { HOUR, loadWindows, place, rangeOf, tiledEnds } from '../../libs/dashboard/src/timeline.ts';

// The timeline's arithmetic and paging, without a browser: fetch is a hand-written fake.
const realFetch = globalThis.fetch;
after(() => {
  globalThis.fetch = realFetch;
});

test('the range: from/to when ordered, else an hour around `at`, else the last hour', () => {
  const now = Date.parse('2026-11-27T10:00:00Z');
  const p = (s: string) => new URLSearchParams(s);
  assert.deepEqual(rangeOf(p('from=2026-11-27T02:00:00Z&to=2026-11-27T03:00:00Z'), now), { from: Date.parse('2026-11-27T02:00:00Z'), to: Date.parse('2026-11-27T03:00:00Z'), at: null });
  assert.deepEqual(rangeOf(p('at=2026-11-27T02:10:00Z'), now), { from: Date.parse('2026-11-27T01:40:00Z'), to: Date.parse('2026-11-27T02:40:00Z'), at: Date.parse('2026-11-27T02:10:00Z') });
  assert.deepEqual(rangeOf(p('from=2026-11-27T03:00:00Z&to=2026-11-27T02:00:00Z'), now), { from: now - HOUR, to: now, at: null }, 'reversed: ignored');
  assert.deepEqual(rangeOf(p('at=garbage'), now), { from: now - HOUR, to: now, at: null });
});

test('placing clamps to the axis; overlapping windows are drawn up to the next start', () => {
  const r = { from: 0, to: 1000, at: null };
  assert.deepEqual(place(r, -500, 250), { left: 0, width: 25 });
  assert.deepEqual(place(r, 990, 5000, 0), { left: 99, width: 1 });
  const asked = (start: number, end: number) => ({ kind: 'asked', id: `w${start}`, start: new Date(start).toISOString(), end: new Date(end).toISOString() }) as WindowItem;
  const ends = tiledEnds([asked(2000, 6000), asked(0, 4000), asked(8000, 12000)]);
  assert.deepEqual([...ends.entries()].sort(), [['w0', 2000], ['w2000', 6000], ['w8000', 12000]]);
});

test('windows are read page by page until the range is covered, and the cap says there is more', async () => {
  // The API client reads the token from localStorage: a browser's, faked with no token.
  (globalThis as { localStorage?: unknown }).localStorage = { getItem: () => null };
  const cursors: (string | null)[] = [];
  globalThis.fetch = (async (url: string) => {
    const cursor = new URL(url, 'http://x').searchParams.get('cursor');
    cursors.push(cursor);
    const n = Number(cursor ?? 0);
    const page: WindowPage = { items: [{ kind: 'skipped', id: `s${n}`, camera: 'c', query: 'q', reason: 'still', start: '2026-11-27T02:00:00.000Z', end: '2026-11-27T02:00:04.000Z', count: 1, every_ms: 2000 }], next_cursor: n < 4 ? String(n + 1) : null };
    return new Response(JSON.stringify(page), { status: 200 });
  }) as typeof fetch;
  const r = { from: 0, to: HOUR, at: null };
  const all = await loadWindows('c', 'q', r, 10);
  assert.deepEqual([all.items.length, all.more, all.cursor], [5, false, null]);
  assert.deepEqual(cursors, [null, '1', '2', '3', '4']);
  const capped = await loadWindows('c', 'q', r, 2);
  assert.deepEqual([capped.items.length, capped.more, capped.cursor], [2, true, '2']);
  const rest = await loadWindows('c', 'q', r, 10, capped.cursor);
  assert.deepEqual(rest.items.map((i) => i.id), ['s2', 's3', 's4']);
});
