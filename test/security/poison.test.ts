import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaBus, MemoryBus, type Bus, type InMessage } from '@vigil/bus';
import { createLogger } from '@vigil/observability';
import { parseAskRequest, parseCameraStatus, parseFinding, parseReloadRequest, Topics, type Incident } from '@vigil/contracts';
import { PgliteDatabase, SqlIncidentStore } from '@vigil/store';
import { startAlerts } from '@vigil/alerts';
import { KAFKA, configFromYaml, freePort, metricSum, uid, waitFor } from '../helpers/env.ts';
import { capturedLogger, finding, finding as baseFinding } from '../alerts/helpers.ts';

// A hostile producer on the bus (docs/security.md): messages that once failed the store write
// forever. Each is refused by its parser, naming the field, before it gets anywhere.

const T = Date.parse('2026-03-01T08:00:00Z');
const status = (over: Record<string, unknown> = {}) => ({ v: 1, cameraId: 'dock-1', state: 'online', reason: '', at: T, fps: 4, ...over });
const baseStatus = status;

const POISON: [string, () => { ok: boolean; reason?: string }, RegExp][] = [
  ['a finding with latencyMs "x"', () => parseFinding(Buffer.from(JSON.stringify({ ...finding('dock-1', 0), latencyMs: 'x' }))), /^finding\.latencyMs: expected a number/],
  ['a finding with windowStart 1e300', () => parseFinding(Buffer.from(JSON.stringify({ ...finding('dock-1', 0), windowStart: 1e300 }))), /^finding\.windowStart: /],
  ['a finding that ends before it starts', () => parseFinding({ ...finding('dock-1', 0), windowEnd: T - 1 }), /^finding\.windowEnd: must not be before windowStart/],
  ['a finding with 129 evidence frames', () => parseFinding({ ...finding('dock-1', 0), evidenceFrames: Array.from({ length: 129 }, () => ({ capturedAt: T, streamTime: 0, jpeg: '/9j/' })) }), /^finding\.evidenceFrames: must be at most 128 items/],
  ['a finding whose JPEG is not base64', () => parseFinding({ ...finding('dock-1', 0), evidenceFrames: [{ capturedAt: T, streamTime: 0, jpeg: 'not base64!' }] }), /^finding\.evidenceFrames\[0\]\.jpeg: expected base64/],
  ['a finding with negative tokens', () => parseFinding({ ...finding('dock-1', 0), usage: { promptTokens: -1, completionTokens: 0 } }), /^finding\.usage\.promptTokens: must be at least 0/],
  ['a finding that is not JSON', () => parseFinding(Buffer.from('{"v":1,')), /^finding: not JSON$/],
  ['a camera status with at "yesterday"', () => parseCameraStatus(Buffer.from(JSON.stringify(status({ at: 'yesterday' })))), /^cameraStatus\.at: expected a number/],
  ['a camera status in no known state', () => parseCameraStatus(status({ state: 'asleep' })), /^cameraStatus\.state: expected "starting" or/],
  ['an ask request with windowMs -5', () => parseAskRequest({ v: 1, cameraId: 'dock-1', question: 'Anyone?', windowMs: -5 }), /^askRequest\.windowMs: must be at least 1000/],
  ['an ask request for a camera id with a slash', () => parseAskRequest({ v: 1, cameraId: 'a/b', question: 'Anyone?' }), /^askRequest\.cameraId: expected an id/],
  ['a reload request with a number as config', () => parseReloadRequest({ v: 1, config: 42 }), /^reloadRequest\.config: expected a string/],
  ['a reload request of another shape', () => parseReloadRequest({ reason: 'test' }), /^reloadRequest\.v: is required/],
];

for (const [name, parse, reason] of POISON) {
  test(`refused by its parser, naming the field: ${name}`, () => {
    const r = parse();
    assert.equal(r.ok, false);
    assert.match(r.reason!, reason);
  });
}

test('parsers accept what producers send, and an empty reload request', () => {
  assert.ok(parseFinding(Buffer.from(JSON.stringify(finding('dock-1', 0)))).ok);
  assert.ok(parseCameraStatus(status({ source: { codec: 'h264', fps: 90_000 }, tags: ['north'] })).ok);
  for (const empty of [undefined, null, {}]) assert.deepEqual(parseReloadRequest(empty), { ok: true, value: { v: 1 } });
  assert.ok(parseReloadRequest({ v: 1, config: 'cameras: []\n', requestedBy: 'ops' }).ok);
});

