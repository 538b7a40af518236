import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { configSecrets, type VigilConfig } from '@vigil/config';
import { Topics, topicSpecs } from '@vigil/contracts';
import type { Bus, InMessage } from '@vigil/bus';
import type { Control } from '@vigil/control';
import { MemoryState, type SharedState } from '@vigil/state';
import type { IncidentStore } from '@vigil/store';
import { createLogger, createRegistry, opsHandler, scrubber, type Logger, type Scrub } from '@vigil/observability';
import { Authenticator, hardenServer, opsAccess, RequestGuard } from '@vigil/edge';
import { createApi } from './api.ts';
import { edgeHandlers } from './edge.ts';
import { liveViewRoute } from './live-route.ts';
import { EvidenceFiles } from './evidence.ts';
import { IncidentLifecycle, type AfterWrite, type Rejected } from './incidents.ts';
import { LiveEvents } from './live.ts';
import { createAlertsMetrics, removeCameraSeries } from './metrics.ts';
import { ConfigStatus } from './config-status.ts';
import { AlertPolicy } from './policy.ts';
import { WebhookSender } from './webhooks.ts';
import { MqttBridge } from './mqtt.ts';
import { serveDashboard } from './dashboard.ts';
import { LatestFrames } from './latest-frames.ts';
import { UsageRecorder } from './usage.ts';
import { ProgressRecorder } from './progress.ts';
import { WindowAudit } from './audit.ts';
import { LiveViewRelays } from '@vigil/live-view';
import { hostname } from 'node:os';

export interface AlertsService {
  port: number;
  /** Applies a new config: cameras, queries, webhooks, tokens and retention change without a restart. */
  reload(next: VigilConfig): Promise<{ removed: string[] }>;
  /** A reload was refused (an invalid file): shown on the dashboard; the running config stays. */
  reloadRefused(error: string): void;
  close(): Promise<void>;
}

/** What alerts needs from outside; built once per process by the caller (see @vigil/platform). */
export interface AlertsDeps {
  bus: Bus;
  store: IncidentStore;
  /** Tick claims across replicas (Redis in distributed mode); default in memory. */
  state?: SharedState;
  /** For `POST /api/ask` (infer answers on the control plane). */
  control?: Control;
  logger?: Logger;
  /** Consumer group on vigil.findings (default vigil-alerts); camera status uses `<group>-status`. */
  group?: string;
  /** Period of the close / offline / retention sweep (default 1 s). */
  tickMs?: number;
  /** Period of the webhook outbox poll (default 500 ms). */
  webhookPollMs?: number;
  /** Cleans text from elsewhere before it is logged or returned (default: this config's secrets). */
  scrub?: Scrub;
  /** Test seam between the store write and the offset commit. */
  afterWrite?: AfterWrite;
}

