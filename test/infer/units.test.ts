import { test } from 'node:test';
import assert from 'node:assert/strict';
import jpeg from 'jpeg-js';
import { decodeDcImage } from '@vigil/media';
import { EndpointPool } from '@vigil/model';
import { configFromYaml } from '../helpers/env.ts';
import { dueWindow, sampleFrames } from '../../services/infer/src/windows.ts';
import { FrameRing } from '../../services/infer/src/frame-ring.ts';
import { CounterSlots, FairDispatcher } from '../../services/infer/src/dispatcher.ts';
import { TokenBudget } from '../../services/infer/src/budget.ts';
import { inSchedule } from '../../services/infer/src/schedule.ts';
import { judge, questionFor, extractJson } from '../../services/infer/src/verdict.ts';
import { renderQuestion } from '../../services/infer/src/question.ts';
import { fusedQuestion, splitFused } from '../../services/infer/src/fused.ts';
import { WindowLedger } from '../../services/infer/src/ledger.ts';

const CAMS = `cameras:
  - { id: a, url: "rtsp://x/a", site: s1, tags: [dock, north], zones: [{ name: belt, polygon: [[0,0],[0.5,0],[0.5,1],[0,1]] }] }
  - { id: b, url: "rtsp://x/b", site: s2, tags: [dock] }
`;
const q = configFromYaml(`model: { endpoints: [] }\n${CAMS}queries:\n  - { id: q, cameras: [a], question: "?", window: 4s, every: 2s }\n`).queries[0]!;

test('windows sit on a capture-time grid, so replays give the same windows', () => {
  assert.deepEqual(dueWindow(q, 'a', 10_500, -Infinity), { cameraId: 'a', query: q, start: 6000, end: 10_000 });
  assert.equal(dueWindow(q, 'a', 11_900, 10_000), undefined);
  assert.equal(dueWindow(q, 'a', 12_000, 10_000)?.start, 8000);
});

test('a query frame budget thins the window to one frame per 1/fps slot, the same frames for every query at that fps', () => {
  const at = (ts: number[]) => ts.map((t) => ({ capturedAt: t }));
  const four = at([6000, 6250, 6500, 6750, 7000, 7250, 7500, 7750, 8000, 8250, 8500, 8750, 9000, 9250, 9500, 9750]);
  assert.deepEqual(sampleFrames(four, 2, 6000).map((f) => f.capturedAt), [6000, 6500, 7000, 7500, 8000, 8500, 9000, 9500]);
  assert.deepEqual(sampleFrames(four, 1, 6000).map((f) => f.capturedAt), [6000, 7000, 8000, 9000]);
  // Jittered capture times and a gap: the first frame at or after each slot, never two per slot.
  const jitter = at([6010, 6240, 6499, 6760, 7600, 7800, 8001]);
  assert.deepEqual(sampleFrames(jitter, 2, 6000).map((f) => f.capturedAt), [6010, 6760, 7600, 8001]);
  assert.deepEqual(sampleFrames(four, 4, 6000).length, 16);
  assert.deepEqual(sampleFrames([], 2, 0), []);
});

test('the frame ring keeps frames in order, drops duplicates and old frames, and slices by capture time', () => {
  const ring = new FrameRing(1000);
  const f = (t: number) => ({ capturedAt: t, streamTime: t / 1000, jpeg: Buffer.alloc(0) });
  assert.equal(ring.add([f(0), f(250), f(500)], 4).length, 3);
  assert.equal(ring.add([f(500), f(750), f(1000), f(1250)], 4).length, 3); // 500 is a duplicate
  assert.equal(ring.size, 5); // 0 dropped (older than 1250 - 1000)
  assert.deepEqual(ring.between(500, 1000).map((x) => x.capturedAt), [500, 750]);
  assert.deepEqual(ring.between(-5, 300).map((x) => x.capturedAt), [250]);
  // An on_demand decode restarted further back fills in earlier pictures, in order; repeats are still dropped.
  assert.equal(ring.add([f(875), f(1000), f(1125)], 4).length, 2);
  assert.deepEqual(ring.between(700, 1300).map((x) => x.capturedAt), [750, 875, 1000, 1125, 1250]);
  assert.equal(ring.add([f(100)], 4).length, 0, 'older than the ring keeps: dropped');
});

