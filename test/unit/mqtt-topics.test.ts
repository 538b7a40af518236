import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '@vigil/config';
import { discoveryMessages, eventName, incidentPayload, MqttTopics, statusPayload } from '../../services/alerts/src/mqtt-topics.ts';

const config = parseConfig(
  `model: { endpoints: [] }
mqtt: { url: "mqtt://127.0.0.1:1883", topic_prefix: "plant/east" }
cameras:
  - { id: dock-1, name: Dock one, url: "rtsp://127.0.0.1/d1", site: east }
  - { id: gate.2, url: "rtsp://127.0.0.1/g2" }
queries:
  - { id: forklift, cameras: [dock-1], question: "?", window: 4s, every: 2s }
  - { id: spill, cameras: [dock-1, gate.2], question: "?", window: 4s, every: 2s }
`,
  'test.yaml',
  {},
);

test('discovery: a binary sensor per camera × query, a status sensor and an image per camera, ids safe for Home Assistant', () => {
  const t = MqttTopics.of(config.mqtt!);
  const m = discoveryMessages(config, t, ['r1', 'r2']);
  // dock-1: 2 queries + status + image; gate.2: 1 query + status + image.
  assert.equal(m.length, 7);
  const topics = m.map((x) => x.topic);
  assert.ok(topics.includes('homeassistant/binary_sensor/vigil_plant_east/dock-1_forklift/config'));
  // A "." in a camera id is not allowed in a discovery object id: replaced.
  assert.ok(topics.includes('homeassistant/binary_sensor/vigil_plant_east/gate_2_spill/config'));
  const forklift = JSON.parse(m.find((x) => x.topic.endsWith('dock-1_forklift/config'))!.payload);
  assert.equal(forklift.state_topic, 'plant/east/dock-1/forklift/state');
  assert.deepEqual(forklift.availability.map((a: { topic: string }) => a.topic), ['plant/east/available/r1', 'plant/east/available/r2']);
  assert.equal(forklift.device.suggested_area, 'east');
  const image = JSON.parse(m.find((x) => x.topic.includes('/image/'))!.payload);
  assert.equal(image.content_type, 'image/jpeg');
});

test('incident payload: the event names, a bounded reasoning excerpt, relative links only', () => {
  assert.equal(eventName('open'), 'new');
  assert.equal(eventName('camera-offline'), 'new');
  assert.equal(eventName('resolve'), 'resolve');
  const incident = {
    id: 'abc', kind: 'finding', camera: 'dock-1', site: 'east', query: 'forklift', question: 'Q?', answer: 'Yes.', reasoning: 'x'.repeat(1000),
    severity: 'high', state: 'open', started_at: '2026-01-01T00:00:00.000Z', ended_at: '2026-01-01T00:00:04.000Z', closed_at: null,
    evidence: { frames: [{}, {}], clip_url: '/api/incidents/abc/clip.mp4', bytes: 1, deleted_at: null },
  } as never;
  const p = JSON.parse(incidentPayload('open', incident, 'Dock one'));
  assert.equal(p.event, 'new');
  assert.equal(p.camera_name, 'Dock one');
  assert.equal(p.active, true);
  assert.ok(p.reasoning.length <= 281 && p.reasoning.endsWith('…'));
  assert.deepEqual(p.evidence.frames, ['/api/incidents/abc/frames/0.jpg', '/api/incidents/abc/frames/1.jpg']);
  const s = JSON.parse(statusPayload({ camera: 'dock-1', state: 'starting', since: '2026-01-01T00:00:00.000Z', at: '2026-01-01T00:00:00.000Z', status: { reason: 'connecting' } } as never));
  assert.equal(s.state, 'degraded', 'Home Assistant sees online, degraded or offline');
});

test('mqtt config: credentials in the URL, a wildcard prefix and the reserved webhook id are refused', () => {
  const base = (mqtt: string, hooks = '') => `model: { endpoints: [] }\nmqtt: ${mqtt}\ncameras: [{ id: c, url: "rtsp://h/c" }]\n${hooks}`;
  assert.throws(() => parseConfig(base('{ url: "mqtt://u:p@h:1883" }'), 't.yaml', {}), /mqtt\.url: expected an mqtt:\/\/.*without credentials/);
  assert.throws(() => parseConfig(base('{ url: "mqtt://h", topic_prefix: "vigil/#" }'), 't.yaml', {}), /mqtt\.topic_prefix/);
  assert.throws(() => parseConfig(base('{ url: "mqtt://h" }', 'alerts:\n  webhooks: [{ id: mqtt, url: "http://h/x" }]\n'), 't.yaml', {}), /"mqtt" is reserved/);
  const ok = parseConfig(base('{ url: "mqtts://h:8883", password: "${P}" }'), 't.yaml', { P: 'pw-123' });
  assert.equal(ok.mqtt!.password, 'pw-123');
  assert.equal(ok.mqtt!.topicPrefix, 'vigil');
  assert.equal(ok.mqtt!.qos, 1);
});
