/**
 * Faults lose nothing and double nothing. The distributed stack (ingest, infer, two alerts
 * replicas; its own Kafka, PostgreSQL, Redis and NATS) watches a camera that shows a red object
 * for 8 s once per round, while each round breaks something in the middle of that event: a
 * service killed with -9, Kafka stopped, Redis stopped, PostgreSQL restarted, the model server
 * answering 503, timing out or talking garbage. Then: exactly one incident per event, none
 * lost, none doubled, every client saw each, every episode closed, and no process died that
 * the suite did not kill.
 *
 *   npm test -- test/chaos            the short schedule (each fault once, ~8 min; CI runs it)
 *   npm run chaos                     the long one (each fault 3 times, shuffled; CHAOS_SEED=n)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Incident } from '@vigil/contracts';
import { startModelServer, type ModelServer } from '../fixtures/model-server.ts';
import { startCameraSim, startRtspServer, type CameraSim, type RtspServer } from '../fixtures/camera-sim.ts';
import { freePort, metricSum, waitFor } from '../helpers/env.ts';
import { startInstances, type Instances } from './instances.ts';
import { buildSchedule, scheduleEndS, type Round } from './schedule.ts';
import { ADMIN, CAMERA, QUERY, VigilProcess, WatchingClient, writeConfigs } from './stack.ts';

const kind = process.env.CHAOS === 'long' ? 'long' : 'short';
const rounds = buildSchedule(kind, Number(process.env.CHAOS_SEED ?? 1));
const RUN_MS = (scheduleEndS(rounds) + 240) * 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const log = (msg: string) => process.stdout.write(`# chaos ${new Date().toISOString().slice(11, 23)} ${msg}\n`);

let dir = '';
let instances: Instances | undefined;
let model: ModelServer | undefined;
let rtsp: RtspServer | undefined;
let sim: CameraSim | undefined;
const procs: Record<'ingest' | 'infer' | 'alertsA' | 'alertsB', VigilProcess> = {} as never;
const clients: WatchingClient[] = [];
let ports = { alertsA: 0, alertsB: 0, ingest: 0, infer: 0 };
/** What each round did, for the report. */
const timeline: { round: Round; event: { start: number; end: number }; faultFrom: number; faultTo: number }[] = [];
let incidents: Incident[] = [];
let retried = 0;

const H = { authorization: `Bearer ${ADMIN}` };

async function api<T>(path: string): Promise<T> {
  // Either replica answers from the shared database: ask whichever is up.
  let last: unknown;
  for (const port of [ports.alertsA, ports.alertsB]) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: H, signal: AbortSignal.timeout(5000) });
      if (res.ok) return (await res.json()) as T;
      last = new Error(`${path}: HTTP ${res.status}`);
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

async function redIncidents(): Promise<Incident[]> {
  const page = await api<{ items: Incident[] }>(`/api/incidents?camera=${CAMERA}&query=${QUERY}&sort=oldest&limit=500`);
  return page.items;
}

function logs(): string {
  return Object.entries(procs).map(([n, p]) => `--- ${n} (started ${p.starts}x)\n${p.output(3000)}`).join('\n');
}

