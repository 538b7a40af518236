import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { MemoryBus } from '@vigil/bus';
import { Topics, type Incident } from '@vigil/contracts';
import { PgliteDatabase, SqlIncidentStore, type IncidentStore } from '@vigil/store';
import { startAlerts, type AlertsService } from '@vigil/alerts';
import { configFromYaml, uid, waitFor } from '../helpers/env.ts';
import { launchBrowser, SCREENSHOTS } from '../helpers/browser.ts';
import { capturedLogger, evidenceFrames, finding } from '../alerts/helpers.ts';

// The dashboard with tokens on, in real Chromium: signing in turns the token into the media
// session cookie, evidence loads through it, and no URL the browser requests carries the token.
const READ = `read-token-${uid()}-signin`;
const camera = `dock-${uid()}`;
let alerts: AlertsService;
let store: IncidentStore;
let bus: MemoryBus;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let base = '';
let incident: Incident;
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-signin-'));

before(async () => {
  bus = new MemoryBus();
  store = await SqlIncidentStore.open(await PgliteDatabase.open());
  const config = configFromYaml(`
data_dir: "${dataDir}"
model: { endpoints: [] }
http: { port: 0, host: 127.0.0.1 }
cameras: [{ id: ${camera}, url: "rtsp://10.0.0.21/s1" }]
queries: [{ id: forklift, cameras: [${camera}], question: "Forklift?", window: 4s, every: 2s }]
alerts:
  evidence: { clip: false }
  tokens: [{ name: wall, token: ${READ}, role: read }]
`);
  alerts = await startAlerts(config, { bus, store, logger: capturedLogger('alerts').logger, tickMs: 200 });
  base = `http://127.0.0.1:${alerts.port}`;
  const f = { ...finding(camera, 0, 'Yes.', { windowStart: Date.now() - 10_000 }), evidenceFrames: evidenceFrames(Date.now() - 10_000, 4) };
  await bus.publish(Topics.findings, [{ key: camera, value: Buffer.from(JSON.stringify(f)) }]);
  incident = await waitFor('an incident with evidence', async () => (await store.search({ camera, limit: 1 })).items.find((i) => i.evidence.frames.length > 0), 20_000);
  ({ browser, close: closeBrowser } = await launchBrowser());
});

after(async () => {
  await closeBrowser?.();
  await alerts?.close();
  await store?.close();
  await bus?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('signed in with a token: evidence loads through the media session, no URL carries the token, sign-out ends it', async () => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const urls: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  page.on('websocket', (ws) => urls.push(ws.url()));
  await page.goto(`${base}/#/incidents/${incident.id}`);
  await page.locator('#token').fill(READ);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const img = page.locator('img[alt^="Evidence frame 1"]');
  await img.waitFor({ timeout: 15_000 });
  await waitFor('the evidence frame to load', () => img.evaluate((e) => (e as HTMLImageElement).complete && (e as HTMLImageElement).naturalWidth > 0), 10_000);
  await page.screenshot({ path: join(SCREENSHOTS, 'signed-in.png') });
  assert.ok(urls.some((u) => /\/frames\/0\.jpg/.test(u)), 'the page requested an evidence frame');
  const leaked = urls.filter((u) => u.includes(READ) || u.includes(encodeURIComponent(READ)) || /access_token/.test(u));
  assert.deepEqual(leaked, [], 'a URL carries the token');
  // The session cookie is HttpOnly: scripts on the page cannot read it.
  assert.ok(!(await page.evaluate(() => document.cookie)).includes('vigil_media'));
  const cookies = await page.context().cookies();
  const media = cookies.find((c) => c.name === 'vigil_media');
  assert.ok(media && media.httpOnly && media.sameSite === 'Strict', JSON.stringify(cookies));
  // Without the cookie (and no header) the same frame is refused.
  assert.equal((await fetch(`${base}/api/incidents/${incident.id}/frames/0.jpg`)).status, 401);
  // A reload refused elsewhere shows on the open page at once, with the errors.
  alerts.reloadRefused('site.yaml: invalid config\n  site.yaml:7: queries[0].window: expected a duration like "8s" (got "8 sec")');
  const banner = page.locator('.config-refused');
  await banner.waitFor({ timeout: 10_000 });
  assert.match(await banner.innerText(), /refused[\s\S]*queries\[0\]\.window/);
  await page.screenshot({ path: join(SCREENSHOTS, 'config-refused.png') });
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForSelector('#token', { timeout: 10_000 });
  assert.equal((await page.context().cookies()).some((c) => c.name === 'vigil_media' && c.value), false, 'sign-out clears the media session');
  await page.close();
});
