/**
 * A running Vigil under attack: `vigil run` as its own process (all three services, Kafka as
 * the bus, embedded PGlite, tokens on), a camera behind an RTSP URL with a password, and a
 * model server that answers with hostile replies. The security tests drive its edges and
 * collect everything it says (responses, log lines, metrics) to search for secrets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from 'jpeg-js';
import { startCameraSim, startRtspServer, type CameraSim, type RtspServer } from '../fixtures/camera-sim.ts';
import { tinyJpeg } from './jpegs.ts';
import { KAFKA, freePort, uid, waitFor } from '../helpers/env.ts';

/** Every secret the stack's config holds; none may appear in anything the stack says. */
export const SECRETS = {
  camPassword: 'CamSecret-4411x',
  atPassword: 'p@ss-Word9',
  pwdParam: 'Secret123pwd',
  modelPassword: 'ModelSecret-99',
  apiKey: 'nim-api-key-SECRET-7',
  admin: 'admin-token-SECRET-0001',
  read: 'read-token-SECRET-00002',
  webhook: 'hook-token-SECRET-3',
} as const;

/** How the hostile model server answers the next chat request. */
export type ReplyMode = 'yes' | 'huge' | 'degenerate' | 'not-json' | 'wrong-shape' | 'echo-auth' | 'digits' | 'deep';

export interface Stack {
  base: string;
  port: number;
  ingestPort: number;
  inferPort: number;
  camera: string;
  pid: number;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  alive(): boolean;
  /** Replies the model server gives, in turn; `yes` once the list runs out. */
  modelReplies: ReplyMode[];
  modelRequests: number;
  stop(): Promise<number | null>;
}

export const H = (token: string = SECRETS.admin, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });

/** A model server that checks the key and answers in Cosmos-Reason's format, or with the reply it is told to give. */
async function hostileModel(stack: { modelReplies: ReplyMode[]; modelRequests: number }): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume();
    if (req.url?.startsWith('/v1/models')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: 'nvidia/cosmos-reason1-7b', object: 'model' }] }));
    if (req.url?.startsWith('/health') || req.url?.startsWith('/v1/health')) return void res.writeHead(200).end('ok');
    if (!req.url?.startsWith('/v1/chat/completions')) return void res.writeHead(404).end();
    stack.modelRequests++;
    const mode = stack.modelReplies.shift() ?? 'yes';
    const reply = (content: string) => JSON.stringify({ id: 'x', object: 'chat.completion', model: 'nvidia/cosmos-reason1-7b', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }], usage: { prompt_tokens: 10, completion_tokens: 5 } });
    switch (mode) {
      case 'huge': {
        // Far past any sane reply, sent as fast as the client reads.
        res.writeHead(200, { 'content-type': 'application/json' });
        const piece = Buffer.alloc(1 << 20, 0x61);
        let sent = 0;
        const pump = () => {
          while (sent < 300 && res.write(piece)) sent++;
          if (sent < 300 && !res.destroyed) res.once('drain', pump);
          else res.end();
        };
        res.on('error', () => undefined);
        return pump();
      }
      case 'degenerate':
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(reply(`<think>x</think><answer>${'{'.repeat(20_000)}</answer>`));
      case 'digits':
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(reply(`<think>${'9'.repeat(200_000)}</think><answer>yes ${'1'.repeat(100_000)}</answer>`));
      case 'deep':
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(`{"choices":${'['.repeat(50_000)}${']'.repeat(50_000)}}`);
      case 'not-json':
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('<html>gateway</html>');
      case 'wrong-shape':
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ message: { content: 42 } }], usage: { prompt_tokens: 'x' } }));
      case 'echo-auth':
        // A proxy that quotes the request back: the key must not travel on from here.
        return void res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `bad request with ${req.headers.authorization}` }));
      default:
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(reply('<think>There is a box.</think>\n<answer>Yes, at 1.25s.</answer>'));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return server;
}

