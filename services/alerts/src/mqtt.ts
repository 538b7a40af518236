import { hostname } from 'node:os';
import { MQTT_TARGET, type VigilConfig } from '@vigil/config';
import { ASK_SUBJECT, MAX_ASK_QUESTION, parseAskReply, type AskRequest, type Incident, type StoredCameraStatus } from '@vigil/contracts';
import type { Control } from '@vigil/control';
import { MqttLink } from '@vigil/mqtt';
import type { IncidentStore } from '@vigil/store';
import { OFFLINE_QUERY } from '@vigil/store';
import type { Logger, Scrub } from '@vigil/observability';
import type { AlertsMetrics } from './metrics.ts';
import type { AlertPolicy } from './policy.ts';
import { discoveryMessages, incidentPayload, MqttTopics, statusPayload } from './mqtt-topics.ts';

const LEASE_MS = 30_000;
let instances = 0;
/** Commands on a shared subscription: each is taken by one alerts replica. */
const SHARE_GROUP = 'vigil-alerts';

export interface MqttBridgeDeps {
  store: IncidentStore;
  policy: AlertPolicy;
  metrics: AlertsMetrics;
  log: Logger;
  scrub: Scrub;
  /** For `<prefix>/<camera>/ask` (infer answers on the control plane). */
  control?: Control;
  /** An incident changed by a command (ack, resolve): tell the dashboards and the webhooks. */
  changed(before: Incident | undefined, after: Incident): void;
}

/**
 * Vigil on MQTT: incident events from the outbox (each published once across replicas, as
 * webhooks are), retained per-query states and camera statuses, the latest evidence frame per
 * camera, Home Assistant discovery, and commands in (ask, ack, resolve). Nothing in the
 * pipeline waits on the broker: while it is away, events stay in the outbox and states are
 * republished on reconnect.
 */
export class MqttBridge {
  private readonly link: MqttLink;
  private readonly topics: MqttTopics;
  private readonly replica: string;
  private config: VigilConfig;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  /** Replicas whose availability says online (HA's availability list). */
  private readonly replicas = new Set<string>();
  private discoveryTimer?: NodeJS.Timeout;
  /** Discovery topics seen retained on the broker: those not in the config are removed. */
  private readonly seenDiscovery = new Set<string>();

  constructor(config: VigilConfig, private readonly d: MqttBridgeDeps) {
    const m = config.mqtt!;
    this.config = config;
    this.topics = MqttTopics.of(m);
    // One per alerts instance (pod, process; a test may run two in one process): its client id and availability topic.
    this.replica = `${(m.clientId ?? 'vigil-alerts').replace(/[^A-Za-z0-9_-]/g, '_')}-${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}-${++instances}`.slice(0, 64);
    this.replicas.add(this.replica);
    this.link = new MqttLink({
      url: m.url,
      username: m.username,
      password: m.password,
      clientId: this.replica,
      tls: m.tls,
      availability: { topic: this.topics.available(this.replica), qos: 1 },
      maxQueued: m.maxQueued,
      log: d.log,
      onDropped: (n) => d.metrics.mqttDropped.inc(n),
      onState: (up) => d.metrics.mqttConnected.set(up ? 1 : 0),
    });
    this.link.subscribe(`${this.topics.prefix}/available/+`, (topic, payload) => this.onAvailability(topic, payload.toString()));
    if (m.discovery.enabled) this.link.subscribe(this.topics.discoveryFilter(), (topic, payload) => void (payload.length > 0 && this.seenDiscovery.add(topic)));
    if (m.commands) {
      this.link.subscribe(`$share/${SHARE_GROUP}/${this.topics.askFilter()}`, (topic, payload) => this.onAsk(topic, payload));
      this.link.subscribe(`$share/${SHARE_GROUP}/${this.topics.actFilter()}`, (topic, payload) => this.onAct(topic, payload));
    }
    this.link.onConnect(() => this.republish());
  }

  start(pollMs = 1000): void {
    this.timer = setInterval(() => this.kick(), pollMs);
    this.timer.unref();
    this.kick();
  }

  /** Takes a reloaded config: discovery for cameras and queries it dropped is removed, the rest republished. */
  update(next: VigilConfig): void {
    this.config = next;
    this.scheduleDiscovery();
  }

