import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBus } from '@vigil/bus';
import { createLogger } from '@vigil/observability';
import { startInfer } from '@vigil/infer';
import { startModelServer, type ModelServer, type RecordedRequest } from '../fixtures/model-server.ts';
import { configFromYaml, metricSum, uid, waitFor } from '../helpers/env.ts';
import { collectFindings, makeJpeg, produceLive } from './helpers.ts';

const log = createLogger('test', { level: 'warn' });

/**
 * Requests of one window group arrive back to back; windows of one camera are a second apart.
 * Clusters each camera's grouped questions by arrival, remembering which server took each.
 */
function groupsOf(servers: ModelServer[], marker: string): { camera: string; reqs: (RecordedRequest & { server: number })[] }[] {
  const all = servers.flatMap((s, server) => s.requests.map((r) => ({ ...r, server }))).filter((r) => r.question.includes(marker));
  const byCamera = new Map<string, typeof all>();
  for (const r of all) {
    const camera = /at (\S+)\?/.exec(r.question)?.[1] ?? '?';
    byCamera.set(camera, [...(byCamera.get(camera) ?? []), r]);
  }
  const out: { camera: string; reqs: typeof all }[] = [];
  for (const [camera, reqs] of byCamera) {
    reqs.sort((a, b) => a.at - b.at);
    let cur: typeof all = [];
    for (const r of reqs) {
      if (cur.length > 0 && r.at - cur[cur.length - 1]!.at > 400) (out.push({ camera, reqs: cur }), (cur = []));
      cur.push(r);
    }
    if (cur.length) out.push({ camera, reqs: cur });
  }
  return out;
}

test('questions about the same frames go to one endpoint together, and stay together when it fails', async () => {
  const id = uid();
  const cams = [`s1-${id}`, `s2-${id}`, `s3-${id}`];
  const servers = [await startModelServer({ behavior: { latencyMs: 100 } }), await startModelServer({ behavior: { latencyMs: 100 } })];
  const bus = new MemoryBus();
  const infer = await startInfer(
    configFromYaml(`
model:
  endpoints: [{ url: "${servers[0]!.url}", max_in_flight: 4 }, { url: "${servers[1]!.url}", max_in_flight: 4 }]
infer: { metrics_port: 0 }
cameras:
${cams.map((c) => `  - { id: ${c}, url: "rtsp://sim/${c}" }`).join('\n')}
queries:
  - { id: red, cameras: [${cams.join(', ')}], question: "[g] Is there a red object at {camera}?", window: 2s, every: 1s }
  - { id: person, cameras: [${cams.join(', ')}], question: "[g] Is a person in view at {camera}?", window: 2s, every: 1s, severity: high }
  - { id: dock, cameras: [${cams.join(', ')}], question: "[g] Is the dock door open at {camera}?", window: 2s, every: 1s }
  - { id: long, cameras: [${cams.join(', ')}], question: "[x] What happened at {camera}?", window: 3s, every: 1s }
`),
    { bus, group: `g-${id}`, logger: log },
  );
  const frame = makeJpeg({ red: true, box: { x: 0.2, y: 0.2 } });
  const prod = produceLive(bus, cams, () => frame);
  try {
    await waitFor('grouped windows from every camera', () => groupsOf(servers, '[g]').filter((g) => g.reqs.length === 3).length >= 6, 30_000);
    // The first endpoint fails: its groups fail over, and every member goes to the same other one.
    servers[0]!.setBehavior({ down: true });
    const downAt = Date.now();
    await waitFor('groups after the failure', () => groupsOf(servers, '[g]').filter((g) => g.reqs[0]!.at > downAt + 1500 && g.reqs.length >= 3).length >= 4, 30_000);
  } finally {
    await prod.stop();
    const text = await (await fetch(`http://127.0.0.1:${infer.port}/metrics`)).text();
    await infer.close();
    await Promise.all(servers.map((s) => s.close()));
    assert.ok(metricSum(text, 'vigil_infer_window_groups_total') >= 10, 'window groups were dispatched');
    assert.equal(metricSum(text, 'vigil_infer_window_group_questions_total'), 3 * metricSum(text, 'vigil_infer_window_groups_total'));
  }
  const groups = groupsOf(servers, '[g]');
  for (const g of groups) {
    const answered = g.reqs.filter((r) => r.status === 200);
    assert.ok(new Set(answered.map((r) => r.server)).size <= 1, `a group of ${g.camera} was answered by both endpoints: ${JSON.stringify(g.reqs.map((r) => [r.server, r.status, r.question]))}`);
    // One question of each query per group, the most severe first.
    assert.ok(g.reqs.length % 3 === 0 || g.reqs.some((r) => r.status !== 200), `group of ${g.reqs.length}`);
    if (answered.length === 3 && g.reqs.length === 3) assert.match(g.reqs[0]!.question, /person/, 'the most severe question leads');
  }
  // Both endpoints took groups before the failure (least-loaded first), and only the second one after.
  assert.ok(groups.some((g) => g.reqs.every((r) => r.server === 0 && r.status === 200)));
  assert.ok(groups.some((g) => g.reqs.every((r) => r.server === 1)));
  // The query with another window is never part of a group: its own requests, one per window.
  assert.ok(servers.some((s) => s.requests.some((r) => r.question.includes('[x]'))));
});

