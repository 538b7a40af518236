import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as SocketServer } from 'socket.io';
import type { VigilConfig } from '@vigil/config';
import { decodeFinding, Topics } from '@vigil/contracts';
import type { Bus, InMessage } from '@vigil/bus';
import type { IncidentStore } from '@vigil/store';
import { createLogger, createRegistry, opsHandler, type Logger } from '@vigil/observability';
import { createApi } from './api.ts';
import { createAlertsMetrics } from './metrics.ts';

export interface AlertsService {
  port: number;
  close(): Promise<void>;
}

/** Composition root of alerts: `vigil.findings` → incidents (Postgres) → Socket.IO and REST. */
/** What alerts needs from outside; built once per process by the caller (see @vigil/platform). */
export interface AlertsDeps {
  bus: Bus;
  store: IncidentStore;
  logger?: Logger;
  /** Consumer group on vigil.findings (default vigil-alerts). */
  group?: string;
}

export async function startAlerts(config: VigilConfig, deps: AlertsDeps): Promise<AlertsService> {
  const log = deps.logger ?? createLogger('alerts');
  const registry = createRegistry('alerts');
  const metrics = createAlertsMetrics(registry);
  const { bus, store } = deps;
  await bus.ensureTopics([
    { topic: Topics.findings, partitions: 6, config: { 'max.message.bytes': String(8 * 1024 * 1024) } },
    { topic: Topics.deadLetter, partitions: 1 },
  ]);

  const api = createApi(store, metrics);
  const ops = opsHandler(registry, { store: async () => ({ ok: await store.ping() }) });
  const server = createServer((req, res) => {
    void (async () => {
      if (await ops(req, res)) return;
      if (await api(req, res)) return;
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
    })().catch((e: unknown) => {
      log.error({ err: (e as Error).message, url: req.url }, 'request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'internal error' }));
    });
  });
  const io = new SocketServer(server, { serveClient: true });
  io.on('connection', (socket) => {
    metrics.clients.inc();
    socket.on('disconnect', () => metrics.clients.dec());
  });

  const severityOf = new Map(config.queries.map((q) => [q.id, q.severity]));
  const siteOf = new Map(config.cameras.map((c) => [c.id, c.site]));
  const onFinding = async (m: InMessage) => {
    const decoded = decodeFinding(m.value);
    if (!decoded.ok) {
      metrics.rejected.inc();
      log.warn({ offset: m.offset, reason: decoded.reason }, 'malformed finding sent to dead letter');
      await bus.publish(Topics.deadLetter, [{ key: m.key, value: m.value, headers: { reason: decoded.reason, source: m.topic } }]);
      return;
    }
    const f = decoded.value;
    metrics.findings.inc({ verdict: String(f.verdict) });
    if (!f.verdict) return;
    // Written before the offset is committed (the bus commits after this resolves).
    const incident = await store.openFromFinding(f, { severity: severityOf.get(f.queryId) ?? 'medium', site: siteOf.get(f.cameraId) });
    if (!incident) {
      metrics.duplicates.inc();
      return;
    }
    metrics.incidents.inc({ camera: incident.camera, query: incident.query });
    log.info({ id: incident.id, camera: incident.camera, query: incident.query }, 'incident opened');
    io.emit('incident:new', incident);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.host, () => resolve());
  });
  const sub = await bus.subscribe({ topic: Topics.findings, group: deps.group ?? 'vigil-alerts', handle: onFinding });
  const port = (server.address() as AddressInfo).port;
  log.info({ port }, 'alerts started');

  let closing: Promise<void> | undefined;
  return {
    port,
    close: () =>
      (closing ??= (async () => {
        const steps = [
          () => sub.close(),
          () => new Promise<void>((r) => io.close(() => r())),
          () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
        ];
        for (const step of steps) await step().catch((e: unknown) => log.error({ err: String(e) }, 'error while stopping alerts'));
        log.info('alerts stopped');
      })()),
  };
}