test('dispatcher: bounded slots, cameras take turns, a flooding camera cannot starve a quiet one', async () => {
  const order: string[] = [];
  let active = 0;
  let maxActive = 0;
  const superseded: string[] = [];
  const d = new FairDispatcher<string, number>(
    new CounterSlots(2),
    async (job) => {
      active++;
      maxActive = Math.max(maxActive, active);
      order.push(job);
      await new Promise((r) => setTimeout(r, 5));
      active--;
    },
    (job) => superseded.push(job),
  );
  // "busy" has 5 queries and floods; "quiet" asks once.
  const busy = (i: number) => d.submit({ key: `busy/q${i % 5}`, camera: 'busy', priority: 2 }, `busy#${i}`);
  for (let i = 0; i < 10; i++) busy(i);
  d.submit({ key: 'quiet/q', camera: 'quiet', priority: 2 }, 'quiet#0');
  const before = order.length;
  for (let i = 10; i < 40; i++) busy(i);
  await new Promise((r) => setTimeout(r, 150));
  await d.close();
  assert.equal(maxActive, 2);
  assert.ok(superseded.length > 0, 'waiting windows of the same query were superseded');
  // Cameras take turns: the quiet camera waits for at most one job of the busy camera.
  assert.ok(order.indexOf('quiet#0') - before <= 1, `quiet served late: ${order.join(' ')}`);
});

