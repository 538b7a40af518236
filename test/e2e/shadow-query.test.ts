import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { io as connect, type Socket } from 'socket.io-client';
import { connectAsync, type MqttClient } from 'mqtt';
import { ShadowDifferencePageSchema, ShadowListSchema, WindowPageSchema, type AskedWindow, type Incident, type ShadowDifference } from '@vigil/contracts';
import { Broker } from '../helpers/mosquitto.ts';
import { metricSum, uid, waitFor } from '../helpers/env.ts';
import { startStandaloneStack, type StandaloneStack } from '../helpers/standalone-stack.ts';
import { launchBrowser } from '../helpers/browser.ts';

/**
 * A shadow query end to end (standalone: in-process bus, PGlite). One camera shows red for a
 * few seconds; `lane` asks whether red is in view and alerts on yes; `lane-inverse` shadows it
 * with the same question but alerts on "no", so it disagrees on every window. The real
 * incident reaches the webhook, Socket.IO and MQTT; the shadow's would-be incidents are
 * recorded but reach none of them, nor the incident list; /api/shadows counts what the
 * window audit holds.
 */
const id = uid();
const cam = `dock-${id}`;
const SHADOW = 'lane-inverse';
const prefix = `vigil-${id}`;
let stack: StandaloneStack;
let hook: Server;
let socket: Socket;
let broker: Broker;
let mqttClient: MqttClient;
const hooked: { event: string; incident: Incident }[] = [];
const pushed: { event: string; incident: Incident }[] = [];
const mqttSeen: { topic: string; payload: string }[] = [];

before(async () => {
  broker = await Broker.start();
  mqttClient = await connectAsync(broker.url, { protocolVersion: 5 });
  mqttClient.on('message', (topic, payload) => mqttSeen.push({ topic, payload: payload.toString() }));
  await mqttClient.subscribeAsync([`${prefix}/#`, 'homeassistant/#']);
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hooked.push(JSON.parse(body) as { event: string; incident: Incident });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookPort = (hook.address() as { port: number }).port;
  stack = await startStandaloneStack({
    id,
    camera: cam,
    sim: { movingBox: false, red: { atS: 6, durationS: 6 } },
    yaml: (cameraUrl) => `
mqtt: { url: "${broker.url}", topic_prefix: "${prefix}" }
cameras:
  - { id: ${cam}, url: "${cameraUrl}", transport: tcp }
queries:
  - { id: lane, cameras: [${cam}], question: "Is there a red object in view?", window: 2s, every: 2s, cooldown: 4s }
  - { id: ${SHADOW}, cameras: [${cam}], question: "Is there a red object in view?", window: 2s, every: 2s, cooldown: 4s, alert_when: "^\\\\s*no", shadow: lane }
alerts:
  webhooks:
    - { id: ops, url: "http://127.0.0.1:${hookPort}/hook", events: [open, update, close] }
`,
    // Socket.IO listens before any window is asked: it must miss nothing to prove it got nothing.
    afterAlerts: async (alerts) => {
      socket = connect(`http://127.0.0.1:${alerts.port}`, { transports: ['websocket'] });
      for (const event of ['incident:new', 'incident:update', 'incident:close']) socket.on(event, (incident: Incident) => pushed.push({ event, incident }));
      await waitFor('socket connection', () => socket.connected, 10_000);
    },
  });
});

after(async () => {
  socket?.close();
  await mqttClient?.endAsync().catch(() => undefined);
  await stack?.close();
  await broker?.stop();
  await new Promise((r) => hook?.close(r));
});

const api = async (path: string): Promise<{ status: number; body: unknown }> => {
  const res = await fetch(`http://127.0.0.1:${stack.alerts.port}${path}`);
  return { status: res.status, body: await res.json() };
};

/** Every answered window of a query (the audit, page by page). */
async function answered(query: string): Promise<AskedWindow[]> {
  const out: AskedWindow[] = [];
  let cursor = '';
  for (let n = 0; n < 200; n++) {
    const page = WindowPageSchema.parse((await api(`/api/windows?camera=${cam}&query=${query}&status=ok&limit=100${cursor ? `&cursor=${cursor}` : ''}`)).body);
    for (const i of page.items) if (i.kind === 'asked') out.push(i);
    if (!page.next_cursor) return out;
    cursor = page.next_cursor;
  }
  throw new Error('paging never ended');
}

