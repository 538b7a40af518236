import type { IncomingMessage, ServerResponse } from 'node:http';
import { queryVersion, writtenAlertWhen, type VigilConfig } from '@vigil/config';
import { ASK_SUBJECT, parseAskReply, type AskRequest } from '@vigil/contracts';
import { NoResponderError, RemoteError, type Control } from '@vigil/control';
import { BadCursorError, OFFLINE_QUERY, type IncidentStore } from '@vigil/store';
import { redactUrl, type Scrub } from '@vigil/observability';
import { MEDIA_COOKIE, requestUrl, type Authenticator, type Principal, type Role } from '@vigil/edge';
import type { EvidenceFiles } from './evidence.ts';
import { sendFile } from './files.ts';
import { readJson, sendJson } from './http-util.ts';
import type { LiveEvents } from './live.ts';
import type { AlertsMetrics } from './metrics.ts';
import { OPENAPI } from './openapi.ts';
import { BadParam, parseActionBody, parseAskBody, parseIncidentSearch, parseWindowSearch, parseModelStats, parseStats, parseUptime } from './params.ts';
import type { Outbox } from './webhooks.ts';
import type { AlertPolicy } from './policy.ts';
import type { LatestFrames } from './latest-frames.ts';
import type { ConfigStatus } from './config-status.ts';
import { labelRoutes } from './labels-api.ts';
import { shadowRoutes } from './shadows-api.ts';

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  principal: Principal;
}

/** A REST route; `path` is written as in the OpenAPI document (`{name}` segments). */
export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  /** `media`: read access by token or by the media session cookie (what <img>, <video> and WebSockets send). */
  role: Role | 'public' | 'media';
  handle(ctx: Ctx): Promise<number>;
}

export interface ApiDeps {
  config: VigilConfig;
  store: IncidentStore;
  auth: Authenticator;
  evidence: EvidenceFiles;
  live: LiveEvents;
  webhooks: Outbox;
  metrics: AlertsMetrics;
  /** Which webhooks fire for what (ack and resolve are sent from the API). */
  policy: AlertPolicy;
  control?: Control;
  /** Newest frame per camera, from the frame chunks on the bus. */
  latest?: LatestFrames;
  /** Cleans text that came from elsewhere (infer's errors) before it is sent back. */
  scrub: Scrub;
  /** The running config's status (last applied, last refused reload). */
  configStatus?: ConfigStatus;
}

const ID = /^[A-Za-z0-9_.-]{1,128}$/;

function checkId(v: string, name = 'id'): string {
  if (!ID.test(v)) throw new BadParam(name, 'expected letters, digits, "-", "_" or "."');
  return v;
}

