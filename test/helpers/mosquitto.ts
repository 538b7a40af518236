import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './env.ts';

/** A private Mosquitto (Debian's, installed by scripts/system-deps.sh) on a port of its own, which a test may stop and start. */
export interface Mosquitto {
  port: number;
  url: string;
  stop(): Promise<void>;
  /** Starts it again on the same port (retained messages are gone: persistence is off). */
  start(): Promise<void>;
  close(): Promise<void>;
}

const BIN = process.env.MOSQUITTO ?? '/usr/sbin/mosquitto';

export async function startMosquitto(): Promise<Mosquitto> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  let child: ChildProcess | undefined;
  const listening = () =>
    new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
  const start = async () => {
    child = spawn(BIN, ['-c', conf], { stdio: 'ignore' });
    await waitFor(`mosquitto on ${port}`, listening, 10_000, 50);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    stop,
    start,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
