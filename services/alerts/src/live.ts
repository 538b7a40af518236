import type { Server as HttpServer } from 'node:http';
import { Server as SocketServer, type Socket } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import type { Incident } from '@vigil/contracts';
import type { IncidentStore, StoredCameraStatus } from '@vigil/store';
import type { Logger } from '@vigil/observability';
import type { Authenticator } from './auth.ts';
import type { AlertsMetrics } from './metrics.ts';

export type IncidentEvent = 'incident:new' | 'incident:update' | 'incident:close';

/** Which incidents and cameras a connection follows: everything, or some sites and cameras. */
interface Interest {
  cameras: string[];
  sites: string[];
}

const ALL = 'all';
const rooms = (i: Interest) => (i.cameras.length + i.sites.length === 0 ? [ALL] : [...i.cameras.map((c) => `camera:${c}`), ...i.sites.map((s) => `site:${s}`)]);

function interestOf(v: unknown): Interest | undefined {
  const o = (v ?? {}) as Record<string, unknown>;
  const list = (x: unknown) => (x === undefined ? [] : typeof x === 'string' ? x.split(',').filter(Boolean) : Array.isArray(x) && x.every((s) => typeof s === 'string') ? (x as string[]) : undefined);
  const cameras = list(o.cameras ?? o.camera);
  const sites = list(o.sites ?? o.site);
  return cameras && sites ? { cameras, sites } : undefined;
}

/**
 * Socket.IO for dashboards: `incident:new|update|close` and `camera:status`, to rooms per
 * camera and site (or `all`). A new connection gets a `snapshot` of active incidents and
 * camera states. With Redis, every replica's broadcasts reach every replica's clients.
 */
export class LiveEvents {
  readonly io: SocketServer;
  private readonly redis: Redis[] = [];

  constructor(
    server: HttpServer,
    private readonly store: IncidentStore,
    auth: Authenticator,
    metrics: AlertsMetrics,
    private readonly log: Logger,
    redis?: { url: string; prefix: string },
  ) {
    // destroyUpgrade off: other websocket upgrades on this port (live view) are not Socket.IO's.
    this.io = new SocketServer(server, { serveClient: true, destroyUpgrade: false });
    if (redis) {
      const pub = new Redis(redis.url, { lazyConnect: false });
      const sub = pub.duplicate();
      for (const c of [pub, sub]) c.on('error', (e: Error) => log.warn({ err: e.message }, 'socket.io redis connection error'));
      this.redis.push(pub, sub);
      this.io.adapter(createAdapter(pub, sub, { key: `${redis.prefix}socket.io` }));
    }
    this.io.use((socket, next) => {
      const hs = socket.handshake;
      const credential = (typeof hs.auth?.token === 'string' ? hs.auth.token : undefined) ?? hs.headers.authorization;
      const r = auth.check(credential, 'read');
      if (!r.ok) return next(Object.assign(new Error(r.message), { data: { status: r.status } }));
      next();
    });
    this.io.on('connection', (socket) => {
      metrics.clients.inc();
      socket.on('disconnect', () => metrics.clients.dec());
      const interest = interestOf({ ...socket.handshake.query, ...(socket.handshake.auth ?? {}) }) ?? { cameras: [], sites: [] };
      void this.follow(socket, interest);
      socket.on('subscribe', (v: unknown, ack?: (r: unknown) => void) => {
        const next = interestOf(v);
        if (!next) return ack?.({ ok: false, error: 'expected {cameras?: string[], sites?: string[]}' });
        void this.follow(socket, next).then(() => ack?.({ ok: true }));
      });
    });
  }

  /** Moves a socket to the rooms of its interest and sends it the matching snapshot. */
  private async follow(socket: Socket, interest: Interest): Promise<void> {
    for (const r of socket.rooms) if (r !== socket.id) await socket.leave(r);
    await socket.join(rooms(interest));
    try {
      const [incidents, cameras] = await Promise.all([this.store.active(500), this.store.cameraStatuses()]);
      const match = (camera: string, site?: string) =>
        rooms(interest)[0] === ALL || interest.cameras.includes(camera) || (site !== undefined && interest.sites.includes(site));
      socket.emit('snapshot', {
        incidents: incidents.filter((i) => match(i.camera, i.site)),
        cameras: cameras.filter((c) => match(c.camera, c.status.site)),
      });
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'snapshot for a new connection failed');
    }
  }

  incident(event: IncidentEvent, i: Incident): void {
    this.io.to([ALL, `camera:${i.camera}`, ...(i.site ? [`site:${i.site}`] : [])]).emit(event, i);
  }

  cameraStatus(s: StoredCameraStatus, site?: string): void {
    this.io.to([ALL, `camera:${s.camera}`, ...(site ? [`site:${site}`] : [])]).emit('camera:status', s);
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.io.close(() => r()));
    for (const c of this.redis) await c.quit().catch(() => c.disconnect());
  }
}
