import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus } from '@vigil/bus';
import { Topics, type Incident } from '@vigil/contracts';
import { PgDatabase, SqlIncidentStore } from '@vigil/store';
import { startAlerts } from '@vigil/alerts';
import { configFromYaml, dropDatabase, freePort, freshDatabaseUrl, uid, waitFor } from '../helpers/env.ts';
import { capturedLogger, finding } from './helpers.ts';

test('a webhook whose receiver is down, then up, is delivered once after retries, with the template filled and the status on the incident', async () => {
  const dbUrl = freshDatabaseUrl();
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-webhooks-'));
  const hookToken = `hook-secret-${uid()}`;
  const receiverPort = await freePort();
  const port = await freePort();
  const config = configFromYaml(`
model: { endpoints: [] }
data_dir: ${dataDir}
http: { port: ${port}, host: 127.0.0.1 }
cameras: [{ id: dock-1, name: Dock one, url: "rtsp://127.0.0.1/d1" }]
queries:
  - { id: forklift, cameras: [dock-1], question: "Is a forklift near a person?", window: 4s, every: 2s }
  - { id: spill, cameras: [dock-1], question: "Is there a spill?", window: 4s, every: 2s }
alerts:
  webhooks:
    - id: ops
      url: "http://127.0.0.1:${receiverPort}/hook"
      token: ${hookToken}
      queries: [forklift]
      backoff: 200ms
      template: { text: "{{camera_name}}: {{answer}}", camera: "{{camera}}", query: "{{query}}", at: "{{started_at}}", fixed: 7 }
    - id: actions
      url: "http://127.0.0.1:${receiverPort}/actions"
      queries: [forklift]
      events: [ack, resolve]
      backoff: 200ms
      template: { event: "{{event}}", by: "{{by}}", note: "{{note}}", state: "{{state}}" }
`);
  const bus = new MemoryBus();
  const store = await SqlIncidentStore.open(await PgDatabase.open(dbUrl));
  const logs = capturedLogger('alerts');
  const alerts = await startAlerts(config, { bus, store, logger: logs.logger, webhookPollMs: 100 });
  const received: { headers: IncomingMessage['headers']; url?: string; body: any }[] = [];
  // The first `ack` is answered 503 only once the operator has resolved, so its retry is sent
  // after the resolve: it must still say the state the ack left.
  let ackRefused = false;
  let resolvedByOperator!: () => void;
  const resolved = new Promise<void>((r) => (resolvedByOperator = r));
  const receiver = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d));
    req.on('end', async () => {
      if (req.headers['x-vigil-event'] === 'ack' && !ackRefused) {
        ackRefused = true;
        await resolved;
        res.writeHead(503).end();
        return;
      }
      received.push({ headers: req.headers, url: req.url, body: JSON.parse(text) });
      res.writeHead(204).end();
    });
  });
  try {
    const f = finding('dock-1', 0, 'Yes, "quoted" and {{not a placeholder}}.', { windowStart: Date.now(), queryId: 'forklift' });
    const other = finding('dock-1', 0, 'Yes, a spill.', { windowStart: Date.now(), queryId: 'spill' });
    await bus.publish(Topics.findings, [f, other].map((x) => ({ key: x.cameraId, value: Buffer.from(JSON.stringify(x)) })));
    // Receiver down: attempts fail and are recorded on the incident.
    const failing = await waitFor('failed attempts recorded', async () => {
      const d = (await store.get(f.id, { deliveries: true }))?.deliveries?.[0];
      return d && d.attempts >= 2 && d.status === 'pending' ? d : undefined;
    }, 15_000);
    assert.match(failing.last_error ?? '', /ECONNREFUSED/);
    // Receiver up: delivered by the next retry, once.
    await new Promise<void>((r) => receiver.listen(receiverPort, '127.0.0.1', r));
    const delivered = await waitFor('delivered', async () => {
      const inc = (await (await fetch(`http://127.0.0.1:${port}/api/incidents/${f.id}`)).json()) as Incident;
      return inc.deliveries?.[0]?.status === 'delivered' ? inc : undefined;
    }, 15_000);
    await new Promise((r) => setTimeout(r, 800)); // a double delivery would arrive by now
    assert.equal(received.length, 1, 'delivered once; the spill query has no webhook');
    const [req] = received;
    assert.equal(req!.headers.authorization, `Bearer ${hookToken}`);
    assert.equal(req!.headers['x-vigil-event'], 'open');
    assert.deepEqual(req!.body, { text: 'Dock one: Yes, "quoted" and {{not a placeholder}}.', camera: 'dock-1', query: 'forklift', at: delivered.started_at, fixed: 7 });
    assert.ok(delivered.deliveries![0]!.attempts >= 3);
    assert.equal(delivered.deliveries![0]!.last_error, null);
    // The bearer token never shows in the API or the logs.
    assert.ok(!JSON.stringify(delivered).includes(hookToken));
    assert.ok(!logs.text().includes(hookToken));
    assert.match(logs.text(), /webhook delivery failed/);

    // Operators acting on the incident are webhook events too, with who and their note.
    const act = (action: string, body: object) =>
      fetch(`http://127.0.0.1:${port}/api/incidents/${f.id}/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await act('ack', { by: 'ana', note: 'on my way' })).status, 200);
    assert.equal((await act('resolve', { by: 'ben', note: 'forklift parked' })).status, 200);
    resolvedByOperator();
    await waitFor('ack and resolve delivered', () => received.length >= 3, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(ackRefused, 'the first ack was refused');
    const actions = received.slice(1);
    // The ack's retry went out after the resolve.
    assert.deepEqual(actions.map((r) => [r.url, r.headers['x-vigil-event']]), [['/actions', 'resolve'], ['/actions', 'ack']]);
    assert.deepEqual(actions.map((r) => r.body), [
      { event: 'resolve', by: 'ben', note: 'forklift parked', state: 'resolved' },
      { event: 'ack', by: 'ana', note: 'on my way', state: 'acknowledged' },
    ]);
  } finally {
    await alerts.close();
    await store.close();
    await bus.close();
    receiver.close();
    await dropDatabase(dbUrl);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