/** Every route alerts serves under /api (the OpenAPI test walks this list). */
export function routes(d: ApiDeps): Route[] {
  const ok = (ctx: Ctx, body: unknown, status = 200, headers: Record<string, string> = {}) => (sendJson(ctx.res, status, body, headers), status);
  const fail = (ctx: Ctx, status: number, error: string) => ok(ctx, { error }, status);
  // Read per request: a reload replaces `d.config`.
  const cameraIds = () => new Set(d.config.cameras.map((c) => c.id));
  const camera = async (id: string, statuses?: Map<string, unknown>) => {
    const c = d.config.cameras.find((x) => x.id === id)!;
    // Only whitelisted fields: camera config may carry credentials (URL userinfo, passwords).
    return {
      id: c.id,
      name: c.name,
      site: c.site,
      url: redactUrl(c.url),
      transport: c.transport,
      fps: c.fps,
      width: c.width,
      queries: d.config.queries.filter((q) => q.cameras.includes(c.id)).map((q) => q.id),
      status: statuses?.get(c.id) ?? null,
    };
  };
  const statusMap = async () => new Map((await d.store.cameraStatuses()).map((s) => [s.camera, { ...s.status, state: s.state, since: s.since, at: s.at }]));
  const act = (action: 'ack' | 'resolve') => async (ctx: Ctx) => {
    const id = checkId(ctx.params.id!);
    const body = parseActionBody(await readJson(ctx.req));
    // With tokens configured the actor is the token's name; otherwise whoever the body says.
    const by = d.auth.enabled ? ctx.principal.name : (body.by ?? 'anonymous');
    const before = await d.store.get(id);
    const r = await d.store.act(id, action, by, body.note, (query) => d.policy.webhooks(action, query === OFFLINE_QUERY ? undefined : query));
    if (r === undefined) return fail(ctx, 404, `no incident ${id}`);
    if (r === 'conflict') return fail(ctx, 409, `incident ${id} is ${before?.state}; cannot ${action === 'ack' ? 'acknowledge' : 'resolve'} it`);
    d.live.incident(before && !before.closed_at && r.closed_at ? 'incident:close' : 'incident:update', r);
    d.webhooks.kick();
    return ok(ctx, r);
  };
  return [
    { method: 'GET', path: '/api/openapi.json', role: 'public', handle: async (ctx) => ok(ctx, OPENAPI) },
    { method: 'GET', path: '/api/config', role: 'read', handle: async (ctx) => ok(ctx, d.configStatus?.get() ?? null) },
    {
      method: 'POST',
      path: '/api/session',
      role: 'read',
      handle: async (ctx) => {
        // A media session: the browser sends it with <img>, <video> and the live view's WebSocket,
        // which cannot carry an Authorization header, so no token ever goes into a URL.
        const session = d.auth.mediaSession(ctx.principal);
        const secure = ctx.req.headers['x-forwarded-proto'] === 'https' || 'encrypted' in ctx.req.socket;
        const cookie = session && `${MEDIA_COOKIE}=${session.value}; Path=/api/; Max-Age=${session.maxAgeS}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
        return ok(ctx, { name: ctx.principal.name, role: ctx.principal.role, media_session: !!session, expires_in_s: session?.maxAgeS ?? null }, 200, cookie ? { 'set-cookie': cookie } : {});
      },
    },
    {
      method: 'DELETE',
      path: '/api/session',
      role: 'public',
      handle: async (ctx) => ok(ctx, { ok: true }, 200, { 'set-cookie': `${MEDIA_COOKIE}=; Path=/api/; Max-Age=0; HttpOnly; SameSite=Strict` }),
    },
    { method: 'GET', path: '/api/incidents', role: 'read', handle: async (ctx) => ok(ctx, await d.store.search(parseIncidentSearch(ctx.url.searchParams))) },
    { method: 'GET', path: '/api/windows', role: 'read', handle: async (ctx) => ok(ctx, await d.store.searchWindows(parseWindowSearch(ctx.url.searchParams))) },
    ...shadowRoutes(d),
    {
      method: 'GET',
      path: '/api/incidents/{id}',
      role: 'read',
      handle: async (ctx) => {
        const inc = await d.store.get(checkId(ctx.params.id!), { deliveries: true });
        return inc ? ok(ctx, inc) : fail(ctx, 404, `no incident ${ctx.params.id}`);
      },
    },
    { method: 'POST', path: '/api/incidents/{id}/ack', role: 'admin', handle: act('ack') },
    { method: 'POST', path: '/api/incidents/{id}/resolve', role: 'admin', handle: act('resolve') },
    {
      method: 'GET',
      path: '/api/incidents/{id}/frames/{n}.jpg',
      role: 'media',
      handle: async (ctx) => {
        const id = checkId(ctx.params.id!);
        if (!/^\d{1,4}$/.test(ctx.params.n!)) throw new BadParam('n', 'expected a frame number');
        const entries = await d.store.evidenceOf(id);
        if (!entries) return fail(ctx, 404, `no incident ${id}`);
        const all = entries.flatMap((e) => e.frames.map((f) => ({ e, f })));
        const hit = all[Number(ctx.params.n)];
        const path = hit && d.evidence.path(hit.e, hit.f.file);
        if (!path) return fail(ctx, 404, `incident ${id} has ${all.length} frames; no frame ${ctx.params.n}`);
        return sendFile(ctx.req, ctx.res, path, 'image/jpeg');
      },
    },
    {
      method: 'GET',
      path: '/api/incidents/{id}/clip.mp4',
      role: 'media',
      handle: async (ctx) => {
        const id = checkId(ctx.params.id!);
        const entries = await d.store.evidenceOf(id);
        if (!entries) return fail(ctx, 404, `no incident ${id}`);
        const e = entries.find((x) => x.clip);
        const path = e && d.evidence.path(e, e.clip!);
        if (!path) return fail(ctx, 404, `incident ${id} has no clip`);
        return sendFile(ctx.req, ctx.res, path, 'video/mp4');
      },
    },
    {
      method: 'GET',
      path: '/api/stats/incidents',
      role: 'read',
      handle: async (ctx) => {
        const r = parseStats(ctx.url.searchParams);
        return ok(ctx, { bucket: r.bucket, by: r.by, from: r.from.toISOString(), to: r.to.toISOString(), series: await d.store.stats(r) });
      },
    },
    {
      method: 'GET',
      path: '/api/stats/model',
      role: 'read',
      handle: async (ctx) => {
        const r = parseModelStats(ctx.url.searchParams);
        return ok(ctx, { metric: r.metric, bucket: r.bucket, by: r.by, from: r.from.toISOString(), to: r.to.toISOString(), series: await d.store.modelStats(r) });
      },
    },
    {
      method: 'GET',
      path: '/api/stats/uptime',
      role: 'read',
      handle: async (ctx) => {
        const r = parseUptime(ctx.url.searchParams);
        return ok(ctx, { bucket: r.bucket, from: r.from.toISOString(), to: r.to.toISOString(), series: await d.store.uptime(r) });
      },
    },
    {
      method: 'GET',
      path: '/api/cameras',
      role: 'read',
      handle: async (ctx) => {
        const statuses = await statusMap();
        return ok(ctx, await Promise.all(d.config.cameras.map((c) => camera(c.id, statuses))));
      },
    },
    {
      method: 'GET',
      path: '/api/cameras/{id}',
      role: 'read',
      handle: async (ctx) => {
        const id = checkId(ctx.params.id!);
        return cameraIds().has(id) ? ok(ctx, await camera(id, await statusMap())) : fail(ctx, 404, `no camera ${id}`);
      },
    },
    {
      method: 'GET',
      path: '/api/cameras/{id}/latest.jpg',
      role: 'media',
      handle: async (ctx) => {
        const id = checkId(ctx.params.id!);
        if (!cameraIds().has(id)) return fail(ctx, 404, `no camera ${id}`);
        const f = d.latest?.get(id);
        if (!f) return fail(ctx, 404, `no frame from camera ${id} yet`);
        ctx.res.writeHead(200, { 'content-type': 'image/jpeg', 'cache-control': 'no-store', 'x-captured-at': new Date(f.capturedAt).toISOString() }).end(f.jpeg);
        return 200;
      },
    },
    {
      method: 'GET',
      path: '/api/queries',
      role: 'read',
      handle: async (ctx) =>
        ok(
          ctx,
          d.config.queries.map((q) => ({
            id: q.id,
            version: queryVersion(q),
            question: q.question,
            cameras: q.cameras,
            window_ms: q.windowMs,
            every_ms: q.everyMs,
            cooldown_ms: q.cooldownMs ?? 60_000,
            alert_when: writtenAlertWhen(q.alert),
            severity: q.severity,
            // A shadow never alerts: it says what it is compared with.
            shadow: q.shadow ?? null,
            webhooks: q.shadow !== undefined ? [] : d.config.alerts.webhooks.filter((w) => !w.queries || w.queries.includes(q.id)).map((w) => w.id),
            // Without a model endpoint the question cannot be asked yet: say so plainly.
            status: d.config.model.endpoints.length === 0 ? 'waiting_for_model' : 'active',
          })),
        ),
    },
    {
      method: 'POST',
      path: '/api/ask',
      role: 'admin',
      handle: async (ctx) => {
        const a = parseAskBody(await readJson(ctx.req), cameraIds());
        if (!d.control) return fail(ctx, 503, 'no control plane: asking needs infer running with this alerts');
        const request: AskRequest = { v: 1, cameraId: a.camera, question: a.question, windowMs: a.windowMs };
        let reply: unknown;
        try {
          reply = await d.control.request(ASK_SUBJECT, request, d.config.model.timeoutMs + 10_000);
        } catch (e) {
          if (e instanceof NoResponderError) return fail(ctx, 503, `no infer service answers ${ASK_SUBJECT}`);
          if (e instanceof RemoteError) return fail(ctx, 502, `infer could not answer: ${d.scrub(e.message)}`);
          if (/timeout|timed out/i.test((e as Error).message)) return fail(ctx, 504, 'infer did not answer in time');
          throw e;
        }
        // The reply crosses the control plane too: what is passed on is what the contract says.
        const checked = parseAskReply(reply);
        return checked.ok ? ok(ctx, checked.value) : fail(ctx, 502, `infer's answer is malformed: ${d.scrub(checked.reason)}`);
      },
    },
    ...labelRoutes(d, ok),
  ];
}