test('dispatcher: a group reserves its slots in one place at once and frees them together', async () => {
  const slots = new CounterSlots(4);
  const runs: { job: string; extra: number }[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const d = new FairDispatcher<string, number>(slots, async (job, _slot, more) => {
    runs.push({ job, extra: more.length });
    await gate;
  });
  d.submit({ key: 'cam/group', camera: 'cam', priority: 2, size: 3 }, 'group');
  d.submit({ key: 'other/q', camera: 'other', priority: 2 }, 'single');
  d.submit({ key: 'third/group', camera: 'third', priority: 2, size: 3 }, 'late-group');
  await new Promise((r) => setImmediate(r));
  // 3 slots for the group, 1 for the single; the second group waits for a free slot.
  assert.deepEqual(runs, [{ job: 'group', extra: 2 }, { job: 'single', extra: 0 }]);
  release();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(runs[2]?.job, 'late-group');
  assert.equal(runs[2]?.extra, 2, 'freed together: the late group got its three slots');
  await d.close();
});

test('dispatcher: a camera served a group of n questions waits n turns', async () => {
  const order: string[] = [];
  let release!: () => void;
  let gate = new Promise<void>((r) => (release = r));
  const d = new FairDispatcher<string, number>(new CounterSlots(1), async (job) => {
    order.push(job);
    await gate;
  });
  // The busy camera always has a group of 4 waiting; two other cameras always have one question.
  const refill = () => {
    d.submit({ key: 'busy/g', camera: 'busy', priority: 2, weight: 4 }, 'busy');
    for (const c of ['a', 'b']) d.submit({ key: `${c}/q`, camera: c, priority: 2 }, c);
  };
  refill();
  for (let i = 0; i < 18; i++) {
    const done = release;
    gate = new Promise<void>((r) => (release = r));
    refill();
    done();
    await new Promise((r) => setTimeout(r, 2));
  }
  const closing = d.close();
  release();
  await closing;
  // Weighted: after its group of 4 the busy camera waits while the others take 4 turns (taking
  // turns by camera alone it would come back after 2).
  const at = order.flatMap((j, i) => (j === 'busy' ? [i] : []));
  assert.ok(at.length >= 3, order.join(' '));
  for (let i = 1; i < at.length; i++) assert.ok(at[i]! - at[i - 1]! - 1 >= 4, `busy came back after ${at[i]! - at[i - 1]! - 1} others: ${order.join(' ')}`);
});

test('endpoint pool: more slots for a group only on the endpoint it holds, within its limit, none on a half-open one', () => {
  const pool = new EndpointPool([{ url: 'http://a', maxInFlight: 3 }, { url: 'http://b', maxInFlight: 8 }], { failureThreshold: 1, cooldownMs: 1 });
  const first = pool.acquire()!;
  assert.equal(first.url, 'http://a');
  const more = pool.acquireMore(first, 5);
  assert.equal(more.length, 2, 'a holds 3 at most');
  assert.ok(more.every((e) => e === first));
  for (const e of [first, ...more]) pool.release(e);
  pool.failed('http://a');
  const b = pool.endpoints[1]!;
  b.inFlight = 1; // b takes work; a, failed, would only be probed
  assert.deepEqual(pool.acquireMore(pool.endpoints[0]!, 2), []);
});

test('dispatcher: a superseded window keeps its camera\'s turn, and higher severity goes first', async () => {
  const order: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const d = new FairDispatcher<string, number>(new CounterSlots(1), async (job) => {
    order.push(job);
    if (job === 'first') await gate;
  });
  d.submit({ key: 'x/q', camera: 'x', priority: 2 }, 'first'); // takes the only slot
  d.submit({ key: 'a/q', camera: 'a', priority: 2 }, 'a1');
  d.submit({ key: 'b/q', camera: 'b', priority: 2 }, 'b1');
  d.submit({ key: 'a/q', camera: 'a', priority: 2 }, 'a2'); // supersedes a1, keeps a ahead of b
  d.submit({ key: 'c/q', camera: 'c', priority: 4 }, 'critical');
  release();
  await new Promise((r) => setTimeout(r, 20));
  await d.close();
  assert.deepEqual(order, ['first', 'critical', 'a2', 'b1']);
});

test('dispatcher: the camera served longest ago goes next, whatever order its windows arrive in', async () => {
  const order: string[] = [];
  const gates: (() => void)[] = [];
  const d = new FairDispatcher<string, number>(new CounterSlots(1), async (job) => {
    order.push(job);
    await new Promise<void>((r) => gates.push(r));
  });
  const submit = (camera: string, job: string) => d.submit({ key: `${camera}/q`, camera, priority: 2 }, job);
  const finishOne = async () => {
    gates.shift()!();
    await new Promise((r) => setTimeout(r, 1));
  };
  submit('a', 'a1'); // runs at once
  submit('b', 'b1');
  submit('c', 'c1');
  await finishOne(); // a1 done: b1 runs
  // The next windows arrive in partition order, b before a, though a was served first.
  submit('c', 'c2'); // supersedes c1, keeping c's place: never served, so next
  submit('b', 'b2');
  submit('a', 'a2');
  for (let i = 0; i < 4; i++) await finishOne();
  await d.close();
  assert.deepEqual(order, ['a1', 'b1', 'c2', 'a2', 'b2']);
});

test('DC-only decode gives the 1/8-scale luma of a full decode', () => {
  const w = 96;
  const h = 64;
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.fill(Math.round((x / w) * 200 + (y / h) * 50), (y * w + x) * 4, (y * w + x) * 4 + 3), (data[(y * w + x) * 4 + 3] = 255);
  const enc = jpeg.encode({ width: w, height: h, data }, 90).data;
  const full = jpeg.decode(enc, { useTArray: true });
  const dc = decodeDcImage(enc);
  assert.deepEqual([dc.width, dc.height], [12, 8]);
  let err = 0;
  for (let by = 0; by < 8; by++) {
    for (let bx = 0; bx < 12; bx++) {
      let s = 0;
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) s += full.data[((by * 8 + y) * w + bx * 8 + x) * 4]!;
      err = Math.max(err, Math.abs(s / 64 - dc.data[by * 12 + bx]!));
    }
  }
  assert.ok(err < 3, `block means differ by up to ${err}`);
  assert.throws(() => decodeDcImage(Buffer.from('not a jpeg')), /not a JPEG/);
});

test('token budget per camera and per site over the last hour', () => {
  let now = 0;
  const b = new TokenBudget({ cameraTokensPerHour: 1000, siteTokensPerHour: 1500 }, () => now);
  b.record('a', 's1', 900);
  assert.equal(b.over('a', 's1'), undefined);
  b.record('a', 's1', 200);
  assert.equal(b.over('a', 's1'), 'camera');
  b.record('b', 's1', 500);
  assert.equal(b.over('b', 's1'), 'site');
  now += 61 * 60_000; // an hour later the spend has rolled off
  assert.equal(b.over('a', 's1'), undefined);
});

