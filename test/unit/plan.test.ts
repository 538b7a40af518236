// The cost model (@vigil/model cost.ts) and `vigil plan`: the arithmetic against numbers worked
// out by hand, sharing, schedules, the command's output and exit codes, and that the running
// token budget and the plan count tokens with one function.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig, type VigilConfig } from '@vigil/config';
import { BAND_HEIGHT } from '@vigil/media';
import { BAND_PX, MEASURED, REFERENCE_WINDOW, costRates, estimateTokens } from '@vigil/model';
import { frameHeight, planCost, weekMask, type PlanInputs } from '../../src/cli/plan.ts';
import { parsePlanFlags } from '../../src/cli/plan-flags.ts';
import { UsageError } from '../../src/cli/usage-error.ts';
import { inSchedule } from '../../services/infer/src/schedule.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const config = (yaml: string): VigilConfig => parseConfig(yaml, 'test.yaml', {});
const near = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} ≠ ${expected}`);

// Two cameras, three questions; q1 and q2 ask about the same 8 s windows of camera a.
const SITE = `
model: { profile: cosmos-reason1 }
cameras:
  - { id: a, url: "rtsp://10.0.0.1/a" }
  - { id: b, url: "rtsp://10.0.0.1/b", fps: 2 }
queries:
  - { id: q1, cameras: [a], question: "Is the dock door open?", window: 8s, every: 4s }
  - { id: q2, cameras: [a], question: "Is anyone on the walkway?", window: 8s, every: 4s, trigger: motion }
  - { id: q3, cameras: [a, b], question: "Is a forklift moving?", window: 4s, every: 2s, trigger: motion }
