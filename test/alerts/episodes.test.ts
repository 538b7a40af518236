import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus } from '@vigil/bus';
import { MESSAGE_TYPE_HEADER, PROGRESS_TYPE, Topics } from '@vigil/contracts';
import { PgliteDatabase, SqlIncidentStore } from '@vigil/store';
import { startAlerts } from '@vigil/alerts';
import { configFromYaml, freePort, waitFor } from '../helpers/env.ts';
import { capturedLogger, finding } from './helpers.ts';

test('an episode outlives a backlog longer than its cooldown: it closes on capture-time progress, never on the wall clock alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-episodes-'));
  const bus = new MemoryBus();
  const store = await SqlIncidentStore.open(await PgliteDatabase.open());
  const config = configFromYaml(`
model: { endpoints: [] }
data_dir: ${dir}
http: { port: ${await freePort()}, host: 127.0.0.1 }
cameras: [{ id: dock-1, url: "rtsp://10.0.0.21/s1" }]
queries: [{ id: forklift, cameras: [dock-1], question: "Forklift?", window: 4s, every: 2s, cooldown: 1s }]
`);
  const alerts = await startAlerts(config, { bus, store, logger: capturedLogger('alerts').logger, tickMs: 100 });
  const publish = (f: object, progress = false) =>
    bus.publish(Topics.findings, [{ key: 'dock-1', value: Buffer.from(JSON.stringify(f)), ...(progress ? { headers: { [MESSAGE_TYPE_HEADER]: PROGRESS_TYPE } } : {}) }]);
  const incidents = async () => (await store.search({ camera: 'dock-1', limit: 10 })).items;
  try {
    // Windows of a few minutes ago: their cooldown passed long since on the wall clock.
    const start = Date.now() - 5 * 60_000;
    await publish(finding('dock-1', 0, 'Yes, a forklift.', { windowStart: start }));
    await publish({ v: 1, cameraId: 'dock-1', queryId: 'forklift', through: start + 3750 }, true);
    const [opened] = await waitFor('the incident', async () => ((await incidents()).length === 1 ? incidents() : undefined), 10_000);
    // The findings for the next windows are still on their way (a backlog): many sweeps pass.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await store.get(opened!.id))?.closed_at, null, 'the wall clock alone closed the episode');
    // They arrive: one more positive window, within the cooldown by capture time — the same episode.
    await publish(finding('dock-1', 2, 'Yes, still there.', { windowStart: start }));
    await publish({ v: 1, cameraId: 'dock-1', queryId: 'forklift', through: start + 4000 + 3750 + 1000 }, true);
    await waitFor('the episode extended', async () => (await store.get(opened!.id))?.findings === 2, 10_000);
    assert.equal((await incidents()).length, 1, 'one incident for one episode');
    // Every window after the cooldown is decided and none is positive: now it closes.
    await publish({ v: 1, cameraId: 'dock-1', queryId: 'forklift', through: start + 4000 + 3750 + 1000 + 4000 }, true);
    await waitFor('closed on progress', async () => (await store.get(opened!.id))?.closed_at, 10_000);
    // A malformed progress message is dead-lettered like a malformed finding; the consumer goes on.
    await publish({ v: 1, cameraId: 'dock-1', queryId: 'forklift', through: 'soon' }, true);
    await publish(finding('dock-1', 100, 'Yes, later.', { windowStart: start }));
    await waitFor('a later finding still stored', async () => (await incidents()).length === 2, 10_000);
  } finally {
    await alerts.close();
    await store.close();
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
