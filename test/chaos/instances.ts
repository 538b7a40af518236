/**
 * The chaos suite's own Kafka, PostgreSQL, Redis and NATS: real servers on ports of their own,
 * with data under one temporary folder, so the suite can stop, kill and restart them without
 * touching the instances every other test shares.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '../helpers/env.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SETPRIV = '/usr/bin/setpriv';
const run = promisify(execFile);

/** One outside server the suite controls. */
export interface Instance {
  readonly name: string;
  readonly port: number;
  start(): Promise<void>;
  /** Graceful stop (SIGTERM, as an orchestrator would). */
  stop(): Promise<void>;
  /** `kill -9`. */
  kill(): Promise<void>;
  running(): boolean;
}

/** A child that dies with the test process even when that is SIGKILLed (no orphan servers). */
function child(cmd: string, args: string[], opts: { uid?: number } = {}): ChildProcess {
  const pre = existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'KILL', ...(opts.uid !== undefined ? [`--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups'] : []), cmd, ...args]] as const : [cmd, args] as const;
  return spawn(pre[0], [...pre[1]], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function exited(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => p.once('exit', () => r()));
}

function tcpUp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    import('node:net').then(({ connect }) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
  });
}

/** A server run as our child: started, stopped and killed by signal. */
class ChildInstance implements Instance {
  private proc?: ChildProcess;
  private errTail = '';
  constructor(
    readonly name: string,
    readonly port: number,
    private readonly command: () => { cmd: string; args: string[]; uid?: number },
  ) {}

  async start(): Promise<void> {
    if (this.running()) return;
    const { cmd, args, uid } = this.command();
    const p = child(cmd, args, { uid });
    this.proc = p;
    p.stderr!.on('data', (d: Buffer) => (this.errTail = (this.errTail + d.toString()).slice(-2000)));
    await waitFor(`${this.name} on port ${this.port}`, async () => {
      if (p.exitCode !== null) throw new Error(`${this.name} exited (${p.exitCode}): ${this.errTail}`);
      return tcpUp(this.port);
    }, 30_000, 100);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!this.running()) return;
    p!.kill('SIGTERM');
    const t = setTimeout(() => p!.kill('SIGKILL'), 15_000);
    await exited(p);
    clearTimeout(t);
  }

  async kill(): Promise<void> {
    const p = this.proc;
    if (!this.running()) return;
    p!.kill('SIGKILL');
    await exited(p);
  }

  running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }
}

/** Kafka through scripts/kafka.sh (KRaft, one node) with its own ports and folder. */
class KafkaInstance implements Instance {
  readonly name = 'kafka';
  constructor(readonly port: number, private readonly controllerPort: number, private readonly dir: string) {}
  /** Async: the test process serves the model and the clients meanwhile. */
  private async sh(verb: string): Promise<void> {
    await run('bash', [join(ROOT, 'scripts/kafka.sh'), verb], {
      env: { ...process.env, KAFKA_PORT: String(this.port), KAFKA_CONTROLLER_PORT: String(this.controllerPort), KAFKA_RUN_DIR: this.dir },
      timeout: 120_000,
    }).catch((e: { stderr?: string; message: string }) => {
      throw new Error(`kafka.sh ${verb}: ${e.stderr || e.message}`);
    });
  }
  start(): Promise<void> {
    return this.sh('start');
  }
  stop(): Promise<void> {
    return this.sh('stop');
  }
  async kill(): Promise<void> {
    const pid = this.pid();
    if (pid) process.kill(pid, 'SIGKILL');
    await waitFor('kafka gone', () => !this.running(), 10_000, 100);
  }
  running(): boolean {
    const pid = this.pid();
    if (!pid) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
  private pid(): number | undefined {
    try {
      return Number(readFileSync(join(this.dir, 'kafka.pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }
}

function postgresBin(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((v) => join(base, v, 'bin')).find((d) => existsSync(join(d, 'postgres')));
  if (!found) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)');
  return found;
}

export interface Instances {
  kafka: Instance;
  postgres: Instance;
  redis: Instance;
  nats: Instance;
  urls: { kafka: string; postgres: string; redis: string; nats: string };
  stopAll(): Promise<void>;
}

/** Creates and starts all four under `dir`. */
export async function startInstances(dir: string): Promise<Instances> {
  const [kp, kcp, pp, rp, np] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const kafka = new KafkaInstance(kp, kcp, join(dir, 'kafka'));

  // initdb and postgres refuse to run as root: as root they run as the postgres user.
  const bin = postgresBin();
  const pgData = join(dir, 'pg');
  const pgUid = process.getuid?.() === 0 ? Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()) : undefined;
  mkdirSync(pgData, { recursive: true });
  if (pgUid !== undefined) {
    chmodSync(dir, 0o711); // mkdtemp's 0700 would keep the postgres user out
    chownSync(pgData, pgUid, pgUid);
  }
  const asPg = (cmd: string, args: string[]) => {
    const full = pgUid !== undefined && existsSync(SETPRIV) ? [SETPRIV, [`--reuid=${pgUid}`, `--regid=${pgUid}`, '--clear-groups', cmd, ...args]] as const : [cmd, args] as const;
    const r = spawnSync(full[0], [...full[1]], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.stdout}`);
  };
  asPg(join(bin, 'initdb'), ['-D', pgData, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const postgres = new ChildInstance('postgres', pp, () => ({
    cmd: join(bin, 'postgres'),
    args: ['-D', pgData, '-p', String(pp), '-k', pgData, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=60'],
    uid: pgUid,
  }));

  const redis = new ChildInstance('redis', rp, () => ({ cmd: 'redis-server', args: ['--port', String(rp), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'] }));
  const nats = new ChildInstance('nats', np, () => ({ cmd: existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server', args: ['-a', '127.0.0.1', '-p', String(np)] }));

  const all = [postgres, redis, nats, kafka];
  await Promise.all([postgres.start(), redis.start(), nats.start()]);
  await kafka.start();
  return {
    kafka,
    postgres,
    redis,
    nats,
    urls: {
      kafka: `127.0.0.1:${kp}`,
      postgres: `postgres://postgres@127.0.0.1:${pp}/postgres`,
      redis: `redis://127.0.0.1:${rp}`,
      nats: `nats://127.0.0.1:${np}`,
    },
    stopAll: async () => {
      for (const i of all) await i.kill().catch(() => undefined);
    },
  };
}
