import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { refuseUpgrade, requestUrl, type Authenticator, type RequestGuard } from '@vigil/edge';
import type { Logger, Scrub } from '@vigil/observability';
import type { AlertsMetrics } from './metrics.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** A WebSocket endpoint of ours under /api (live view); `match` returns its params or undefined. */
export interface UpgradeRoute {
  match(path: string): Record<string, string> | undefined;
  handle(req: IncomingMessage, socket: Duplex, head: Buffer, params: Record<string, string>, principal: string): Promise<void>;
}

/**
 * Everything that reaches alerts' port passes here first: the request target must parse,
 * the guard (Host, Origin, JSON mutations) must pass, and no handler's failure reaches the
 * process — a request that fails is a 500 with nothing internal in it, logged once.
 * Attach it before Socket.IO: engine.io wraps the request listeners present when it attaches.
 * `handlers` and `upgrades` are read per request, so they may be filled in afterwards.
 */
export function edgeHandlers(d: {
  server: Server;
  guard: RequestGuard;
  auth: Authenticator;
  handlers: Handler[];
  upgrades: UpgradeRoute[];
  metrics: AlertsMetrics;
  log: Logger;
  scrub: Scrub;
}): void {
  const refused = (reason: string) => d.metrics.refused.inc({ reason });
  d.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = requestUrl(req);
    if (!url) {
      refused('bad_target');
      return void sendError(res, 400, 'request target must be a path like /api/incidents');
    }
    // Only POST needs the JSON check: a cross-site page can send other methods only after a preflight.
    const r = d.guard.check(req, req.method === 'POST' ? 'mutation' : 'read');
    if (r) {
      refused(`http_${r.status}`);
      return void sendError(res, r.status, r.message);
    }
    void (async () => {
      for (const h of d.handlers) if (await h(req, res)) return;
      sendError(res, 404, 'not found');
    })().catch((e: unknown) => {
      d.log.error({ err: d.scrub(String((e as Error)?.message ?? e)), path: url.pathname }, 'request failed');
      if (!res.headersSent) sendError(res, 500, 'internal error');
      else res.destroy();
    });
  });
  d.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Socket.IO answers its own path (its allowRequest runs the same guard).
    if ((req.url ?? '').startsWith('/socket.io/')) return;
    socket.on('error', () => socket.destroy());
    const url = requestUrl(req);
    if (!url) return (refused('bad_target'), refuseUpgrade(socket, 400, 'request target must be a path'));
    const r = d.guard.check(req, 'upgrade');
    if (r) return (refused(`upgrade_${r.status}`), refuseUpgrade(socket, r.status, r.message));
    for (const route of d.upgrades) {
      const params = route.match(url.pathname);
      if (!params) continue;
      // Browsers cannot set headers on a WebSocket: the media session cookie stands in.
      const a = req.headers.authorization ? d.auth.check(req.headers.authorization, 'read') : d.auth.checkMedia(req.headers.cookie);
      if (!a.ok) return (refused(`upgrade_${a.status}`), refuseUpgrade(socket, a.status, a.message));
      return void route.handle(req, socket, head, params, a.principal.name).catch((e: unknown) => {
        d.log.warn({ err: d.scrub(String((e as Error)?.message ?? e)), path: url.pathname }, 'websocket upgrade failed');
        refuseUpgrade(socket, 503, 'live view is unavailable');
      });
    }
    refused('upgrade_404');
    refuseUpgrade(socket, 404, `no websocket endpoint at ${url.pathname.slice(0, 200)}`);
  });
}

function sendError(res: ServerResponse, status: number, error: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...(status === 401 ? { 'www-authenticate': 'Bearer realm="vigil"' } : {}) }).end(JSON.stringify({ error }));
}
