import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** What `/healthz` reports; a service is healthy when every check passes. */
export type HealthCheck = () => { ok: boolean; detail?: string } | Promise<{ ok: boolean; detail?: string }>;

export interface OpsServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `/metrics` and `/healthz` for services that have no HTTP API of their own.
 * `extra` handles any other path (return false to fall through to 404).
 */
export async function startOpsServer(opts: {
  port: number;
  host?: string;
  registry: Registry;
  health: Record<string, HealthCheck>;
  extra?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
}): Promise<OpsServer> {
  const handler = opsHandler(opts.registry, opts.health);
  const server = createServer((req, res) => {
    void (async () => {
      if (await handler(req, res)) return;
      if (opts.extra && (await opts.extra(req, res))) return;
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
    })().catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: (e as Error).message }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers `/metrics` and `/healthz`; returns false for other paths. Shared with alerts' API server. */
export function opsHandler(registry: Registry, health: Record<string, HealthCheck>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return false;
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
      return true;
    }
    if (path === '/healthz') {
      const results = Object.fromEntries(await Promise.all(Object.entries(health).map(async ([k, check]) => [k, await check()] as const)));
      const ok = Object.values(results).every((r) => r.ok);
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok, checks: results }));
      return true;
    }
    return false;
  };
}
