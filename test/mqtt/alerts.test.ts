import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connectAsync, type MqttClient } from 'mqtt';
import { MemoryBus } from '@vigil/bus';
import { Topics, type CameraStatus } from '@vigil/contracts';
import { PgDatabase, SqlIncidentStore } from '@vigil/store';
import { startAlerts, type AlertsService } from '@vigil/alerts';
import { configFromYaml, dropDatabase, freePort, freshDatabaseUrl, uid, waitFor } from '../helpers/env.ts';
import { Broker } from '../helpers/mosquitto.ts';
import { capturedLogger, evidenceFrames, finding } from '../alerts/helpers.ts';

// Alerts on MQTT against a real Mosquitto: two alerts replicas on one PostgreSQL and one bus,
// a raw MQTT client watching everything they publish.
const id = uid();
const prefix = `site-${id}`;
let broker: Broker;
let watcher: MqttClient;
const seen: { topic: string; payload: Buffer; retain: boolean; at: number }[] = [];
const dbUrl = freshDatabaseUrl();
const bus = new MemoryBus();
const logs = capturedLogger('alerts');
const replicas: AlertsService[] = [];
const password = `mqtt-secret-${id}`;

const yaml = (port: number, queries = ['forklift', 'spill']) => `
model: { endpoints: [] }
http: { port: ${port}, host: 127.0.0.1 }
mqtt: { url: "mqtt://127.0.0.1:${broker.port}", username: vigil, password: "${password}", topic_prefix: "${prefix}", client_id: alerts }
cameras: [{ id: dock-1, name: Dock one, url: "rtsp://127.0.0.1/d1" }, { id: gate-2, url: "rtsp://127.0.0.1/g2" }]
queries:
${queries.map((q) => `  - { id: ${q}, cameras: [dock-1], question: "Is there a ${q}?", window: 4s, every: 2s }`).join('\n')}
`;
const of = (topic: string) => seen.filter((m) => m.topic === topic);
const json = (b: Buffer) => JSON.parse(b.toString()) as Record<string, any>;
const watchers: MqttClient[] = [];
const freshWatcher = async () => {
  const c = await connectAsync(broker.url, { protocolVersion: 5 });
  watchers.push(c);
  const got: { topic: string; payload: Buffer; retain: boolean }[] = [];
  c.on('message', (topic, payload, p) => got.push({ topic, payload, retain: p.retain }));
  await c.subscribeAsync([`${prefix}/#`, 'homeassistant/#']);
  return { c, got };
};

before(async () => {
  broker = await Broker.start();
  watcher = await connectAsync(broker.url, { protocolVersion: 5 });
  watcher.on('message', (topic, payload, p) => seen.push({ topic, payload, retain: p.retain, at: Date.now() }));
  await watcher.subscribeAsync([`${prefix}/#`, 'homeassistant/#']);
  for (let i = 0; i < 2; i++) {
    const config = configFromYaml(yaml(await freePort()));
    const store = await SqlIncidentStore.open(await PgDatabase.open(dbUrl));
    replicas.push(await startAlerts(config, { bus, store, logger: logs.logger, tickMs: 200, group: `alerts-${id}` }));
  }
});

after(async () => {
  for (const r of replicas) await r.close();
  // A test that failed half-way leaves its watchers open: they would keep the file running.
  for (const c of [watcher, ...watchers]) await c?.endAsync(true).catch(() => undefined);
  await broker?.dispose();
  await dropDatabase(dbUrl);
});