  /** Publishes what the outbox holds for MQTT (after an incident change, and on a timer). */
  kick(): void {
    if (this.stopped || !this.link.connected) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((e: unknown) => this.d.log.warn({ err: this.d.scrub((e as Error).message) }, 'mqtt outbox not drained'))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** A camera's stored status (retained; the last one wins). */
  cameraStatus(s: StoredCameraStatus): void {
    if (s.state === 'removed') return;
    void this.link.publish(this.topics.status(s.camera), statusPayload(s), { qos: this.qos, retain: true });
  }

  /** The latest evidence frame of a camera, as bytes for Home Assistant's image entity (retained). */
  evidenceFrame(camera: string, jpeg: Buffer): void {
    void this.link.publish(this.topics.image(camera), jpeg, { qos: this.qos, retain: true });
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.discoveryTimer);
    await this.running;
    await this.link.close();
  }

  private get qos(): 0 | 1 | 2 {
    return this.config.mqtt?.qos ?? 1;
  }

  private async drain(): Promise<void> {
    const names = new Map(this.config.cameras.map((c) => [c.id, c.name]));
    for (;;) {
      if (!this.link.connected || this.stopped) return;
      const batch = await this.d.store.claimDeliveries(50, LEASE_MS, { only: MQTT_TARGET });
      if (batch.length === 0) return;
      // In order: an incident's `new` goes out before its `close`.
      for (const delivery of batch) {
        const incident = await this.d.store.get(delivery.incidentId);
        if (!incident) continue;
        try {
          await this.link.publishNow(this.topics.incidents(), incidentPayload(delivery.event, incident, names.get(incident.camera)), { qos: this.qos });
          if (incident.query !== OFFLINE_QUERY) await this.link.publishNow(this.topics.state(incident.camera, incident.query), stateOf(incident), { qos: this.qos, retain: true });
          await this.d.store.finishDelivery(delivery.id, { ok: true });
          this.d.metrics.mqttMessages.inc({ kind: 'incident' });
        } catch (e) {
          // The broker went away mid-batch: the rest stay leased and come back after the lease.
          await this.d.store.finishDelivery(delivery.id, { ok: false, error: this.d.scrub((e as Error).message), retryAt: new Date(Date.now() + 1000) });
          return;
        }
      }
    }
  }

  /** After every (re)connect: retained states from the store, camera statuses, discovery; then the outbox. */
  private async republish(): Promise<void> {
    try {
      const active = new Set((await this.d.store.active(10_000)).map((i) => `${i.camera}\u0000${i.query}`));
      for (const c of this.config.cameras) {
        // A shadow query has no state of its own on MQTT: it never alerts.
        for (const q of this.config.queries.filter((x) => x.cameras.includes(c.id) && x.shadow === undefined)) {
          void this.link.publish(this.topics.state(c.id, q.id), active.has(`${c.id}\u0000${q.id}`) ? 'ON' : 'OFF', { qos: this.qos, retain: true });
        }
      }
      const known = new Set(this.config.cameras.map((c) => c.id));
      for (const s of await this.d.store.cameraStatuses()) if (known.has(s.camera)) this.cameraStatus(s);
    } catch (e) {
      this.d.log.warn({ err: this.d.scrub((e as Error).message) }, 'mqtt: states not republished');
    }
    this.scheduleDiscovery();
    this.kick();
  }

  /** Discovery shortly after changes settle (the availability of other replicas arrives just after connecting). */
  private scheduleDiscovery(): void {
    if (!this.config.mqtt?.discovery.enabled) return;
    clearTimeout(this.discoveryTimer);
    this.discoveryTimer = setTimeout(() => this.publishDiscovery(), 500);
    this.discoveryTimer.unref();
  }

