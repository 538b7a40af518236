import type { MqttConfig, VigilConfig } from '@vigil/config';
import type { Incident, StoredCameraStatus } from '@vigil/contracts';

/** Where everything of one deployment lives on the broker (ids are `[A-Za-z0-9_.-]`: safe topic levels). */
export class MqttTopics {
  constructor(readonly prefix: string, readonly discoveryPrefix: string) {}

  incidents = () => `${this.prefix}/incidents`;
  state = (camera: string, query: string) => `${this.prefix}/${camera}/${query}/state`;
  status = (camera: string) => `${this.prefix}/${camera}/status`;
  image = (camera: string) => `${this.prefix}/${camera}/image`;
  available = (replica: string) => `${this.prefix}/available/${replica}`;
  answer = (camera: string) => `${this.prefix}/${camera}/answer`;
  /** Commands: `<prefix>/<camera>/ask`, `<prefix>/incidents/<id>/ack|resolve`. */
  askFilter = () => `${this.prefix}/+/ask`;
  actFilter = () => `${this.prefix}/incidents/+/+`;

  /** Home Assistant's node id for this deployment (the prefix, flattened). */
  node = () => `vigil_${this.prefix.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  discovery = (component: 'binary_sensor' | 'sensor' | 'image', objectId: string) => `${this.discoveryPrefix}/${component}/${this.node()}/${objectId.replace(/[^A-Za-z0-9_-]/g, '_')}/config`;
  /** Every discovery config of this deployment (to find those left by cameras and queries since removed). */
  discoveryFilter = () => `${this.discoveryPrefix}/+/${this.node()}/+/config`;

  static of(c: MqttConfig): MqttTopics {
    return new MqttTopics(c.topicPrefix, c.discovery.prefix);
  }
}

/** The incident events MQTT publishes (`camera-offline` incidents open as `new` too). */
export function eventName(outboxEvent: string): 'new' | 'update' | 'close' | 'ack' | 'resolve' {
  switch (outboxEvent) {
    case 'update':
    case 'close':
    case 'ack':
    case 'resolve':
      return outboxEvent;
    default:
      return 'new';
  }
}

const EXCERPT = 280;

/** One `<prefix>/incidents` message: what a notification needs, and links (relative to the dashboard) for the rest. */
export function incidentPayload(event: string, i: Incident, cameraName?: string): string {
  const reasoning = i.reasoning.length > EXCERPT ? `${i.reasoning.slice(0, EXCERPT).trimEnd()}…` : i.reasoning;
  return JSON.stringify({
    event: eventName(event),
    id: i.id,
    kind: i.kind,
    camera: i.camera,
    camera_name: cameraName ?? i.camera,
    site: i.site,
    query: i.query,
    question: i.question,
    severity: i.severity,
    state: i.state,
    active: i.closed_at === null,
    answer: i.answer,
    reasoning,
    started_at: i.started_at,
    ended_at: i.ended_at,
    closed_at: i.closed_at,
    url: `/incidents/${i.id}`,
    api: `/api/incidents/${i.id}`,
    evidence: {
      frames: i.evidence.frames.map((_f, n) => `/api/incidents/${i.id}/frames/${n}.jpg`),
      clip: i.evidence.clip_url,
    },
  });
}

/** Retained `<prefix>/<camera>/status`: the state Home Assistant shows, and why. */
export function statusPayload(s: StoredCameraStatus): string {
  return JSON.stringify({ state: s.state === 'starting' ? 'degraded' : s.state, reason: s.status.reason ?? null, since: s.since });
}

export interface DiscoveryMessage {
  topic: string;
  payload: string;
}

/**
 * Home Assistant MQTT discovery for a config: per camera one device holding a binary sensor
 * per query (ON while an incident is open), a sensor for the camera's status and an image
 * entity fed with the latest evidence frame's bytes (never a URL with a token in it).
 */
export function discoveryMessages(config: VigilConfig, t: MqttTopics, replicas: string[]): DiscoveryMessage[] {
  const availability = replicas.map((r) => ({ topic: t.available(r), payload_available: 'online', payload_not_available: 'offline' }));
  const out: DiscoveryMessage[] = [];
  for (const camera of config.cameras) {
    const device = { identifiers: [`${t.node()}_${camera.id}`], name: camera.name, manufacturer: 'Vigil', model: 'camera', suggested_area: camera.site };
    const common = { device, availability, availability_mode: 'any' };
    for (const q of config.queries.filter((x) => x.cameras.includes(camera.id) && x.shadow === undefined)) {
      const objectId = `${camera.id}_${q.id}`;
      out.push({
        topic: t.discovery('binary_sensor', objectId),
        payload: JSON.stringify({ ...common, name: q.id, unique_id: `${t.node()}_${objectId}`, state_topic: t.state(camera.id, q.id), payload_on: 'ON', payload_off: 'OFF', device_class: 'problem' }),
      });
    }
    out.push({
      topic: t.discovery('sensor', `${camera.id}_status`),
      payload: JSON.stringify({ ...common, name: 'Status', unique_id: `${t.node()}_${camera.id}_status`, state_topic: t.status(camera.id), value_template: '{{ value_json.state }}', json_attributes_topic: t.status(camera.id), icon: 'mdi:cctv' }),
    });
    out.push({
      topic: t.discovery('image', `${camera.id}_evidence`),
      payload: JSON.stringify({ ...common, name: 'Latest evidence', unique_id: `${t.node()}_${camera.id}_evidence`, image_topic: t.image(camera.id), content_type: 'image/jpeg' }),
    });
  }
  return out;
}
