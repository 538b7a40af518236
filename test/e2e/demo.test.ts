import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '../helpers/env.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'vigil-demo-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

test('the demo command serves the dashboard with both simulated cameras online, questions waiting for a model server, trigger incidents raised', async () => {
  const [http, ingest, infer] = [await freePort(), await freePort(), await freePort()];
  const env = { ...process.env, VIGIL_HTTP_PORT: String(http), VIGIL_INGEST_METRICS_PORT: String(ingest), VIGIL_INFER_METRICS_PORT: String(infer), VIGIL_DATA_DIR: dataDir, VIGIL_MODEL_URL: '' };
  // scripts/demo.sh is what `npm run demo` runs (npm itself reports a Ctrl-C as a signal exit).
  const demo = spawn('bash', ['scripts/demo.sh'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  demo.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  demo.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const base = `http://127.0.0.1:${http}`;
  try {
    const page = await waitFor('the dashboard', async () => {
      const r = await fetch(`${base}/`);
      return r.ok ? r.text() : undefined;
    }, 120_000, 500);
    assert.match(page, /<script type="module" src="\/app.js">/);
    const cameras = await waitFor(
      'both cameras online',
      async () => {
        const list = (await (await fetch(`${base}/api/cameras`)).json()) as { id: string; status: { state: string } | null }[];
        return list.length === 2 && list.every((c) => c.status?.state === 'online') ? list : undefined;
      },
      30_000,
      500,
    );
    assert.deepEqual(cameras.map((c) => c.id).sort(), ['dock-1', 'street-1']);
    const frame = await waitFor('a live frame', async () => {
      const r = await fetch(`${base}/api/cameras/dock-1/latest.jpg`);
      return r.ok ? r : undefined;
    }, 10_000, 250);
    assert.equal(frame.headers.get('content-type'), 'image/jpeg');
    const queries = (await (await fetch(`${base}/api/queries`)).json()) as { id: string; status: string }[];
    assert.ok(queries.length >= 2 && queries.every((q) => q.status === 'waiting_for_model'));
    // No model server, yet motion on the street is an incident: raised by the trigger, saying so.
    const incident = await waitFor(
      'a trigger incident',
      async () => {
        const r = (await (await fetch(`${base}/api/incidents?camera=street-1`)).json()) as { items: { kind: string; answer: string; model: string; evidence: { frames: unknown[] } }[] };
        return r.items.find((i) => i.kind === 'trigger' && i.evidence.frames.length > 0);
      },
      60_000,
      500,
    );
    assert.match(incident.answer, /^Motion in zone road \(peak \d+% of the zone changed\)\. Not asked: no model server is connected\.$/);
    assert.equal(incident.model, '', 'no model answer is made up');
  } finally {
    process.kill(-demo.pid!, 'SIGINT'); // Ctrl-C to the whole process group
    const code = await new Promise<number | null>((r) => (demo.exitCode !== null ? r(demo.exitCode) : demo.once('exit', (c) => r(c))));
    if (code !== 0) process.stderr.write(out.slice(-3000));
    assert.equal(code, 0, 'stops cleanly on Ctrl-C');
    assert.match(out, /alerts stopped/);
  }
});