/** Breaks what the round says for as long as it says, then puts it back. */
async function inject(round: Round): Promise<void> {
  const hold = () => sleep(round.faultS * 1000);
  const i = instances!;
  const m = model!;
  switch (round.fault) {
    case 'kill-ingest':
    case 'kill-infer':
    case 'kill-alerts-a':
    case 'kill-alerts-b': {
      const p = { 'kill-ingest': procs.ingest, 'kill-infer': procs.infer, 'kill-alerts-a': procs.alertsA, 'kill-alerts-b': procs.alertsB }[round.fault];
      await p.kill();
      await hold();
      p.start();
      return;
    }
    case 'stop-kafka':
      await i.kafka.stop();
      await hold();
      await i.kafka.start();
      return;
    case 'stop-redis':
      await i.redis.stop();
      await hold();
      await i.redis.start();
      return;
    case 'restart-postgres':
      await i.postgres.stop();
      await hold();
      await i.postgres.start();
      return;
    case 'model-503':
      m.setBehavior({ down: true });
      await hold();
      m.setBehavior({ down: false });
      return;
    case 'model-timeout':
      // Longer than the client's 3 s timeout: every request in this span times out.
      m.setBehavior({ latencyMs: 8000 });
      await hold();
      m.setBehavior({ latencyMs: 0 });
      return;
    case 'model-garbage':
      m.setBehavior({ garbageNext: 1_000_000 });
      await hold();
      m.setBehavior({ garbageNext: 0 });
      return;
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-chaos-'));
  instances = await startInstances(dir);
  log(`instances up: ${JSON.stringify(instances.urls)}`);
  model = await startModelServer();
  const [rtspPort, udp] = [await freePort(), await freePort()];
  rtsp = await startRtspServer({ port: rtspPort, mounts: { [CAMERA]: udp } });
  // The whole schedule is drawn into the stream from its start; the stack comes up meanwhile.
  sim = await startCameraSim({ name: CAMERA, udpPort: udp, width: 640, height: 360, fps: 10, red: rounds.map((r) => ({ atS: r.eventAtS, durationS: r.eventS })) });
  const written = await writeConfigs({ dir, instances, modelUrl: model.url, rtspUrl: rtsp.url(CAMERA) });
  ports = written.ports;
  procs.alertsA = new VigilProcess('alerts-a', 'alerts', written.files.a);
  procs.alertsB = new VigilProcess('alerts-b', 'alerts', written.files.b);
  procs.infer = new VigilProcess('infer', 'infer', written.files.rest);
  procs.ingest = new VigilProcess('ingest', 'ingest', written.files.rest);
  for (const p of Object.values(procs)) p.start();
  const firstEvent = sim.redWindows[0]!.start;
  try {
    await waitFor('both alerts replicas serving', async () => {
      const ok = await Promise.all([ports.alertsA, ports.alertsB].map((p) => fetch(`http://127.0.0.1:${p}/healthz`, { headers: H }).then((r) => r.ok, () => false)));
      return ok.every(Boolean);
    }, firstEvent - Date.now() - 5000, 500);
    clients.push(new WatchingClient('alerts-a', ports.alertsA), new WatchingClient('alerts-b', ports.alertsB));
    await waitFor('the camera online and infer deciding its windows', async () => {
      const cams = await api<{ id: string; status: { state: string } | null }[]>('/api/cameras');
      const online = cams.some((c) => c.id === CAMERA && c.status?.state === 'online');
      const m = await fetch(`http://127.0.0.1:${ports.infer}/metrics`, { headers: H }).then((r) => r.text());
      return online && /vigil_infer_windows_considered_total\{[^}]*\} [1-9]/.test(m) && clients.every((c) => c.connected);
    }, firstEvent - Date.now() - 2000, 500);
  } catch (e) {
    throw new Error(`the stack was not up before the first event (${Math.round((firstEvent - sim.startedAt) / 1000)} s): ${(e as Error).message}\n${logs()}`);
  }
  log(`stack up ${Math.round((firstEvent - Date.now()) / 1000)} s before the first event; ${rounds.length} rounds (${kind})`);

  for (const round of rounds) {
    const event = { start: sim.startedAt + round.eventAtS * 1000, end: sim.startedAt + (round.eventAtS + round.eventS) * 1000 };
    await sleep(event.start + round.faultAtS * 1000 - Date.now());
    const faultFrom = Date.now();
    log(`event at ${new Date(event.start).toISOString().slice(11, 19)}: ${round.fault} for ${round.faultS} s`);
    await inject(round).catch((e: unknown) => log(`injecting ${round.fault} failed: ${(e as Error).message}`));
    timeline.push({ round, event, faultFrom, faultTo: Date.now() });
  }
  const end = sim.startedAt + scheduleEndS(rounds) * 1000;
  await sleep(end - Date.now());
  // Drained: every episode closed by capture-time progress (the last event is a gap ago).
  await waitFor('every incident closed', async () => {
    incidents = await redIncidents();
    return incidents.length > 0 && incidents.every((i) => i.closed_at !== null);
  }, 120_000, 2000).catch(() => undefined);
  incidents = await redIncidents();
  retried = metricSum(await fetch(`http://127.0.0.1:${ports.infer}/metrics`, { headers: H }).then((r) => r.text(), () => ''), 'vigil_infer_windows_retried_total');
  await waitFor('both clients connected', () => clients.every((c) => c.connected), 30_000).catch(() => undefined);
  for (const t of timeline) {
    const mine = incidents.filter((i) => overlaps(i, t.event));
    log(`${t.round.fault.padEnd(17)} event ${new Date(t.event.start).toISOString().slice(11, 19)} → ${mine.length} incident(s) ${mine.map((i) => `${i.id}[${i.started_at.slice(11, 19)}–${i.ended_at.slice(11, 19)}, ${i.findings} findings]`).join(' ')}`);
  }
}, { timeout: RUN_MS });

