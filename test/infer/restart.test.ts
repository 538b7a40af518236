import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaBus } from '@vigil/bus';
import { findingId } from '@vigil/contracts';
import { createLogger } from '@vigil/observability';
import { startModelServer } from '../fixtures/model-server.ts';
import { KAFKA, uid, waitFor } from '../helpers/env.ts';
import { collectFindings, makeJpeg, produceLive } from './helpers.ts';

function startInferProcess(config: string, group: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/infer/fixtures/infer-process.ts', config, group], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => b.toString().includes('READY') && resolve(child));
    child.once('exit', (code) => reject(new Error(`infer exited with ${code}`)));
  });
}

test('kill infer mid-window and restart: every window is answered, none lost, ids stable', { timeout: 150_000 }, async () => {
  const id = uid();
  const cams = [`k1-${id}`, `k2-${id}`, `k3-${id}`];
  // Slow answers, so windows are in flight when infer is killed; capacity above demand, so no
  // window is superseded (that is the intended outcome under overload, tested elsewhere).
  const model = await startModelServer({ behavior: { latencyMs: 1500 } });
  const dir = mkdtempSync(join(tmpdir(), 'vigil-restart-'));
  const config = join(dir, 'vigil.yaml');
  writeFileSync(
    config,
    `model: { endpoints: [{ url: "${model.url}", max_in_flight: 64 }] }
kafka: { brokers: ["${KAFKA}"] }
infer: { metrics_port: 0 }
cameras:
${cams.map((c) => `  - { id: ${c}, url: "rtsp://sim/${c}" }`).join('\n')}
queries:
  - { id: q, cameras: [${cams.join(', ')}], question: "Is there a red object?", window: 2s, every: 1s }
`,
  );
  const log = createLogger('test', { level: 'warn' });
  const bus = new KafkaBus({ brokers: [KAFKA], clientId: 'restart-test', logger: log });
  const out = await collectFindings(bus, cams, `f-${id}`);
  const group = `infer-${id}`;
  let child = await startInferProcess(config, group);
  const grey = makeJpeg();
  const produced: number[] = [];
  const prod = produceLive(bus, cams, (_c, t) => (produced.push(t), grey));
  try {
    // Run long enough for infer to have committed on every partition (a brand-new group has no
    // committed position until then and would start from the latest chunk: see the README).
    await waitFor('first findings', () => out.findings.length >= 6, 40_000);
    await new Promise((r) => setTimeout(r, 10_000));
    const inFlight = model.inFlight;
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const killedAt = Date.now();
    assert.ok(inFlight > 0, 'windows were in flight when infer was killed');
    await new Promise((r) => setTimeout(r, 3000)); // chunks keep coming while infer is down
    child = await startInferProcess(config, group);
    await new Promise((r) => setTimeout(r, 6000));
    await prod.stop();
    // Windows that must be answered: from the first answered one to the last the video completes.
    const firstEnd = Math.min(...out.findings.map((f) => Math.ceil(f.windowEnd / 1000) * 1000));
    const lastEnd = Math.floor(Math.max(...produced) / 1000) * 1000;
    const expected = new Set(cams.flatMap((c) => Array.from({ length: (lastEnd - firstEnd) / 1000 + 1 }, (_, i) => findingId(c, 'q', firstEnd + i * 1000 - 2000))));
    assert.ok(expected.size >= cams.length * 10, `${expected.size} windows expected`);
    assert.ok(firstEnd < killedAt - 2000 && lastEnd > killedAt + 3000, 'the expected windows span the crash');
    await waitFor(
      'every window answered',
      () => [...expected].every((e) => out.findings.some((f) => f.id === e)),
      60_000,
      500,
    ).catch(() => undefined);
    const ids = new Set(out.findings.map((f) => f.id));
    const missing = [...expected].filter((e) => !ids.has(e));
    const endOf = new Map(cams.flatMap((c) => Array.from({ length: (lastEnd - firstEnd) / 1000 + 1 }, (_, i) => [findingId(c, 'q', firstEnd + i * 1000 - 2000), `${c.slice(0, 2)}@${firstEnd + i * 1000}`] as const)));
    assert.deepEqual(missing, [], `${missing.length} of ${expected.size} windows never answered (killed at ${killedAt}, last end ${lastEnd}): ${missing.map((m) => endOf.get(m)).join(" ")}`);
    assert.ok(out.findings.every((f) => f.status === 'ok'));
    // Duplicates on the topic are re-asked windows of the replay; they carry the same id, so
    // alerts (idempotent on finding id) records each window once.
    const dupes = out.findings.length - ids.size;
    assert.ok(dupes <= cams.length * 12, `${dupes} duplicates`);
  } finally {
    await prod.stop();
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    await out.close();
    await bus.close();
    await model.close();
  }
});
