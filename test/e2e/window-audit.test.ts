import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WindowPageSchema, type WindowItem } from '@vigil/contracts';
import { uid, waitFor } from '../helpers/env.ts';
import { startStandaloneStack, type StandaloneStack } from '../helpers/standalone-stack.ts';

/**
 * The window audit end to end (standalone: in-process bus, PGlite): one still camera with a
 * token budget of one token an hour and three queries — asked until the budget is spent, then
 * skipped for it; scheduled on other days only (skipped by schedule); a motion trigger on a
 * picture that does not move. Every window shows in GET /api/windows, the skips as runs.
 */
const id = uid();
const cam = `yard-${id}`;
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
let stack: StandaloneStack;

before(async () => {
  const otherDays = DAYS.filter((_, i) => i !== new Date().getUTCDay());
  stack = await startStandaloneStack({
    id,
    camera: cam,
    sim: { movingBox: false },
    modelExtra: '  budget: { camera_tokens_per_hour: 1 }',
    yaml: (cameraUrl) => `
cameras:
  - { id: ${cam}, url: "${cameraUrl}", transport: tcp }
queries:
  - { id: lane, cameras: [${cam}], question: "Is there a red object in view?", window: 2s, every: 2s }
  - { id: night, cameras: [${cam}], question: "Is anyone there?", window: 2s, every: 2s, schedule: { timezone: UTC, days: [${otherDays.join(', ')}] } }
  - { id: moves, cameras: [${cam}], question: "What moved?", window: 2s, every: 2s, trigger: { type: motion } }
`,
  });
});

after(async () => {
  await stack?.close();
});

/** Every item for the camera and query, page by page (3 a page: the cursor is exercised). */
async function timeline(query: string, extra = ''): Promise<WindowItem[]> {
  const out: WindowItem[] = [];
  let cursor = '';
  for (let n = 0; n < 200; n++) {
    const res = await fetch(`http://127.0.0.1:${stack.alerts.port}/api/windows?camera=${cam}&query=${query}&limit=3${extra}${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200);
    const page = WindowPageSchema.parse(await res.json());
    out.push(...page.items);
    if (!page.next_cursor) return out;
    cursor = page.next_cursor;
  }
  throw new Error('paging never ended');
}
const skipped = (items: WindowItem[]) => items.filter((i) => i.kind === 'skipped');

test('asked windows, then budget skips; schedule skips; trigger skips — all in the audit, skips as runs', async () => {
  // The lane query: asked (an "ok" answer, positive or not), then skipped for the spent budget.
  const lane = await waitFor('lane asked, then skipped for the budget', async () => {
    const items = await timeline('lane');
    return items.some((i) => i.kind === 'asked') && skipped(items).some((s) => s.kind === 'skipped' && s.reason === 'budget_camera' && s.count >= 2) ? items : undefined;
  }, 60_000, 500);
  const asked = lane.find((i) => i.kind === 'asked')!;
  assert.ok(asked.kind === 'asked');
  assert.equal(asked.status, 'ok');
  assert.match(asked.answer, /red object/i);
  assert.ok(asked.prompt_tokens > 0 && asked.latency_ms >= 0 && asked.frames > 0);
  assert.match(asked.query_version ?? '', /^[0-9a-f]+$/);
  // Starts are in order and runs do not repeat a window: merged, not a row per window.
  const starts = lane.map((i) => Date.parse(i.start));
  assert.deepEqual(starts, [...starts].sort((a, b) => a - b));
  const budget = skipped(lane).filter((s) => s.kind === 'skipped' && s.reason === 'budget_camera');
  assert.ok(budget.length < budget.reduce((n, s) => n + (s.kind === 'skipped' ? s.count : 0), 0), 'several windows per run');
  // The night query: every window skipped by its schedule, as a growing run.
  const night = await waitFor('night skipped by schedule', async () => {
    const items = await timeline('night');
    return skipped(items).some((s) => s.kind === 'skipped' && s.reason === 'schedule' && s.count >= 3) ? items : undefined;
  }, 30_000, 500);
  assert.ok(night.every((i) => i.kind === 'skipped'), 'never asked');
  // The motion trigger on a still picture: skipped by the trigger (or, had it fired, by the budget).
  const moves = await waitFor('moves skipped by its trigger', async () => {
    const items = await timeline('moves');
    return skipped(items).some((s) => s.kind === 'skipped' && ['still', 'ongoing', 'no_analytics'].includes(s.reason)) ? items : undefined;
  }, 30_000, 500);
  assert.ok(skipped(moves).length > 0);
  // Filters: only the skip runs; only the answers.
  assert.ok((await timeline('lane', '&status=skipped')).every((i) => i.kind === 'skipped'));
  assert.ok((await timeline('lane', '&status=ok')).every((i) => i.kind === 'asked'));
});
