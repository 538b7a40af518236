import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findingId, Topics, type Finding, type Incident } from '@vigil/contracts';
import { startAlerts } from '@vigil/alerts';
import { createLogger } from '@vigil/observability';
import { openPlatform } from '@vigil/platform';
import { configFromYaml, freePort, waitFor } from '../helpers/env.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-standalone-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const logger = createLogger('standalone-test', { level: 'warn' });

function standaloneYaml(port: number, dataDir: string): string {
  return `
data_dir: "${dataDir}"
model: { endpoints: [] }
http: { port: ${port}, host: 127.0.0.1 }
ingest: { metrics_port: 0 }
infer: { metrics_port: 0 }
cameras:
  - { id: dock-1, url: "rtsp://127.0.0.1:1/none" }
queries:
  - { id: q, cameras: [dock-1], question: "Is the door open?", window: 4s, every: 2s }
`;
}

function positiveFinding(): Finding {
  const start = Date.parse('2026-06-01T12:00:00Z');
  return {
    v: 1,
    id: findingId('dock-1', 'q', start),
    cameraId: 'dock-1',
    queryId: 'q',
    question: 'Is the door open?',
    windowStart: start,
    windowEnd: start + 3750,
    frameCount: 16,
    status: 'ok',
    verdict: true,
    answer: 'Yes, the dock door is open.',
    reasoning: 'The door is raised in every frame.',
    rawAnswer: '',
    model: { id: 'm', profile: 'cosmos-reason1', endpoint: 'e' },
    usage: { promptTokens: 0, completionTokens: 0 },
    latencyMs: 1,
    mentionedTimes: [],
    evidence: [],
    createdAt: Date.now(),
  };
}

test('incidents survive a restart of a standalone process (embedded PGlite in data_dir)', async () => {
  const dataDir = join(dir, 'persist');
  const port = await freePort();
  const config = configFromYaml(standaloneYaml(port, dataDir));
  const f = positiveFinding();
  const search = async () => ((await (await fetch(`http://127.0.0.1:${port}/api/incidents?q=door`)).json()) as { items: Incident[] }).items;

  let platform = await openPlatform(config, logger);
  assert.deepEqual(platform.kinds, { bus: 'in-process', store: 'pglite', state: 'memory', control: 'in-process' });
  let alerts = await startAlerts(config, { bus: platform.bus, store: await platform.store(), logger });
  await platform.bus.publish(Topics.findings, [{ key: f.cameraId, value: Buffer.from(JSON.stringify(f)) }]);
  const stored = await waitFor('incident stored', async () => (await search())[0], 10_000);
  assert.equal(stored.id, f.id);
  await alerts.close();
  await platform.close();

  platform = await openPlatform(config, logger);
  alerts = await startAlerts(config, { bus: platform.bus, store: await platform.store(), logger });
  try {
    const after = await search();
    assert.equal(after.length, 1);
    // The same incident, though the quiet sweep may have closed it meanwhile (its window is long past).
    const lifecycle = { state: stored.state, closed_at: stored.closed_at, updated_at: stored.updated_at };
    assert.deepEqual({ ...after[0], ...lifecycle }, stored);
  } finally {
    await alerts.close();
    await platform.close();
  }
});

test('a second instance on the same data folder refuses to start with a clear message', async () => {
  const dataDir = join(dir, 'locked');
  const [p1, p2] = [await freePort(), await freePort()];
  const c1 = join(dir, 'one.yaml');
  const c2 = join(dir, 'two.yaml');
  writeFileSync(c1, standaloneYaml(p1, dataDir));
  writeFileSync(c2, standaloneYaml(p2, dataDir));
  const first = spawn(process.execPath, ['bin/vigil.js', 'run', '--config', c1, '--service', 'alerts'], { stdio: 'ignore' });
  try {
    await waitFor('first instance serving', async () => (await fetch(`http://127.0.0.1:${p1}/healthz`)).ok, 30_000);
    const second = spawn(process.execPath, ['bin/vigil.js', 'run', '--config', c2, '--service', 'alerts'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    second.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await exitCode(second);
    assert.equal(code, 1);
    assert.match(stderr, new RegExp(`data folder ${dataDir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is in use by another Vigil process \\(pid ${first.pid}\\)`));
    first.kill('SIGINT'); // Ctrl-C
    assert.equal(await exitCode(first), 0);
  } finally {
    if (first.exitCode === null) first.kill('SIGKILL');
  }
});

function exitCode(p: ChildProcess): Promise<number | null> {
  return p.exitCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.once('exit', (c) => r(c)));
}
