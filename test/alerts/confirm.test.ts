import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus } from '@vigil/bus';
import { Topics, type Incident } from '@vigil/contracts';
import { PgDatabase, PgliteDatabase, SqlIncidentStore, type IncidentStore } from '@vigil/store';
import { startAlerts, type AlertsService } from '@vigil/alerts';
import { configFromYaml, dropDatabase, freePort, freshDatabaseUrl, uid, waitFor } from '../helpers/env.ts';
import { finding, T0 } from './helpers.ts';

// N-of-M confirmation and clear_after through the alerts service, on capture time, with a
// scripted sequence of answers, on PostgreSQL and PGlite, and across an alerts restart.
const SEQUENCE = [true, false, true, false, false, true, true];

const config = (port: number, rule: string) =>
  configFromYaml(`
model: { endpoints: [] }
http: { port: ${port}, host: 127.0.0.1 }
cameras: [{ id: dock-1, url: "rtsp://127.0.0.1/d1" }]
queries:
  - { id: forklift, cameras: [dock-1], question: "Is a forklift near a person?", window: 4s, every: 2s, cooldown: 60s${rule} }
`);

/** Window i of the scripted sequence: answered yes or no, 2 s apart on capture time. */
const windowFinding = (i: number, run: string) => {
  const yes = SEQUENCE[i]!;
  return finding('dock-1', i, yes ? 'Yes, a forklift passes close to a worker.' : 'No, nobody is near the forklift.', {
    windowStart: T0 + Number(run) * 3_600_000,
    queryId: 'forklift',
    verdict: yes,
  });
};

type Opener = (dbName: string) => Promise<IncidentStore>;
let runs = 0;

async function scripted(open: Opener, rule: string, restartAfter?: number): Promise<Incident[]> {
  const run = String(++runs);
  const bus = new MemoryBus();
  const db = `confirm-${uid()}`;
  const port = await freePort();
  const stores: IncidentStore[] = [await open(db)];
  let alerts: AlertsService | undefined = await startAlerts(config(port, rule), { bus, store: stores[0]!, group: 'g' });
  const api = async (path: string) => (await (await fetch(`http://127.0.0.1:${port}${path}`)).json()) as { items: Incident[] };
  let handled = 0;
  try {
    for (let i = 0; i < SEQUENCE.length; i++) {
      if (i === restartAfter) {
        // A new alerts process on the same database: what it knows of earlier windows is in the store.
        await alerts.close();
        stores.push(await open(db));
        alerts = await startAlerts(config(port, rule), { bus, store: stores[stores.length - 1]!, group: 'g' });
      }
      const f = windowFinding(i, run);
      await bus.publish(Topics.findings, [{ key: f.cameraId, value: Buffer.from(JSON.stringify(f)) }]);
      handled++;
      // One at a time. The findings counter moves when the handler starts; the group's lag is
      // zero once the bus committed, which it does after the handler's store writes. Both, since
      // a group with nothing committed yet also reads as no lag.
      await waitFor(`window ${i} handled`, async () => {
        const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const started = [...m.matchAll(/^vigil_alerts_findings_total\{[^}]*\} (\d+)/gm)].reduce((s, x) => s + Number(x[1]), 0) >= (restartAfter !== undefined && i >= restartAfter ? handled - restartAfter : handled);
        return started && bus.lag('g', Topics.findings) === 0;
      }, 10_000, 20);
    }
    // This run's hour of capture time only (runs share a PostgreSQL database).
    const from = new Date(T0 + Number(run) * 3_600_000 - 1000).toISOString();
    const to = new Date(T0 + (Number(run) + 1) * 3_600_000).toISOString();
    return (await api(`/api/incidents?limit=50&sort=oldest&from=${from}&to=${to}`)).items.filter((x) => x.query === 'forklift');
  } finally {
    await alerts?.close();
    for (const s of stores) await s.close();
  }
}

const databases: [string, Opener, () => Promise<void>][] = [];
{
  const url = freshDatabaseUrl();
  databases.push(['PostgreSQL', async () => SqlIncidentStore.open(await PgDatabase.open(url)), () => dropDatabase(url)]);
  const dir = mkdtempSync(join(tmpdir(), 'vigil-confirm-'));
  // One PGlite folder per scripted run (the name keys it), kept across the restart.
  databases.push(['PGlite', async (name) => SqlIncidentStore.open(await PgliteDatabase.open(join(dir, name))), async () => rmSync(dir, { recursive: true, force: true })]);
}

for (const [name, open, cleanup] of databases) {
  test(`${name}: confirm 2 of 3 with clear_after 2 opens exactly two incidents for yes,no,yes,no,no,yes,yes`, async () => {
    const incidents = await scripted(open, ', confirm: { of: 3, need: 2 }, clear_after: 2');
    assert.equal(incidents.length, 2, JSON.stringify(incidents.map((i) => [i.started_at, i.confirmed_by])));
    const [a, b] = incidents as [Incident, Incident];
    // The first opened on window 3 (yes, no, yes), confirmed by windows 1 and 3, starting at window 1.
    assert.equal(a.confirmed_by?.length, 2);
    assert.equal(a.findingId, a.id);
    assert.equal(Date.parse(a.started_at) % 3_600_000, 0, 'starts at the first confirming window');
    assert.notEqual(a.closed_at, null, 'two "no" windows in a row closed it (long before its 60 s cooldown)');
    // Window 6 alone (no, no, yes) was not enough; window 7 (no, yes, yes) confirmed the second.
    assert.equal(b.confirmed_by?.length, 2);
    assert.equal(Date.parse(b.started_at) - Date.parse(a.started_at), 10_000, 'the second starts at window 6');
    assert.equal(b.closed_at, null);
  });

  test(`${name}: the same across an alerts restart in the middle of the sequence`, async () => {
    const incidents = await scripted(open, ', confirm: { of: 3, need: 2 }, clear_after: 2', 4);
    assert.equal(incidents.length, 2);
    assert.notEqual(incidents[0]!.closed_at, null);
  });

  test(`${name}: confirm without clear_after: one episode (the cooldown holds it open); no rule: today's behaviour`, async () => {
    const confirmed = await scripted(open, ', confirm: { of: 3, need: 2 }');
    assert.equal(confirmed.length, 1);
    assert.equal(confirmed[0]!.findings, 3, 'opened by window 3; windows 6 and 7 extend it');
    const plain = await scripted(open, '');
    assert.equal(plain.length, 1);
    assert.equal(plain[0]!.confirmed_by, undefined);
    assert.equal(Date.parse(plain[0]!.started_at) % 3_600_000, 0, 'the first positive window opened it');
    await cleanup();
  });
}