test('discovery: retained configs per camera × query, camera status and evidence image, under one device per camera', async () => {
  const node = `vigil_${prefix}`;
  const binary = await waitFor('binary sensor config', () => of(`homeassistant/binary_sensor/${node}/dock-1_forklift/config`)[0], 10_000);
  const c = json(binary.payload);
  assert.equal(c.state_topic, `${prefix}/dock-1/forklift/state`);
  assert.equal(c.unique_id, `${node}_dock-1_forklift`);
  assert.deepEqual(c.device.identifiers, [`${node}_dock-1`]);
  assert.equal(c.device.name, 'Dock one');
  assert.equal(c.availability_mode, 'any');
  // Both replicas' availability topics: Home Assistant shows the entity while either is up.
  await waitFor('both replicas in the availability list', () => {
    const last = of(`homeassistant/binary_sensor/${node}/dock-1_forklift/config`).pop();
    return last && json(last.payload).availability.length === 2;
  }, 10_000);
  const status = json((await waitFor('status sensor', () => of(`homeassistant/sensor/${node}/gate-2_status/config`)[0], 10_000)).payload);
  assert.equal(status.state_topic, `${prefix}/gate-2/status`);
  const image = json((await waitFor('image entity', () => of(`homeassistant/image/${node}/dock-1_evidence/config`)[0], 10_000)).payload);
  assert.equal(image.image_topic, `${prefix}/dock-1/image`);
  assert.ok(!JSON.stringify(image).includes('http'), 'the image comes as bytes, never a URL');
  // Retained: a client connecting later still gets them, and each replica says it is online.
  const late = await freshWatcher();
  await waitFor('retained discovery for a late subscriber', () => late.got.some((m) => m.retain && m.topic.endsWith('/dock-1_forklift/config')), 5_000);
  await waitFor('retained availability', () => late.got.filter((m) => m.retain && m.topic.startsWith(`${prefix}/available/`) && m.payload.toString() === 'online').length === 2, 5_000);
  await late.c.endAsync();
});

test('an incident is published once across two replicas with its payload, flips its state, and sends its evidence frame as bytes', async () => {
  const f = finding('dock-1', 0, 'Yes, a forklift passes within a metre of a worker.', { windowStart: Date.now(), queryId: 'forklift', reasoning: 'r'.repeat(2000) });
  f.evidenceFrames = evidenceFrames(f.windowStart);
  await bus.publish(Topics.findings, [{ key: f.cameraId, value: Buffer.from(JSON.stringify(f)) }]);
  const event = await waitFor('incident event', () => of(`${prefix}/incidents`).find((m) => json(m.payload).id === f.id), 10_000);
  const body = json(event.payload);
  assert.equal(body.event, 'new');
  assert.equal(body.camera, 'dock-1');
  assert.equal(body.camera_name, 'Dock one');
  assert.equal(body.query, 'forklift');
  assert.equal(body.severity, 'medium');
  assert.match(body.answer, /forklift passes/);
  assert.ok(body.reasoning.length < 300 && body.reasoning.endsWith('…'), 'a reasoning excerpt');
  assert.equal(body.started_at, new Date(f.windowStart).toISOString());
  assert.equal(body.api, `/api/incidents/${f.id}`);
  await waitFor('state ON', () => of(`${prefix}/dock-1/forklift/state`).some((m) => m.payload.toString() === 'ON'), 10_000);
  const img = await waitFor('evidence image bytes', () => of(`${prefix}/dock-1/image`)[0], 10_000);
  assert.equal(img.payload[0], 0xff);
  assert.equal(img.payload[1], 0xd8, 'a JPEG');
  // Give the other replica time to (wrongly) publish it again.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(of(`${prefix}/incidents`).filter((m) => json(m.payload).id === f.id && json(m.payload).event === 'new').length, 1, 'published once');
});