  private publishDiscovery(): void {
    // Discovery is state, not an event: queued while the broker is away, or unacknowledged when
    // it went, it would go out stale after a reload (a removed query's entity back for a moment).
    // The connect hook sends it fresh.
    if (this.stopped || !this.link.connected) return;
    const messages = discoveryMessages(this.config, this.topics, [...this.replicas].sort());
    const wanted = new Set(messages.map((m) => m.topic));
    for (const m of messages) void this.link.publish(m.topic, m.payload, { qos: this.qos, retain: true, currentOnly: true });
    // An empty retained message removes an entity: cameras and queries no longer configured.
    for (const topic of this.seenDiscovery) {
      if (wanted.has(topic)) continue;
      // Forgotten once the broker has it: a removal lost with the connection is sent again on connect.
      void this.link.publish(topic, '', { qos: this.qos, retain: true, currentOnly: true }).then((ok) => ok && this.seenDiscovery.delete(topic));
    }
  }

  private onAvailability(topic: string, payload: string): void {
    const replica = topic.slice(topic.lastIndexOf('/') + 1);
    const before = this.replicas.size;
    if (payload === 'online') this.replicas.add(replica);
    else if (replica !== this.replica) this.replicas.delete(replica);
    if (this.replicas.size !== before) this.scheduleDiscovery();
  }

  /** `<prefix>/<camera>/ask`, payload the question: answered on `<prefix>/<camera>/answer`. */
  private async onAsk(topic: string, payload: Buffer): Promise<void> {
    const camera = topic.slice(this.topics.prefix.length + 1, -'/ask'.length);
    const answer = (body: object) => void this.link.publish(this.topics.answer(camera), JSON.stringify(body), { qos: this.qos });
    const question = payload.toString('utf8').trim();
    if (!this.config.cameras.some((c) => c.id === camera)) return answer({ ok: false, error: `unknown camera "${camera.slice(0, 64)}"` });
    if (!question || question.length > MAX_ASK_QUESTION) return answer({ ok: false, error: `the question must be 1 to ${MAX_ASK_QUESTION} characters` });
    if (!this.d.control) return answer({ ok: false, error: 'no control plane: asking needs infer running with this alerts' });
    this.d.metrics.mqttCommands.inc({ command: 'ask' });
    const request: AskRequest = { v: 1, cameraId: camera, question, windowMs: 8000 };
    try {
      const reply = parseAskReply(await this.d.control.request(ASK_SUBJECT, request, this.config.model.timeoutMs + 10_000));
      answer(reply.ok ? { ok: true, ...reply.value } : { ok: false, error: `infer's answer is malformed: ${this.d.scrub(reply.reason)}` });
    } catch (e) {
      answer({ ok: false, error: `infer could not answer: ${this.d.scrub((e as Error).message)}` });
    }
  }

  /** `<prefix>/incidents/<id>/ack` or `/resolve`; payload empty, a note, or `{"by": …, "note": …}`. */
  private async onAct(topic: string, payload: Buffer): Promise<void> {
    const parts = topic.slice(this.topics.prefix.length + 1).split('/');
    const [, id, action] = parts;
    if (parts.length !== 3 || (action !== 'ack' && action !== 'resolve') || !id || !/^[A-Za-z0-9_-]{1,128}$/.test(id)) return;
    const { by, note } = actionBody(payload);
    this.d.metrics.mqttCommands.inc({ command: action });
    const before = await this.d.store.get(id);
    const r = await this.d.store.act(id, action, `mqtt:${by}`, note, (query) => this.d.policy.webhooks(action, query === OFFLINE_QUERY ? undefined : query));
    if (r === undefined || r === 'conflict') {
      this.d.log.info({ id, action, result: r ?? 'unknown incident' }, 'mqtt command not applied');
      return;
    }
    this.d.changed(before, r);
    this.kick();
  }
}

const stateOf = (i: Incident) => (i.closed_at === null && i.state !== 'resolved' ? 'ON' : 'OFF');

/** Who acted and their note, from a hostile payload: bounded, plain text. */
function actionBody(payload: Buffer): { by: string; note: string } {
  const text = payload.toString('utf8').slice(0, 2000).trim();
  let by = 'operator';
  let note = text;
  if (text.startsWith('{')) {
    try {
      const o = JSON.parse(text) as Record<string, unknown>;
      by = typeof o.by === 'string' && /^[\p{L}\p{N} _.@-]{1,64}$/u.test(o.by) ? o.by : by;
      note = typeof o.note === 'string' ? o.note : '';
    } catch {
      note = text;
    }
  }
  return { by, note: note.slice(0, 1000) };
}
