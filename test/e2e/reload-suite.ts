import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import { queryVersion, parseConfig } from '@vigil/config';
import type { Incident } from '@vigil/contracts';
import { startModelServer, type ModelServer } from '../fixtures/model-server.ts';
import { startCameraSim, startRtspServer, type CameraSim, type RtspServer } from '../fixtures/camera-sim.ts';
import { KAFKA, dropDatabase, freePort, freshDatabaseUrl, metricSum, uid, waitFor } from '../helpers/env.ts';
import { rawUpgrade } from '../security/stack-harness.ts';

/**
 * Live reload as a user does it: `vigil run` on a YAML file, then the file edited while it
 * runs. Distributed: ingest, infer and alerts as three processes on Kafka, PostgreSQL, Redis
 * and NATS, each following the file. Standalone: one process on embedded parts.
 */
export function reloadSuite(mode: 'distributed' | 'standalone'): void {
  const id = uid();
  const dock = `dock-${id}`;
  const gate = `gate-${id}`;
  const ADMIN = `admin-token-${id}-reload`;
  const TEMP = `temp-token-${id}-reload`;
  const QUESTION = 'Is there a red object in view?';
  const EDITED = 'Is a red object visible right now?';

  let model: ModelServer;
  let rtsp: RtspServer;
  let hook: Server;
  let gateUdp = 0;
  const sims: CameraSim[] = [];
  const procs: { name: string; child: ChildProcess; out: string[] }[] = [];
  const hooks: { event: string; camera: string; query: string }[] = [];
  let dir = '';
  let file = '';
  let dbUrl = '';
  let ports = { http: 0, ingest: 0, infer: 0 };
  let socket: Socket;
  const received: Incident[] = [];
  const base = () => `http://127.0.0.1:${ports.http}`;
  const H = { authorization: `Bearer ${ADMIN}` };

  const yaml = (o: { gate: boolean; question?: string; temp?: boolean; broken?: boolean }) => `
site: reload
model: { endpoints: ["${model.url}"], timeout: 20s }
${mode === 'standalone' ? `data_dir: "${join(dir, 'data')}"` : `data_dir: "${join(dir, 'data')}"
kafka: { brokers: ["${KAFKA}"], client_id: reload-${id} }
postgres: { url: "${dbUrl}" }
redis: { url: "redis://127.0.0.1:6379", prefix: "reload-${id}:" }
nats: { url: "nats://127.0.0.1:4222" }`}
http: { port: ${ports.http}, host: 127.0.0.1 }
ingest: { metrics_port: ${ports.ingest} }
infer: { metrics_port: ${ports.infer} }
cameras:
  - { id: ${dock}, url: "${rtsp.url(dock)}", transport: tcp, width: 320 }
${o.gate ? `  - { id: ${gate}, url: "${rtsp.url(gate)}", transport: tcp, width: 320 }` : ''}
queries:
  - { id: dock-watch, cameras: [${dock}], question: "What is happening?", window: 4s, every: 4s, alert_when: "^\\\\s*never" }
${o.gate ? `  - { id: gate-red, cameras: [${gate}], question: "${o.question ?? QUESTION}", window: 4s, every: 2s, alert_when: "^\\\\s*yes", cooldown: 30s }` : ''}
alerts:
  offline_grace: 2s
  tokens:
    - { name: ops, token: ${ADMIN}, role: admin }
${o.temp ? `    - { name: visitor, token: ${TEMP}, role: read }` : ''}
  webhooks:
    - { id: hook, url: "http://127.0.0.1:${(hook.address() as { port: number }).port}/h", events: [open, camera-offline] }
${o.broken ? 'oops: [' : ''}`;

  const write = (o: Parameters<typeof yaml>[0]) => writeFileSync(file, yaml(o));

  const run = (name: string, args: string[]) => {
    const child = spawn(process.execPath, ['bin/vigil.js', 'run', '--config', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VIGIL_LOG_LEVEL: 'info' } });
    const out: string[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
    procs.push({ name, child, out });
  };
  const logs = () => procs.map((p) => `--- ${p.name}\n${p.out.join('').slice(-3000)}`).join('\n');
  const metrics = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: H })).text();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-reload-'));
    file = join(dir, 'vigil.yaml');
    model = await startModelServer();
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', () => {
        const b = JSON.parse(body) as { event: string; incident: Incident };
        hooks.push({ event: b.event, camera: b.incident.camera, query: b.incident.query });
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
    const [rtspPort, dockUdp] = [await freePort(), await freePort()];
    gateUdp = await freePort();
    rtsp = await startRtspServer({ port: rtspPort, mounts: { [dock]: dockUdp, [gate]: gateUdp } });
    sims.push(await startCameraSim({ name: dock, udpPort: dockUdp, width: 640, height: 360, fps: 10 }));
    ports = { http: await freePort(), ingest: await freePort(), infer: await freePort() };
    if (mode === 'distributed') dbUrl = freshDatabaseUrl();
    write({ gate: false, temp: true });
    if (mode === 'standalone') run('vigil', []);
    else for (const s of ['alerts', 'infer', 'ingest']) run(s, ['--service', s]);
    await waitFor('the stack to serve', async () => (await fetch(`${base()}/healthz`, { headers: H }).catch(() => undefined))?.status === 200, 90_000, 500).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${logs()}`);
    });
    socket = connect(base(), { transports: ['websocket'], auth: { token: ADMIN } });
    socket.on('incident:new', (i: Incident) => received.push(i));
    await waitFor('socket connection', () => socket.connected, 10_000);
    await waitFor('the dock camera asked', () => model.requests.some((r) => r.question.includes('What is happening?')), 60_000);
  });

  after(async () => {
    socket?.close();
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.child.exitCode !== null ? undefined : new Promise((r) => p.child.once('exit', r)))));
    await Promise.all(sims.map((s) => s.stop()));
    await rtsp?.stop();
    await model?.close();
    hook?.closeAllConnections();
    await new Promise((r) => hook?.close(r));
    if (dbUrl) await dropDatabase(dbUrl);
    rmSync(dir, { recursive: true, force: true });
  });

  test(`${mode}: a camera and a query added to the YAML are asked within 10 s, and the event becomes an incident over Socket.IO`, async () => {
    // The gate camera starts streaming now; a red object shows 12 s in, for 30 s.
    sims.push(await startCameraSim({ name: gate, udpPort: gateUdp, width: 640, height: 360, fps: 10, red: { atS: 12, durationS: 30 } }));
    const addedAt = Date.now();
    write({ gate: true, temp: true });
    const asked = await waitFor('the new query asked', () => model.requests.find((r) => r.question.includes(QUESTION)), 30_000, 100).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${logs()}`);
    });
    assert.ok(asked.at - addedAt < 10_000, `first asked ${asked.at - addedAt} ms after the edit`);
    const incident = await waitFor('incident:new for the gate camera', () => received.find((i) => i.camera === gate && i.query === 'gate-red'), 90_000);
    assert.match(incident.answer, /^yes/i);
    const cams = (await (await fetch(`${base()}/api/cameras`, { headers: H })).json()) as { id: string }[];
    assert.ok(cams.some((c) => c.id === gate));
  });

  test(`${mode}: an edited question reaches the model, and findings and the incident carry its new version`, async () => {
    const old = queryVersion(parseConfig(yaml({ gate: true }), 'x.yaml', {}).queries.find((q) => q.id === 'gate-red')!);
    const edited = queryVersion(parseConfig(yaml({ gate: true, question: EDITED }), 'x.yaml', {}).queries.find((q) => q.id === 'gate-red')!);
    assert.notEqual(old, edited);
    const first = received.find((i) => i.camera === gate)!;
    assert.equal(first.query_version, old);
    write({ gate: true, question: EDITED, temp: true });
    await waitFor('the edited question asked', () => model.requests.some((r) => r.question.includes(EDITED)), 20_000);
    const queries = (await (await fetch(`${base()}/api/queries`, { headers: H })).json()) as { id: string; version: string; question: string }[];
    assert.equal(queries.find((q) => q.id === 'gate-red')?.version, edited);
    // The red object is still there: a later positive window extends the incident under the new version.
    await waitFor('the incident under the new version', async () => {
      const i = (await (await fetch(`${base()}/api/incidents/${first.id}`, { headers: H })).json()) as Incident;
      return i.query_version === edited;
    }, 40_000);
  });

  test(`${mode}: a removed token's open connections close; an invalid file is refused and shown, the running config stays`, async () => {
    const visitor = connect(base(), { transports: ['websocket'], auth: { token: TEMP }, reconnection: false });
    await waitFor('visitor connected', () => visitor.connected, 10_000);
    let disconnected = false;
    visitor.on('disconnect', () => (disconnected = true));
    const viewer = rawUpgrade(ports.http, `/api/cameras/${dock}/live`, { authorization: `Bearer ${TEMP}` }, 15_000);
    await new Promise((r) => setTimeout(r, 3000)); // the viewer is watching
    write({ gate: true, question: EDITED, temp: false });
    await waitFor('the visitor disconnected', () => disconnected, 15_000);
    const watched = await viewer;
    assert.equal(watched.status, 101);
    assert.ok(watched.closed, 'the live view of a removed token was closed');
    visitor.close();
    assert.equal((await fetch(`${base()}/api/incidents`, { headers: { authorization: `Bearer ${TEMP}` } })).status, 401);

    write({ gate: true, question: EDITED, temp: false, broken: true });
    const status = await waitFor('the refusal shown', async () => {
      const s = (await (await fetch(`${base()}/api/config`, { headers: H })).json()) as { refused: { error: string } | null };
      return s.refused ? s : undefined;
    }, 15_000);
    assert.match(status.refused!.error, /invalid config/);
    assert.ok(!status.refused!.error.includes(ADMIN), 'no token in the refusal');
    const before = model.requests.length;
    await waitFor('still asking under the running config', () => model.requests.length > before + 1, 20_000);
  });

  test(`${mode}: a removed camera raises no offline incident and no webhook, and leaves /api/cameras and /metrics`, async () => {
    assert.ok(hooks.some((h) => h.event === 'open' && h.camera === gate), 'the webhook heard the gate incident');
    write({ gate: false, temp: false });
    await waitFor('gone from /api/cameras', async () => !((await (await fetch(`${base()}/api/cameras`, { headers: H })).json()) as { id: string }[]).some((c) => c.id === gate), 15_000);
    // Past the 2 s offline grace, and a few sweeps more.
    await new Promise((r) => setTimeout(r, 7000));
    const offline = (await (await fetch(`${base()}/api/incidents?camera=${gate}&query=camera-offline`, { headers: H })).json()) as { items: Incident[] };
    assert.deepEqual(offline.items, [], 'no offline incident for a removed camera');
    assert.ok(!hooks.some((h) => h.event === 'camera-offline'), `webhooks: ${JSON.stringify(hooks)}`);
    for (const port of [ports.http, ports.ingest, ports.infer]) {
      const text = await metrics(port);
      assert.ok(!text.includes(`camera="${gate}"`), `camera ${gate} still in /metrics on ${port}`);
    }
    // The camera that stayed is still asked.
    const before = model.requests.filter((r) => r.question.includes('What is happening?')).length;
    await waitFor('the dock camera still asked', () => model.requests.filter((r) => r.question.includes('What is happening?')).length > before, 20_000);
    assert.ok(procs.every((p) => p.child.exitCode === null), `a process exited:\n${logs()}`);
    assert.ok(metricSum(await metrics(ports.ingest), 'vigil_ingest_cameras') === 1);
  });

  test(`${mode}: vigil reload validates first, then delivers`, async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, yaml({ gate: false, broken: true }));
    const refused = spawnSync(process.execPath, ['bin/vigil.js', 'reload', '--config', bad], { encoding: 'utf8' });
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /invalid config/);
    const why = mode === 'standalone' ? /"why":"SIGHUP"/g : /"why":"request from [^"]+@/g;
    const seen = () => procs.map((p) => p.out.join('').match(why)?.length ?? 0);
    assert.deepEqual(seen(), procs.map(() => 0));
    const ok = spawnSync(process.execPath, ['bin/vigil.js', 'reload', '--config', file], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, mode === 'standalone' ? /asked to re-read/ : /published on vigil\.control\.reload/);
    await waitFor('every process took the reload', () => seen().every((n) => n === 1), 15_000);
  });
}
