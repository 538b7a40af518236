import type { Server as HttpServer } from 'node:http';
import { Server as SocketServer, type Socket } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import type { Incident } from '@vigil/contracts';
import type { IncidentStore, StoredCameraStatus } from '@vigil/store';
import type { Logger } from '@vigil/observability';
import type { Authenticator, RequestGuard } from '@vigil/edge';
import type { AlertsMetrics } from './metrics.ts';

export type IncidentEvent = 'incident:new' | 'incident:update' | 'incident:close';

/** Which incidents and cameras a connection follows: everything, or some sites and cameras. */
interface Interest {
  cameras: string[];
  sites: string[];
}

const ALL = 'all';
const rooms = (i: Interest) => (i.cameras.length + i.sites.length === 0 ? [ALL] : [...i.cameras.map((c) => `camera:${c}`), ...i.sites.map((s) => `site:${s}`)]);

const MAX_FOLLOWED = 256;
/** Events kept for the other replicas while Redis is away; older ones are dropped (clients resync on reconnect). */
const MAX_MISSED = 2000;
const RESEND_DELAY_MS = 3000;
const NAME = /^[A-Za-z0-9_.-]{1,128}$/;

/** A client's subscription, checked: lists of ids (or comma-separated strings), bounded. */
function interestOf(v: unknown): Interest | undefined {
  if (v !== undefined && v !== null && (typeof v !== 'object' || Array.isArray(v))) return undefined;
  const o = (v ?? {}) as Record<string, unknown>;
  const list = (x: unknown): string[] | undefined => {
    const items = x === undefined ? [] : typeof x === 'string' ? x.split(',').filter(Boolean) : Array.isArray(x) ? x : undefined;
    return items && items.length <= MAX_FOLLOWED && items.every((s) => typeof s === 'string' && NAME.test(s)) ? (items as string[]) : undefined;
  };
  const cameras = list(o.cameras ?? o.camera);
  const sites = list(o.sites ?? o.site);
  return cameras && sites ? { cameras, sites } : undefined;
}

/** A socket's pending subscription change (see `follow`). */
interface Following {
  running: boolean;
  next?: Interest;
  waiting: (() => void)[];
}

/**
 * Socket.IO for dashboards: `incident:new|update|close` and `camera:status`, to rooms per
 * camera and site (or `all`). A new connection gets a `snapshot` of active incidents and
 * camera states. With Redis, every replica's broadcasts reach every replica's clients.
 */
export class LiveEvents {
  readonly io: SocketServer;
  private readonly redis: Redis[] = [];
  private pub?: Redis;
  /** Events emitted while Redis was away (the other replicas' clients did not get them), newest kept. */
  private readonly missed: { event: string; payload: unknown; rooms: string[] }[] = [];
  /** Cross-replica publishes that failed (Redis away). */
  crossReplicaFailures = 0;
  private readonly following = new Map<string, Following>();

