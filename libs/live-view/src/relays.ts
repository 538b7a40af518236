import { createRequire } from 'node:module';
import { createServer, connect, type Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@vigil/observability';

// node-rtsp-stream is CommonJS without types: one ffmpeg (RTSP → MPEG-1/TS) and one
// websocket server per stream.
interface VideoStream {
  wsServer: { clients: Set<unknown> };
  stream: { exitCode: number | null; once(ev: 'exit', cb: () => void): void };
  stop(): void;
}
type VideoStreamCtor = new (o: Record<string, unknown>) => VideoStream;
const Stream = createRequire(import.meta.url)('node-rtsp-stream') as { prototype: VideoStream } & VideoStreamCtor;

const WRAPPER = fileURLToPath(new URL('../ffmpeg-live.sh', import.meta.url));

export interface LiveSource {
  id: string;
  /** May hold credentials; only the redacting wrapper ever sees it. */
  url: string;
  transport: 'tcp' | 'udp';
}

interface Relay {
  stream: VideoStream;
  port: number;
  idleSince: number;
}

/**
 * Live views through node-rtsp-stream, started on demand per camera and stopped once no
 * viewer has been connected for `idleMs`. Viewers reach a relay through the API server's
 * own port: `proxyUpgrade` pipes their websocket to the relay's local one.
 */
export class LiveViewRelays {
  private readonly relays = new Map<string, Relay>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly opts: { ffmpegPath: string; log: Logger; idleMs?: number; width?: number },
  ) {
    this.sweeper = setInterval(() => this.sweep(), 1000);
    this.sweeper.unref();
  }

  /** Cameras with a running relay and how many viewers each has. */
  active(): Record<string, number> {
    return Object.fromEntries([...this.relays].map(([id, r]) => [id, r.stream.wsServer.clients.size]));
  }

  /** Starts the camera's relay if needed; resolves to its local websocket port. */
  async open(src: LiveSource): Promise<number> {
    const existing = this.relays.get(src.id);
    if (existing && existing.stream.stream.exitCode === null) return existing.port;
    if (existing) this.stop(src.id);
    const port = await freePort();
    // Looped files (demo and replay cameras) play in real time, as ingest reads them.
    const file = src.url.startsWith('file://');
    const inputOptions: Record<string, string> = src.url.startsWith('rtsp') ? { '-rtsp_transport': src.transport } : file ? { '-re': 'true', '-stream_loop': '-1' } : {};
    const stream = new Stream({
      name: src.id,
      streamUrl: file ? decodeURIComponent(src.url.slice('file://'.length)) : src.url,
      wsPort: port,
      ffmpegPath: WRAPPER,
      width: this.opts.width ?? 960,
      height: Math.round(((this.opts.width ?? 960) * 9) / 16),
      ffmpegOptions: {
        ...Object.fromEntries(Object.entries(inputOptions).map(([k, v]) => [`-vigil_in:${k}`, v])),
        '-vigil_ffmpeg': this.opts.ffmpegPath,
        '-an': '',
        '-vf': `scale=${this.opts.width ?? 960}:-2`,
        '-b:v': '1200k',
        '-bf': '0',
        '-r': '25', // MPEG-1 knows only a few rates (23.976 … 60): not 10 or 15
      },
    });
    this.relays.set(src.id, { stream, port, idleSince: Date.now() });
    this.opts.log.info({ camera: src.id }, 'live view started');
    return port;
  }

  /** Pipes a viewer's websocket upgrade to the camera's relay. */
  async proxyUpgrade(src: LiveSource, req: IncomingMessage, socket: Duplex, head: Buffer, _opts?: { principal?: string }): Promise<void> {
    const port = await this.open(src);
    const upstream: Socket = connect(port, '127.0.0.1');
    const retry = (attempt: number) => {
      upstream.once('error', (e) => {
        // The relay's websocket server may still be starting: retry briefly.
        if (attempt < 20 && (e as NodeJS.ErrnoException).code === 'ECONNREFUSED') setTimeout(() => retry(attempt + 1), 100);
        else socket.destroy();
      });
    };
    retry(0);
    upstream.once('connect', () => {
      const headers = Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => `${k}: ${x}`) : [`${k}: ${v}`]));
      upstream.write(`GET / HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    socket.on('error', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const id of [...this.relays.keys()]) this.stop(id);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, r] of this.relays) {
      if (r.stream.wsServer.clients.size > 0) r.idleSince = now;
      else if (now - r.idleSince > (this.opts.idleMs ?? 10_000)) this.stop(id);
    }
  }

  private stop(id: string): void {
    const r = this.relays.get(id);
    if (!r) return;
    this.relays.delete(id);
    try {
      r.stream.stop();
    } catch {
      /* already gone */
    }
    this.opts.log.info({ camera: id }, 'live view stopped: no viewers');
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
