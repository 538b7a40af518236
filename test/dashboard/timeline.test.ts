import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { MemoryBus } from '@vigil/bus';
import { MESSAGE_TYPE_HEADER, PROGRESS_TYPE, Topics, type Finding, type Incident } from '@vigil/contracts';
import { PgliteDatabase, SqlIncidentStore, type IncidentStore } from '@vigil/store';
import { startAlerts, type AlertsService } from '@vigil/alerts';
import { configFromYaml, uid, waitFor } from '../helpers/env.ts';
import { launchBrowser, SCREENSHOTS } from '../helpers/browser.ts';
import { capturedLogger, evidenceFrames, finding } from '../alerts/helpers.ts';

// The timeline in real Chromium against alerts on PGlite, fed through its findings consumer
// (the path infer's findings and window progress take): "no" windows with reasoning, a "yes"
// that opens an incident with evidence, an error, and two skip runs.
const ADMIN = `admin-token-${uid()}-timeline`;
const camera = `dock-${uid()}`;
const QUERY = 'forklift';
const NO_REASONING = 'The loading lane is empty in every frame; nobody on foot near the racks.';
let alerts: AlertsService;
let store: IncidentStore;
let bus: MemoryBus;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let base = '';
let incident: Incident;
// On the 2 s grid, 20 minutes ago: inside the default range (the last hour).
const t0 = Math.floor(Date.now() / 2000) * 2000 - 20 * 60_000;
const at = (k: number) => t0 + k * 2000;
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-timeline-'));

const publish = (f: Finding) => bus.publish(Topics.findings, [{ key: camera, value: Buffer.from(JSON.stringify(f)) }]);
const progress = (through: number, skips: { reason: string; from: number; to: number; count: number; everyMs: number }[]) =>
  bus.publish(Topics.findings, [{ key: camera, value: Buffer.from(JSON.stringify({ v: 1, cameraId: camera, queryId: QUERY, through, skips })), headers: { [MESSAGE_TYPE_HEADER]: PROGRESS_TYPE } }]);
const w = (k: number, answer: string, opts: Partial<Finding> = {}) => finding(camera, k, answer, { windowStart: t0, queryId: QUERY, queryVersion: '4b1e07a2c9d1', ...opts });
const run = (k: number, count: number, reason: string) => ({ reason, from: at(k), to: at(k + count - 1) + 3750, count, everyMs: 2000 });

before(async () => {
  bus = new MemoryBus();
  store = await SqlIncidentStore.open(await PgliteDatabase.open());
  const config = configFromYaml(`
data_dir: "${dataDir}"
model: { endpoints: [] }
http: { port: 0, host: 127.0.0.1 }
cameras: [{ id: ${camera}, name: Loading dock, url: "rtsp://10.0.0.21/s1" }]
queries: [{ id: ${QUERY}, cameras: [${camera}], question: "Is a forklift moving near a person on foot?", window: 4s, every: 2s, cooldown: 1s, severity: high }]
alerts:
  evidence: { clip: false }
  tokens: [{ name: ana, token: ${ADMIN}, role: admin }]
`);
  alerts = await startAlerts(config, { bus, store, logger: capturedLogger('alerts').logger, tickMs: 200 });
  base = `http://127.0.0.1:${alerts.port}`;
  for (let k = 0; k < 200; k++) {
    if (k >= 60 && k < 150) continue; // skipped below
    if (k === 40) await publish({ ...w(k, 'Yes, a forklift passes within a metre of a worker.'), evidenceFrames: evidenceFrames(at(k), 4) });
    else if (k === 42) await publish(w(k, '', { verdict: false, status: 'error', error: 'HTTP 500 from the model server', latencyMs: 30_000 }));
    else await publish(w(k, 'No.', { verdict: false, reasoning: NO_REASONING, latencyMs: 1234, usage: { promptTokens: 4321, completionTokens: 87 } }));
  }
  await progress(at(100), [run(60, 41, 'still')]);
  await progress(at(150), [run(101, 49, 'budget_camera')]);
  incident = await waitFor('an incident with evidence', async () => (await store.search({ camera, limit: 1 })).items.find((i) => i.evidence.frames.length > 0), 20_000);
  await waitFor('every window recorded', async () => ((await store.searchWindows({ camera, query: QUERY, limit: 500 })).items.length === 112 ? true : undefined), 20_000);
  ({ browser, close: closeBrowser } = await launchBrowser());
});

after(async () => {
  await closeBrowser?.();
  await alerts?.close();
  await store?.close();
  await bus?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function openPage(hash: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.addInitScript((token) => localStorage.setItem('vigil.token', token), ADMIN);
  await page.goto(`${base}/${hash}`);
  return page;
}

test('the timeline shows asked windows, skip runs and the incident, one span per skip run', async () => {
  const page = await openPage(`#/timeline?camera=${camera}&query=${QUERY}`);
  await page.waitForSelector('.timeline .win', { timeout: 15_000 });
  assert.equal(await page.locator('.timeline .win').count(), 110, 'one block per asked window');
  assert.deepEqual(await page.locator('.timeline .skip').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.reason)), ['still', 'budget_camera'], 'one span per run');
  assert.match(await page.locator('[data-summary]').innerText(), /1 yes, 108 no, 1 error; 90 windows not asked in 2 runs; 1 incident/);
  assert.equal(await page.locator(`.timeline .inc[data-incident="${incident.id}"]`).count(), 1);
  assert.match(await page.locator('.timeline .skip[data-reason="budget_camera"]').innerText(), /budget_camera ×49/);

  await page.close();
});

