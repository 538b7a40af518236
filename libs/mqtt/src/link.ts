import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { redactUrl, scrubber, urlCredentials, type Logger, type Scrub } from '@vigil/observability';
import { reconnectDelayMs } from './backoff.ts';
import { topicMatches, validFilter, validTopic } from './topic.ts';

export type QoS = 0 | 1 | 2;

export interface MqttLinkOptions {
  /** mqtt://, mqtts://, ws://, wss:// (no credentials in it). */
  url: string;
  username?: string;
  /** Never logged, never in an error message, never in metrics. */
  password?: string;
  /** Default vigil-<random>. */
  clientId?: string;
  /** File paths; read once at start. */
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
  /** Retained availability: `online` published on every connect, `offline` as the last will. */
  availability: { topic: string; qos: QoS };
  /** Messages kept while the broker is away; beyond it the oldest are dropped and counted. Default 1000. */
  maxQueued?: number;
  /** Messages sent and not yet acknowledged at once (also capped by the broker's Receive Maximum). Default 100. */
  maxInflight?: number;
  /** Inbound payloads larger than this are dropped before any handler sees them. Default 64 KiB. */
  maxPayloadBytes?: number;
  log: Logger;
  onDropped?(n: number): void;
  onState?(connected: boolean): void;
}

export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  /**
   * State its publisher sends afresh on every connect (e.g. Home Assistant discovery): never
   * queued while disconnected, and dropped rather than sent again when the connection is lost
   * before the broker took it — after a reconnect it could be stale (a config since reloaded).
   */
  currentOnly?: boolean;
}

export type MessageHandler = (topic: string, payload: Buffer) => void | Promise<void>;

/** A publish() waiting in the queue or on the wire. `seq` keeps the order when one is put back. */
interface Pending {
  seq: number;
  topic: string;
  payload: string | Buffer;
  qos: QoS;
  retain: boolean;
  currentOnly: boolean;
  state: 'queued' | 'inflight' | 'done';
  messageId: number;
  resolve(ok: boolean): void;
}

/** A publishNow() (or a connect-time publish) on the wire. */
interface Immediate {
  messageId: number;
  fail(err: Error): void;
}

interface Subscription {
  filter: string;
  qos: QoS;
  handlers: MessageHandler[];
  /** The connection it was last sent on; the connect sequence renews the others. */
  gen: number;
}

const SCHEMES = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:']);
/** How long each step of the connect sequence (online, subscriptions) may wait for the broker. */
const STEP_TIMEOUT_MS = 10_000;
/** A connection that lasted this long was healthy: the next outage starts the backoff afresh. */
const STABLE_MS = 10_000;
/** Tried once in close(); a broker that does not answer must not hold up shutdown. */
const CLOSE_TIMEOUT_MS = 3_000;
/** MQTT 5 DISCONNECT reason: end the session but let the broker publish the will. */
const DISCONNECT_WITH_WILL = 0x04;
/** CONNACK reasons that mean the credentials, not the network (v5 0x86/0x87, v3 4/5). */
const AUTH_REFUSED = new Set([0x86, 0x87, 4, 5]);

/**
 * Vigil's link to an MQTT 5 broker. mqtt.js speaks the protocol; this class owns everything a
 * long-lived service needs around it: its own bounded queue (mqtt.js never buffers while the
 * broker is away), reconnects with backoff and jitter, retained availability with a last will,
 * subscriptions renewed on every connect, and logs that never carry the password.
 */
export class MqttLink {
  private readonly client: MqttClient;
  private readonly log: Logger;
  private readonly url: string;
  private readonly scrub: Scrub;
  private readonly maxQueued: number;
  private readonly maxInflight: number;
  private readonly maxPayload: number;
  private readonly queue: Pending[] = [];
  private readonly inflight = new Set<Pending>();
  private readonly immediate = new Set<Immediate>();
  private readonly subs = new Map<string, Subscription>();
  private readonly connectHooks = new Set<() => void | Promise<void>>();
  /** Error reasons already logged in this outage: a broker that keeps refusing is said once. */
  private readonly logged = new Set<string>();
  private seq = 0;
  private gen = 0;
  private up = false;
  private ready = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private attempt = 0;
  private upSince = 0;
  private timer: NodeJS.Timeout | undefined;
  private droppedTotal = 0;
  private dropLogged = false;