test('acknowledge and resolve over MQTT: taken once (shared subscription), recorded with who, published as events', async () => {
  const f = finding('dock-1', 0, 'Yes, a spill by the door.', { windowStart: Date.now() - 60_000, queryId: 'spill' });
  await bus.publish(Topics.findings, [{ key: f.cameraId, value: Buffer.from(JSON.stringify(f)) }]);
  await waitFor('spill incident event', () => of(`${prefix}/incidents`).find((m) => json(m.payload).id === f.id), 10_000);
  await watcher.publishAsync(`${prefix}/incidents/${f.id}/ack`, JSON.stringify({ by: 'kitchen-tablet', note: 'mop on the way' }));
  const ack = await waitFor('ack event', () => of(`${prefix}/incidents`).find((m) => json(m.payload).id === f.id && json(m.payload).event === 'ack'), 10_000);
  assert.equal(json(ack.payload).state, 'acknowledged');
  const res = await fetch(`http://127.0.0.1:${replicas[0]!.port}/api/incidents/${f.id}`);
  const incident = (await res.json()) as { acknowledged: { by: string; note: string } };
  assert.equal(incident.acknowledged.by, 'mqtt:kitchen-tablet');
  assert.equal(incident.acknowledged.note, 'mop on the way');
  await watcher.publishAsync(`${prefix}/incidents/${f.id}/resolve`, 'cleaned');
  await waitFor('resolve event', () => of(`${prefix}/incidents`).find((m) => json(m.payload).id === f.id && json(m.payload).event === 'resolve'), 10_000);
  await waitFor('state OFF after resolve', () => of(`${prefix}/dock-1/spill/state`).some((m) => m.payload.toString() === 'OFF'), 10_000);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(of(`${prefix}/incidents`).filter((m) => json(m.payload).id === f.id && json(m.payload).event === 'ack').length, 1, 'one replica took the command');
  // Hostile commands: unknown incident, bad action, oversized payload — nothing breaks.
  await watcher.publishAsync(`${prefix}/incidents/nope/ack`, '');
  await watcher.publishAsync(`${prefix}/incidents/${f.id}/delete`, '');
  await watcher.publishAsync(`${prefix}/dock-1/ask`, Buffer.alloc(200_000, 'a'));
  assert.equal((await fetch(`http://127.0.0.1:${replicas[1]!.port}/healthz`)).status, 200);
});

test('camera status is retained per camera; asking without infer answers with the reason', async () => {
  const status: CameraStatus = { v: 1, cameraId: 'gate-2', state: 'offline', reason: 'connection refused', at: Date.now(), fps: 4 };
  await bus.publish(Topics.cameraStatus, [{ key: 'gate-2', value: Buffer.from(JSON.stringify(status)) }]);
  const s = await waitFor('status message', () => of(`${prefix}/gate-2/status`)[0], 10_000);
  assert.equal(s.payload.length > 0 && json(s.payload).state, 'offline');
  assert.equal(json(s.payload).reason, 'connection refused');
  await watcher.publishAsync(`${prefix}/gate-2/ask`, 'Is the gate open?');
  const answer = await waitFor('answer', () => of(`${prefix}/gate-2/answer`)[0], 10_000);
  assert.equal(json(answer.payload).ok, false);
  assert.match(json(answer.payload).error, /control plane/);
});

test('the broker away for 10 s: nothing blocks, events wait in the outbox, states are republished after', async () => {
  await broker.stop();
  const f = finding('dock-1', 0, 'Yes, another forklift.', { windowStart: Date.now() + 120_000, queryId: 'forklift' });
  const t0 = Date.now();
  await bus.publish(Topics.findings, [{ key: f.cameraId, value: Buffer.from(JSON.stringify(f)) }]);
  // The incident is stored and served while the broker is down.
  await waitFor('incident stored while the broker is away', async () => (await fetch(`http://127.0.0.1:${replicas[0]!.port}/api/incidents/${f.id}`)).status === 200, 5_000);
  assert.ok(Date.now() - t0 < 5_000);
  await new Promise((r) => setTimeout(r, 10_000 - (Date.now() - t0)));
  await broker.start();
  // Retained messages died with the broker (no persistence): a fresh subscriber gets them again from Vigil.
  const late = await freshWatcher();
  await waitFor('the waiting event delivered after the outage', () => late.got.find((m) => m.topic === `${prefix}/incidents` && json(m.payload).id === f.id), 45_000);
  // The late client subscribed before Vigil reconnected: what Vigil republishes reaches it live (retain flag off).
  await waitFor('states republished', () => late.got.find((m) => m.topic === `${prefix}/dock-1/forklift/state` && m.payload.toString() === 'ON'), 45_000);
  await waitFor('discovery republished', () => late.got.find((m) => m.topic.endsWith('/dock-1_forklift/config')), 45_000);
  await waitFor('camera status republished', () => late.got.find((m) => m.topic === `${prefix}/gate-2/status`), 45_000);
  await late.c.endAsync();
});

