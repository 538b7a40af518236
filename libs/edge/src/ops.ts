import type { IncomingMessage } from 'node:http';
import { configSecrets, type VigilConfig } from '@vigil/config';
import { scrubber, type OpsAccess } from '@vigil/observability';
import { Authenticator } from './auth.ts';
import { RequestGuard } from './guard.ts';
import { hardenServer } from './server.ts';

/** Ops endpoints (metrics, camera details) need what any read route needs: a token when tokens are on. */
export function opsAccess(auth: Authenticator, guard: RequestGuard): OpsAccess {
  return (req: IncomingMessage) => {
    const refused = guard.check(req, 'read');
    if (refused) return { ok: false, status: refused.status, message: refused.message };
    const a = auth.check(req.headers.authorization, 'read');
    return a.ok ? { ok: true } : { ok: false, status: a.status, message: a.message };
  };
}

/**
 * How a service's ops listener (ingest's and infer's metrics ports) is set up from the config:
 * on `http.host` like every listener, guarded like the API, metrics scrubbed of the config's secrets.
 */
export function opsListener(config: VigilConfig, auth = new Authenticator(config.alerts.tokens)) {
  const guard = new RequestGuard({ authEnabled: auth.enabled, allowedHosts: config.http.allowedHosts });
  return { host: config.http.host, access: opsAccess(auth, guard), scrub: scrubber(configSecrets(config)), harden: hardenServer };
}