test('zoomed to the windows (a few pixels each), a "no" window opens with its reasoning and a skip run with its reason', async () => {
  const range = `from=${new Date(at(0) - 60_000).toISOString()}&to=${new Date(at(200) + 60_000).toISOString()}`;
  const page = await openPage(`#/timeline?camera=${camera}&query=${QUERY}&${range}`);
  await page.waitForSelector('.timeline .win', { timeout: 15_000 });
  await page.locator(`.timeline .win[data-window="${w(10, 'No.').id}"]`).click();
  const detail = page.locator('.window-detail');
  assert.equal(await detail.locator('[data-field="reasoning"]').innerText(), NO_REASONING);
  assert.equal(await detail.locator('[data-field="latency"]').innerText(), '1234 ms');
  assert.match(await detail.locator('[data-field="tokens"]').innerText(), /4321 prompt \+ 87 completion/);
  assert.equal(await detail.locator('[data-field="query-version"]').innerText(), '4b1e07a2c9d1');
  assert.match(await detail.locator('[data-field="frames"]').innerText(), /not kept/);
  await page.screenshot({ path: join(SCREENSHOTS, 'timeline.png') });

  await page.locator('.timeline .skip[data-reason="still"]').click();
  assert.match(await page.locator('.window-detail [data-field="reason"]').innerText(), /still — trigger: nothing moved/);

  // The window that opened the incident shows the incident's frames from that window.
  await page.locator(`.timeline .win[data-window="${w(40, '').id}"]`).click();
  await page.waitForSelector('.window-detail .frames img');
  assert.ok(incident.evidence.frames.length > 0);
  assert.equal(await page.locator('.window-detail .frames img').count(), incident.evidence.frames.length);
  assert.match(await page.locator('.window-detail').innerText(), /yes \(matched alert_when\)/);
  await page.close();
});

test('the incident view links to the timeline around it, with the moment marked', async () => {
  const page = await openPage(`#/incidents/${incident.id}`);
  await page.locator('[data-link="timeline"]').click();
  await page.waitForSelector('.timeline .at', { timeout: 10_000 });
  assert.match(page.url(), new RegExp(`#/timeline\\?camera=${camera}&query=${QUERY}&at=`));
  assert.equal(await page.locator(`.timeline .inc[data-incident="${incident.id}"]`).count(), 1);
  await page.close();
});

test('labels: "False positive" on the incident view, "Mark missed" on the timeline; both listed there with who', async () => {
  const page = await openPage(`#/incidents/${incident.id}`);
  await page.locator('[data-action="false-positive"]').click();
  await page.getByRole('dialog').locator('textarea').fill('a shadow, not a forklift');
  await page.getByRole('dialog').getByRole('button', { name: 'False positive' }).click();
  await page.waitForSelector('[data-field="label"]:has-text("by ana")', { timeout: 5000 });
  await page.goto(`${base}/#/timeline?camera=${camera}&query=${QUERY}&at=${new Date(at(40)).toISOString()}`);
  await page.waitForSelector('.timeline .win', { timeout: 10_000 });
  await page.locator(`.timeline .win[data-window="${w(10, 'No.').id}"]`).click({ force: true });
  await page.locator('.labels input[name="note"]').fill('forklift passed, nobody alerted');
  await page.locator('[data-action="mark-missed"]').click();
  await page.waitForSelector('.labels li[data-kind="missed"], .labels .error', { timeout: 5000 });
  assert.equal(await page.locator('.labels .error').count(), 0, JSON.stringify(await page.locator('.labels input').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value))));
  const text = await page.locator('.labels ul').innerText();
  assert.match(text, /False positive .* by ana .*a shadow, not a forklift/);
  assert.match(text, /Missed .* by ana .*forklift passed, nobody alerted/);
  const stored = await store.listLabels({ camera, limit: 10 });
  assert.deepEqual(stored.map((l) => `${l.kind}:${l.by}`).sort(), ['false_positive:ana', 'missed:ana']);
  // Both are drawn on the axis too, in their own lane, where they happened.
  for (const l of stored) {
    const mark = page.locator(`.timeline .labels-lane .label-mark[data-label="${l.id}"]`);
    await mark.waitFor({ timeout: 5000 });
    assert.equal(await mark.getAttribute('class'), `label-mark ${l.kind}`);
    assert.match((await mark.getAttribute('title')) ?? '', /by|ana/);
  }
  await page.screenshot({ path: join(SCREENSHOTS, 'timeline-labels.png'), fullPage: true });
  // Deleting the miss removes it from the list, the axis and the store; the false positive stays.
  const missed = stored.find((l) => l.kind === 'missed')!;
  await page.locator(`.labels li[data-label="${missed.id}"] [data-action="delete-label"]`).click();
  await page.locator(`.timeline .label-mark[data-label="${missed.id}"]`).waitFor({ state: 'detached', timeout: 5000 });
  assert.equal(await page.locator(`.labels li[data-label="${missed.id}"]`).count(), 0);
  assert.deepEqual((await store.listLabels({ camera, limit: 10 })).map((l) => l.kind), ['false_positive']);
  await page.close();
});

test('the queries view links each camera to its timeline', async () => {
  const page = await openPage(`#/queries`);
  await page.locator(`a[href*="#/timeline?camera=${camera}"]`).click();
  await page.waitForSelector('.timeline .win', { timeout: 10_000 });
  assert.equal(await page.locator('[data-more]').count(), 0, 'no notice while the range is covered');
  await page.close();
});
