import { WebSocket } from 'ws';
import type { Logger } from '@vigil/observability';
import { Mpeg1Encoder } from './mpeg1-encoder.ts';
import type { LiveSource } from './source.ts';

/** A connected viewer as callers see it. */
export interface LiveViewer {
  readonly camera: string;
  /** Whoever the caller said the viewer is (opaque here), e.g. to close them on revocation. */
  readonly principal: string | undefined;
  readonly since: Date;
}

interface Viewer extends LiveViewer {
  readonly ws: WebSocket;
}

export interface RelayOptions {
  ffmpegPath: string;
  width: number;
  maxBufferedBytes: number;
  log: Logger;
}

// A viewer asked to close gets this long to answer before its socket is cut.
const CLOSE_GRACE_MS = 1000;

/**
 * One camera's live view: its ffmpeg and the viewers it feeds. A viewer first gets JSMpeg's
 * 8-byte header ("jsmp", then width and height as uint16BE), then every chunk of MPEG-TS.
 */
export class CameraRelay {
  /** Resolves once ffmpeg runs; rejects when it cannot start. */
  readonly ready: Promise<void>;
  /** When the last viewer left (or the relay started). */
  idleSince = Date.now();
  private readonly viewers = new Set<Viewer>();
  private readonly encoder: Mpeg1Encoder;
  private readonly header = Buffer.alloc(8);
  private ended = false;

  /** Starts ffmpeg; `onEnd` runs if it exits without being stopped. */
  constructor(
    private readonly src: LiveSource,
    private readonly opts: RelayOptions,
    onEnd: (relay: CameraRelay) => void,
  ) {
    this.header.write('jsmp');
    this.header.writeUInt16BE(opts.width, 4);
    this.header.writeUInt16BE(Math.round((opts.width * 9) / 16), 6);
    this.encoder = new Mpeg1Encoder(src, opts, (chunk) => this.broadcast(chunk));
    this.ready = this.encoder.ready;
    // One that never started is reported by whoever awaits `ready`.
    const ran = this.ready.then(() => this.encoder.exited, () => undefined);
    void ran.then((exit) => {
      if (!exit || exit.stopped) return;
      this.ended = true;
      opts.log.warn({ camera: src.id, code: exit.code, signal: exit.signal, stderr: exit.stderr }, 'live view ended: ffmpeg exited');
      for (const v of [...this.viewers]) void this.closeViewer(v, 1011, 'camera stream ended');
      onEnd(this);
    });
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Takes an upgraded websocket as a viewer (closing it at once if the relay has ended). */
  add(ws: WebSocket, principal: string | undefined): void {
    const v: Viewer = { camera: this.src.id, principal, since: new Date(), ws };
    // Malformed frames and resets surface here; ws has already begun closing the socket.
    ws.on('error', (e) => {
      this.opts.log.debug({ camera: this.src.id, err: e.message }, 'live viewer error');
      this.remove(v);
      ws.terminate();
    });
    ws.on('close', () => this.remove(v));
    // Viewers only watch: anything they send is a protocol breach.
    ws.on('message', () => void this.closeViewer(v, 1008, 'viewers send nothing'));
    if (this.ended) return void this.closeViewer(v, 1011, 'camera stream ended');
    this.viewers.add(v);
    ws.send(this.header);
  }

  /** Closes the viewers `filter` picks; returns how many. */
  closeViewers(filter: (viewer: LiveViewer) => boolean, code: number, reason: string): number {
    const picked = [...this.viewers].filter((v) => filter({ camera: v.camera, principal: v.principal, since: v.since }));
    for (const v of picked) void this.closeViewer(v, code, reason);
    return picked.length;
  }

  /** Closes every viewer and stops ffmpeg; resolves once both are gone. */
  async stop(reason: string): Promise<void> {
    this.ended = true;
    await Promise.all([...[...this.viewers].map((v) => this.closeViewer(v, 1001, reason)), this.encoder.stop()]);
  }

  private broadcast(chunk: Buffer): void {
    for (const v of this.viewers) {
      // A viewer that cannot keep up would hold ever more of the stream in memory: drop it.
      if (v.ws.bufferedAmount > this.opts.maxBufferedBytes) {
        this.opts.log.info({ camera: this.src.id, principal: v.principal, buffered: v.ws.bufferedAmount }, 'live viewer dropped: not keeping up');
        this.remove(v);
        v.ws.terminate();
      } else if (v.ws.readyState === WebSocket.OPEN) {
        v.ws.send(chunk);
      }
    }
  }

  /** Stops feeding the viewer at once; resolves when its socket has closed. */
  private closeViewer(v: Viewer, code: number, reason: string): Promise<void> {
    this.remove(v);
    if (v.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const cut = setTimeout(() => v.ws.terminate(), CLOSE_GRACE_MS);
      v.ws.once('close', () => {
        clearTimeout(cut);
        resolve();
      });
      v.ws.close(code, reason);
    });
  }

  private remove(v: Viewer): void {
    if (this.viewers.delete(v) && this.viewers.size === 0) this.idleSince = Date.now();
  }
}