`;
// Round rates: 0.5 s per reference window, 1 ms per output token; half the event windows fire.
const INPUTS: PlanInputs = { rates: costRates('h100', { windowsPerSecond: 2, decodeMsPerToken: 1 }), triggerRate: 0.5, decodeTokens: 300 };

test('estimateTokens: the measured reference window, Reason2, separate images, and the band constant', () => {
  // 640×368 + 28 px band → 644×392 in the processor: 23 × 14 = 322 tokens per frame pair.
  assert.equal(estimateTokens(32, 640, 368, 'cosmos-reason1'), REFERENCE_WINDOW.videoTokens);
  assert.equal(estimateTokens(16, 640, 368, 'cosmos-reason1'), 2576);
  assert.equal(estimateTokens(33, 640, 368, 'cosmos-reason1'), 17 * 322, 'an odd frame count pads to a pair');
  // Reason2: no band, 32 px cells → 20 × 12 = 240 per pair (cost-physics.md: 3,840 for 32 frames).
  assert.equal(estimateTokens(32, 640, 368, 'cosmos-reason2'), 3840);
  // openai-frames: every frame its own image, 23 × 13.
  assert.equal(estimateTokens(32, 640, 368, 'openai-frames'), 32 * 23 * 13);
  assert.throws(() => estimateTokens(32, 640, 368, 'gpt-9'), /unknown model profile/);
  assert.equal(BAND_PX, BAND_HEIGHT, "the estimate's band is the one infer splices");
  assert.equal(frameHeight(640), 368);
  assert.equal(frameHeight(1280), 720);
});

test('cost rates: the measured table, the high end of a range, a derived cached question, and overrides', () => {
  const h100 = costRates('h100');
  assert.equal(h100.windowPrefillS, MEASURED.h100.windowPrefillS[1]);
  near(h100.cachedQuestionS, 0.021 * (0.76 / 0.56), 'H100 cached question scaled from H200');
  near(h100.decodeSPerToken, 0.017 / 8, 'H100 decode per token');
  const h200 = costRates('h200');
  assert.equal(h200.windowPrefillS, 0.56);
  assert.equal(h200.cachedQuestionS, 0.021);
  near(h200.decodeSPerToken, 0.079 / 64, 'H200 decode per token');
  near(INPUTS.rates.windowPrefillS, 0.5, '--windows-per-second 2');
  near(INPUTS.rates.cachedQuestionS, 0.021 * (0.5 / 0.56), 'cached question follows the overridden prefill');
  near(INPUTS.rates.decodeSPerToken, 0.001, '--decode-ms-per-token 1');
});

test('plan: per-camera and total windows, tokens, prefills and GPU time match the hand computation', () => {
  const plan = planCost(config(SITE), INPUTS);
  const [a, b] = plan.cameras;
  const cached = 0.021 * (0.5 / 0.56);
  // Camera a. Group q1+q2 (8 s every 4 s, 32 frames, 5,152 tokens, 0.5 s prefill): 900 windows/h,
  // q1 asks all, q2 half → 1,350 questions, 900 shared prefills. Group q3 (4 s every 2 s, 16 frames,
  // 2,576 tokens, 0.25 s): 1,800 windows, half asked → 900. Decode 300 × 1 ms = 0.3 s an answer.
  assert.deepEqual(a!.groups.map((g) => [g.queries, g.frames, g.videoTokens, g.askedPerWindow, g.prefillsPerWindow]), [
    [['q1', 'q2'], 32, 5152, 1.5, 1],
    [['q3'], 16, 2576, 0.5, 0.5],
  ]);
  near(a!.windowsPerHour, 2250, 'a questions/h');
  near(a!.videoTokensPerHour, 1350 * 5152 + 900 * 2576, 'a video tokens/h');
  near(a!.prefillsPerHour.separate, 2250, 'a prefills unshared');
  near(a!.prefillsPerHour.shared, 1800, 'a prefills shared');
  near(a!.cachedQuestionsPerHour, 450, 'a cached questions');
  near(a!.gpuSecondsPerHour.separate, 1350 * (0.5 + 0.3) + 900 * (0.25 + 0.3), 'a GPU-s unshared');
  near(a!.gpuSecondsPerHour.shared, 900 * 0.5 + 450 * cached + 1350 * 0.3 + 900 * (0.25 + 0.3), 'a GPU-s shared');
  // Camera b at 2 fps: q3's 4 s window is 8 frames, 1,288 tokens, 0.125 s; 900 asked.
  assert.deepEqual(b!.groups.map((g) => [g.fps, g.frames, g.videoTokens]), [[2, 8, 1288]]);
  near(b!.gpuSecondsPerHour.separate, 900 * (0.125 + 0.3), 'b GPU-s');
  near(b!.gpuSecondsPerHour.shared, b!.gpuSecondsPerHour.separate, 'b has nothing to share');
  const t = plan.total;
  near(t.windowsPerHour, 3150, 'total questions/h');
  near(t.videoTokensPerHour, 1350 * 5152 + 900 * 2576 + 900 * 1288, 'total tokens/h');
  near(t.prefillsPerHour.separate - t.prefillsPerHour.shared, 450, 'sharing saves q2’s prefills');
  near(t.gpus.shared, t.gpuSecondsPerHour.shared / 3600, 'GPUs are GPU-seconds per hour / 3600');
  near(t.gpuSecondsPerHour.separate, 1350 * 0.8 + 900 * 0.55 + 900 * 0.425, 'total GPU-s unshared');
});

test('plan: a per-query fps splits a group (at the camera’s it joins the rest); other profiles do not share', () => {
  const plan = planCost(
    config(`
model: { profile: cosmos-reason1 }
cameras: [{ id: a, url: "rtsp://10.0.0.1/a", fps: 4 }]
queries:
  - { id: full, cameras: [a], question: "?", window: 8s, every: 4s }
  - { id: half, cameras: [a], question: "?", window: 8s, every: 4s, fps: 2 }
  - { id: more, cameras: [a], question: "?", window: 8s, every: 4s, fps: 4 }
  - { id: r2, cameras: [a], question: "?", window: 8s, every: 4s, model: { profile: cosmos-reason2 } }
`),
    INPUTS,
  );
  assert.deepEqual(plan.cameras[0]!.groups.map((g) => [g.queries, g.fps, g.frames, g.videoTokens]), [
    [['full', 'more'], 4, 32, 5152],
    [['half'], 2, 16, 2576],
    [['r2'], 4, 32, 3840],
  ]);
});

test('plan: overlapping schedules count once; identical event triggers fire together, different ones independently', () => {
  const plan = planCost(
    config(`