/** Composition root of alerts: findings and camera status → incidents → Socket.IO, REST, webhooks. */
export async function startAlerts(config: VigilConfig, deps: AlertsDeps): Promise<AlertsService> {
  const log = deps.logger ?? createLogger('alerts');
  const registry = createRegistry('alerts');
  const metrics = createAlertsMetrics(registry);
  const { bus, store } = deps;
  const ownState = deps.state ? undefined : new MemoryState();
  const state = deps.state ?? ownState!;
  await bus.ensureTopics(topicSpecs([Topics.findings, Topics.cameraStatus, Topics.thumbs, Topics.deadLetter]));

  let running = config;
  const auth = new Authenticator(config.alerts.tokens);
  const guard = new RequestGuard({ authEnabled: auth.enabled, allowedHosts: config.http.allowedHosts });
  let secrets = deps.scrub ?? scrubber(configSecrets(config));
  const scrub: Scrub = (text) => secrets(text);
  const evidence = new EvidenceFiles({ ...config.alerts.evidence, ffmpegPath: config.ingest.ffmpegPath });
  const policy = new AlertPolicy(config);
  const webhooks = new WebhookSender(config, store, log, metrics, deps.webhookPollMs);
  let mqttKick: (() => void) | undefined;
  // Incident changes wake every sender of the outbox.
  const outbox = { kick: () => (webhooks.kick(), mqttKick?.()) };
  const ops = opsHandler(registry, { store: async () => ({ ok: await store.ping() }), bus: () => ({ ok: bus.healthy() }) }, { access: opsAccess(auth, guard), scrub });
  // Live view: one relay per watched camera, reached only through this port's upgrade route.
  const relays = new LiveViewRelays({ ffmpegPath: config.ingest.ffmpegPath, log, ...config.alerts.liveView });
  const handlers: ((req: IncomingMessage, res: ServerResponse) => Promise<boolean>)[] = [ops, serveDashboard];
  const server = hardenServer(createServer());
  // Before Socket.IO attaches (it wraps the request listeners it finds).
  edgeHandlers({ server, guard, auth, handlers, upgrades: [liveViewRoute(() => running, relays)], metrics, log, scrub });
  const live = new LiveEvents(server, store, auth, guard, metrics, log, config.redis);
  const latest = new LatestFrames(new Set(config.cameras.map((c) => c.id)), () => metrics.chunksRejected.inc());
  const configStatus = new ConfigStatus(config, live);
  const apiDeps = { config, store, auth, evidence, live, webhooks: outbox, metrics, policy, control: deps.control, latest, scrub, configStatus };
  handlers.push(createApi(apiDeps));
  const usage = new UsageRecorder(store, log);
  const progress = new ProgressRecorder(store, log);
  const mqtt = config.mqtt
    ? new MqttBridge(config, {
        store,
        policy,
        metrics,
        log,
        scrub,
        control: deps.control,
        changed: (before, after) => {
          live.incident(before && !before.closed_at && after.closed_at ? 'incident:close' : 'incident:update', after);
          webhooks.kick();
        },
      })
    : undefined;
  const audit = new WindowAudit(store, config.alerts.audit.retentionMs, metrics, log);
  const lifecycle = new IncidentLifecycle(config, store, state, policy, evidence, live, outbox, metrics, log, deps.afterWrite, usage, progress, mqtt, audit);

  const deadLetter = (handle: (m: InMessage) => Promise<Rejected | undefined>) => async (m: InMessage) => {
    const rejected = await handle(m);
    if (!rejected) return;
    metrics.rejected.inc();
    log.warn({ topic: m.topic, offset: m.offset, reason: rejected.reason }, 'malformed message sent to dead letter');
    await bus.publish(Topics.deadLetter, [{ key: m.key, value: m.value, headers: { reason: rejected.reason, source: m.topic } }]);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.host, () => resolve());
  });
  const group = deps.group ?? 'vigil-alerts';
  const subs = [
    await bus.subscribe({ topic: Topics.findings, group, handle: deadLetter((m) => lifecycle.onFinding(m)) }),
    await bus.subscribe({ topic: Topics.cameraStatus, group: `${group}-status`, fromBeginning: true, handle: deadLetter((m) => lifecycle.onCameraStatus(m)) }),
    // Every replica keeps its own newest frames (a group of its own, newest messages only).
    await bus.subscribe({ topic: Topics.thumbs, group: `${group}-thumbs-${hostname()}-${process.pid}`, handle: latest.onChunk }),
  ];
  lifecycle.start(deps.tickMs ?? 1000);
  usage.start(deps.tickMs ? Math.max(deps.tickMs, 200) : 5000);
  progress.start();
  webhooks.start();
  webhooks.kick(); // deliveries left pending by a previous run
  mqttKick = mqtt && (() => mqtt.kick());
  mqtt?.start();
  const port = (server.address() as AddressInfo).port;
  log.info({ port, auth: auth.enabled ? 'tokens' : 'open', replicas: config.redis ? 'redis adapter' : 'single', webhooks: config.alerts.webhooks.length }, 'alerts started');
  if (!auth.enabled && !isLoopback(config.http.host)) {
    log.warn({ host: config.http.host }, 'authentication is off and alerts listens beyond this machine: anyone who can reach the port can read incidents, watch cameras and act; set alerts.tokens (docs/security.md)');
  }

  let closing: Promise<void> | undefined;
  return {
    port,
    reload: async (next) => {
      auth.update(next.alerts.tokens);
      guard.update({ authEnabled: auth.enabled, allowedHosts: next.http.allowedHosts });
      if (!deps.scrub) secrets = scrubber(configSecrets(next));
      policy.update(next);
      webhooks.update(next);
      mqtt?.update(next);
      if (JSON.stringify(next.mqtt) !== JSON.stringify(running.mqtt)) log.warn({ section: 'mqtt' }, 'changes to mqtt take effect when alerts restarts');
      latest.update(new Set(next.cameras.map((c) => c.id)));
      const removed = await lifecycle.update(next);
      apiDeps.config = next;
      running = next;
      for (const camera of removed) await removeCameraSeries(metrics, camera);
      // A removed camera's viewers, and every connection of a token no longer configured, are closed.
      const gone = new Set(removed);
      const closed = live.disconnectWhere((p) => !auth.has(p)) + relays.closeViewers((v) => gone.has(v.camera) || !auth.has(v.principal ?? ''), 'access revoked or camera removed');
      configStatus.applied(next);
      log.info({ cameras: next.cameras.length, queries: next.queries.length, removed, closed }, 'config reloaded');
      return { removed };
    },
    reloadRefused: (error) => configStatus.refused(scrub(error)),
    close: () =>
      (closing ??= (async () => {
        // Stop intake first (in-flight handlers finish and commit), then the timers, then serving.
        const steps = [
          ...subs.map((s) => () => s.close()),
          () => lifecycle.close(),
          () => usage.close(),
          () => progress.close(),
          () => webhooks.close(),
          async () => mqtt?.close(),
          async () => relays.close(),
          () => (server.closeAllConnections(), live.close()),
          async () => void (await ownState?.close()),
        ];
        for (const step of steps) await step().catch((e: unknown) => log.error({ err: String(e) }, 'error while stopping alerts'));
        log.info('alerts stopped');
      })()),
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
