/**
 * Vigil distributed as an operator runs it: ingest, infer and two alerts replicas, each its own
 * `vigil run --service …` process on the chaos suite's own Kafka, PostgreSQL, Redis and NATS;
 * a simulated camera behind RTSP; the model test server in this process; and a Socket.IO
 * client on each alerts replica that reconnects as a dashboard does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io as connect, type Socket } from 'socket.io-client';
import type { Incident } from '@vigil/contracts';
import { freePort } from '../helpers/env.ts';
import type { Instances } from './instances.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SETPRIV = '/usr/bin/setpriv';

export const CAMERA = 'chaos-cam';
export const QUERY = 'red';
export const ADMIN = 'chaos-admin-token-0001';
export const COOLDOWN_S = 10;

export interface Exit {
  at: number;
  code: number | null;
  signal: string | null;
  /** The suite killed or stopped it; anything else is a process that died on its own. */
  expected: boolean;
}

/** One Vigil service process, restartable. */
export class VigilProcess {
  private proc?: ChildProcess;
  private tail: string[] = [];
  private expectExit = false;
  readonly exits: Exit[] = [];
  starts = 0;

  constructor(readonly name: string, private readonly service: string, private readonly config: string) {}

  start(): void {
    const args = ['bin/vigil.js', 'run', '--config', this.config, '--service', this.service];
    // Dies with the test process (no orphans when the runner is killed).
    const [cmd, full] = existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'KILL', process.execPath, ...args]] : [process.execPath, args];
    const p = spawn(cmd, full, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VIGIL_LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'info' } });
    this.proc = p;
    this.expectExit = false;
    this.starts++;
    const keep = (d: Buffer) => {
      this.tail.push(d.toString());
      if (this.tail.length > 400) this.tail.splice(0, 200);
    };
    p.stdout!.on('data', keep);
    p.stderr!.on('data', keep);
    p.once('exit', (code, signal) => this.exits.push({ at: Date.now(), code, signal, expected: this.expectExit }));
  }

  /** `kill -9`. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || !this.alive()) return;
    this.expectExit = true;
    p.kill('SIGKILL');
    await new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(undefined) : p.once('exit', r)));
  }

  /** SIGTERM, as at the end of a run; SIGKILL after 20 s. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || !this.alive()) return;
    this.expectExit = true;
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
    await new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(undefined) : p.once('exit', r)));
    clearTimeout(t);
  }

  alive(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  output(chars = 4000): string {
    return this.tail.join('').slice(-chars);
  }
}

/** What a dashboard on one replica saw: every incident id it was told of, and when. */
export class WatchingClient {
  readonly seen = new Map<string, Incident>();
  connects = 0;
  private readonly socket: Socket;

  constructor(readonly name: string, port: number) {
    this.socket = connect(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      auth: { token: ADMIN },
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 2000,
    });
    this.socket.on('connect', () => this.connects++);
    const note = (i: Incident) => {
      if (i && typeof i.id === 'string') this.seen.set(i.id, i);
    };
    for (const e of ['incident:new', 'incident:update', 'incident:close']) this.socket.on(e, note);
    // A reconnect's snapshot lists what is active: an incident opened while this replica was down.
    this.socket.on('snapshot', (s: { incidents?: Incident[] }) => s?.incidents?.forEach(note));
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  close(): void {
    this.socket.close();
  }
}

export interface StackPorts {
  alertsA: number;
  alertsB: number;
  ingest: number;
  infer: number;
}

export function stackConfig(o: { dir: string; instances: Instances; modelUrl: string; rtspUrl: string; httpPort: number; ports: StackPorts }): string {
  const u = o.instances.urls;
  return `site: chaos
data_dir: "${join(o.dir, 'data')}"
model: { endpoints: ["${o.modelUrl}"], timeout: 3s }
kafka: { brokers: ["${u.kafka}"], client_id: chaos }
postgres: { url: "${u.postgres.replace(/\/postgres$/, '/vigil')}" }
redis: { url: "${u.redis}", prefix: "chaos:" }
nats: { url: "${u.nats}" }
http: { port: ${o.httpPort}, host: 127.0.0.1 }
ingest: { metrics_port: ${o.ports.ingest} }
infer: { metrics_port: ${o.ports.infer} }
cameras:
  - id: ${CAMERA}
    url: "${o.rtspUrl}"
    transport: tcp
    width: 320
    stall_timeout: 5s
    # Where the simulator draws its red box; the moving shapes stay out of it.
    zones: [{ name: floor, polygon: [[0.1, 0.5], [0.4, 0.5], [0.4, 0.85], [0.1, 0.85]] }]
queries:
  - id: ${QUERY}
    cameras: [${CAMERA}]
    question: "Is there a red object in view?"
    window: 4s
    every: 2s
    trigger: { type: motion, zone: floor }
    alert_when: "^\\\\s*yes"
    cooldown: ${COOLDOWN_S}s
alerts:
  offline_grace: 60s
  tokens:
    - { name: ops, token: ${ADMIN}, role: admin }
`;
}

/** Writes one config per alerts replica (they differ in their HTTP port) and one for the rest. */
export async function writeConfigs(o: { dir: string; instances: Instances; modelUrl: string; rtspUrl: string }): Promise<{ files: { a: string; b: string; rest: string }; ports: StackPorts }> {
  const ports: StackPorts = { alertsA: await freePort(), alertsB: await freePort(), ingest: await freePort(), infer: await freePort() };
  const files = { a: join(o.dir, 'alerts-a.yaml'), b: join(o.dir, 'alerts-b.yaml'), rest: join(o.dir, 'vigil.yaml') };
  writeFileSync(files.a, stackConfig({ ...o, httpPort: ports.alertsA, ports }));
  writeFileSync(files.b, stackConfig({ ...o, httpPort: ports.alertsB, ports }));
  writeFileSync(files.rest, stackConfig({ ...o, httpPort: await freePort(), ports }));
  return { files, ports };
}
