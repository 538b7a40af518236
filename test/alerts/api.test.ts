import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus } from '@vigil/bus';
import { MemoryControl } from '@vigil/control';
import { queryVersion, type VigilConfig } from '@vigil/config';
import { ASK_SUBJECT, CameraLiveStatusSchema, IncidentSchema, LabelListSchema, LabelSchema, WindowPageSchema, MESSAGE_TYPE_HEADER, PROGRESS_TYPE, Topics, type CameraStatus, type Incident } from '@vigil/contracts';
import { PgDatabase, PgliteDatabase, SqlIncidentStore } from '@vigil/store';
import { startAlerts, type AlertsService } from '@vigil/alerts';
import { OPENAPI } from '../../services/alerts/src/openapi.ts';
import { checkSuite, loadSuite } from '../../src/cli/test/suite.ts';
import { routes } from '../../services/alerts/src/api.ts';
import { MODEL_STATS_PARAMS, SEARCH_PARAMS, STATS_PARAMS, UPTIME_PARAMS, WINDOW_PARAMS } from '../../services/alerts/src/params.ts';
import { configFromYaml, dropDatabase, freePort, freshDatabaseUrl, uid, waitFor } from '../helpers/env.ts';
import { capturedLogger, evidenceFrames, finding, liveClient, T0 } from './helpers.ts';

const READ = `read-token-${uid()}-xxxxxxxx`;
const ADMIN = `admin-token-${uid()}-xxxxxxx`;
const CAM_PASSWORD = `cam-secret-${uid()}`;

const yaml = (port: number, dataDir: string, extra = '') => `
site: east
model: { endpoints: [] }
data_dir: ${dataDir}
http: { port: ${port}, host: 127.0.0.1 }
cameras:
  - { id: dock-1, name: Dock one, url: "rtsp://viewer:${CAM_PASSWORD}@10.0.0.21:554/s1" }
  - { id: dock-2, url: "rtsp://10.0.0.22/s1", site: west }
queries:
  - { id: forklift, cameras: [dock-1, dock-2], question: "Is a forklift moving near a person on foot?", window: 4s, every: 2s, cooldown: 1s, severity: high }
  - { id: gate, cameras: [dock-2], question: "Is the gate open?", window: 4s, every: 4s, alert_when: { answer: yes } }
  - { id: pallets, cameras: [dock-2], question: "How many pallets?", window: 4s, every: 4s, alert_when: { json: { schema: { type: object, required: [count] }, when: { count: { gte: 3 } } } } }
alerts:
  offline_grace: 1s
  tokens:
    - { name: viewer, token: ${READ}, role: read }
    - { name: ana, token: ${ADMIN}, role: admin }
${extra}`;