test('a query removed by reload leaves Home Assistant; added again, it comes back', async () => {
  const node = `vigil_${prefix}`;
  const spill = `homeassistant/binary_sensor/${node}/dock-1_spill/config`;
  const from = seen.length;
  for (const r of replicas) await r.reload(configFromYaml(yaml(0, ['forklift'])));
  await waitFor('spill discovery removed (empty retained)', () => seen.slice(from).some((m) => m.topic === spill && m.payload.length === 0), 10_000);
  await new Promise((r) => setTimeout(r, 1000)); // both replicas' discovery has gone out
  const late = await freshWatcher();
  await waitFor('forklift still discoverable', () => late.got.some((m) => m.retain && m.topic.endsWith('/dock-1_forklift/config')), 5_000);
  assert.ok(!late.got.some((m) => m.topic === spill && m.payload.length > 0), 'spill is gone for late subscribers');
  await late.c.endAsync();
  const again = seen.length;
  for (const r of replicas) await r.reload(configFromYaml(yaml(0)));
  await waitFor('spill discoverable again', () => seen.slice(again).some((m) => m.topic === spill && m.payload.length > 0), 10_000);
});

test('a query removed by reload while the broker is away never comes back on reconnect; the password is in no log line', async () => {
  const node = `vigil_${prefix}`;
  const spill = `homeassistant/binary_sensor/${node}/dock-1_spill/config`;
  // Mosquitto sends each replica the others' last will as it shuts down: the replicas'
  // availability lists change and discovery is due while the broker is away.
  await broker.stop();
  await new Promise((r) => setTimeout(r, 1500));
  for (const r of replicas) await r.reload(configFromYaml(yaml(0, ['forklift'])));
  await broker.start();
  // Subscribed before the replicas come back (their backoff is at least a second): it sees
  // everything they send on reconnect, live.
  const late = await freshWatcher();
  await waitFor('both replicas back', () => new Set(late.got.filter((m) => m.topic.startsWith(`${prefix}/available/`) && m.payload.toString() === 'online').map((m) => m.topic)).size === 2, 60_000, 100);
  await waitFor('forklift discoverable again', () => late.got.some((m) => m.topic.endsWith('/dock-1_forklift/config') && m.payload.length > 0), 10_000);
  await waitFor('spill discovery removed (empty retained)', () => late.got.some((m) => m.topic === spill && m.payload.length === 0), 10_000);
  await new Promise((r) => setTimeout(r, 1500));
  const stale = late.got.filter((m) => m.topic === spill && m.payload.length > 0);
  assert.equal(stale.length, 0, `a replica sent the removed query's discovery after reconnecting (${stale.length}×): queued while the broker was away`);
  // And what is retained now holds no spill entity.
  const later = await freshWatcher();
  await waitFor('retained forklift discovery', () => later.got.some((m) => m.retain && m.topic.endsWith('/dock-1_forklift/config')), 5_000);
  assert.ok(!later.got.some((m) => m.topic === spill && m.payload.length > 0), 'spill is gone for late subscribers');
  await late.c.endAsync();
  await later.c.endAsync();
  assert.ok(!logs.text().includes(password), 'no log line holds the MQTT password');
  const metrics = await (await fetch(`http://127.0.0.1:${replicas[0]!.port}/metrics`)).text();
  assert.ok(!metrics.includes(password));
  assert.match(metrics, /vigil_alerts_mqtt_connected 1/);
});
