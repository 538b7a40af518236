import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SKIP_RUNS, parseWindowProgress } from '@vigil/contracts';
import { SkipRuns } from '../../services/infer/src/skip-runs.ts';

const T = Date.parse('2026-11-27T10:00:00Z');
const progress = (skips: unknown, extra: Record<string, unknown> = {}) => ({ v: 1, cameraId: 'dock-1', queryId: 'lane', through: T + 60_000, skips, ...extra });
const run = (over: Record<string, unknown> = {}) => ({ reason: 'still', from: T, to: T + 12_000, count: 3, everyMs: 2000, ...over });

test('a progress message with skip runs passes; one without (an older producer) too', () => {
  const ok = parseWindowProgress(Buffer.from(JSON.stringify(progress([run(), run({ reason: 'budget_camera', from: T + 20_000, to: T + 28_000, count: 1 })]))));
  assert.ok(ok.ok, ok.ok ? '' : ok.reason);
  assert.equal(ok.value.skips?.length, 2);
  const old = parseWindowProgress(progress(undefined));
  assert.ok(old.ok && old.value.skips === undefined);
});

test('hostile skip runs are refused with the field that is wrong', () => {
  const cases: [unknown, RegExp][] = [
    [progress(Array.from({ length: MAX_SKIP_RUNS + 1 }, () => run())), /^progress\.skips: must be at most 256 items$/],
    [progress('lots'), /^progress\.skips: expected an array/],
    [progress([run({ reason: 'x'.repeat(65) })]), /^progress\.skips\[0\]\.reason: expected a reason of 1-64/],
    [progress([run({ reason: "'; DROP TABLE audit_skips; --" })]), /^progress\.skips\[0\]\.reason: expected a reason/],
    [progress([run({ from: 1e300 })]), /^progress\.skips\[0\]\.from: expected ms since the epoch/],
    [progress([run({ to: T })]), /^progress\.skips\[0\]\.to: must be after from$/],
    [progress([run({ count: 0 })]), /^progress\.skips\[0\]\.count: must be at least 1 \(got 0\)$/],
    [progress([run({ count: 2.5 })]), /^progress\.skips\[0\]\.count: expected an integer/],
    [progress([run({ count: 1_000_000 })]), /^progress\.skips\[0\]\.count: more windows than fit between from and to$/],
    [progress([run({ everyMs: -5 })]), /^progress\.skips\[0\]\.everyMs: must be at least 1/],
    [progress([run({ everyMs: 'x' })]), /^progress\.skips\[0\]\.everyMs: expected /],
    [progress([null]), /^progress\.skips\[0\]: expected an object/],
    [progress([run()], { cameraId: '../etc' }), /^progress\.cameraId: expected an id/],
    ['{"v":1,"skips":[', /^progress: not JSON$/],
  ];
  for (const [input, reason] of cases) {
    const r = parseWindowProgress(typeof input === 'string' ? Buffer.from(input) : input);
    assert.equal(r.ok, false, JSON.stringify(input).slice(0, 120));
    if (!r.ok) assert.match(r.reason, reason);
  }
});

test("infer's skip runs: consecutive windows of one reason are one run; another reason, a gap or a new step starts another", () => {
  const runs = new SkipRuns();
  const k = 'dock-1\u0000lane';
  const skip = (i: number, reason: string, every = 2000) => runs.add(k, T + i * every, T + i * every + 8000, every, reason);
  skip(0, 'schedule');
  skip(1, 'schedule');
  assert.deepEqual(runs.take(k), [{ reason: 'schedule', from: T, to: T + 10_000, count: 2, everyMs: 2000 }]);
  assert.equal(runs.pending(k), false);
  skip(2, 'schedule'); // the same run, grown: sent again whole (alerts merges it as a union)
  skip(4, 'schedule'); // window 3 was asked: a new run
  skip(5, 'still');
  const sent = runs.take(k);
  assert.deepEqual(sent.map((r) => [r.reason, (r.from - T) / 2000, r.count]), [['schedule', 0, 3], ['schedule', 4, 1], ['still', 5, 1]]);
  for (const r of sent) assert.ok(parseWindowProgress(progress([r])).ok, 'what infer sends passes the schema');
  runs.putBack(k, sent); // the bus did not take them
  assert.equal(runs.take(k).length, 3);
  for (let i = 0; i < 5000; i++) skip(10 + 2 * i, i % 2 ? 'still' : 'schedule'); // never contiguous: a run each
  let n = 0;
  while (runs.pending(k)) n += runs.take(k).length;
  assert.ok(n <= 4 * MAX_SKIP_RUNS, `kept ${n}`);
  assert.equal(runs.dropped, 5000 - n);
});
