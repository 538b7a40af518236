import { test, before, after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { io as connect, type Socket } from 'socket.io-client';
import type { Incident } from '@vigil/contracts';
import { startIngest, type IngestService } from '@vigil/ingest';
import { startInfer, type InferService } from '@vigil/infer';
import { startAlerts, type AlertsService } from '@vigil/alerts';
import { createLogger } from '@vigil/observability';
import { openPlatform, type Platform } from '@vigil/platform';
import { startModelServer, type ModelServer } from '../fixtures/model-server.ts';
import { startCameraSim, startRtspServer, type CameraSim, type RtspServer } from '../fixtures/camera-sim.ts';
import { connectAsync, type MqttClient } from 'mqtt';
import { Broker } from '../helpers/mosquitto.ts';
import { KAFKA, configFromYaml, dropDatabase, freePort, freshDatabaseUrl, metricSum, uid, waitFor } from '../helpers/env.ts';

/**
 * simulator → RTSP → ingest (ffmpeg) → bus → infer → model test server → bus → alerts → store / Socket.IO / REST.
 * Distributed: Kafka and PostgreSQL. Standalone: the in-process bus and embedded PGlite —
 * the same assertions hold for both.
 */
export function pipelineSuite(mode: 'distributed' | 'standalone'): void {
  const id = uid();
  const dock = `dock-${id}`;
  const street = `street-${id}`;
  const RED_AT_S = 8;
  // Long enough to outlast a slow start: the red is on the sim's clock, not the pipeline's
  // (with 6 s, no incident opened twice on a loaded machine).
  const RED_FOR_S = 16;

  let model: ModelServer;
  let rtsp: RtspServer;
  let sims: CameraSim[] = [];
  let alerts: AlertsService;
  let infer: InferService;
  let ingest: IngestService;
  let socket: Socket;
  let dbUrl: string;
  let dataDir = '';
  let platform: Platform;
  const received: Incident[] = [];
  let broker: Broker;
  let mqttClient: MqttClient;
  const mqttSeen: { topic: string; payload: string; retain: boolean }[] = [];
  const prefix = `vigil-${id}`;

  before(async () => {
    model = await startModelServer();
    broker = await Broker.start();
    // Subscribed before anything starts: every message Vigil publishes is seen.
    mqttClient = await connectAsync(broker.url, { protocolVersion: 5 });
    mqttClient.on('message', (topic, payload, packet) => mqttSeen.push({ topic, payload: payload.toString(), retain: packet.retain }));
    await mqttClient.subscribeAsync([`${prefix}/#`, 'homeassistant/#']);
    const [rtspPort, dockUdp, streetUdp] = [await freePort(), await freePort(), await freePort()];
    rtsp = await startRtspServer({ port: rtspPort, mounts: { [dock]: dockUdp, [street]: streetUdp } });
    sims = await Promise.all([
      startCameraSim({ name: dock, udpPort: dockUdp, red: { atS: RED_AT_S, durationS: RED_FOR_S } }),
      startCameraSim({ name: street, udpPort: streetUdp, movingBox: true }),
    ]);
    const standalone = mode === 'standalone';
    dbUrl = standalone ? '' : freshDatabaseUrl();
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-'));
    const backing = standalone ? `data_dir: "${dataDir}"` : `kafka: { brokers: ["${KAFKA}"] }\npostgres: { url: "${dbUrl}" }`;
    const config = configFromYaml(`
model:
  endpoints: ["${model.url}/v1"]      # a trailing /v1 must not double up
  profile: cosmos-reason1
${backing}
http: { port: 0, host: 127.0.0.1 }
mqtt: { url: "${broker.url}", topic_prefix: "${prefix}" }
ingest: { metrics_port: 0 }
infer: { metrics_port: 0 }
cameras:
  - id: ${dock}
    url: "${rtsp.url(dock)}"
    transport: udp
  - id: ${street}
    url: "${rtsp.url(street)}"
    transport: tcp
queries:
  - id: red-object
    cameras: [${dock}, ${street}]
    question: "Is there a red object in view?"
    window: 4s
    every: 2s
    alert_when: "^\\\\s*yes"
`);
    const logger = createLogger('e2e', { level: process.env.VIGIL_TEST_LOG ?? 'warn' });
    platform = await openPlatform(config, logger);
    const bus = platform.bus;
    alerts = await startAlerts(config, { bus, store: await platform.store(), control: platform.control, logger, group: `alerts-${id}` });
    infer = await startInfer(config, { bus, control: platform.control, logger, group: `infer-${id}` });
    socket = connect(`http://127.0.0.1:${alerts.port}`, { transports: ['websocket'] });
    socket.on('incident:new', (i: Incident) => received.push(i));
    await waitFor('socket connection', () => socket.connected, 10_000);
    ingest = await startIngest(config, { bus, control: platform.control, logger });
  });

  after(async () => {
    socket?.close();
    for (const s of [ingest, infer, alerts]) await s?.close().catch(() => undefined);
    await platform?.close();
    await Promise.all(sims.map((s) => s.stop()));
    await rtsp?.stop();
    await model?.close();
    await mqttClient?.endAsync().catch(() => undefined);
    await broker?.dispose();
    if (dbUrl) await dropDatabase(dbUrl);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const api = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${alerts.port}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  test('a red object on the dock camera becomes a live incident that REST search finds', async () => {
    const sim = sims[0]!;
    const red = sim.redWindow!;
    const incident = await waitFor('incident:new for the dock camera', () => received.find((i) => i.camera === dock), (RED_AT_S + RED_FOR_S + 30) * 1000);
    assert.equal(incident.query, 'red-object');
    assert.match(incident.answer, /^yes/i);
    assert.match(incident.reasoning, /red/i);
    assert.equal(incident.question, 'Is there a red object in view?');
    // The window (capture time) overlaps the scripted event, allowing for the simulator's start-up uncertainty.
    const [start, end] = [Date.parse(incident.started_at), Date.parse(incident.ended_at)];
    const slack = 2000;
    assert.ok(start < red.end + slack && end > red.start - slack, `window ${incident.started_at}…${incident.ended_at} vs red ${new Date(red.start).toISOString()}…${new Date(red.end).toISOString()}`);
    // At most one 4 s window; a UDP stream still settling can leave it partly filled.
    assert.ok(end > start && end - start <= 4000, `a window of at most 4 s, got ${end - start} ms`);

    const byText = await api(`/api/incidents?camera=${dock}&q=red&limit=10`);
    assert.equal(byText.status, 200);
    const items = byText.body.items as Incident[];
    assert.ok(items.some((i) => i.id === incident.id));
    assert.ok(items.every((i) => i.camera === dock));
    assert.ok('next_cursor' in byText.body);

    const window = `from=${new Date(start - 1000).toISOString()}&to=${new Date(end + 1000).toISOString()}`;
    assert.ok(((await api(`/api/incidents?${window}`)).body.items as Incident[]).some((i) => i.id === incident.id));
    const before = `to=${new Date(start - 60_000).toISOString()}`;
    assert.equal(((await api(`/api/incidents?${before}`)).body.items as Incident[]).length, 0);
    assert.equal(((await api(`/api/incidents?camera=${dock}&q=forklift`)).body.items as Incident[]).length, 0);

    const one = await api(`/api/incidents/${incident.id}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.id, incident.id);
    assert.equal((await api('/api/incidents/does-not-exist')).status, 404);
    assert.equal((await api('/api/incidents?limit=zero')).status, 400);
  });

  test('the incident arrives on MQTT with its payload and flips the state topic; an ask over MQTT is answered', async () => {
    const incident = await waitFor('incident:new for the dock camera', () => received.find((i) => i.camera === dock), 60_000);
    const event = await waitFor('the incident on MQTT', () => mqttSeen.find((m) => m.topic === `${prefix}/incidents` && JSON.parse(m.payload).id === incident.id), 15_000);
    const body = JSON.parse(event.payload) as Record<string, unknown>;
    assert.equal(body.event, 'new');
    assert.equal(body.camera, dock);
    assert.equal(body.query, 'red-object');
    assert.match(String(body.answer), /^yes/i);
    assert.match(String(body.reasoning), /red/i);
    assert.equal(body.started_at, incident.started_at);
    assert.equal(body.api, `/api/incidents/${incident.id}`);
    const on = await waitFor('state ON', () => mqttSeen.find((m) => m.topic === `${prefix}/${dock}/red-object/state` && m.payload === 'ON'), 15_000);
    assert.ok(on);
    // Discovery: one binary sensor per camera × query, grouped under the camera's device.
    const config = mqttSeen.find((m) => m.topic.startsWith('homeassistant/binary_sensor/') && m.topic.includes(`${dock}_red-object`));
    assert.ok(config, 'a discovery config for the dock camera\'s query');
    const c = JSON.parse(config.payload) as Record<string, unknown>;
    assert.equal(c.state_topic, `${prefix}/${dock}/red-object/state`);
    assert.ok(String(c.unique_id).includes(dock));
    assert.deepEqual((c.device as { identifiers: string[] }).identifiers.length, 1);
    // An operator asks through MQTT; infer answers from the camera's latest video.
    await mqttClient.publishAsync(`${prefix}/${street}/ask`, 'Is there a red object in view?');
    const answer = await waitFor('the answer on MQTT', () => mqttSeen.find((m) => m.topic === `${prefix}/${street}/answer`), 60_000);
    const reply = JSON.parse(answer.payload) as Record<string, unknown>;
    assert.equal(reply.ok, true, answer.payload);
    assert.match(String(reply.answer), /^no/i);
  });

  test('the street camera, with no red object, is asked but raises no incident', async () => {
    const red = sims[0]!.redWindow!;
    // Let the street camera be asked through and past the dock's red event.
    await waitFor('time past the red event', () => Date.now() > red.end + 6000, 60_000, 500);
    const page = await api(`/api/incidents?camera=${street}`);
    assert.equal((page.body.items as Incident[]).length, 0);
    assert.ok(!received.some((i) => i.camera === street));
    const metrics = await (await fetch(`http://127.0.0.1:${infer.port}/metrics`)).text();
    assert.ok(metricSum(metrics, 'vigil_infer_findings_total', 'verdict="false"') >= 2, 'windows were asked and answered "no"');
    assert.ok(model.requests.some((r) => r.status === 200 && /No, there is no red object/.test(r.answer ?? '')));
    // Ingest sends 640×368 frames; infer spliced each window's own 0-based band under them.
    const answered = model.requests.filter((r) => r.status === 200);
    assert.ok(answered.length > 0 && answered.every((r) => r.width === 640 && r.height === 368 + 28), `frame sizes: ${[...new Set(answered.map((r) => `${r.width}x${r.height}`))].join(', ')}`);
    assert.equal(metricSum(metrics, 'vigil_infer_band_failures_total'), 0);
  });

  test('every service reports its counters on /metrics', async () => {
    const ingestMetrics = await (await fetch(`http://127.0.0.1:${ingest.port}/metrics`)).text();
    assert.ok(metricSum(ingestMetrics, 'vigil_ingest_frames_total', `camera="${street}"`) > 10);
    assert.ok(metricSum(ingestMetrics, 'vigil_ingest_chunks_published_total', `camera="${dock}"`) > 3);
    const alertsMetrics = await (await fetch(`http://127.0.0.1:${alerts.port}/metrics`)).text();
    assert.ok(metricSum(alertsMetrics, 'vigil_alerts_incidents_total') >= 1);
    const health = await fetch(`http://127.0.0.1:${alerts.port}/healthz`);
    assert.equal(health.status, 200);
  });
}
