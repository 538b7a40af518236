// `vigil run --service ingest` as an operator runs it (the StatefulSet's environment for
// its shard, passwords in the URL and as fields, debug logging): the passwords appear in
// none of the captured logs, /metrics, /cameras, /healthz or vigil.camera-status; the
// process takes only its shard's cameras; editing the config file adds a camera.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Topics } from '@vigil/contracts';
import { shardOf } from '@vigil/ingest';
import { startCameraSim, startRtspServer } from '../fixtures/camera-sim.ts';
import { KAFKA, freePort, uid, waitFor } from '../helpers/env.ts';
import { cameras, clip, metricsText, readTopic, startRefusingRtspServer } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-ingest-cli-'));
const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

/** A camera id (with a prefix) that rendezvous hashing gives to `shard` of 2. */
function idIn(shard: number, prefix: string): string {
  for (let i = 0; ; i++) if (shardOf(`${prefix}-${i}`, 2) === shard) return `${prefix}-${i}`;
}

test('passwords never leave the process; the shard from the environment is honoured; a file edit adds a camera', async () => {
  const startedAt = Date.now();
  const id = uid();
  const urlPassword = `Url-S3cret-${id}`;
  const fieldPassword = `F!eld/S3cret@${id}`;
  const [viaUrl, viaFields, otherShard, added] = [idIn(1, `url-pw-${id}`), idIn(1, `field-pw-${id}`), idIn(0, `other-${id}`), idIn(1, `added-${id}`)];
  const refusing = await startRefusingRtspServer();
  closers.push(() => refusing.close());
  const udp = await freePort();
  const rtsp = await startRtspServer({ port: await freePort(), mounts: { [viaFields]: udp } });
  closers.push(() => rtsp.stop());
  const sim = await startCameraSim({ name: viaFields, udpPort: udp, width: 480, height: 270, fps: 10 });
  closers.push(() => sim.stop());
  const port = await freePort();
  const file = join(dir, 'site.yaml');
  const config = (extra = '') => `model: { endpoints: ["http://127.0.0.1:9"] }
kafka: { brokers: ["${KAFKA}"] }
ingest: { metrics_port: ${port} }
cameras:
  - { id: ${viaUrl}, url: "rtsp://admin:\${CAM_PASSWORD}@127.0.0.1:${refusing.port}/cam" }
  - { id: ${viaFields}, url: "${rtsp.url(viaFields)}", username: viewer, password: "${fieldPassword}" }
  - { id: ${otherShard}, url: "file://${clip()}" }
${extra}`;
  writeFileSync(file, config());
  const status = await readTopic(KAFKA, Topics.cameraStatus, startedAt - 1000, (k) => k.includes(id));
  closers.push(() => status.close());

  const child = spawn(process.execPath, ['bin/vigil.js', 'run', '--config', file, '--service', 'ingest'], {
    env: { ...process.env, CAM_PASSWORD: urlPassword, VIGIL_LOG_LEVEL: 'debug', VIGIL_SHARD_INDEX: 'vigil-ingest-1', VIGIL_SHARD_COUNT: '2' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stdout.on('data', (d: Buffer) => (logs += d.toString()));
  child.stderr.on('data', (d: Buffer) => (logs += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  closers.push(async () => child.exitCode === null && child.kill('SIGKILL'));

  const seen = await waitFor('both password cameras reported', async () => {
    const m = await cameras(port);
    return m.get(viaUrl)?.reason === '401 unauthorized' && m.get(viaFields)?.state === 'online' ? m : undefined;
  }, 30_000);
  assert.ok(!seen.has(otherShard), "the other shard's camera is not run here");
  assert.ok(refusing.authorizations.includes(`Basic ${Buffer.from(`admin:${urlPassword}`).toString('base64')}`), 'the real password went to the camera');

  writeFileSync(file, config(`  - { id: ${added}, url: "file://${clip()}" }\n`));
  await waitFor('camera added by editing the file', async () => (await cameras(port)).get(added)?.state === 'online', 20_000);

  const surfaces: Record<string, string> = {
    metrics: await metricsText(port),
    cameras: JSON.stringify([...(await cameras(port)).values()]),
    healthz: await (await fetch(`http://127.0.0.1:${port}/healthz`)).text(),
  };
  child.kill('SIGTERM');
  assert.equal(await exited, 0, `clean exit; log tail:\n${logs.slice(-2000)}`);
  await waitFor('statuses on Kafka', () => status.records.some((r) => r.key === viaUrl) && status.records.some((r) => r.key === viaFields));
  surfaces.status = status.records.map((r) => r.value.toString()).join('\n');
  surfaces.logs = logs;

  // The checks mean something only if each surface does talk about these cameras.
  for (const [name, text] of Object.entries(surfaces)) if (name !== 'healthz') assert.ok(text.includes(viaUrl) && text.includes(viaFields), `${name} mentions the cameras`);
  assert.match(logs, /401 unauthorized/);
  for (const secret of [urlPassword, fieldPassword, encodeURIComponent(fieldPassword)]) {
    for (const [name, text] of Object.entries(surfaces)) assert.ok(!text.includes(secret), `"${secret}" leaked into ${name}`);
  }
});