test('a shadow query records its would-be incidents and windows; no webhook, Socket.IO or MQTT; /api/shadows agrees with the audit', async () => {
  // The real episode: red seen, told to the webhook and to Socket.IO, then closed.
  await waitFor('the real incident on the webhook and Socket.IO', () => hooked.some((h) => h.incident.query === 'lane') && pushed.some((p) => p.event === 'incident:new' && p.incident.query === 'lane'), 60_000, 250);
  // The shadow's would-be incidents: once the red is gone (it alerts on "no"), and before it if
  // windows were asked that early.
  let last: unknown;
  const list = await waitFor('a shadow incident after the red', async () => {
    const l = ShadowListSchema.parse((last = (await api('/api/shadows')).body));
    // At least 3 windows compared before the video stops (a loaded machine answers fewer a second).
    return l.items[0] && l.items[0].shadow_incidents >= 1 && l.items[0].shadowed_yes >= 1 && l.items[0].shadow_yes >= 1 && l.items[0].compared >= 3 ? l : undefined;
  }, 90_000, 500).catch((e: Error) => {
    throw new Error(`${e.message}; last: ${JSON.stringify(last)}`);
  });
  assert.equal(list.items.length, 1);
  assert.equal(list.items[0]!.query, SHADOW);
  assert.equal(list.items[0]!.shadows, 'lane');
  // Stop the video, let the last windows land, then compare with the audit at rest.
  await stack.ingest.close(); // closing twice (again in after) is a no-op
  let before = -1;
  await waitFor('the audit at rest', async () => {
    const n = (await answered('lane')).length + (await answered(SHADOW)).length;
    const still = n === before;
    before = n;
    return still;
  }, 30_000, 2_000);
  const [lane, shadow] = [await answered('lane'), await answered(SHADOW)];
  const key = (w: AskedWindow) => `${w.start}/${w.end}`;
  const theirs = new Map(lane.map((w) => [key(w), w]));
  const pairs = shadow.filter((w) => theirs.has(key(w))).map((w) => [w, theirs.get(key(w))!] as const);
  assert.ok(pairs.length >= 3, `windows compared: ${pairs.length}`);
  const s = ShadowListSchema.parse((await api('/api/shadows')).body).items[0]!;
  assert.equal(s.compared, pairs.length);
  assert.equal(s.agreed, pairs.filter(([a, b]) => a.verdict === b.verdict).length);
  assert.equal(s.agreed, 0, 'the inverse alert_when disagrees on every window');
  assert.equal(s.agreement, 0);
  assert.equal(s.shadow_yes, pairs.filter(([a]) => a.verdict).length);
  assert.equal(s.shadowed_yes, pairs.filter(([, b]) => b.verdict).length);
  assert.equal(s.shadow_no + s.shadow_yes, s.compared);
  assert.ok(s.shadow_yes >= 1 && s.shadowed_yes >= 1);
  // The differing windows, two a page: every compared window, with both answers.
  const diffs: ShadowDifference[] = [];
  let cursor = '';
  for (let n = 0; n < 100; n++) {
    const page = ShadowDifferencePageSchema.parse((await api(`/api/shadows/${SHADOW}/differences?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body);
    diffs.push(...page.items);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  assert.equal(diffs.length, pairs.length);
  for (const d of diffs) {
    assert.notEqual(d.shadow.verdict, d.shadowed.verdict);
    assert.equal(d.shadow.answer, d.shadowed.answer, 'the same question, judged two ways');
    assert.equal(theirs.get(`${d.start}/${d.end}`)?.id, d.shadowed.id);
  }
  // Bad parameters and unknown shadows.
  assert.equal((await api('/api/shadows?limit=3')).status, 400);
  assert.equal((await api(`/api/shadows/${SHADOW}/differences?from=yesterday`)).status, 400);
  assert.equal((await api('/api/shadows/lane/differences')).status, 404);
  // Nowhere an operator or a system downstream would see it.
  await new Promise((r) => setTimeout(r, 1_500)); // outbox and MQTT drain
  assert.deepEqual(hooked.filter((h) => h.incident.query === SHADOW), [], 'no webhook for the shadow');
  assert.deepEqual(pushed.filter((p) => p.incident.query === SHADOW), [], 'no Socket.IO event for the shadow');
  assert.ok(mqttSeen.some((m) => m.topic.includes('/lane')), 'MQTT hears the real query');
  assert.deepEqual(mqttSeen.filter((m) => m.topic.includes(SHADOW) || m.payload.includes(`"${SHADOW}"`)), [], 'no MQTT message about the shadow');
  const listed = (await api(`/api/incidents?query=${SHADOW}`)).body as { items: Incident[] };
  assert.deepEqual(listed.items, []);
  const all = (await api('/api/incidents?limit=500')).body as { items: Incident[] };
  assert.ok(all.items.length >= 1 && all.items.every((i) => i.query === 'lane'));
  const stats = (await api('/api/stats/incidents?by=query')).body as { series: { key: string }[] };
  assert.deepEqual(stats.series.map((x) => x.key), ['lane']);
  // The queries list says which is a shadow, and of what.
  const queries = (await api('/api/queries')).body as { id: string; shadow: string | null; webhooks: string[] }[];
  assert.deepEqual(queries.map((q) => [q.id, q.shadow, q.webhooks.length > 0]), [['lane', null, true], [SHADOW, 'lane', false]]);
  // Counted apart: the shadow's would-be incidents, never among the incidents opened.
  const metrics = await (await fetch(`http://127.0.0.1:${stack.alerts.port}/metrics`)).text();
  assert.ok(metricSum(metrics, 'vigil_alerts_shadow_incidents_total', `query="${SHADOW}"`) >= 1, 'shadow incidents counted');
  assert.equal(metricSum(metrics, 'vigil_alerts_incidents_total', `query="${SHADOW}"`), 0);
  assert.ok(metricSum(metrics, 'vigil_alerts_incidents_total', 'query="lane"') >= 1);
  // The dashboard's Shadows view shows the same numbers, and the differing windows on a click.
  const { browser, close } = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${stack.alerts.port}/#/shadows`);
    const row = page.locator(`tr[data-query="${SHADOW}"]`);
    await row.waitFor({ timeout: 15_000 });
    assert.deepEqual(await row.locator('td').allInnerTexts(), [SHADOW, 'lane', '0.0%', String(s.compared), `${s.shadow_yes} / ${s.shadow_no}`, `${s.shadowed_yes} / ${s.shadowed_no}`, String(s.shadow_incidents)]);
    await row.locator('button').click();
    await page.locator('table.differences tbody tr').first().waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('table.differences tbody tr').count(), diffs.length);
    // The Queries view marks the shadow, linking to this view.
    await page.goto(`http://127.0.0.1:${stack.alerts.port}/#/queries`);
    await page.locator(`tr[data-query="${SHADOW}"] a[data-shadow-of="lane"]`).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('tr[data-query="lane"] a[data-shadow-of]').count(), 0);
  } finally {
    await close();
  }
});