test('model.share: none asks each question on its own', async () => {
  const id = uid();
  const cam = `n-${id}`;
  const server = await startModelServer();
  const bus = new MemoryBus();
  const infer = await startInfer(
    configFromYaml(`
model: { endpoints: ["${server.url}"], share: none }
infer: { metrics_port: 0 }
cameras:
  - { id: ${cam}, url: "rtsp://sim/${cam}" }
queries:
  - { id: a, cameras: [${cam}], question: "Is there a red object?", window: 2s, every: 1s }
  - { id: b, cameras: [${cam}], question: "Is a person in view?", window: 2s, every: 1s }
`),
    { bus, group: `g-${id}`, logger: log },
  );
  const prod = produceLive(bus, [cam], () => makeJpeg());
  try {
    await waitFor('both questions asked', () => new Set(server.requests.map((r) => r.question)).size >= 2 && server.requests.length >= 4, 20_000);
  } finally {
    await prod.stop();
    const text = await (await fetch(`http://127.0.0.1:${infer.port}/metrics`)).text();
    await infer.close();
    await server.close();
    assert.equal(metricSum(text, 'vigil_infer_window_groups_total'), 0);
  }
});

test('model.share: fused asks a window group in one request and judges each answer by its own rule; a question the reply left out is asked on its own', async () => {
  const id = uid();
  const cam = `f-${id}`;
  const server = await startModelServer();
  const bus = new MemoryBus();
  const found = await collectFindings(bus, [cam], `f-${id}`);
  const infer = await startInfer(
    configFromYaml(`
model: { endpoints: ["${server.url}"], share: fused }
infer: { metrics_port: 0 }
cameras:
  - { id: ${cam}, url: "rtsp://sim/${cam}" }
queries:
  - { id: red, cameras: [${cam}], question: "Is there a red object in view?", window: 2s, every: 1s }
  - { id: verdict, cameras: [${cam}], question: "Is there a red object (json)?", window: 2s, every: 1s, alert_when: { json: { schema: { type: object, required: [verdict] }, when: { verdict: yes } } } }
  - { id: nothing, cameras: [${cam}], question: "Is a person in view?", window: 2s, every: 1s }
`),
    { bus, group: `g-${id}`, logger: log },
  );
  const prod = produceLive(bus, [cam], () => makeJpeg({ red: true, box: { x: 0.2, y: 0.2, size: 0.5 } }));
  try {
    await waitFor('fused findings', () => new Set(found.findings.map((f) => f.queryId)).size === 3 && found.findings.length >= 6, 20_000);
    const fusedRequests = server.requests.filter((r) => r.question.includes('Answer each of the 3 numbered questions'));
    assert.ok(fusedRequests.length >= 2);
    assert.equal(server.requests.length, fusedRequests.length, 'one request per window, nothing else');
    const by = (q: string) => found.findings.filter((f) => f.queryId === q);
    assert.ok(by('red').every((f) => f.status === 'ok' && f.verdict === true && /^Yes, a red object/.test(f.answer)), JSON.stringify(by('red')[0]));
    assert.ok(by('verdict').every((f) => f.verdict === true && (f.structured as { verdict: string }).verdict === 'yes'));
    assert.ok(by('nothing').every((f) => f.status === 'ok' && f.verdict === false));
    // The reply leaves out question 3: it is asked alone, on its own request.
    server.setBehavior({ fusedOmit: 3 });
    const before = server.requests.length;
    await waitFor('a question asked alone', () => server.requests.slice(before).some((r) => r.question.includes('Is a person in view?') && !r.question.includes('numbered')), 10_000);
  } finally {
    await prod.stop();
    const text = await (await fetch(`http://127.0.0.1:${infer.port}/metrics`)).text();
    await infer.close();
    await found.close();
    await server.close();
    assert.ok(metricSum(text, 'vigil_infer_fused_requests_total') >= 2);
    assert.ok(metricSum(text, 'vigil_infer_fused_unsplit_total') >= 1);
  }
});