/** Starts the stack; `stop()` ends every part of it. */
export async function startStack(): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-sec-'));
  const [rtspPort, udp, port, ingestPort, inferPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const camera = `sec-${uid()}`;
  const rtsp: RtspServer = await startRtspServer({ port: rtspPort, mounts: { [camera]: udp } });
  const sim: CameraSim = await startCameraSim({ name: camera, udpPort: udp, width: 640, height: 360, fps: 10 });
  const state = { modelReplies: [] as ReplyMode[], modelRequests: 0 };
  const model = await hostileModel(state);
  const modelPort = (model.address() as { port: number }).port;
  const hook = createServer((req, res) => (req.resume(), res.end()));
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  const config = join(dir, 'vigil.yaml');
  writeFileSync(
    config,
    `site: sec
data_dir: ${join(dir, 'data')}
model:
  endpoints: ["http://mdl:${SECRETS.modelPassword}@127.0.0.1:${modelPort}"]
  api_key: "${SECRETS.apiKey}"
  timeout: 5s
kafka: { brokers: ["${KAFKA}"], client_id: sec-${uid()} }
http: { port: ${port}, host: 127.0.0.1 }
ingest: { metrics_port: ${ingestPort} }
infer: { metrics_port: ${inferPort}, buffer: 10s, onnx: { batch_wait: 20ms } }
cameras:
  - { id: ${camera}, url: "rtsp://viewer:${SECRETS.camPassword}@127.0.0.1:${rtspPort}/${camera}", fps: 4, width: 320 }
  - { id: ${camera}-at, url: "rtsp://admin:${SECRETS.atPassword}@127.0.0.1:1/x", stall_timeout: 2s }
  - { id: ${camera}-cgi, url: "http://127.0.0.1:1/video.cgi?user=admin&pwd=${SECRETS.pwdParam}", stall_timeout: 2s }
queries:
  - { id: box, cameras: [${camera}], question: "Is there a box?", window: 2s, every: 2s, alert_when: { answer: yes }, cooldown: 5s }
  - { id: moving, cameras: [${camera}], question: "What moves?", window: 2s, every: 2s, trigger: { type: motion }, cooldown: 5s }
alerts:
  live_view: { width: 320 }
  tokens:
    - { name: ops, token: "${SECRETS.admin}", role: admin }
    - { name: wall, token: "${SECRETS.read}", role: read }
  webhooks:
    - { id: hook, url: "http://127.0.0.1:${(hook.address() as { port: number }).port}/x", token: "${SECRETS.webhook}" }
`,
  );
  const child: ChildProcess = spawn(process.execPath, ['bin/vigil.js', 'run', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VIGIL_LOG_LEVEL: 'debug' } });
  let out = '';
  // Keep the whole log: it is searched for secrets at the end (bounded by the test's length).
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const base = `http://127.0.0.1:${port}`;
  const stack: Stack = {
    base,
    port,
    ingestPort,
    inferPort,
    camera,
    pid: child.pid!,
    output: () => out,
    alive: () => child.exitCode === null && child.signalCode === null,
    get modelReplies() {
      return state.modelReplies;
    },
    set modelReplies(v) {
      state.modelReplies = v;
    },
    get modelRequests() {
      return state.modelRequests;
    },
    set modelRequests(v) {
      state.modelRequests = v;
    },
    stop: async () => {
      let code: number | null = child.exitCode;
      if (stack.alive()) {
        child.kill('SIGTERM');
        code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      }
      await sim.stop();
      await rtsp.stop();
      for (const s of [model, hook]) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
  await waitFor('the stack to answer /healthz', async () => stack.alive() && (await fetch(`${base}/healthz`, { headers: H() })).status === 200, 60_000, 500).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\n${out.slice(-3000)}`);
  });
  return stack;
}

/** A WebSocket handshake by hand; resolves with the status line and whatever bytes arrive within `readMs`. */
export function rawUpgrade(port: number, path: string, headers: Record<string, string> = {}, readMs = 1500, after?: (s: Socket) => void): Promise<{ status: number; bytes: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const req = request({
      port,
      host: '127.0.0.1',
      path,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), ...headers },
    });
    const finish = (status: number, socket: Socket | undefined, first: Buffer) => {
      let bytes = first;
      let closed = false;
      socket?.on('data', (d: Buffer) => (bytes = Buffer.concat([bytes, d]).subarray(-1_000_000)));
      socket?.on('close', () => (closed = true));
      socket?.on('error', () => undefined);
      if (socket && after) after(socket);
      setTimeout(() => {
        socket?.destroy();
        resolve({ status, bytes, closed });
      }, readMs);
    };
    req.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => finish(res.statusCode ?? 101, socket, head));
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes: Buffer.concat(chunks), closed: true }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, bytes: Buffer.concat(chunks), closed: true }));
    });
    req.on('error', () => resolve({ status: 0, bytes: Buffer.alloc(0), closed: true }));
    req.end();
  });
}

/** Sends raw bytes on a fresh TCP connection; resolves with what came back before close or `ms`. */
export function rawTcp(port: number, data: Buffer | string, ms = 1000): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let reply = '';
    let closed = false;
    s.on('data', (d: Buffer) => (reply += d.toString('latin1')).length > 100_000 && s.destroy());
    s.on('error', () => undefined);
    s.on('close', () => {
      closed = true;
      clearTimeout(t);
      resolve({ reply, closed });
    });
    s.write(data);
    const t = setTimeout(() => {
      s.destroy();
      resolve({ reply, closed });
    }, ms);
  });
}

/** TCP ports in LISTEN state owned by the process `pid` or any of its descendants, with their addresses. */
export function listeningSockets(pid: number): { address: string; port: number }[] {
  const pids = [pid, ...descendants(pid)];
  const inodes = new Set<string>();
  for (const p of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${p}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${p}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed meanwhile
      }
    }
  }
  const out: { address: string; port: number }[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9]!)) continue; // 0A = LISTEN
      const [addrHex, portHex] = f[1]!.split(':');
      out.push({ address: addrHex!.length === 8 ? hexV4(addrHex!) : addrHex!, port: parseInt(portHex!, 16) });
    }
  }
  return out;
}

const hexV4 = (h: string) => [6, 4, 2, 0].map((i) => parseInt(h.slice(i, i + 2), 16)).join('.');

/** Every descendant process id of `pid` (from /proc's parent links). */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) if (pp === p) (out.push(c), walk(c));
  };
  walk(pid);
  return out;
}

/** Command lines of the descendants of `pid` (to count ffmpeg relays). */
export function childCommands(pid: number): string[] {
  return descendants(pid).map((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      return '';
    }
  });
}

/** A real 320×192 JPEG (a gradient), the base the bus fuzzer mutates. */
export function realJpeg(): Buffer {
  const [w, h] = [320, 192];
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([(i % w) & 255, (i / w) & 255, 128, 255], i * 4);
  return Buffer.from(encode({ data, width: w, height: h }, 80).data);
}

/** The reproduced hostile frames: a sampling factor of 0, and 152 bytes claiming 65535×65535. */
export function hostileJpegs(): Buffer[] {
  return [
    tinyJpeg({ width: 64, height: 64, comps: [{ id: 1, h: 0, v: 0 }] }),
    tinyJpeg({ width: 65535, height: 65535, dataBytes: 8 }),
    tinyJpeg({ width: 320, height: 192, comps: [{ id: 1, h: 4, v: 4 }, { id: 2, h: 0, v: 1 }, { id: 3, h: 1, v: 1 }] }),
    realJpeg().subarray(0, 300),
  ];
}