  constructor(private readonly opts: MqttLinkOptions) {
    this.log = opts.log;
    this.url = redactUrl(opts.url);
    this.scrub = scrubber([opts.password]);
    this.maxQueued = Math.max(1, opts.maxQueued ?? 1000);
    this.maxInflight = Math.max(1, opts.maxInflight ?? 100);
    this.maxPayload = Math.max(1, opts.maxPayloadBytes ?? 64 * 1024);
    let scheme: string;
    try {
      scheme = new URL(opts.url).protocol;
    } catch {
      throw new Error(`mqtt: not a URL: ${this.url}`);
    }
    if (!SCHEMES.has(scheme)) throw new Error(`mqtt: unsupported scheme in ${this.url} (mqtt, mqtts, ws or wss)`);
    // Credentials in the URL would bypass the care taken with `password` below.
    if (urlCredentials(opts.url)) throw new Error(`mqtt: put credentials in username/password, not in the URL (${this.url})`);
    if (!validTopic(opts.availability.topic)) throw new Error('mqtt: invalid availability topic');

    const clientOptions: IClientOptions = {
      protocolVersion: 5,
      clientId: opts.clientId ?? `vigil-${randomBytes(6).toString('hex')}`,
      clean: true,
      keepalive: 30,
      connectTimeout: STEP_TIMEOUT_MS,
      // Reconnects are ours (backoff with jitter); mqtt.js only knows a fixed period.
      reconnectPeriod: 0,
      // Our queue is the only buffer: nothing is handed to mqtt.js while it is offline.
      queueQoSZero: false,
      resubscribe: false,
      manualConnect: true,
      will: { topic: opts.availability.topic, payload: Buffer.from('offline'), qos: opts.availability.qos, retain: true },
      // The broker must not send what we would drop anyway (room for the topic and properties).
      properties: { maximumPacketSize: this.maxPayload + 65_536 + 1024 },
      ...(opts.username !== undefined ? { username: opts.username } : {}),
      ...(opts.password !== undefined ? { password: opts.password } : {}),
      ...readTls(opts.tls),
    };
    this.client = connect(opts.url, clientOptions);
    this.client.on('connect', () => void this.onConnected());
    this.client.on('close', () => this.onClosed());
    this.client.on('error', (err) => this.onError(err));
    this.client.on('disconnect', (packet) => this.note('warn', `disconnect:${packet.reasonCode ?? 0}`, { reasonCode: packet.reasonCode }, 'mqtt broker ended the connection'));
    this.client.on('message', (topic, payload) => this.onMessage(topic, payload));
    this.log.info({ url: this.url }, 'mqtt connecting');
    this.client.connect();
  }

  get connected(): boolean {
    return this.ready;
  }

  get dropped(): number {
    return this.droppedTotal;
  }

  publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (!validTopic(topic)) {
      this.log.warn({ topic: short(topic) }, 'mqtt publish to an invalid topic refused');
      return Promise.resolve(false);
    }
    if (opts.currentOnly && !this.ready) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const p: Pending = { seq: this.seq++, topic, payload, qos: opts.qos ?? 0, retain: opts.retain ?? false, currentOnly: opts.currentOnly ?? false, state: 'queued', messageId: 0, resolve };
      this.queue.push(p);
      this.trim();
      this.pump();
    });
  }

  publishNow(topic: string, payload: string | Buffer, opts: PublishOptions & { timeoutMs?: number } = {}): Promise<void> {
    if (!this.ready || this.closed) return Promise.reject(new Error('mqtt: not connected'));
    if (!validTopic(topic)) return Promise.reject(new Error('mqtt: invalid topic'));
    if (this.unacked() >= this.window()) return Promise.reject(new Error('mqtt: too many messages awaiting acknowledgement'));
    return this.send(topic, payload, opts.qos ?? 0, opts.retain ?? false, opts.timeoutMs ?? 10_000);
  }

  subscribe(filter: string, handler: MessageHandler, opts: { qos?: QoS } = {}): void {
    if (!validFilter(filter)) throw new Error(`mqtt: invalid topic filter ${JSON.stringify(short(filter))}`);
    const qos = opts.qos ?? 0;
    let sub = this.subs.get(filter);
    if (!sub) this.subs.set(filter, (sub = { filter, qos, handlers: [], gen: -1 }));
    sub.qos = Math.max(sub.qos, qos) as QoS;
    sub.handlers.push(handler);
    if (this.up && !this.closed) void this.renew(sub);
  }

  onConnect(fn: () => void | Promise<void>): () => void {
    // A wrapper, so registering the same function twice still gives two independent entries.
    const entry = (): void | Promise<void> => fn();
    this.connectHooks.add(entry);
    return () => void this.connectHooks.delete(entry);
  }

  close(): Promise<void> {
    return (this.closing ??= this.shutdown());
  }

  // --- connection lifecycle -------------------------------------------------------------

  /** online first, then subscriptions, then the queue and the caller's hooks. */
  private async onConnected(): Promise<void> {
    const gen = ++this.gen;
    this.up = true;
    this.upSince = Date.now();
    this.logged.clear();
    this.dropLogged = false;
    if (this.closed) return;
    this.log.info({ url: this.url }, 'mqtt connected');
    const { topic, qos } = this.opts.availability;
    try {
      await this.send(topic, 'online', qos, true, STEP_TIMEOUT_MS);
    } catch (e) {
      if (gen !== this.gen) return;
      this.log.warn({ reason: this.reason(e) }, 'mqtt could not publish online');
    }
    if (gen !== this.gen) return;
    await Promise.all([...this.subs.values()].filter((s) => s.gen !== gen).map((s) => this.renew(s)));
    if (gen !== this.gen || this.closed) return;
    this.ready = true;
    this.callback(() => this.opts.onState?.(true));
    this.pump();
    for (const hook of [...this.connectHooks]) {
      void Promise.resolve()
        .then(hook)
        .catch((e: unknown) => this.log.warn({ reason: this.reason(e) }, 'mqtt onConnect hook failed'));
    }
  }

  private onClosed(): void {
    this.gen++;
    const wasReady = this.ready;
    this.up = false;
    this.ready = false;
    if (wasReady) {
      this.log.warn({ url: this.url }, 'mqtt connection lost');
      this.callback(() => this.opts.onState?.(false));
    }
    // mqtt.js would resend these from its own store on reconnect; take them back into ours.
    for (const p of [...this.inflight]) this.takeBack(p);
    // Current-only state waiting or unacknowledged is dropped: its publisher sends it fresh on connect.
    for (const p of this.queue.filter((q) => q.currentOnly)) this.finish(p, false);
    this.queue.splice(0, this.queue.length, ...this.queue.filter((q) => !q.currentOnly));
    for (const m of [...this.immediate]) m.fail(new Error('mqtt: connection lost'));
    if (this.closed) return;
    if (this.upSince && Date.now() - this.upSince >= STABLE_MS) this.attempt = 0;
    this.upSince = 0;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.timer || this.closed) return;
    const delayMs = reconnectDelayMs(this.attempt++);
    this.log.debug({ attempt: this.attempt, delayMs }, 'mqtt reconnect scheduled');
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) this.client.reconnect();
    }, delayMs);
  }

  private onError(err: Error): void {
    const code = (err as { code?: unknown }).code;
    const reason = this.reason(err);
    if (typeof code === 'number' && AUTH_REFUSED.has(code)) {
      this.note('error', `auth:${reason}`, { url: this.url, reason }, 'mqtt authorisation failed: the broker refused the credentials');
    } else {
      this.note('warn', `error:${reason}`, { url: this.url, reason }, 'mqtt connection error');
    }
  }

  /** Logs at `level` the first time `key` is seen in this outage, at debug after that. */
  private note(level: 'warn' | 'error', key: string, fields: Record<string, unknown>, msg: string): void {
    if (this.logged.has(key)) {
      this.log.debug(fields, msg);
      return;
    }
    this.logged.add(key);
    this.log[level](fields, msg);
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    let willNeeded = false;
    if (this.up) {
      try {
        await this.send(this.opts.availability.topic, 'offline', this.opts.availability.qos, true, CLOSE_TIMEOUT_MS);
      } catch (e) {
        willNeeded = true; // the broker then publishes `offline` from the will instead
        this.log.warn({ reason: this.reason(e) }, 'mqtt could not publish offline');
      }
    }
    const wasReady = this.ready;
    this.ready = false;
    for (const p of this.queue.splice(0)) this.finish(p, false);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.client.stream?.destroy();
        resolve();
      }, CLOSE_TIMEOUT_MS);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      if (this.up) this.client.end(false, willNeeded ? { reasonCode: DISCONNECT_WITH_WILL } : {}, done);
      else if (this.client.stream && !this.client.stream.destroyed) this.client.end(true, done);
      else {
        // Between attempts: no stream left whose close mqtt.js could wait for.
        this.client.end(true);
        done();
      }
    });
    for (const p of [...this.inflight]) this.finish(p, false);
    this.up = false;
    if (wasReady) this.callback(() => this.opts.onState?.(false));
    this.log.info({ url: this.url }, 'mqtt closed');
  }

  // --- outbound --------------------------------------------------------------------------

  /** The broker's Receive Maximum bounds what may await an acknowledgement at once. */
  private window(): number {
    return Math.max(1, Math.min(this.maxInflight, this.client.serverProperties?.receiveMaximum ?? 65_535));
  }

  private unacked(): number {
    return this.inflight.size + this.immediate.size;
  }

  /** Sends queued messages, in order, while the link is ready and the window has room. */
  private pump(): void {
    while (this.ready && this.queue.length > 0 && this.unacked() < this.window()) {
      const p = this.queue.shift()!;
      p.state = 'inflight';
      this.inflight.add(p);
      this.client.publish(p.topic, p.payload, { qos: p.qos, retain: p.retain }, (err) => this.settle(p, err));
      if (p.qos > 0 && p.state === 'inflight') p.messageId = this.client.getLastMessageId();
    }
  }

  private settle(p: Pending, err: Error | undefined): void {
    if (p.state !== 'inflight') return; // taken back already
    this.inflight.delete(p);
    if (!err) this.finish(p, true);
    else if (typeof (err as { code?: unknown }).code === 'number') {
      // A reason code is the broker's verdict on this message; sending it again would not help.
      this.log.warn({ topic: short(p.topic), reason: this.reason(err) }, 'mqtt broker refused a message');
      this.finish(p, false);
    } else if (p.qos > 0 && !this.closed && (!this.up || err.message === 'Connection closed')) {
      // The connection went (mqtt.js flushes its callbacks just before it says so): send again.
      this.requeue(p);
    } else {
      this.log.warn({ topic: short(p.topic), reason: this.reason(err) }, 'mqtt publish failed');
      this.finish(p, false);
    }
    this.pump();
  }

  /** Detaches an in-flight message from mqtt.js; QoS 1/2 go back to the queue to be sent again. */
  private takeBack(p: Pending): void {
    if (p.state !== 'inflight') return;
    this.inflight.delete(p);
    if (p.qos > 0 && !this.closed) this.requeue(p);
    else this.finish(p, false); // QoS 0 may or may not have left: at most once
    if (p.messageId) this.client.removeOutgoingMessage(p.messageId);
  }

  private requeue(p: Pending): void {
    p.state = 'queued';
    p.messageId = 0;
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.seq > p.seq) i--;
    this.queue.splice(i, 0, p);
    this.trim();
  }

  /** Drops the oldest queued messages beyond `maxQueued`. */
  private trim(): void {
    let n = 0;
    while (this.queue.length > this.maxQueued) {
      this.finish(this.queue.shift()!, false);
      n++;
    }
    if (n === 0) return;
    this.droppedTotal += n;
    if (!this.dropLogged) {
      this.dropLogged = true;
      this.log.warn({ maxQueued: this.maxQueued, dropped: this.droppedTotal }, 'mqtt queue full: dropping the oldest messages');
    }
    this.callback(() => this.opts.onDropped?.(n));
  }

  private finish(p: Pending, ok: boolean): void {
    if (p.state === 'done') return;
    p.state = 'done';
    p.resolve(ok);
  }

  /** One message straight to mqtt.js, settled by its acknowledgement, a timeout or a lost connection. */
  private send(topic: string, payload: string | Buffer, qos: QoS, retain: boolean, timeoutMs: number): Promise<void> {
    if (!this.up) return Promise.reject(new Error('mqtt: not connected'));
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const m: Immediate = {
        messageId: 0,
        fail: (err) => {
          if (end()) reject(err);
        },
      };
      const end = (): boolean => {
        if (done) return false;
        done = true;
        clearTimeout(timer);
        this.immediate.delete(m);
        if (m.messageId) this.client.removeOutgoingMessage(m.messageId);
        this.pump();
        return true;
      };
      const timer = setTimeout(() => m.fail(new Error(`mqtt: no acknowledgement within ${timeoutMs} ms`)), timeoutMs);
      this.immediate.add(m);
      this.client.publish(topic, payload, { qos, retain }, (err) => {
        m.messageId = 0; // settled by mqtt.js: nothing left in its store to remove
        if (!end()) return;
        if (err) reject(new Error(`mqtt: publish failed: ${this.reason(err)}`));
        else resolve();
      });
      if (qos > 0 && !done) m.messageId = this.client.getLastMessageId();
    });
  }

  // --- inbound ---------------------------------------------------------------------------

  private renew(sub: Subscription): Promise<void> {
    const gen = this.gen;
    sub.gen = gen;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.log.warn({ filter: short(sub.filter) }, 'mqtt subscription not acknowledged in time');
        resolve();
      }, STEP_TIMEOUT_MS);
      this.client.subscribe(sub.filter, { qos: sub.qos }, (err) => {
        clearTimeout(timer);
        if (err && gen === this.gen) this.note('warn', `sub:${sub.filter}:${this.reason(err)}`, { filter: short(sub.filter), reason: this.reason(err) }, 'mqtt subscription refused');
        resolve();
      });
    });
  }

  private onMessage(topic: string, payload: Buffer): void {
    // Inbound data is hostile: size first, then only the handlers whose filter matches.
    if (payload.length > this.maxPayload) {
      this.log.debug({ topic: short(topic), bytes: payload.length, max: this.maxPayload }, 'mqtt message over the size limit dropped');
      return;
    }
    for (const sub of this.subs.values()) {
      if (!topicMatches(sub.filter, topic)) continue;
      for (const handler of sub.handlers) {
        void Promise.resolve()
          .then(() => handler(topic, payload))
          .catch((e: unknown) => this.log.warn({ topic: short(topic), reason: this.reason(e) }, 'mqtt message handler failed'));
      }
    }
  }

  // --- helpers ---------------------------------------------------------------------------

  /** An error's message made safe to log: URLs redacted, the password masked in any form. */
  private reason(e: unknown): string {
    return this.scrub(short(e instanceof Error ? e.message : String(e), 500));
  }

  /** Runs a caller's callback; its exceptions are theirs to fix, not the link's to die of. */
  private callback(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log.warn({ reason: this.reason(e) }, 'mqtt callback failed');
    }
  }
}

function readTls(tls: MqttLinkOptions['tls']): Pick<IClientOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'> {
  if (!tls) return {};
  const read = (what: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`mqtt: cannot read the TLS ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  };
  return {
    ...(tls.ca ? { ca: read('CA', tls.ca) } : {}),
    ...(tls.cert ? { cert: read('certificate', tls.cert) } : {}),
    ...(tls.key ? { key: read('key', tls.key) } : {}),
    ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
  };
}

/** Long hostile strings (topics, messages) are cut before they reach a log line. */
function short(s: string, max = 200): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