  constructor(
    server: HttpServer,
    private readonly store: IncidentStore,
    auth: Authenticator,
    guard: RequestGuard,
    metrics: AlertsMetrics,
    private readonly log: Logger,
    redis?: { url: string; prefix: string },
  ) {
    // destroyUpgrade off: other websocket upgrades on this port (live view) are ours to answer.
    // Clients only send small subscribe messages: a 64 KB cap keeps a hostile one small.
    this.io = new SocketServer(server, {
      serveClient: true,
      destroyUpgrade: false,
      maxHttpBufferSize: 64 * 1024,
      connectTimeout: 10_000,
      allowRequest: (req, cb) => {
        const refused = guard.check(req, 'upgrade');
        cb(refused ? refused.message : null, !refused);
      },
    });
    if (redis) {
      // Publishes fail at once while Redis is away (no offline queue to grow), and the adapter
      // does not await them: a failure is counted here, never an unhandled rejection. This
      // replica's own clients are served regardless (the adapter broadcasts locally first).
      const pub = new Redis(redis.url, { lazyConnect: false, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      const sub = pub.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
      for (const c of [pub, sub]) c.on('error', (e: Error) => log.warn({ err: e.message }, 'socket.io redis connection error'));
      const publish = pub.publish.bind(pub) as (channel: string, message: string | Buffer) => Promise<number>;
      (pub as unknown as { publish: typeof publish }).publish = (channel, message) =>
        publish(channel, message).catch(() => {
          this.crossReplicaFailures++;
          return 0;
        });
      // Back from an outage: what the other replicas' clients missed is sent to them, not again to ours.
      // The other replicas' subscribers reconnect on the same schedule as ours: give them a moment.
      pub.on('ready', () => setTimeout(() => this.resendMissed(), RESEND_DELAY_MS).unref());
      this.pub = pub;
      this.redis.push(pub, sub);
      this.io.adapter(createAdapter(pub, sub, { key: `${redis.prefix}socket.io` }));
    }
    this.io.use((socket, next) => {
      const hs = socket.handshake;
      const credential = (typeof hs.auth?.token === 'string' ? hs.auth.token : undefined) ?? hs.headers.authorization;
      const r = auth.check(credential, 'read');
      if (!r.ok) return next(Object.assign(new Error(r.message), { data: { status: r.status } }));
      socket.data.principal = r.principal.name;
      next();
    });
    this.io.on('connection', (socket) => {
      metrics.clients.inc();
      socket.on('disconnect', () => {
        metrics.clients.dec();
        this.following.delete(socket.id);
      });
      socket.on('error', (e: Error) => log.debug({ err: e.message }, 'socket.io client error'));
      const interest = interestOf({ ...socket.handshake.query, ...(typeof socket.handshake.auth === 'object' ? socket.handshake.auth : {}), token: undefined }) ?? { cameras: [], sites: [] };
      this.follow(socket, interest);
      socket.on('subscribe', (v: unknown, ack?: unknown) => {
        // Anything may arrive here: a non-object interest, a non-function ack.
        const reply = (r: unknown) => {
          if (typeof ack === 'function') (ack as (r: unknown) => void)(r);
        };
        const next = interestOf(v);
        if (!next) return reply({ ok: false, error: `expected {cameras?: string[], sites?: string[]} of at most ${MAX_FOLLOWED} ids each` });
        this.follow(socket, next, () => reply({ ok: true }));
      });
    });
  }

  /** Closes the live connections of principals no longer allowed (a token removed from the config). */
  disconnectWhere(revoked: (principal: string) => boolean): number {
    let n = 0;
    for (const socket of this.io.of('/').sockets.values()) {
      if (revoked(String(socket.data.principal ?? ''))) {
        socket.disconnect(true);
        n++;
      }
    }
    return n;
  }

  /**
   * Moves a socket to the rooms of its interest and sends it the matching snapshot. One
   * snapshot at a time per socket: subscribes that arrive meanwhile collapse into the latest,
   * so a client spamming `subscribe` costs one store query at a time, not one each.
   */
  private follow(socket: Socket, interest: Interest, done?: () => void): void {
    const state = (this.following.get(socket.id) ?? { running: false, waiting: [] as (() => void)[] }) as Following;
    this.following.set(socket.id, state);
    state.next = interest;
    if (done) state.waiting.push(done);
    if (state.running) return;
    state.running = true;
    void (async () => {
      while (state.next && socket.connected) {
        const want = state.next;
        state.next = undefined;
        const callbacks = state.waiting.splice(0);
        try {
          await this.applyInterest(socket, want);
        } catch (e) {
          this.log.warn({ err: (e as Error).message }, 'snapshot for a connection failed');
        }
        for (const cb of callbacks) cb();
      }
      state.running = false;
      if (!socket.connected) this.following.delete(socket.id);
    })();
  }

  private async applyInterest(socket: Socket, interest: Interest): Promise<void> {
    for (const r of socket.rooms) if (r !== socket.id) await socket.leave(r);
    await socket.join(rooms(interest));
    const [incidents, cameras] = await Promise.all([this.store.active(500), this.store.cameraStatuses()]);
    const match = (camera: string, site?: string) =>
      rooms(interest)[0] === ALL || interest.cameras.includes(camera) || (site !== undefined && interest.sites.includes(site));
    socket.emit('snapshot', {
      incidents: incidents.filter((i) => match(i.camera, i.site)),
      cameras: cameras.filter((c) => match(c.camera, c.status.site)),
    });
  }

  incident(event: IncidentEvent, i: Incident): void {
    this.emit(event, i, [ALL, `camera:${i.camera}`, ...(i.site ? [`site:${i.site}`] : [])]);
  }

  cameraStatus(s: StoredCameraStatus, site?: string): void {
    this.emit('camera:status', s, [ALL, `camera:${s.camera}`, ...(site ? [`site:${site}`] : [])]);
  }

  private emit(event: string, payload: unknown, rooms: string[]): void {
    this.io.to(rooms).emit(event, payload);
    if (this.pub && this.pub.status !== 'ready') {
      this.missed.push({ event, payload, rooms });
      if (this.missed.length > MAX_MISSED) this.missed.shift();
    }
  }

  private resendMissed(): void {
    const missed = this.missed.splice(0);
    if (missed.length === 0) return;
    const local = [...this.io.of('/').sockets.keys()];
    for (const m of missed) this.io.to(m.rooms).except(local).emit(m.event, m.payload);
    this.log.info({ events: missed.length }, 'shared state back: events sent while it was away reach the other replicas now');
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.io.close(() => r()));
    for (const c of this.redis) await c.quit().catch(() => c.disconnect());
  }
}
