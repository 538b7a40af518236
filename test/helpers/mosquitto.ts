import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { freePort } from './env.ts';

/** Debian's broker; scripts/system-deps.sh installs it. */
export const MOSQUITTO = process.env.VIGIL_TEST_MOSQUITTO ?? '/usr/sbin/mosquitto';

/**
 * A private Mosquitto on a free port, its config (and password file) in a temp folder. The
 * folder is world-readable: run as root, Mosquitto drops to its own user before reading them.
 */
export class Broker {
  private child: ChildProcess | undefined;
  private readonly dir: string;
  private output = '';

  private constructor(
    readonly port: number,
    private readonly users: Record<string, string> | undefined,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'vigil-mosquitto-'));
    chmodSync(this.dir, 0o755);
    const conf = [`listener ${port} 127.0.0.1`, 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning'];
    if (users) {
      const file = join(this.dir, 'passwd');
      for (const [i, [user, password]] of Object.entries(users).entries()) {
        execFileSync('mosquitto_passwd', ['-b', ...(i === 0 ? ['-c'] : []), file, user, password], { stdio: 'ignore' });
      }
      chmodSync(file, 0o644);
      conf.push('allow_anonymous false', `password_file ${file}`);
    } else {
      conf.push('allow_anonymous true');
    }
    writeFileSync(join(this.dir, 'mosquitto.conf'), `${conf.join('\n')}\n`, { mode: 0o644 });
  }

  static async start(users?: Record<string, string>): Promise<Broker> {
    const b = new Broker(await freePort(), users);
    await b.start();
    return b;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** Starts (or starts again, on the same port) and waits until it accepts connections. */
  async start(): Promise<void> {
    this.output = '';
    const child = spawn(MOSQUITTO, ['-c', join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited ${child.exitCode}: ${this.output}`);
      if (await accepts(this.port)) return;
      await sleep(50);
    }
    throw new Error(`mosquitto did not listen on ${this.port}: ${this.output}`);
  }

  /** SIGTERM, as a broker being restarted gets; resolves once it has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  /** SIGSTOP then, later, SIGKILL: a broker that hangs and then dies, with messages in flight. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A plain mqtt.js client, the test's independent view of the broker. */
export function rawClient(url: string): Promise<MqttClient> {
  return connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5_000 });
}

/** The retained message on `topic` (what a new subscriber is handed first), or undefined. */
export async function retained(url: string, topic: string, waitMs = 1_000): Promise<string | undefined> {
  const c = await rawClient(url);
  try {
    const got = new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), waitMs);
      c.on('message', (t, payload, packet) => {
        if (t !== topic || !packet.retain) return;
        clearTimeout(timer);
        resolve(payload.toString());
      });
    });
    await c.subscribeAsync(topic, { qos: 1 });
    return await got;
  } finally {
    await c.endAsync();
  }
}

/** Polls `fn` until it holds or the time runs out. */
export async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