describe('alerts REST, auth, evidence and live events (PostgreSQL, in-process bus)', () => {
  const dbUrl = freshDatabaseUrl();
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-alerts-'));
  const bus = new MemoryBus();
  const control = new MemoryControl();
  const logs = capturedLogger('alerts');
  let alerts: AlertsService;
  let store: SqlIncidentStore;
  let config: VigilConfig;
  let base: string;
  const H = (token: string): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});
  const get = async (path: string, token = READ) => {
    const res = await fetch(base + path, { headers: H(token) });
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, res, body: type.includes('json') ? ((await res.json()) as any) : Buffer.from(await res.arrayBuffer()) };
  };
  const post = async (path: string, body: unknown, token = ADMIN) => {
    const res = await fetch(base + path, { method: 'POST', headers: { ...H(token), 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  const del = async (path: string, token = ADMIN) => {
    const res = await fetch(base + path, { method: 'DELETE', headers: H(token) });
    return { status: res.status, body: (await res.json()) as any };
  };
  const publish = (f: ReturnType<typeof finding>) => bus.publish(Topics.findings, [{ key: f.cameraId, value: Buffer.from(JSON.stringify(f)) }]);
  const status = (cameraId: string, state: CameraStatus['state'], at: number): Promise<void> =>
    bus.publish(Topics.cameraStatus, [{ key: cameraId, value: Buffer.from(JSON.stringify({ v: 1, cameraId, state, reason: state === 'offline' ? 'connection refused' : '', at, fps: 4 })) }]);

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    store = await SqlIncidentStore.open(await PgDatabase.open(dbUrl));
    config = configFromYaml(yaml(port, dataDir));
    alerts = await startAlerts(config, { bus, store, control, logger: logs.logger, tickMs: 200 });
  });
  after(async () => {
    if (process.env.DUMP_LOGS) console.log(logs.text());
    await alerts.close();
    await store.close();
    await bus.close();
    await dropDatabase(dbUrl);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('no token → 401, unknown token → 401, read token on an admin route → 403, each with a clear message', async () => {
    const none = await get('/api/incidents', '');
    assert.equal(none.status, 401);
    assert.match(none.body.error, /missing bearer token/);
    assert.equal(none.res.headers.get('www-authenticate'), 'Bearer realm="vigil"');
    const bad = await get('/api/incidents', 'not-a-real-token-at-all');
    assert.equal(bad.status, 401);
    assert.equal(bad.body.error, 'invalid token');
    const forbidden = await post('/api/incidents/x/ack', { note: 'n' }, READ);
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.body.error, /role read; this needs an admin token/);
    assert.equal((await get('/api/incidents', READ)).status, 200);
    assert.equal((await get('/api/openapi.json', '')).status, 200, 'the API description is public');
  });

  test('the Socket.IO handshake needs a token too', async () => {
    const anon = liveClient(Number(new URL(base).port));
    const err = await new Promise<Error>((r) => anon.socket.once('connect_error', r));
    assert.match(err.message, /missing bearer token/);
    anon.socket.close();
    const ok = liveClient(Number(new URL(base).port), { token: READ });
    await new Promise((r) => ok.socket.once('connect', r as () => void));
    await waitFor('snapshot', () => ok.of('snapshot').length === 1, 5000);
    ok.socket.close();
  });

  const BAD: [string, string][] = [
    ['/api/incidents?limit=0', 'limit'],
    ['/api/incidents?limit=abc', 'limit'],
    ['/api/incidents?limit=501', 'limit'],
    ['/api/incidents?from=yesterday', 'from'],
    ['/api/incidents?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z', 'to'],
    ['/api/incidents?severity=urgent', 'severity'],
    ['/api/incidents?state=open,sleeping', 'state'],
    ['/api/incidents?sort=random', 'sort'],
    ['/api/incidents?cursor=garbage', 'cursor'],
    ['/api/incidents?cursor=%27%3B%20DROP%20TABLE', 'cursor'],
    ['/api/incidents?camera=%27%20OR%201%3D1', 'camera'],
    ['/api/incidents?colour=red', 'colour'],
    ['/api/incidents?camera=a&camera=b', 'camera'],
    [`/api/incidents?q=${'x'.repeat(501)}`, 'q'],
    ['/api/stats/incidents?bucket=week', 'bucket'],
    ['/api/stats/incidents?by=colour', 'by'],
    ['/api/stats/incidents?bucket=minute&from=2020-01-01T00:00:00Z', 'from'],
    ['/api/stats/model?metric=speed', 'metric'],
    ['/api/stats/model?bucket=minute', 'bucket'],
    ['/api/stats/model?by=severity', 'by'],
    ['/api/stats/uptime?by=camera', 'by'],
    ['/api/stats/uptime?camera=%27%20OR%201%3D1', 'camera'],
    ['/api/stats/uptime?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z', 'to'],
    ['/api/windows?verdict=maybe', 'verdict'],
    ['/api/windows?status=ok,skipped,asleep', 'status'],
    ['/api/windows?limit=501', 'limit'],
    ['/api/windows?from=tomorrow', 'from'],
    ['/api/windows?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z', 'to'],
    ['/api/windows?cursor=garbage', 'cursor'],
    ['/api/windows?cursor=eyJ0IjoieCJ9', 'cursor'],
    ['/api/windows?camera=%27%20OR%201%3D1', 'camera'],
    ['/api/windows?severity=high', 'severity'],
    ['/api/incidents/x/frames/abc.jpg', 'n'],
    ['/api/incidents/%E0%A4%A/clip.mp4', ''],
  ];
  for (const [path, param] of BAD) {
    test(`bad input ${path.slice(0, 70)} → 400 naming "${param}" (never a 500)`, async () => {
      const r = await get(path);
      if (!param) return assert.ok(r.status === 400 || r.status === 404, String(r.status));
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.param, param);
      assert.match(r.body.error, new RegExp(`^${param}: `));
    });
  }
  test('bad bodies → 400 naming the field', async () => {
    assert.equal((await post('/api/incidents/x/ack', '{not json')).body.param, 'body');
    assert.equal((await post('/api/incidents/x/ack', { note: 5 })).body.param, 'note');
    assert.equal((await post('/api/incidents/x/ack', { colour: 'red' })).body.param, 'colour');
    assert.equal((await post('/api/ask', { camera: 'dock-9', question: 'x' })).body.param, 'camera');
    assert.equal((await post('/api/ask', { camera: 'dock-1', question: '' })).body.param, 'question');
    assert.equal((await post('/api/ask', { camera: 'dock-1', question: 'q', window: '5m' })).body.param, 'window');
  });

  test('the OpenAPI document lists exactly the routes served, their query parameters and every status they return', async () => {
    const table = routes({ config: configFromYaml(yaml(1, dataDir)) } as never);
    const served = table.map((r) => `${r.method} ${r.path}`).sort();
    const documented = Object.entries(OPENAPI.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    assert.deepEqual(served, documented);
    const names = (p: string) => ((OPENAPI.paths as any)[p].get.parameters as { name: string; in: string }[]).filter((x) => x.in === 'query').map((x) => x.name).sort();
    assert.deepEqual(names('/api/incidents'), [...SEARCH_PARAMS].sort());
    assert.deepEqual(names('/api/stats/incidents'), [...STATS_PARAMS].sort());
    assert.deepEqual(names('/api/stats/model'), [...MODEL_STATS_PARAMS].sort());
    assert.deepEqual(names('/api/stats/uptime'), [...UPTIME_PARAMS].sort());
    assert.deepEqual(names('/api/windows'), [...WINDOW_PARAMS].sort());
    // Call each route (good and bad) and check the status it returns is documented.
    const calls: [string, string, unknown?][] = [
      ['GET', '/api/openapi.json'], ['GET', '/api/incidents'], ['GET', '/api/incidents?limit=0'], ['GET', '/api/incidents/nope'],
      ['POST', '/api/incidents/nope/ack', {}], ['POST', '/api/incidents/nope/resolve', {}], ['GET', '/api/incidents/nope/frames/0.jpg'],
      ['GET', '/api/incidents/nope/clip.mp4'], ['GET', '/api/stats/incidents'], ['GET', '/api/stats/incidents?by=x'], ['GET', '/api/cameras'],
      ['GET', '/api/stats/model'], ['GET', '/api/stats/model?metric=x'], ['GET', '/api/stats/uptime'], ['GET', '/api/stats/uptime?bucket=x'],
      ['GET', '/api/cameras/dock-1'], ['GET', '/api/cameras/nope'], ['GET', '/api/queries'], ['GET', '/api/windows'], ['GET', '/api/windows?status=x'], ['POST', '/api/ask', { camera: 'dock-1', question: 'Anyone there?' }],
    ];
    for (const [method, path, body] of calls) {
      const res = await fetch(base + path, { method, headers: { ...H(ADMIN), 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      await res.arrayBuffer();
      const template = table.find((r) => r.method === method && new RegExp(`^${r.path.replace(/\./g, '\\.').replace(/\{\w+\}/g, '[^/]+')}$`).test(path.split('?')[0]!))!.path;
      const responses = (OPENAPI.paths as any)[template][method.toLowerCase()].responses;
      assert.ok(String(res.status) in responses, `${method} ${path} returned ${res.status}, not documented for ${template}`);
    }
    const unknown = await get('/api/nothing-here');
    assert.equal(unknown.status, 404);
    const wrongMethod = await fetch(base + '/api/incidents', { method: 'DELETE', headers: H(ADMIN) });
    assert.equal(wrongMethod.status, 405);
  });

  test('cameras show config and live status without credentials; queries show their settings', async () => {
    await status('dock-2', 'online', Date.now());
    const cams = await waitFor('dock-2 status', async () => {
      const r = (await get('/api/cameras')).body as any[];
      return r.find((c) => c.id === 'dock-2')?.status ? r : undefined;
    }, 5000);
    const text = JSON.stringify(cams);
    assert.ok(!text.includes(CAM_PASSWORD), 'no camera password in /api/cameras');
    const dock1 = cams.find((c) => c.id === 'dock-1');
    assert.deepEqual([dock1.name, dock1.site, dock1.queries], ['Dock one', 'east', ['forklift']]);
    assert.equal(cams.find((c) => c.id === 'dock-2').status.state, 'online');
    // The status is the CameraStatus component of the OpenAPI document (built from this schema).
    assert.ok(CameraLiveStatusSchema.safeParse(cams.find((c) => c.id === 'dock-2').status).success);
    const [q, gate, pallets] = (await get('/api/queries')).body as any[];
    assert.deepEqual([q.id, q.cooldown_ms, q.severity, q.window_ms, q.shadow], ['forklift', 1000, 'high', 4000, null]);
    assert.equal(q.version, queryVersion(config.queries[0]!), 'each query says its current version');
    // alert_when as the config writes it: the default regex, a yes/no choice, a JSON rule.
    assert.deepEqual([q.alert_when, gate.alert_when, pallets.alert_when], ['^\\s*yes', { answer: 'yes' }, { json: { schema: { type: 'object', required: ['count'] }, when: { count: { gte: 3 } } } }]);
  });

  test('a positive finding becomes a live incident with key frames and an H.264 clip; more within the cooldown extend it', async () => {
    const port = Number(new URL(base).port);
    const all = liveClient(port, { token: READ });
    const onlyDock2 = liveClient(port, { token: READ, cameras: ['dock-2'] });
    const westSite = liveClient(port, { token: READ, sites: ['west'] });
    await waitFor('snapshots', () => all.of('snapshot').length && onlyDock2.of('snapshot').length && westSite.of('snapshot').length, 5000);
    // Capture times of now: the 1 s cooldown runs from the window's end, ~4.75 s from now.
    const start = Date.now();
    const version = queryVersion(config.queries[0]!);
    const f0 = { ...finding('dock-1', 0, 'Yes, a forklift passes a worker.', { windowStart: start }), evidenceFrames: evidenceFrames(start), queryVersion: version };
    await publish(f0);
    const announced: Incident = await waitFor('incident:new', () => all.of('incident:new', (i) => i.camera === 'dock-1')[0], 20_000);
    assert.equal(announced.id, f0.id);
    assert.equal(announced.site, 'east');
    assert.equal(announced.severity, 'high');
    assert.equal(announced.query_version, version, 'the incident records the version of the query that opened it');
    // Announced at once; the evidence (an ffmpeg run for the clip) follows as an update.
    const created: Incident = await waitFor('evidence', () => all.of('incident:update', (i) => i.id === f0.id && i.evidence.frames.length > 0)[0], 20_000);
    assert.equal(created.evidence.frames.length, 3, 'first, middle and last frame');
    assert.equal(created.evidence.clip_url, `/api/incidents/${f0.id}/clip.mp4`);
    const frame = await get(created.evidence.frames[2]!.url);
    assert.equal(frame.status, 200);
    assert.equal(frame.res.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual([...(frame.body as Buffer).subarray(0, 2)], [0xff, 0xd8]);
    assert.equal((await get(`/api/incidents/${f0.id}/frames/9.jpg`)).status, 404);
    const clip = await get(created.evidence.clip_url!);
    assert.equal(clip.status, 200);
    const clipPath = join(dataDir, 'clip-check.mp4');
    (await import('node:fs')).writeFileSync(clipPath, clip.body as Buffer);
    const probe = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,nb_frames', '-of', 'csv=p=0', clipPath]).toString().trim();
    assert.equal(probe, 'h264,8');
    const part = await fetch(base + created.evidence.clip_url!, { headers: { ...H(READ), range: 'bytes=0-99' } });
    assert.equal(part.status, 206);
    assert.equal((await part.arrayBuffer()).byteLength, 100);

    // The query changed (a reload) while the episode went on: the later window's version wins.
    const f1 = { ...finding('dock-1', 1, 'Yes, still there.', { windowStart: start }), evidenceFrames: evidenceFrames(start + 2000), queryVersion: 'ffff00000001' };
    await publish(f1);
    const updated: Incident = await waitFor('incident:update', () => all.of('incident:update', (i) => i.id === f0.id && i.findings === 2 && i.evidence.frames.length === 6)[0], 10_000);
    assert.equal(updated.answer, 'Yes, still there.');
    assert.equal(updated.evidence.frames.length, 6);
    assert.equal(updated.query_version, 'ffff00000001');
    // Rooms: the dock-2 and west-site followers heard nothing about dock-1 (site east).
    assert.equal(onlyDock2.of('incident:new').length + westSite.of('incident:new').length, 0);
    const f2 = finding('dock-2', 0, 'Yes, on dock 2.', { windowStart: start });
    await publish(f2);
    await waitFor('dock-2 incident on the camera room', () => onlyDock2.of('incident:new', (i) => i.id === f2.id).length === 1, 10_000);
    await waitFor('dock-2 incident on the site room', () => westSite.of('incident:new', (i) => i.id === f2.id).length === 1, 10_000);
    // The cooldown (1 s) passes quietly by capture time — infer reports every later window
    // decided, none positive — so the sweep closes both, and says so live.
    for (const camera of ['dock-1', 'dock-2']) {
      const progress = { v: 1, cameraId: camera, queryId: 'forklift', through: start + 60_000 };
      await bus.publish(Topics.findings, [{ key: camera, value: Buffer.from(JSON.stringify(progress)), headers: { [MESSAGE_TYPE_HEADER]: PROGRESS_TYPE } }]);
    }
    const closed: Incident = await waitFor('incident:close', () => all.of('incident:close', (i) => i.id === f0.id)[0], 10_000);
    assert.equal(closed.state, 'closed');
    assert.ok(closed.closed_at);
    for (const c of [all, onlyDock2, westSite]) c.socket.close();
    // Search finds it by text, with a highlight.
    const found = (await get('/api/incidents?q=forklift%20worker&camera=dock-1')).body;
    assert.ok(found.items.some((i: Incident) => i.id === f0.id && /<mark>/.test(i.highlight ?? '')));
    // What the API returns is the Incident of the OpenAPI document (built from IncidentSchema).
    const one = (await get(`/api/incidents/${f0.id}`)).body;
    for (const i of [...found.items, one]) {
      const r = IncidentSchema.safeParse(i);
      assert.ok(r.success, r.success ? '' : JSON.stringify(r.error.issues));
    }
    assert.ok(Array.isArray(one.deliveries));
  });

  test('acknowledge and resolve record who (the token name), when and the note', async () => {
    const [inc] = (await get('/api/incidents?camera=dock-1&limit=1')).body.items as Incident[];
    const acked = await post(`/api/incidents/${inc!.id}/ack`, { note: 'on my way', by: 'ignored when tokens are on' });
    assert.equal(acked.status, 200);
    assert.deepEqual([acked.body.state, acked.body.acknowledged.by, acked.body.acknowledged.note], ['acknowledged', 'ana', 'on my way']);
    assert.equal((await post(`/api/incidents/${inc!.id}/ack`, {})).status, 409);
    const resolved = await post(`/api/incidents/${inc!.id}/resolve`, { note: 'moved the pallet' });
    assert.deepEqual([resolved.body.state, resolved.body.resolved.note], ['resolved', 'moved the pallet']);
    assert.equal((await post('/api/incidents/does-not-exist/resolve', {})).status, 404);
    const resolvedOnly = (await get('/api/incidents?state=resolved')).body.items as Incident[];
    assert.deepEqual(resolvedOnly.map((i) => i.id), [inc!.id]);
  });

  test('a camera offline beyond its grace is an incident of its own, closed when it is back; new connections get a snapshot', async () => {
    const port = Number(new URL(base).port);
    await status('dock-1', 'offline', Date.now());
    const live = liveClient(port, { token: READ });
    const off: Incident = await waitFor('offline incident', () => live.of('incident:new', (i) => i.kind === 'camera-offline' && i.camera === 'dock-1')[0], 10_000);
    assert.match(off.answer, /connection refused/);
    const late = liveClient(port, { token: READ });
    const snap = await waitFor('snapshot', () => late.of('snapshot')[0], 5000);
    assert.ok(snap.incidents.some((i: Incident) => i.id === off.id), 'active incidents in the snapshot');
    assert.equal(snap.cameras.find((c: { camera: string }) => c.camera === 'dock-1').state, 'offline');
    await status('dock-1', 'online', Date.now());
    await waitFor('camera:status online', () => live.of('camera:status', (s) => s.camera === 'dock-1' && s.state === 'online').length, 5000);
    const closed: Incident = await waitFor('offline closed', () => live.of('incident:close', (i) => i.id === off.id)[0], 5000);
    assert.ok(closed.closed_at);
    live.socket.close();
    late.socket.close();
  });

  test('stats count incidents per hour and camera', async () => {
    const r = (await get('/api/stats/incidents?bucket=hour&by=camera')).body;
    const dock1 = r.series.find((s: { key: string }) => s.key === 'dock-1');
    assert.ok(dock1.points.reduce((a: number, p: { count: number }) => a + p.count, 0) >= 2);
  });

  test('the window audit: every finding (yes or no, ok or error) and the skip runs on progress, one timeline paged by cursor', async () => {
    const t0 = Math.floor(Date.now() / 2000) * 2000 - 60_000;
    const w = (i: number, answer: string, opts: Parameters<typeof finding>[3]) => finding('dock-1', i, answer, { windowStart: t0, queryId: 'audit-q', queryVersion: 'abcdef12', ...opts });
    await publish(w(0, 'No, the lane is empty.', { verdict: false }));
    await publish(w(1, 'Yes, a forklift is beside a worker.', {}));
    await publish(w(5, '', { verdict: false, status: 'error', error: 'HTTP 500', latencyMs: 30_000 }));
    await publish(w(0, 'No, the lane is empty.', { verdict: false })); // redelivered
    const progress = (through: number, skips: unknown[]) =>
      bus.publish(Topics.findings, [{ key: 'dock-1', value: Buffer.from(JSON.stringify({ v: 1, cameraId: 'dock-1', queryId: 'audit-q', through, skips })), headers: { [MESSAGE_TYPE_HEADER]: PROGRESS_TYPE } }]);
    const run = (k: number, count: number, reason: string) => ({ reason, from: t0 + k * 2000, to: t0 + (k + count - 1) * 2000 + 3750, count, everyMs: 2000 });
    await progress(t0 + 4 * 2000, [run(2, 1, 'still')]);
    await progress(t0 + 5 * 2000, [run(2, 2, 'still'), run(4, 1, 'budget_camera')]);
    await progress(t0 + 9 * 2000, [run(6, 3, 'schedule')]);
    const page = async (q: string) => {
      const r = await get(`/api/windows?camera=dock-1&query=audit-q${q}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return WindowPageSchema.parse(r.body);
    };
    const items = await waitFor('every window in the audit', async () => {
      const p = await page('&limit=50');
      return p.items.length === 6 ? p.items : undefined;
    }, 5000);
    const label = (i: (typeof items)[number]) => (i.kind === 'asked' ? `${i.status}:${i.verdict}` : `${i.reason}×${i.count}`);
    assert.deepEqual(items.map(label), ['ok:false', 'ok:true', 'still×2', 'budget_camera×1', 'error:false', 'schedule×3']);
    const error = items[4]!;
    assert.ok(error.kind === 'asked');
    assert.deepEqual([error.error, error.latency_ms, error.query_version, error.model], ['HTTP 500', 30_000, 'abcdef12', 'nvidia/cosmos-reason1-7b']);
    // Page by one: the same six, in the same order, and the last page says so.
    const paged: string[] = [];
    let cursor = '';
    for (let n = 0; n < 10; n++) {
      const p = await page(`&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      paged.push(...p.items.map(label));
      if (!p.next_cursor) break;
      cursor = p.next_cursor;
    }
    assert.deepEqual(paged, items.map(label));
    assert.deepEqual((await page('&verdict=true')).items.map(label), ['ok:true']);
    assert.deepEqual((await page('&status=error,skipped')).items.map(label), ['still×2', 'budget_camera×1', 'error:false', 'schedule×3']);
    assert.deepEqual((await page('&q=empty')).items.map(label), ['ok:false']); // the answer (every reasoning here mentions the forklift)
    assert.equal((await page('&q=forklift')).items.length, 3, 'and the reasoning');
    assert.deepEqual((await page(`&from=${new Date(t0 + 12_000).toISOString()}&to=${new Date(t0 + 13_000).toISOString()}`)).items.map(label), ['error:false', 'schedule×3']);
    // A hostile progress message is refused (dead letter), not stored, and the consumer goes on.
    await progress(t0 + 10 * 2000, Array.from({ length: 300 }, (_, k) => run(20 + k, 1, 'still')));
    await progress(t0 + 10 * 2000, [run(9, 1, 'still')]);
    await waitFor('the next run stored', async () => ((await page('&status=skipped')).items.length === 4 ? true : undefined), 5000);
  });

  test('operator labels: a false positive and a missed span, by the token name; listed, exported as a suite the loader accepts, deleted; bad input is a 400, read tokens may not write', async () => {
    const inc = (await get('/api/incidents?camera=dock-1&query=forklift&limit=1')).body.items[0] as Incident;
    assert.ok(inc, 'an incident from the tests above');
    const fp = await post('/api/labels', { kind: 'false_positive', incident: inc.id, note: 'a shadow\nnot a forklift' });
    assert.equal(fp.status, 201, JSON.stringify(fp.body));
    const fpLabel = LabelSchema.parse(fp.body);
    assert.deepEqual([fpLabel.kind, fpLabel.camera, fpLabel.query, fpLabel.from, fpLabel.to, fpLabel.incident, fpLabel.by], ['false_positive', 'dock-1', 'forklift', inc.started_at, inc.ended_at, inc.id, 'ana']);
    const from = new Date(Date.now() - 600_000).toISOString();
    const to = new Date(Date.now() - 540_000).toISOString();
    const missed = await post('/api/labels', { kind: 'missed', camera: 'dock-1', query: 'forklift', from, to, by: 'mallory' });
    assert.equal(missed.status, 201);
    assert.equal(missed.body.by, 'ana', 'with tokens on, `by` in the body is not believed');
    // Bad input: a 400 naming the field; a read token: 403; no incident: 404.
    const bad: [unknown, string][] = [
      [{ kind: 'missed', camera: 'dock-1', query: 'forklift', from: to, to: from }, 'to'],
      [{ kind: 'missed', camera: 'dock-1', query: 'forklift', from: '2026-01-01T00:00:00Z', to: '2026-01-03T00:00:00Z' }, 'to'],
      [{ kind: 'missed', camera: "' OR 1=1", query: 'forklift', from, to }, 'camera'],
      [{ kind: 'missed', camera: 'dock-1', query: 'forklift', from: 'yesterday', to }, 'from'],
      [{ kind: 'wrong', incident: inc.id }, 'kind'],
      [{ kind: 'false_positive', incident: inc.id, note: 'x'.repeat(2001) }, 'note'],
      [{ kind: 'false_positive', incident: inc.id, colour: 'red' }, 'colour'],
      [[1, 2], 'body'],
    ];
    for (const [body, param] of bad) {
      const r = await post('/api/labels', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.param, param, `${JSON.stringify(body)} → ${JSON.stringify(r.body)}`);
      assert.ok(r.body.error.length > 5);
    }
    assert.equal((await post('/api/labels', { kind: 'false_positive', incident: 'no-such-incident' })).status, 404);
    assert.equal((await post('/api/labels', { kind: 'missed', camera: 'dock-1', query: 'forklift', from, to }, READ)).status, 403);
    assert.equal((await post('/api/labels', { kind: 'missed', camera: 'dock-1', query: 'forklift', from, to }, '')).status, 401);
    // Listed by camera, query and range, for a read token.
    const list = await get(`/api/labels?camera=dock-1&query=forklift`);
    assert.equal(list.status, 200);
    assert.deepEqual(LabelListSchema.parse(list.body).items.map((l) => l.id).sort(), [fpLabel.id, missed.body.id].sort());
    assert.deepEqual((await get(`/api/labels?camera=dock-1&from=${from}&to=${to}`)).body.items.map((l: { id: string }) => l.id), [missed.body.id]);
    assert.equal((await get('/api/labels?camera=dock-2')).body.items.length, 0);
    assert.equal((await get('/api/labels?from=soon')).body.param, 'from');
    assert.equal((await get('/api/labels?colour=red')).body.param, 'colour');
    // The suite skeleton: the real loader accepts it once its clips and config exist.
    const suite = await get('/api/labels/suite?camera=dock-1&query=forklift');
    assert.equal(suite.status, 200);
    assert.match(suite.res.headers.get('content-type') ?? '', /yaml/);
    const yamlText = (suite.body as Buffer).toString();
    assert.match(yamlText, /Clips are not retained yet/);
    assert.match(yamlText, /a shadow not a forklift/, 'the note, on one line');
    const dir = mkdtempSync(join(tmpdir(), 'vigil-label-suite-'));
    try {
      writeFileSync(join(dir, 'suite.yaml'), yamlText);
      writeFileSync(join(dir, 'vigil.yaml'), '');
      mkdirSync(join(dir, 'clips'));
      for (const m of yamlText.matchAll(/clip: "\.\/clips\/([^"]+)"/g)) writeFileSync(join(dir, 'clips', m[1]!), '');
      const loaded = loadSuite(join(dir, 'suite.yaml'));
      checkSuite(loaded, config);
      const byStart = (ms: number) => loaded.cases.find((c) => c.start === ms)!;
      const fpCase = byStart(Date.parse(inc.started_at) - 30_000);
      assert.deepEqual([fpCase.camera, fpCase.expect], ['dock-1', { forklift: [] }], 'a false positive: the query must not fire');
      const missedCase = byStart(Date.parse(from) - 30_000);
      assert.deepEqual(missedCase.expect, { forklift: [[30_000, 90_000]] }, 'a miss: the query must fire in the span');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Deleted by an admin only, once.
    assert.equal((await del(`/api/labels/${fpLabel.id}`, READ)).status, 403);
    assert.equal((await del(`/api/labels/${fpLabel.id}`)).status, 200);
    assert.equal((await del(`/api/labels/${fpLabel.id}`)).status, 404);
    assert.equal((await del('/api/labels/drop%20table')).status, 400);
    assert.deepEqual((await get('/api/labels?camera=dock-1')).body.items.map((l: { id: string }) => l.id), [missed.body.id]);
  });

  test('model latency and tokens per hour from every finding (positive or not); camera uptime from its states', async () => {
    const now = Date.now();
    const hour = new Date(Math.floor(now / 3_600_000) * 3_600_000).toISOString();
    const usage = { promptTokens: 4000, completionTokens: 250 };
    await publish(finding('dock-2', 40, 'No.', { queryId: 'usage-q', verdict: false, latencyMs: 900, usage, createdAt: now }));
    await publish(finding('dock-2', 41, 'No.', { queryId: 'usage-q', verdict: false, latencyMs: 1100, usage, createdAt: now }));
    await publish(finding('dock-2', 42, '', { queryId: 'usage-q', verdict: false, status: 'error', error: 'HTTP 500', latencyMs: 2000, usage: { promptTokens: 0, completionTokens: 0 }, createdAt: now }));
    const series = await waitFor('usage stored', async () => {
      const r = (await get('/api/stats/model?metric=tokens&by=query')).body;
      return r.series.find((x: { key: string }) => x.key === 'usage-q');
    }, 5000);
    assert.deepEqual(series.points, [{ t: hour, value: 8500 }]);
    const latency = (await get('/api/stats/model?metric=latency_ms&by=camera&query=usage-q')).body;
    assert.deepEqual(latency.series, [{ key: 'dock-2', points: [{ t: hour, value: 1333 }] }]);
    assert.equal((await get('/api/stats/model?metric=errors&query=usage-q')).body.series[0].points[0].value, 1);

    // dock-2 has been online since an earlier test: one second offline now shows below 100%.
    const t0 = Date.now();
    await status('dock-2', 'offline', t0);
    await new Promise((r) => setTimeout(r, 1000));
    await status('dock-2', 'online', t0 + 1000);
    const up = await waitFor('uptime', async () => {
      const r = (await get('/api/stats/uptime?camera=dock-2&bucket=day')).body;
      const v = r.series[0]?.points.at(-1)?.value;
      return v !== undefined && v < 100 ? r.series[0] : undefined;
    }, 5000);
    assert.equal(up.key, 'dock-2');
    assert.ok(up.points.at(-1).value > 0);
  });

  test('POST /api/ask forwards to infer over the control plane; without a responder it is a 503', async () => {
    assert.equal((await post('/api/ask', { camera: 'dock-1', question: 'Is the door open?' })).status, 503);
    const stop = control.respond(ASK_SUBJECT, async (req) => {
      const r = req as { cameraId: string; question: string; windowMs: number };
      return { v: 1, cameraId: r.cameraId, question: r.question, answer: `yes (${r.windowMs} ms)`, reasoning: '', windowStart: T0, windowEnd: T0 + r.windowMs, model: 'm', latencyMs: 1 };
    });
    const r = await post('/api/ask', { camera: 'dock-1', question: 'Is the door open?', window: '4s' });
    stop();
    assert.equal(r.status, 200);
    assert.equal(r.body.answer, 'yes (4000 ms)');
    // infer's reply is checked against AskReplySchema before it is passed on.
    const stopBad = control.respond(ASK_SUBJECT, async () => ({ v: 1, answer: 42 }));
    const bad = await post('/api/ask', { camera: 'dock-1', question: 'Is the door open?' });
    stopBad();
    assert.equal(bad.status, 502);
    assert.match(bad.body.error, /askReply\.cameraId: is required/);
  });

  test('no token, camera password or webhook secret ever reaches the logs', () => {
    const text = logs.text();
    assert.ok(text.length > 0);
    for (const secret of [READ, ADMIN, CAM_PASSWORD]) assert.ok(!text.includes(secret), 'secret in logs');
  });
});

test('standalone (PGlite): evidence retention by size deletes the oldest evidence first and keeps the text', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-retention-'));
  const port = await freePort();
  const config = configFromYaml(yaml(port, dataDir, '  evidence: { max_size: 2KB, clip: false, key_frames: 2 }'));
  const bus = new MemoryBus();
  const store = await SqlIncidentStore.open(await PgliteDatabase.open());
  const alerts = await startAlerts(config, { bus, store, tickMs: 200, logger: capturedLogger('alerts').logger });
  try {
    const start = Date.now() - 60_000;
    // Three episodes (30 s apart, cooldown 1 s), each with 2 key frames of ~700 bytes.
    for (const k of [0, 15, 30]) {
      const f = { ...finding('dock-1', k, 'Yes.', { windowStart: start }), evidenceFrames: evidenceFrames(start + k * 2000, 4) };
      await bus.publish(Topics.findings, [{ key: 'dock-1', value: Buffer.from(JSON.stringify(f)) }]);
    }
    const all = await waitFor('three incidents', async () => {
      const items = (await store.search({ camera: 'dock-1', limit: 10, sort: 'oldest' })).items;
      return items.length === 3 && items.every((i) => i.evidence.frames.length > 0 || i.evidence.deleted_at) ? items : undefined;
    }, 15_000);
    const after = await waitFor('retention under the cap', async () => ((await store.evidenceBytes()) <= 2048 ? (await store.search({ camera: 'dock-1', limit: 10, sort: 'oldest' })).items : undefined), 10_000);
    assert.ok(after[0]!.evidence.deleted_at, 'the oldest lost its evidence');
    assert.equal(after[2]!.evidence.deleted_at, null, 'the newest kept its evidence');
    assert.equal(after[0]!.answer, 'Yes.', 'incident text kept');
    assert.equal(existsSync(join(dataDir, 'evidence', all[0]!.id.slice(0, 2), all[0]!.id)), false, 'files deleted');
    assert.ok(readdirSync(join(dataDir, 'evidence')).length > 0);
  } finally {
    await alerts.close();
    await store.close();
    await bus.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