/** Compiles `/api/incidents/{id}/frames/{n}.jpg` into a matcher. */
function matcher(path: string): (p: string) => Record<string, string> | undefined {
  const names: string[] = [];
  const re = new RegExp(`^${path.replace(/[.]/g, '\\.').replace(/\{(\w+)\}/g, (_m, n: string) => (names.push(n), '([^/]+)'))}$`);
  return (p) => {
    const m = re.exec(p);
    if (!m) return undefined;
    try {
      return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
    } catch {
      return undefined;
    }
  };
}

/** The request handler for /api routes, with auth; returns false for other paths. */
export function createApi(d: ApiDeps) {
  const table = routes(d).map((r) => ({ ...r, match: matcher(r.path) }));
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = requestUrl(req);
    if (!url) return false; // the edge has answered it already
    const path = url.pathname;
    if (!path.startsWith('/api/')) return false;
    let label = 'other';
    const count = (status: number) => d.metrics.requests.inc({ route: label, status: String(status) });
    const candidates = table.map((r) => ({ r, params: r.match(path) })).filter((c) => c.params);
    if (candidates.length === 0) {
      sendJson(res, 404, { error: `no route ${path}` });
      count(404);
      return true;
    }
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const hit = candidates.find((c) => c.r.method === method);
    if (!hit) {
      const allow = candidates.map((c) => c.r.method).join(', ');
      sendJson(res, 405, { error: `method ${req.method} not allowed on ${path} (allowed: ${allow})` }, { allow });
      count(405);
      return true;
    }
    label = hit.r.path;
    let principal: Principal = { name: 'anonymous', role: 'admin' };
    if (hit.r.role !== 'public') {
      // <img> and <video> cannot send headers: media routes also take the media session cookie.
      const a = hit.r.role === 'media' && !req.headers.authorization ? d.auth.checkMedia(req.headers.cookie) : d.auth.check(req.headers.authorization, hit.r.role === 'media' ? 'read' : hit.r.role);
      if (!a.ok) {
        sendJson(res, a.status, { error: a.message }, a.status === 401 ? { 'www-authenticate': 'Bearer realm="vigil"' } : {});
        count(a.status);
        return true;
      }
      principal = a.principal;
    }
    try {
      count(await hit.r.handle({ req, res, url, params: hit.params!, principal }));
    } catch (e) {
      if (e instanceof BadParam) sendJson(res, 400, { error: e.message, param: e.param });
      else if (e instanceof BadCursorError) sendJson(res, 400, { error: 'cursor: not a cursor this API returned', param: 'cursor' });
      else throw e;
      count(400);
    }
    return true;
  };
}
