import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Logger } from '@vigil/observability';
import { CameraRelay, type LiveViewer } from './camera-relay.ts';
import type { LiveSource } from './source.ts';

export interface LiveViewOptions {
  ffmpegPath: string;
  log: Logger;
  /** A relay stops this long after its last viewer left. */
  idleMs?: number;
  /** Width of the live picture; the height keeps the camera's aspect. */
  width?: number;
  maxViewersPerCamera?: number;
  maxViewers?: number;
  /** A viewer with more than this queued for it is dropped. */
  maxBufferedBytes?: number;
}

const DEFAULTS = {
  idleMs: 10_000,
  width: 960,
  maxViewersPerCamera: 8,
  maxViewers: 32,
  // ~14 s of the 1.2 Mbit/s stream: a viewer that far behind is not watching live.
  maxBufferedBytes: 2 * 1024 * 1024,
};

// Viewers send nothing but control frames (at most 125 bytes each).
const MAX_PAYLOAD = 1024;

/**
 * Live views, one relay (ffmpeg → MPEG-1) per watched camera, started on demand and stopped
 * once no viewer has been connected for `idleMs`. Nothing listens: viewers arrive only as
 * upgrades the caller has authenticated and hands to `proxyUpgrade`.
 */
export class LiveViewRelays {
  private readonly opts: Required<LiveViewOptions>;
  private readonly relays = new Map<string, CameraRelay>();
  private readonly starting = new Map<string, Promise<CameraRelay>>();
  /** Viewers between `proxyUpgrade` and a finished handshake, per camera: they count against the caps. */
  private readonly pending = new Map<string, number>();
  private readonly stopping = new Set<Promise<void>>();
  private readonly wss = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: MAX_PAYLOAD });
  private readonly sweeper: NodeJS.Timeout;
  private closed?: Promise<void>;

  constructor(opts: LiveViewOptions) {
    this.opts = { ...DEFAULTS, ...opts };
    for (const k of ['idleMs', 'width', 'maxViewersPerCamera', 'maxViewers', 'maxBufferedBytes'] as const) {
      const v = this.opts[k];
      if (!Number.isInteger(v) || v <= 0) throw new Error(`live view: ${k} must be a positive integer, got ${v}`);
    }
    this.wss.on('error', (e) => this.opts.log.warn({ err: e.message }, 'live view websocket server error'));
    this.sweeper = setInterval(() => this.sweep(), Math.min(1000, this.opts.idleMs));
    this.sweeper.unref();
  }

  /** Cameras with a running relay and how many viewers each has. */
  active(): Record<string, number> {
    return Object.fromEntries([...this.relays].map(([id, r]) => [id, r.viewerCount]));
  }

  /** Starts the camera's relay unless one runs; concurrent callers share one start. */
  async open(src: LiveSource): Promise<void> {
    await this.relayFor(src);
  }

  private relayFor(src: LiveSource): Promise<CameraRelay> {
    if (this.closed) return Promise.reject(new Error('live view is closed'));
    const running = this.relays.get(src.id);
    if (running) return Promise.resolve(running);
    let start = this.starting.get(src.id);
    if (!start) {
      start = this.start(src).finally(() => this.starting.delete(src.id));
      this.starting.set(src.id, start);
    }
    return start;
  }

  /**
   * Makes an authenticated upgrade request a viewer of the camera, or answers it with an
   * HTTP error (503 over the viewer caps, 502 when the relay cannot start). Never rejects.
   * `principal` is kept on the viewer for `closeViewers`; an id, not a secret (it is logged).
   */
  async proxyUpgrade(src: LiveSource, req: IncomingMessage, socket: Duplex, head: Buffer, opts: { principal?: string } = {}): Promise<void> {
    // Until ws takes the socket over, a reset must not become an uncaught 'error'.
    socket.on('error', () => undefined);
    if (socket.destroyed) return;
    const refusal = this.closed ? 'live view is shutting down' : this.overCap(src.id);
    if (refusal) {
      this.opts.log.warn({ camera: src.id, principal: opts.principal }, `live view refused: ${refusal}`);
      return refuse(socket, 503, refusal);
    }
    const release = this.reserve(src.id, socket);
    let relay: CameraRelay;
    try {
      relay = await this.relayFor(src);
    } catch (e) {
      release();
      this.opts.log.warn({ camera: src.id, err: (e as Error).message }, 'live view failed');
      return refuse(socket, 502, 'live view unavailable');
    }
    if (socket.destroyed) return release();
    // An invalid handshake is answered by ws and never calls back; `reserve` releases on close.
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      release();
      relay.add(ws, opts.principal);
    });
  }

  /** Closes the viewers `filter` picks (e.g. by `principal` once access is revoked); returns how many. */
  closeViewers(filter: (viewer: LiveViewer) => boolean, reason = 'closed by the server'): number {
    let n = 0;
    for (const r of this.relays.values()) n += r.closeViewers(filter, 1008, reason);
    return n;
  }

  /** Stops every ffmpeg and closes every viewer; resolves once all are gone. Idempotent. */
  close(): Promise<void> {
    return (this.closed ??= this.shutdown());
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.sweeper);
    // A start in flight sees `closed` when it lands and stops its own ffmpeg.
    await Promise.allSettled(this.starting.values());
    const relays = [...this.relays.values()];
    this.relays.clear();
    await Promise.allSettled([...relays.map((r) => r.stop('server shutting down')), ...this.stopping]);
    this.wss.close();
  }

  private async start(src: LiveSource): Promise<CameraRelay> {
    const relay = new CameraRelay(src, { ...this.opts }, (r) => {
      // ffmpeg exited by itself: the next viewer starts a fresh relay.
      if (this.relays.get(src.id) === r) this.relays.delete(src.id);
    });
    await relay.ready;
    if (this.closed) {
      await relay.stop('server shutting down');
      throw new Error('live view is closed');
    }
    this.relays.set(src.id, relay);
    this.opts.log.info({ camera: src.id }, 'live view started');
    return relay;
  }

  private overCap(camera: string): string | undefined {
    const count = (id: string) => (this.relays.get(id)?.viewerCount ?? 0) + (this.pending.get(id) ?? 0);
    if (count(camera) >= this.opts.maxViewersPerCamera) return `camera has ${this.opts.maxViewersPerCamera} viewers, the most allowed`;
    const ids = new Set([...this.relays.keys(), ...this.pending.keys()]);
    const total = [...ids].reduce((n, id) => n + count(id), 0);
    if (total >= this.opts.maxViewers) return `${this.opts.maxViewers} viewers in all, the most allowed`;
    return undefined;
  }

  /** Holds a viewer slot until released or the socket closes, whichever comes first. */
  private reserve(camera: string, socket: Duplex): () => void {
    this.pending.set(camera, (this.pending.get(camera) ?? 0) + 1);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      socket.off('close', release);
      const n = (this.pending.get(camera) ?? 1) - 1;
      if (n > 0) this.pending.set(camera, n);
      else this.pending.delete(camera);
    };
    socket.once('close', release);
    return release;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, r] of this.relays) {
      if (r.viewerCount > 0 || this.pending.has(id) || now - r.idleSince <= this.opts.idleMs) continue;
      this.relays.delete(id);
      this.opts.log.info({ camera: id }, 'live view stopped: no viewers');
      const stop = r.stop('no viewers');
      this.stopping.add(stop);
      void stop.finally(() => this.stopping.delete(stop));
    }
  }
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
function refuse(socket: Duplex, status: 502 | 503, reason: string): void {
  if (socket.destroyed) return;
  const text = status === 503 ? 'Service Unavailable' : 'Bad Gateway';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`, () => socket.destroy());
}