model: {}
cameras: [{ id: a, url: "rtsp://10.0.0.1/a", zones: [{ name: belt, polygon: [[0,0],[1,0],[1,1]] }] }]
queries:
  - { id: day1, cameras: [a], question: "?", window: 8s, every: 8s, schedule: { days: [mon, tue, wed, thu, fri], hours: ["08:00-20:00"] } }
  - { id: day2, cameras: [a], question: "?", window: 8s, every: 8s, trigger: schedule, schedule: { days: [mon, tue, wed, thu, fri], hours: ["08:00-20:00"] } }
  - { id: m1, cameras: [a], question: "?", window: 4s, every: 4s, trigger: motion }
  - { id: m2, cameras: [a], question: "?", window: 4s, every: 4s, trigger: motion }
  - { id: s1, cameras: [a], question: "?", window: 2s, every: 2s, trigger: motion }
  - { id: s2, cameras: [a], question: "?", window: 2s, every: 2s, trigger: { type: stall, zone: belt } }
  - { id: night, cameras: [a], question: "?", window: 1s, every: 1s, schedule: { days: [sun], hours: ["22:00-06:00"] } }
`),
    INPUTS,
  );
  const g = Object.fromEntries(plan.cameras[0]!.groups.map((x) => [x.queries.join('+'), x]));
  const weekday = (5 * 12) / (7 * 24);
  near(g['day1+day2']!.askedPerWindow, 2 * weekday, 'two scheduled questions');
  near(g['day1+day2']!.prefillsPerWindow, weekday, 'one prefill while both schedules run');
  near(g['m1+m2']!.prefillsPerWindow, 0.5, 'the same trigger on the same frames fires once');
  near(g['s1+s2']!.prefillsPerWindow, 1 - 0.5 * 0.5, 'motion and stall fire independently');
  near(g['night']!.askedPerWindow, 8 / (7 * 24), 'a range past midnight runs into Monday');
});

test('weekMask agrees with infer’s inSchedule minute by minute (past midnight, zones without daylight saving)', () => {
  const monday = Date.UTC(2024, 0, 1); // a Monday
  for (const timezone of ['UTC', 'Asia/Tokyo', 'America/Panama']) {
    const s = { timezone, days: ['sun', 'wed'] as ('sun' | 'wed')[], hours: [[22 * 60, 6 * 60], [9 * 60, 9 * 60 + 30]] as [number, number][] };
    const mask = weekMask(s);
    const wrong: number[] = [];
    for (let m = 0; m < 7 * 1440; m++) if (!!mask[m] !== inSchedule(s, monday + m * 60_000)) wrong.push(m);
    assert.deepEqual(wrong.slice(0, 5), [], `${timezone}: minutes that disagree`);
  }
});

test('the token budget and the plan count tokens with one function, @vigil/model estimateTokens', async () => {
  // Structurally: one definition, and infer's planner and ask-now import it from @vigil/model.
  const sources = (dir: string): string[] =>
    readdirSync(join(ROOT, dir)).flatMap((e) => {
      const p = join(dir, e);
      if (e === 'node_modules') return [];
      return statSync(join(ROOT, p)).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
    });
  const defining = ['libs', 'services', 'src'].flatMap(sources).filter((f) => /function estimateTokens\b/.test(readFileSync(join(ROOT, f), 'utf8')));
  assert.deepEqual(defining, ['libs/model/src/cost.ts']);
  for (const f of ['services/infer/src/planner.ts', 'services/infer/src/ask-now.ts', 'src/cli/plan.ts']) {
    assert.match(readFileSync(join(ROOT, f), 'utf8'), /import \{[^}]*\bestimateTokens\b[^}]*\} from '@vigil\/model'/, f);
  }
  // And in effect: the window infer plans for a query carries the estimate the plan counts for it.
  const { Registry } = await import('prom-client');
  const { WindowPlanner } = await import('../../services/infer/src/planner.ts');
  const { WindowLedger } = await import('../../services/infer/src/ledger.ts');
  const { TokenBudget } = await import('../../services/infer/src/budget.ts');
  const { createInferMetrics } = await import('../../services/infer/src/metrics.ts');
  const { createLogger } = await import('@vigil/observability');
  const cfg = config(`
