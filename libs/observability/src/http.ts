import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Scrub } from './redact.ts';

/** What `/healthz` reports; a service is healthy when every check passes. */
export type HealthCheck = () => { ok: boolean; detail?: string } | Promise<{ ok: boolean; detail?: string }>;

/**
 * Who may read the ops endpoints (metrics, details): with tokens configured, only holders of
 * one; `/healthz` still answers everyone, as a bare `{ok}`, for probes that carry none.
 */
export type OpsAccess = (req: IncomingMessage) => { ok: true } | { ok: false; status: number; message: string };

/** What the ops endpoints are guarded and cleaned with. */
export interface OpsOptions {
  access?: OpsAccess;
  /** Applied to `/metrics` (label values may quote endpoints or errors). */
  scrub?: Scrub;
}

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
  /** Timeouts and limits for the listener (see @vigil/edge `hardenServer`). */
  harden?: (server: Server) => void;
  extra?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
} & OpsOptions): Promise<OpsServer> {
  const handler = opsHandler(opts.registry, opts.health, opts);
  const server = createServer((req, res) => {
    void (async () => {
      if (await handler(req, res)) return;
      if (opts.extra) {
        // Everything beyond /metrics and /healthz needs the same access as /metrics.
        const a = opts.access?.(req) ?? { ok: true };
        if (!a.ok) return void res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: a.message }));
        if (await opts.extra(req, res)) return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
    })().catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: opts.scrub ? opts.scrub((e as Error).message) : 'internal error' }));
    });
  });
  opts.harden?.(server);
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
export function opsHandler(registry: Registry, health: Record<string, HealthCheck>, opts: OpsOptions = {}) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path !== '/metrics' && path !== '/healthz') return false;
    const access = opts.access?.(req) ?? { ok: true as const };
    if (path === '/metrics') {
      if (!access.ok) {
        res.writeHead(access.status, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="vigil"' }).end(JSON.stringify({ error: access.message }));
        return true;
      }
      const text = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType }).end(opts.scrub ? opts.scrub(text) : text);
      return true;
    }
    const results = Object.fromEntries(await Promise.all(Object.entries(health).map(async ([k, check]) => [k, await check()] as const)));
    const ok = Object.values(results).every((r) => r.ok);
    // Probes need only the verdict; which dependency failed is for token holders.
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(access.ok ? { ok, checks: results } : { ok }));
    return true;
  };
}
