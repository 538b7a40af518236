import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FairDispatcher } from '../../services/infer/src/dispatcher.ts';
import { dueWindow } from '../../services/infer/src/windows.ts';
import { FrameRing } from '../../services/infer/src/frame-ring.ts';
import type { QueryConfig } from '@vigil/config';

const q: QueryConfig = { id: 'q', cameras: ['a'], question: '?', windowMs: 4000, everyMs: 2000, alertWhen: /^yes/i, severity: 'medium' };

test('windows sit on a capture-time grid, so replays give the same windows', () => {
  assert.deepEqual(dueWindow(q, 'a', 10_500, -Infinity), { cameraId: 'a', query: q, start: 6000, end: 10_000 });
  assert.equal(dueWindow(q, 'a', 11_900, 10_000), undefined);
  assert.equal(dueWindow(q, 'a', 12_000, 10_000)?.start, 8000);
});

test('the frame ring keeps frames in order, drops duplicates and old frames', () => {
  const ring = new FrameRing(1000);
  const f = (t: number) => ({ capturedAt: t, streamTime: t / 1000, jpeg: Buffer.alloc(0) });
  ring.add([f(0), f(250), f(500)], 4);
  ring.add([f(500), f(750), f(1000), f(1250)], 4);
  assert.equal(ring.size, 5); // 0 dropped (older than 1250 - 1000)
  assert.deepEqual(ring.between(500, 1000).map((x) => x.capturedAt), [500, 750]);
});

test('dispatcher bounds concurrency, supersedes waiting jobs and serves keys round-robin', async () => {
  const order: string[] = [];
  let active = 0;
  let maxActive = 0;
  const superseded: string[] = [];
  const d = new FairDispatcher<string>(
    2,
    async (job) => {
      active++;
      maxActive = Math.max(maxActive, active);
      order.push(job);
      await new Promise((r) => setTimeout(r, 5));
      active--;
    },
    (job) => superseded.push(job),
  );
  // Camera "busy" floods; "quiet" submits once.
  for (let i = 0; i < 10; i++) d.submit(`busy-${i % 3}`, `busy-${i % 3}#${i}`);
  d.submit('quiet', 'quiet#0');
  const ranBeforeQuiet = order.length;
  // The busy cameras keep flooding while the quiet one waits.
  for (let i = 10; i < 40; i++) d.submit(`busy-${i % 3}`, `busy-${i % 3}#${i}`);
  await new Promise((r) => setTimeout(r, 150));
  await d.close();
  assert.equal(maxActive, 2);
  assert.ok(order.includes('quiet#0'), 'the quiet camera was served');
  assert.ok(superseded.length > 0, 'older waiting windows were superseded');
  // Round-robin: once waiting, the quiet camera waits for at most one job of each busy camera.
  assert.ok(order.indexOf('quiet#0') - ranBeforeQuiet <= 3, `quiet served late: ${order.join(' ')}`);
});