model: { profile: cosmos-reason2 }
cameras: [{ id: a, url: "rtsp://10.0.0.1/a" }]
queries: [{ id: q, cameras: [a], question: "?", window: 8s, every: 8s }]
`);
  const jobs: { estimatedTokens: number; frames: unknown[] }[] = [];
  const planner = new WindowPlanner({
    config: cfg,
    ledger: new WindowLedger(),
    budget: new TokenBudget({}),
    metrics: createInferMetrics(new Registry()),
    log: createLogger('t', { level: 'silent' }),
    submit: (group) => jobs.push(...group),
    profileOf: (q) => q.model.profile ?? cfg.model.profile,
  });
  const t0 = 1_700_000_000_000; // a multiple of 8 s: the window grid starts here
  const frames = Array.from({ length: 34 }, (_, i) => ({ capturedAt: t0 + i * 250, streamTime: i / 4, jpeg: Buffer.alloc(1) }));
  await planner.onChunk({ cameraId: 'a', seq: 0, width: 640, height: frameHeight(640), fps: 4, codec: 'jpeg', frames });
  assert.equal(jobs.length, 1);
  assert.equal(jobs[0]!.frames.length, 32);
  const group = planCost(cfg, INPUTS).cameras[0]!.groups[0]!;
  assert.equal(jobs[0]!.estimatedTokens, group.videoTokens);
  assert.equal(group.videoTokens, 3840);
});

/** Runs `vigil` (bin/vigil.js) as the user would. */
function vigil(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin/vigil.js'), ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('vigil plan prints the table for the shipped examples', async () => {
  for (const [file, cameras] of [['examples/vigil.yaml', ['dock-1', 'street-1']], ['examples/demo.yaml', ['dock-1', 'street-1']]] as const) {
    const r = await vigil(['plan', '--config', file]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, new RegExp(`^vigil plan: ${file} on H100`));
    assert.match(lines[2]!, /^camera\s+questions\/h\s+video tokens\/h\s+prefills\/h\s+GPU-s\/h\s+GPUs$/);
    for (const c of [...cameras, 'total']) assert.ok(lines.some((l) => new RegExp(`^${c}\\s+[\\d,]+\\s+[\\d,]+\\s+[\\d,]+ → [\\d,]+`).test(l)), `${file}: a row for ${c}\n${r.stdout}`);
    assert.match(r.stdout, /^needs {6}\d+ × H100 80GB with sharing/m);
  }
});

test('vigil plan --json: one object with the per-camera loads, the total and the budget verdict; exit 1 over budget', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-plan-'));
  const file = join(dir, 'site.yaml');
  writeFileSync(file, SITE);
  // Measured H100 rates, every event trigger firing: ≈ 1.44 GPUs busy with sharing.
  const over = await vigil(['plan', '--config', file, '--trigger-rate', '1', '--budget-gpus', '1', '--json']);
  assert.equal(over.code, 1, over.stderr);
  const j = JSON.parse(over.stdout) as Record<string, unknown> & { total: { gpus: { shared: number } }; cameras: { camera: string; groups: unknown[] }[] };
  assert.deepEqual(Object.keys(j), ['config', 'gpu', 'gpuLabel', 'assumptions', 'cameras', 'total', 'gpusNeeded', 'budgetGpus', 'withinBudget']);
  assert.deepEqual(j.cameras.map((c) => [c.camera, c.groups.length]), [['a', 2], ['b', 1]]);
  const rates = costRates('h100');
  const decode = 300 * rates.decodeSPerToken;
  const busy = (900 * rates.windowPrefillS + 900 * rates.cachedQuestionS + 1800 * decode + 1800 * (rates.windowPrefillS / 2 + decode) + 1800 * (rates.windowPrefillS / 4 + decode)) / 3600;
  assert.ok(Math.abs(j.total.gpus.shared - busy) < 1e-3, `${j.total.gpus.shared} ≠ ${busy}`);
  assert.deepEqual([j.gpusNeeded, j.budgetGpus, j.withinBudget], [{ separate: 2, shared: 2 }, 1, false]);
  assert.deepEqual(j.assumptions, {
    triggerRate: 1,
    decodeTokens: 300,
    windowPrefillS: 0.76,
    cachedQuestionS: 0.0285,
    decodeSPerToken: 0.002125,
    referenceWindow: { ...REFERENCE_WINDOW },
    sources: rates.sources,
  });
  const within = await vigil(['plan', '--config', file, '--trigger-rate', '1', '--budget-gpus', '2']);
  assert.equal(within.code, 0, within.stderr);
  assert.match(within.stdout, /budget 2: within/);
  const overText = await vigil(['plan', '--config', file, '--gpu', 'h200', '--windows-per-second', '0.2', '--budget-gpus', '1']);
  assert.equal(overText.code, 1);
  assert.match(overText.stdout, /on H200\n[\s\S]*budget 1: OVER/);
});

test('vigil plan: a bad flag is a usage error naming the flag', () => {
  const cases: [string[], RegExp][] = [
    [['--trigger-rate', '5'], /^--trigger-rate: expected a number from 0 to 1 \(got "5"\)$/],
    [['--trigger-rate', 'Infinity'], /^--trigger-rate: expected/],
    [['--trigger-rate', ' 0.5'], /^--trigger-rate: expected/],
    [['--gpu', 'a100'], /^--gpu: expected one of h100, h200 \(got "a100"\)$/],
    [['--budget-gpus', '1.5'], /^--budget-gpus: expected a whole number/],
    [['--budget-gpus', '0'], /^--budget-gpus: expected a whole number/],
    [['--windows-per-second', '0'], /^--windows-per-second: expected a number of windows per second above 0/],
    [['--windows-per-second', '1e3'], /^--windows-per-second: expected/],
    [['--decode-tokens=-3'], /^--decode-tokens: expected a whole number of tokens/],
    [['--decode-tokens', '40000'], /^--decode-tokens: expected a whole number of tokens/],
    [['--decode-ms-per-token', '0x10'], /^--decode-ms-per-token: expected a number/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['extra.yaml'], /Unexpected argument 'extra.yaml'/],
  ];
  for (const [flags, message] of cases) {
    assert.throws(() => parsePlanFlags(['--config', 'site.yaml', ...flags]), (e: Error) => e instanceof UsageError && message.test(e.message), flags.join(' '));
  }
  assert.throws(() => parsePlanFlags([]), /plan needs --config <file>/);
  assert.deepEqual(parsePlanFlags(['--config', 'site.yaml']), { config: 'site.yaml', gpu: 'h100', triggerRate: 0.1, budgetGpus: undefined, windowsPerSecond: undefined, decodeTokens: 300, decodeMsPerToken: undefined, json: false });
  assert.deepEqual(parsePlanFlags(['-c', 's.yaml', '--gpu', 'h200', '--trigger-rate', '0', '--budget-gpus', '3', '--windows-per-second', '.5', '--decode-tokens', '0', '--decode-ms-per-token', '0.25', '--json']), {
    config: 's.yaml', gpu: 'h200', triggerRate: 0, budgetGpus: 3, windowsPerSecond: 0.5, decodeTokens: 0, decodeMsPerToken: 0.25, json: true,
  });
});

test('vigil plan exits 2 with the reason on stderr for a bad flag or config', async () => {
  for (const [args, message] of [
    [['--config', 'examples/vigil.yaml', '--trigger-rate', '5'], /^vigil: --trigger-rate: expected a number from 0 to 1 \(got "5"\)\nUsage:/],
    [['--config', 'examples/vigil.yaml', '--gpu', 'a100'], /^vigil: --gpu: expected one of h100, h200/],
    [['--config', 'no-such.yaml'], /^no-such\.yaml: invalid config/],
  ] as [string[], RegExp][]) {
    const r = await vigil(['plan', ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
  }
});