test('schedules: weekdays and hours in a named time zone, ranges across midnight', () => {
  const s = { timezone: 'Europe/Paris', days: ['mon', 'tue', 'wed', 'thu', 'fri'] as ('mon' | 'tue' | 'wed' | 'thu' | 'fri')[], hours: [[8 * 60, 18 * 60] as [number, number]] };
  assert.equal(inSchedule(s, Date.parse('2026-11-25T08:30:00Z')), true); // Wed 09:30 in Paris
  assert.equal(inSchedule(s, Date.parse('2026-11-25T17:30:00Z')), false); // 18:30 in Paris
  assert.equal(inSchedule(s, Date.parse('2026-11-28T10:00:00Z')), false); // Saturday
  const night = { timezone: 'UTC', days: ['fri'] as 'fri'[], hours: [[22 * 60, 6 * 60] as [number, number]] };
  assert.equal(inSchedule(night, Date.parse('2026-11-28T03:00:00Z')), true); // Sat 03:00 belongs to Friday night
  assert.equal(inSchedule(night, Date.parse('2026-11-27T03:00:00Z')), false); // Fri 03:00 belongs to Thursday night
});

test('alert_when: regex, yes/no, and a JSON verdict checked against its schema', () => {
  assert.equal(judge('Yes, a forklift.', { kind: 'regex', pattern: /^\s*yes/i }).verdict, true);
  assert.equal(judge('No.', { kind: 'choice', yes: false }).verdict, true);
  assert.equal(judge('Maybe', { kind: 'choice', yes: true }).error, 'the answer is neither yes nor no');
  const rule = {
    kind: 'json' as const,
    schema: { type: 'object' as const, required: ['verdict', 'confidence'], properties: { verdict: { type: 'string' as const, enum: ['yes', 'no'] }, confidence: { type: 'number' as const, minimum: 0, maximum: 1 } } },
    when: { verdict: 'yes', confidence: { gte: 0.7 } },
  };
  assert.match(questionFor('Is the dock blocked?', rule), /JSON Schema: \{"type":"object"/);
  const yes = judge('Here you go: ```json\n{"verdict": "yes", "confidence": 0.9}\n```', rule);
  assert.deepEqual(yes, { verdict: true, structured: { verdict: 'yes', confidence: 0.9 } });
  assert.equal(judge('{"verdict": "yes", "confidence": 0.5}', rule).verdict, false);
  const bad = judge('{"verdict": "maybe"}', rule);
  assert.equal(bad.verdict, false);
  assert.match(bad.error ?? '', /\$\.confidence is required; \$\.verdict should be one of "yes", "no"/);
  assert.equal(extractJson('no json {here'), undefined);
});

test('question templates fill camera, site and zone', () => {
  assert.equal(renderQuestion('Is {zone} at {camera} ({site}) blocked?', { camera: 'Dock 1', site: 'east', zone: 'belt' }), 'Is belt at Dock 1 (east) blocked?');
});

test('config: camera selectors, triggers, zones, schedules and JSON verdicts are read and checked', () => {
  const c = configFromYaml(`model:
  endpoints: [{ url: "http://m:8000/v1", max_in_flight: 8 }, "http://n:8000"]
  sampling: { temperature: 0.2 }
  budget: { camera_tokens_per_hour: 100000 }
${CAMS}queries:
  - id: belt
    cameras: { tags: [dock], site: s1 }
    question: "Did {zone} stop?"
    window: 8s
    every: 2s
    trigger: { type: stall, zone: belt, still_for: 3s }
    schedule: { timezone: Europe/Paris, days: [mon, fri], hours: ["22:00-06:00"] }
    alert_when: { json: { schema: { type: object, required: [verdict] }, when: { verdict: yes } } }
    model: { profile: cosmos-reason2, max_tokens: 512, top_k: 10 }
`);
  assert.deepEqual(c.model.endpointSettings, [{ url: 'http://m:8000', maxInFlight: 8, apiKey: undefined }, { url: 'http://n:8000' }]);
  assert.deepEqual(c.model.endpoints, ['http://m:8000', 'http://n:8000']);
  const b = c.queries[0]!;
  assert.deepEqual(b.cameras, ['a']);
  assert.deepEqual(b.trigger, { type: 'stall', zone: 'belt', threshold: undefined, stillForMs: 3000, label: undefined, minScore: undefined });
  assert.deepEqual(b.schedule?.hours, [[22 * 60, 6 * 60]]);
  assert.equal(b.alert.kind, 'json');
  assert.equal(b.model.profile, 'cosmos-reason2');
  assert.equal(b.model.sampling.topK, 10);
  const issues = (yaml: string) => {
    try {
      configFromYaml(yaml);
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  };
  const bad = issues(`model: { endpoints: [] }\n${CAMS}queries:\n  - { id: x, cameras: { tags: [none] }, question: "?", window: 4s, every: 2s }\n  - { id: y, cameras: [b], question: "?", window: 4s, every: 2s, trigger: { type: motion, zone: belt } }\n  - { id: z, cameras: [a], question: "?", window: 4s, every: 2s, schedule: { timezone: Mars/Olympus } }\n`);
  assert.match(bad, /queries\[0\]\.cameras: the selector matches no camera/);
  assert.match(bad, /queries\[1\]\.trigger\.zone: zone "belt" is not defined on camera b/);
  assert.match(bad, /queries\[2\]\.schedule\.timezone: unknown time zone "Mars\/Olympus"/);
});

test('ledger: a window is open from planning until settled; the cursor asks whether all up to a time are', () => {
  const l = new WindowLedger();
  l.planned('a/q', 10_000);
  assert.equal(l.settledThrough('a/q', 10_000), false);
  l.planned('a/q', 12_000);
  l.settled('a/q', 10_000);
  assert.equal(l.settledThrough('a/q', 10_000), true);
  assert.equal(l.settledThrough('a/q', 12_000), false);
  assert.equal(l.settledThrough('a/q', 14_000), false, 'not yet planned');
  l.settled('a/q', 12_000);
  l.consideredThrough('a/q', 14_000);
  assert.equal(l.settledThrough('a/q', 14_000), true);
  assert.equal(l.openWindows, 0);
});

test('window progress: decided-through follows the first open window; reported once per advance, after the findings it covers', async () => {
  const { MemoryBus } = await import('@vigil/bus');
  const { MESSAGE_TYPE_HEADER, PROGRESS_TYPE, Topics, parseWindowProgress } = await import('@vigil/contracts');
  const { createLogger } = await import('@vigil/observability');
  const { ProgressReporter } = await import('../../services/infer/src/progress.ts');
  const ledger = new WindowLedger();
  const key = 'cam\u0000q';
  const t = Date.UTC(2026, 0, 1);
  assert.equal(ledger.decidedThrough(key), undefined);
  ledger.planned(key, t + 2000); // asked: open until its finding is published
  ledger.planned(key, t + 4000); // skipped at once
  ledger.settled(key, t + 4000);
  assert.equal(ledger.decidedThrough(key), t + 1999, 'an open window holds progress back');
  const bus = new MemoryBus();
  const got: { through: number; type?: string }[] = [];
  await bus.subscribe({ topic: Topics.findings, group: 'g', fromBeginning: true, handle: async (m) => {
    const p = parseWindowProgress(m.value);
    if (p.ok) got.push({ through: p.value.through, type: m.headers[MESSAGE_TYPE_HEADER] });
  } });
  const reporter = new ProgressReporter(bus, ledger, createLogger('t', { level: 'silent' }));
  await reporter.report();
  await reporter.report(); // nothing moved: nothing sent
  ledger.settled(key, t + 2000);
  assert.equal(ledger.decidedThrough(key), t + 4000);
  await reporter.report();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(got, [{ through: t + 1999, type: PROGRESS_TYPE }, { through: t + 4000, type: PROGRESS_TYPE }]);
  ledger.forget(key);
  assert.equal(ledger.decidedThrough(key), undefined);
  await bus.close();
});

test('answering: a finding the bus refuses is retried until it is taken, then its window settles; a stop ends retrying and leaves it unsettled', async () => {
  const { Registry } = await import('prom-client');
  const { createInferMetrics } = await import('../../services/infer/src/metrics.ts');
  const { Answering } = await import('../../services/infer/src/answering.ts');
  const { FindingPublisher } = await import('../../services/infer/src/publisher.ts');
  const { TokenBudget } = await import('../../services/infer/src/budget.ts');
  const { createLogger } = await import('@vigil/observability');
  const cfg = configFromYaml(`
model: { endpoints: ["http://127.0.0.1:9"] }
cameras: [{ id: cam, url: "rtsp://10.0.0.1/s" }]
queries: [{ id: q, cameras: [cam], question: "Anything?", window: 4s, every: 2s, trigger: { type: motion } }]
`);
  const run = async (refusals: number, stopEarly: boolean) => {
    let attempts = 0;
    const published: string[] = [];
    const bus = { publish: async (_t: string, msgs: { value: Buffer }[]) => {
      if (attempts++ < refusals) throw new Error('bus away');
      published.push(...msgs.map((m) => JSON.parse(m.value.toString()).answer));
    } };
    const ledger = new WindowLedger();
    const key = 'cam\u0000q';
    const t = Date.now() - 1000;
    ledger.planned(key, t);
    const answering = new Answering({
      asker: { ask: async () => ({ v: 1, id: 'f1', cameraId: 'cam', queryId: 'q', status: 'ok', verdict: true, answer: 'Yes.', usage: { promptTokens: 1, completionTokens: 1 } }) } as never,
      publisher: new FindingPublisher(bus as never, 1, 1),
      ledger,
      budget: new TokenBudget({}),
      memory: new Map(),
      metrics: createInferMetrics(new Registry()),
      log: createLogger('t', { level: 'silent' }),
      resubmit: () => undefined,
    });
    const job = { cameraId: 'cam', query: cfg.queries[0]!, question: 'Anything?', start: t - 4000, end: t, frames: [], fps: 4, estimatedTokens: 1 };
    await answering.ask({ job }, { url: 'http://127.0.0.1:9' } as never);
    if (stopEarly) {
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(answering.publishRetrying, true, 'retrying while the bus refuses');
      await answering.drain();
    } else await waitUntil(() => published.length === 1, 10_000);
    return { published, settled: ledger.settledThrough(key, t) };
  };
  const ok = await run(2, false);
  assert.deepEqual(ok.published, ['Yes.']);
  assert.equal(ok.settled, true);
  const stopped = await run(1000, true);
  assert.deepEqual(stopped.published, []);
  assert.equal(stopped.settled, false, 'an unpublished finding keeps its window (and chunk) open for the replay');
});

test('answering: an event window whose request failed is asked again, up to the limit; an always-query window is not', async () => {
  const { Registry } = await import('prom-client');
  const { createInferMetrics } = await import('../../services/infer/src/metrics.ts');
  const { Answering, ERROR_RETRIES } = await import('../../services/infer/src/answering.ts');
  const { FindingPublisher } = await import('../../services/infer/src/publisher.ts');
  const { TokenBudget } = await import('../../services/infer/src/budget.ts');
  const { createLogger } = await import('@vigil/observability');
  const cfg = configFromYaml(`
model: { endpoints: ["http://127.0.0.1:9"] }
cameras: [{ id: cam, url: "rtsp://10.0.0.1/s" }]
queries:
  - { id: moving, cameras: [cam], question: "What moves?", window: 4s, every: 2s, trigger: { type: motion } }
  - { id: always, cameras: [cam], question: "Anything?", window: 4s, every: 2s }
`);
  const outcome = async (queryIndex: number) => {
    const published: string[] = [];
    const resubmitted: number[] = [];
    const answering: InstanceType<typeof Answering> = new Answering({
      asker: { ask: async () => ({ v: 1, id: 'f', cameraId: 'cam', queryId: 'q', status: 'error', verdict: false, answer: '', error: 'timeout', usage: { promptTokens: 0, completionTokens: 0 } }) } as never,
      publisher: new FindingPublisher({ publish: async (_t: string, m: { value: Buffer }[]) => void published.push(...m.map((x) => JSON.parse(x.value.toString()).status)) } as never, 1, 1),
      ledger: new WindowLedger(),
      budget: new TokenBudget({}),
      memory: new Map(),
      metrics: createInferMetrics(new Registry()),
      log: createLogger('t', { level: 'silent' }),
      // The dispatcher would run it again at once; here the test does.
      resubmit: (w) => (resubmitted.push(w.attempt!), void answering.ask(w, { url: 'x' } as never)),
    });
    const t = Date.now() - 1000;
    await answering.ask({ job: { cameraId: 'cam', query: cfg.queries[queryIndex]!, question: '?', start: t - 4000, end: t, frames: [], fps: 4, estimatedTokens: 1 } }, { url: 'x' } as never);
    await waitUntil(() => published.length === 1, 20_000);
    return { published, resubmitted };
  };
  const event = await outcome(0);
  assert.deepEqual(event.resubmitted, Array.from({ length: ERROR_RETRIES }, (_, i) => i + 1));
  assert.deepEqual(event.published, ['error'], 'after the last attempt the error finding is published: visible, never silent');
  const always = await outcome(1);
  assert.deepEqual(always.resubmitted, []);
  assert.deepEqual(always.published, ['error']);
});

async function waitUntil(fn: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('fused questions: numbered with each one\'s own format, and the answer split per question (missing or empty ones left for a request of their own)', () => {
  const q = fusedQuestion(['Is there a red object?\nAnswer yes or no first.', 'Is the belt stopped?\nYour answer must be only a JSON object matching this JSON Schema: {"type":"object"}']);
  assert.match(q, /^Answer each of the 2 numbered questions below about this video\.\n1\. Is there a red object\? Answer yes or no first\.\n2\. Is the belt stopped\? Your answer must be only a JSON object/);
  assert.deepEqual(splitFused('Here you go: {"1": "Yes, at 1.25s.", "2": {"verdict": "no", "confidence": 0.9}}', 2), ['Yes, at 1.25s.', '{"verdict":"no","confidence":0.9}']);
  assert.deepEqual(splitFused('{"1": "No.", "3": "stray"}', 2), ['No.', undefined]);
  assert.deepEqual(splitFused('{"1": "  ", "2": null}', 2), [undefined, undefined]);
  assert.deepEqual(splitFused('Yes to both.', 2), [undefined, undefined]);
  assert.deepEqual(splitFused('[1, 2]', 2), [undefined, undefined]);
  assert.deepEqual(splitFused(`{"1": true}${'{'.repeat(20_000)}`, 1), ['true']);
});

test('asker: prefix-cache metrics per endpoint (redacted), from the replies that came back; the finding carries cached tokens', async () => {
  const { Registry } = await import('prom-client');
  const { createInferMetrics } = await import('../../services/infer/src/metrics.ts');
  const { WindowAsker } = await import('../../services/infer/src/asker.ts');
  const { createLogger } = await import('@vigil/observability');
  const registry = new Registry();
  const metrics = createInferMetrics(registry);
  const cfg = configFromYaml(`
model: { endpoints: ["http://127.0.0.1:9"] }
cameras: [{ id: cam, url: "rtsp://10.0.0.1/s" }]
queries: [{ id: q, cameras: [cam], question: "Anything?", window: 4s, every: 2s }]
`);
  const gpu = 'http://vigil:s3cret-key@gpu-1:8000';
  const replies = [
    { cachedTokens: 0, endpoint: gpu },
    { cachedTokens: 4800, endpoint: gpu },
    { cachedTokens: 4800, endpoint: 'http://gpu-2:8000' },
    { cachedTokens: undefined, endpoint: `${gpu},http://gpu-2:8000`, status: 'error' as const, error: 'asking failed' },
  ];
  let i = 0;
  const model = {
    ask: async () => ({ profile: 'cosmos-reason1', status: 'ok' as const, answer: 'No.', reasoning: '', raw: '', modelId: 'm', promptTokens: 5000, completionTokens: 10, latencyMs: 5, mentionedTimes: [], ...replies[i++]! }),
  };
  const asker = new WindowAsker(model as never, metrics, createLogger('t', { level: 'silent' }), 'cosmos-reason1');
  const t = Date.now();
  const frames = [0, 1].map((k) => ({ capturedAt: t - 1000 + k * 250, streamTime: k / 4, jpeg: Buffer.from([0xff, 0xd8, 0xff, 0xd9]) }));
  const job = { cameraId: 'cam', query: cfg.queries[0]!, question: 'Anything?', start: t - 1000, end: t, frames, fps: 4, estimatedTokens: 1 };
  const findings = [];
  for (const _ of replies) findings.push(await asker.ask(job));
  assert.deepEqual(findings.map((f) => f.usage.cachedTokens), [0, 4800, 4800, undefined]);
  const text = await registry.metrics();
  assert.ok(!text.includes('s3cret'), 'no credentials in labels');
  const value = (name: string, endpoint: string) => Number(new RegExp(`^${name}\\{endpoint="${endpoint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
  const gpu1 = 'http://vigil:***@gpu-1:8000';
  assert.equal(value('vigil_infer_prefix_cache_requests_total', gpu1), 2);
  assert.equal(value('vigil_infer_prefix_cache_hits_total', gpu1), 1);
  assert.equal(value('vigil_infer_prefix_cached_tokens_total', gpu1), 4800);
  assert.equal(value('vigil_infer_prefix_cache_requests_total', 'http://gpu-2:8000'), 1);
  assert.equal(value('vigil_infer_prefix_cache_hits_total', 'http://gpu-2:8000'), 1);
  assert.ok(!text.includes('gpu-1:8000,'), 'a failed request (no reply) is not counted');
});