for (const kind of ['in-process', 'Kafka'] as const) {
test(`alerts on the ${kind} bus dead-letters poison findings and statuses with the reason, counts them, and keeps going`, async () => {
  // A camera of this run only: on the shared Kafka, other tests' messages pass through the same topics.
  const cam = `poison-${uid()}`;
  const finding = (c: string, i: number, answer?: string, o?: Parameters<typeof baseFinding>[3]) => baseFinding(c === 'dock-1' ? cam : c, i, answer, o);
  const status = (over: Record<string, unknown> = {}) => baseStatus({ cameraId: cam, ...over });
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-poison-'));
  const port = await freePort();
  // No tokens: /metrics and the API answer without one.
  const config = configFromYaml(`
model: { endpoints: [] }
data_dir: ${dataDir}
http: { port: ${port}, host: 127.0.0.1 }
cameras: [{ id: ${cam}, url: "rtsp://10.0.0.21/s1" }]
${kind === 'Kafka' ? `kafka: { brokers: ["${KAFKA}"], client_id: poison-${cam} }` : ''}
queries: [{ id: forklift, cameras: [${cam}], question: "Is a forklift moving near a person on foot?", window: 4s, every: 2s }]
alerts: { evidence: { clip: false } }
`);
  const bus: Bus = kind === 'Kafka' ? new KafkaBus({ brokers: [KAFKA], clientId: `poison-${cam}`, logger: createLogger('poison', { level: 'silent' }) }) : new MemoryBus();
  const store = await SqlIncidentStore.open(await PgliteDatabase.open());
  const alerts = await startAlerts(config, { bus, store, tickMs: 200, logger: capturedLogger('alerts').logger, group: `alerts-${cam}` });
  const dead: InMessage[] = [];
  const sub = await bus.subscribe({ topic: Topics.deadLetter, group: `poison-test-${cam}`, fromBeginning: true, handle: async (m) => void (m.key === cam && dead.push(m)) });
  const base = `http://127.0.0.1:${port}`;
  const rejected = async () => metricSum(await (await fetch(`${base}/metrics`)).text(), 'vigil_alerts_findings_rejected_total');
  const send = (topic: string, value: unknown) => bus.publish(topic, [{ key: cam, value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)) }]);
  try {
    const start = Date.now() - 60_000;
    const good = { ...finding('dock-1', 0, 'Yes, a forklift passes a worker.', { windowStart: start }), queryVersion: 'abcdef012345' };
    await send(Topics.findings, { ...finding('dock-1', 1, 'Yes.', { windowStart: start }), latencyMs: 'x' });
    await send(Topics.findings, { ...finding('dock-1', 2, 'Yes.', { windowStart: start }), windowStart: 1e300 });
    await send(Topics.findings, '{"v":1,');
    await send(Topics.cameraStatus, status({ at: 'yesterday' }));
    await send(Topics.cameraStatus, status({ at: Date.now(), fps: 'four' }));
    await send(Topics.findings, good);
    await send(Topics.cameraStatus, status({ at: Date.now() }));

    const incident = await waitFor('the valid finding after the poison becomes an incident', async () => {
      const r = (await (await fetch(`${base}/api/incidents?camera=${cam}`)).json()) as { items: Incident[] };
      return r.items.find((i) => i.id === good.id);
    }, 15_000);
    assert.equal(incident.query_version, 'abcdef012345', 'the incident records the query version of its finding');
    await waitFor('five messages dead-lettered', () => dead.length === 5, 10_000);
    assert.equal(await rejected(), 5);
    const reasons = dead.map((m) => `${m.headers?.source} ${m.headers?.reason}`);
    assert.deepEqual(
      reasons.filter((r) => r.startsWith(Topics.findings)).map((r) => r.split(' ')[1]),
      ['finding.latencyMs:', 'finding.windowStart:', 'finding:'],
    );
    assert.deepEqual(
      reasons.filter((r) => r.startsWith(Topics.cameraStatus)).map((r) => r.split(' ')[1]),
      ['cameraStatus.at:', 'cameraStatus.fps:'],
    );
    assert.equal((await store.search({ camera: cam, limit: 10 })).items.length, 1, 'no poison finding reached the store');
    const camera = await waitFor('the valid status after the poison is stored', async () => {
      const [c] = (await (await fetch(`${base}/api/cameras`)).json()) as { status: { state: string } | null }[];
      return c?.status ?? undefined;
    }, 10_000);
    assert.equal(camera.state, 'online');
  } finally {
    await sub.close();
    await alerts.close();
    await store.close();
    await bus.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
}