after(async () => {
  for (const c of clients) c.close();
  await Promise.all(Object.values(procs).map((p) => p?.stop()));
  await sim?.stop();
  await rtsp?.stop();
  await model?.close();
  await instances?.stopAll();
  if (dir && !process.env.CHAOS_KEEP) rmSync(dir, { recursive: true, force: true });
}, { timeout: 120_000 });

/** An incident belongs to an event when their capture-time spans meet (a window is 4 s; allow one). */
function overlaps(i: Incident, e: { start: number; end: number }): boolean {
  const s = Date.parse(i.started_at), t = Date.parse(i.ended_at);
  return s <= e.end + 4000 && t >= e.start - 4000;
}

test('each event is exactly one incident: none lost, none doubled', () => {
  assert.ok(timeline.length === rounds.length, `only ${timeline.length} of ${rounds.length} rounds ran`);
  const problems: string[] = [];
  for (const t of timeline) {
    const n = incidents.filter((i) => overlaps(i, t.event)).length;
    if (n !== 1) problems.push(`${t.round.fault}: ${n} incidents for its event`);
  }
  const stray = incidents.filter((i) => !timeline.some((t) => overlaps(i, t.event)));
  for (const i of stray) problems.push(`incident ${i.id} (${i.started_at}–${i.ended_at}) matches no event`);
  assert.deepEqual(problems, [], `${problems.join('\n')}\n${logs()}`);
});

test('every episode closed on capture time once its camera went quiet', () => {
  const open = incidents.filter((i) => i.closed_at === null);
  assert.deepEqual(open.map((i) => i.id), [], 'incidents still open after the last quiet gap');
});

test('a dashboard on each replica saw every incident', () => {
  for (const c of clients) {
    const missed = incidents.filter((i) => !c.seen.has(i.id)).map((i) => i.id);
    assert.deepEqual(missed, [], `${c.name}'s client never heard of these incidents`);
  }
});

test('no process died that the suite did not kill, and each is running at the end', () => {
  for (const [name, p] of Object.entries(procs)) {
    const unexpected = p.exits.filter((e) => !e.expected);
    assert.deepEqual(unexpected, [], `${name} exited on its own:\n${p.output()}`);
    assert.ok(p.alive(), `${name} is not running at the end`);
  }
});

test('the faults bit: killed processes came back, the model failed while it was told to, windows were asked again', () => {
  for (const t of timeline) {
    const p = { 'kill-ingest': procs.ingest, 'kill-infer': procs.infer, 'kill-alerts-a': procs.alertsA, 'kill-alerts-b': procs.alertsB }[t.round.fault as string];
    if (p) assert.ok(p.exits.some((e) => e.signal === 'SIGKILL' && e.at >= t.faultFrom && e.at <= t.faultTo), `${t.round.fault}: no SIGKILL exit in its fault span`);
  }
  const during = (fault: string, pred: (status: number) => boolean) => {
    const spans = timeline.filter((t) => t.round.fault === fault);
    return model!.requests.filter((r) => spans.some((t) => r.at >= t.faultFrom && r.at <= t.faultTo) && pred(r.status)).length;
  };
  if (timeline.some((t) => t.round.fault === 'model-503')) assert.ok(during('model-503', (s) => s === 503) > 0, 'no request met the 503s');
  if (timeline.some((t) => t.round.fault === 'model-garbage')) assert.ok(during('model-garbage', (s) => s === 200) > 0, 'no request got garbage');
  // Counted by the infer process running at the end (started before the model rounds in the short schedule).
  if (kind === 'short') assert.ok(retried > 0, 'no errored event window was asked again');
});
