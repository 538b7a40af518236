import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Authenticator } from '@vigil/edge';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { serveDashboard } from '../../services/alerts/src/dashboard.ts';
import { pickKeyFrames } from '../../services/alerts/src/evidence.ts';
import { renderTemplate, retryDelay } from '../../services/alerts/src/webhooks.ts';
import { parseAskBody, parseIncidentSearch, parseStats } from '../../services/alerts/src/params.ts';

test('templates fill string values only, as text: an answer cannot break the JSON or inject fields', () => {
  const out = renderTemplate({ text: '{{camera}}: {{answer}}', n: 3, list: ['{{query}}', true], nested: { at: '{{ started_at }}' } }, {
    camera: 'dock-1',
    answer: '", "admin": true, "x": "{{camera}}',
    query: 'q',
    started_at: 'T',
  });
  assert.deepEqual(out, { text: 'dock-1: ", "admin": true, "x": "{{camera}}', n: 3, list: ['q', true], nested: { at: 'T' } });
  assert.deepEqual(JSON.parse(JSON.stringify(out)), out);
});

test('retries back off exponentially with jitter, capped at 5 minutes', () => {
  for (let i = 0; i < 50; i++) {
    const d1 = retryDelay(1000, 1);
    const d4 = retryDelay(1000, 4);
    assert.ok(d1 >= 900 && d1 <= 1100, String(d1));
    assert.ok(d4 >= 7200 && d4 <= 8800, String(d4));
    assert.ok(retryDelay(1000, 40) <= 330_000);
  }
});

test('key frames: first, middle and last, never more than there are', () => {
  assert.deepEqual(pickKeyFrames(16, 3), [0, 8, 15]);
  assert.deepEqual(pickKeyFrames(2, 3), [0, 1]);
  assert.deepEqual(pickKeyFrames(9, 1), [4]);
  assert.deepEqual(pickKeyFrames(0, 3), []);
});

test('tokens: roles, clear messages, and an open API when none are configured', () => {
  const auth = new Authenticator([{ name: 'ops', token: 'admin-token-123456', role: 'admin' }, { name: 'wall', token: 'read-token-1234567', role: 'read' }]);
  assert.deepEqual(auth.check('Bearer admin-token-123456', 'admin'), { ok: true, principal: { name: 'ops', role: 'admin' } });
  assert.equal(auth.check('Bearer read-token-1234567', 'read').ok, true);
  assert.deepEqual(auth.check('Bearer read-token-1234567', 'admin'), { ok: false, status: 403, message: 'token "wall" has role read; this needs an admin token' });
  assert.equal((auth.check(undefined, 'read') as { status: number }).status, 401);
  assert.equal((auth.check('Basic abc def', 'read') as { message: string }).message, 'malformed Authorization header: expected "Bearer <token>"');
  assert.equal((auth.check('Bearer admin-token-12345', 'read') as { message: string }).message, 'invalid token');
  assert.equal(auth.check('read-token-1234567', 'read').ok, true, 'a bare token (Socket.IO auth.token)');
  assert.equal(new Authenticator([]).check(undefined, 'admin').ok, true);
});

test('parameters: defaults and normalisation', () => {
  const s = parseIncidentSearch(new URLSearchParams('severity=high,critical&state=open&sort=oldest&limit=10&from=2026-01-01'));
  assert.deepEqual([s.severity, s.state, s.sort, s.limit, s.from?.toISOString()], [['high', 'critical'], ['open'], 'oldest', 10, '2026-01-01T00:00:00.000Z']);
  const now = new Date('2026-02-01T00:00:00Z');
  const st = parseStats(new URLSearchParams(''), now);
  assert.deepEqual([st.bucket, st.by, st.from.toISOString()], ['hour', 'camera', '2026-01-30T00:00:00.000Z']);
  assert.equal(parseAskBody({ camera: 'a', question: 'q', window: 4000 }, new Set(['a'])).windowMs, 4000);
  assert.equal(parseAskBody({ camera: 'a', question: 'q' }, new Set(['a'])).windowMs, 8000);
});

test('before `npm run build`, the dashboard\'s paths answer 503 saying so; other paths pass through', async () => {
  const answer = async (method: string, url: string) => {
    const got: { status?: number; headers?: Record<string, string>; body?: string } = {};
    const res = {
      writeHead(status: number, headers: Record<string, string>) {
        Object.assign(got, { status, headers });
        return this;
      },
      end(body?: string) {
        got.body = body;
      },
    } as unknown as ServerResponse;
    const handled = await serveDashboard({ method, url } as IncomingMessage, res, () => false);
    return { handled, ...got };
  };
  const root = await answer('GET', '/?x=1');
  assert.equal(root.status, 503);
  assert.match(root.headers!['content-type']!, /^text\/plain/);
  assert.match(root.body!, /not built: run `npm run build`/);
  assert.equal((await answer('GET', '/app.js')).status, 503);
  assert.equal((await answer('HEAD', '/')).body, undefined);
  assert.equal((await answer('GET', '/api/incidents')).handled, false);
  assert.equal((await answer('POST', '/')).handled, false);
});

test('usage and progress recorders: a failed write keeps its rows, folded into what came meanwhile', async () => {
  const { UsageRecorder } = await import('../../services/alerts/src/usage.ts');
  const { ProgressRecorder } = await import('../../services/alerts/src/progress.ts');
  const { createLogger } = await import('@vigil/observability');
  const log = createLogger('t', { level: 'silent' });
  let fail = true;
  const usage: unknown[][] = [];
  const progress: unknown[][] = [];
  const store = {
    addModelUsage: async (rows: unknown[]) => (fail ? Promise.reject(new Error('db away')) : void usage.push(structuredClone(rows))),
    recordProgress: async (rows: unknown[]) => (fail ? Promise.reject(new Error('db away')) : void progress.push(structuredClone(rows))),
  };
  const u = new UsageRecorder(store as never, log);
  const p = new ProgressRecorder(store as never, log);
  const t = Date.UTC(2026, 10, 27, 10, 5);
  const f = (latencyMs: number, status = 'ok') => ({ cameraId: 'c', queryId: 'q', createdAt: t, status, latencyMs, usage: { promptTokens: 10, completionTokens: 2 } }) as never;
  u.add(f(100));
  u.add(f(50, 'error'));
  u.add(f(0, 'trigger')); // asked no model: not counted
  p.add({ v: 1, cameraId: 'c', queryId: 'q', through: 5000 });
  await Promise.all([u.flush(), p.flush()]); // fails: kept
  u.add(f(30));
  p.add({ v: 1, cameraId: 'c', queryId: 'q', through: 4000 }); // older than the kept one
  fail = false;
  await Promise.all([u.close(), p.close()]);
  assert.deepEqual(usage, [[{ hour: new Date(Date.UTC(2026, 10, 27, 10)), camera: 'c', query: 'q', findings: 3, errors: 1, latencyMsSum: 180, promptTokens: 30, completionTokens: 6 }]]);
  assert.deepEqual(progress, [[{ camera: 'c', query: 'q', through: 5000 }]]);
});
