import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type VigilConfig } from '@vigil/config';
import { checkSuite, DEFAULT_CLIP_START, loadCandidates, loadSuite } from '../../src/cli/test/suite.ts';
import { formatClipTime, parseClipTime } from '../../src/cli/test/clip-time.ts';

const CONFIG = `model:
  endpoints: ["http://127.0.0.1:8000"]
cameras:
  - id: dock-1
    url: "rtsp://127.0.0.1:8554/dock-1"
  - id: belt-1
    url: "rtsp://127.0.0.1:8554/belt-1"
queries:
  - id: forklift-near-person
    cameras: [dock-1]
    question: "Is a forklift near a person?"
    window: 4s
    every: 2s
  - id: belt-stopped
    cameras: [belt-1]
    question: "Has the belt stopped?"
    window: 8s
    every: 4s
  - id: anyone
    cameras: [dock-1, belt-1]
    question: "Is anyone there?"
    window: 4s
    every: 4s
`;

const SUITE = `config: ./site.yaml
model: http://127.0.0.1:8000
cases:
  - clip: ./clips/dock.mp4
    camera: dock-1
    start: 2026-01-05T14:00:00Z
    expect:
      forklift-near-person: [["0:12", "0:20"]]
      anyone: []
  - clip: ./clips/belt.mp4
    camera: belt-1
    expect:
      belt-stopped: [[30, "1:00.5"]]
thresholds: { recall: 1.0, precision: 0.9, time_to_alert: 10s }
`;

/** A folder with the config, two clips and the suite text given. */
function fixture(suite: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-suite-'));
  mkdirSync(join(dir, 'clips'));
  writeFileSync(join(dir, 'site.yaml'), CONFIG);
  writeFileSync(join(dir, 'clips/dock.mp4'), 'not really video');
  writeFileSync(join(dir, 'clips/belt.mp4'), 'not really video');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'suite.yaml'), suite);
  return dir;
}

/** `line: path: message` for each issue (`line:col` for syntax errors), or [] when valid. */
function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map((i) => `${i.line ?? '-'}${i.column ? `:${i.column}` : ''}: ${i.path}: ${i.message}`);
  }
  return [];
}

function suiteIssues(suite: string): string[] {
  const dir = fixture(suite);
  return issuesOf(() => loadSuite(join(dir, 'suite.yaml')));
}

test('a valid suite loads with paths resolved, clip times in ms and thresholds in ms', () => {
  const dir = fixture(SUITE);
  const s = loadSuite(join(dir, 'suite.yaml'));
  assert.equal(s.config, join(dir, 'site.yaml'));
  assert.equal(s.model, 'http://127.0.0.1:8000');
  assert.equal(s.cases.length, 2);
  assert.deepEqual(s.cases[0], {
    index: 0,
    clip: join(dir, 'clips/dock.mp4'),
    camera: 'dock-1',
    start: Date.UTC(2026, 0, 5, 14),
    expect: { 'forklift-near-person': [[12_000, 20_000]], anyone: [] },
  });
  assert.equal(s.cases[1]!.index, 1);
  assert.equal(s.cases[1]!.start, DEFAULT_CLIP_START);
  assert.equal(DEFAULT_CLIP_START, Date.parse('2026-01-05T00:00:00Z'));
  assert.deepEqual(s.cases[1]!.expect, { 'belt-stopped': [[30_000, 60_500]] });
  assert.deepEqual(s.thresholds, { recall: 1, precision: 0.9, timeToAlertMs: 10_000 });
});

test('thresholds and model are optional', () => {
  const dir = fixture('config: site.yaml\ncases:\n  - { clip: clips/dock.mp4, camera: dock-1, expect: {} }\n');
  const s = loadSuite(join(dir, 'suite.yaml'));
  assert.equal(s.model, undefined);
  assert.deepEqual(s.thresholds, { recall: undefined, precision: undefined, timeToAlertMs: undefined });
});

test('clip times: m:ss, h:mm:ss, fractions, seconds and durations', () => {
  const cases: [unknown, number | undefined][] = [
    ['0:12', 12_000],
    ['1:05', 65_000],
    ['75:00', 4_500_000],
    ['1:02:03', 3_723_000],
    ['0:12.5', 12_500],
    ['0:12.125', 12_125],
    ['1:00:00.25', 3_600_250],
    [12, 12_000],
    [12.5, 12_500],
    [0, 0],
    ['12', 12_000],
    ['12s', 12_000],
    ['1.5s', 1_500],
    ['500ms', 500],
    ['2m', 120_000],
    [-1, undefined],
    ['-1', undefined],
    ['-0:01', undefined],
    ['0:60', undefined],
    ['1:60:00', undefined],
    ['0:5', undefined],
    ['12 s', undefined],
    ['abc', undefined],
    [null, undefined],
    [Number.NaN, undefined],
  ];
  for (const [input, ms] of cases) assert.equal(parseClipTime(input), ms, `parseClipTime(${JSON.stringify(input)})`);
  assert.equal(formatClipTime(12_500), '0:12.5');
  assert.equal(formatClipTime(65_000), '1:05.0');
  assert.equal(formatClipTime(3_723_400), '1:02:03.4');
});

test('an unquoted timestamp arrives as a string (YAML core schema) and a zone is required', () => {
  assert.deepEqual(suiteIssues(SUITE.replace('2026-01-05T14:00:00Z', '2026-01-05T15:00:00+01:00')), []);
  const dir = fixture(SUITE.replace('2026-01-05T14:00:00Z', '2026-01-05T15:00:00+01:00'));
  assert.equal(loadSuite(join(dir, 'suite.yaml')).cases[0]!.start, Date.UTC(2026, 0, 5, 14));
  assert.deepEqual(suiteIssues(SUITE.replace('2026-01-05T14:00:00Z', '2026-01-05T14:00:00')), [
    '6: cases[0].start: expected an ISO 8601 date-time with a zone, like "2026-01-05T14:00:00Z" (got "2026-01-05T14:00:00")',
  ]);
  assert.deepEqual(suiteIssues(SUITE.replace('2026-01-05T14:00:00Z', '2026-13-45T14:00:00Z')), [
    '6: cases[0].start: expected an ISO 8601 date-time with a zone, like "2026-01-05T14:00:00Z" (got "2026-13-45T14:00:00Z")',
  ]);
});

const CLIP_TIME_MESSAGE = 'expected a clip time: "m:ss", "h:mm:ss", "m:ss.sss", seconds (12.5) or a duration ("12s", "500ms")';

// (name, suite text, the exact issue expected among those reported)
const BAD: [string, string, string][] = [
  ['unknown top-level key', SUITE.replace('model:', 'colour: red\nmodel:'), '2: : unknown key "colour"'],
  ['unknown case key', SUITE.replace('    camera: dock-1', '    camera: dock-1\n    fps: 4'), '6: cases[0]: unknown key "fps"'],
  ['missing camera', SUITE.replace('    camera: dock-1\n', ''), '4: cases[0].camera: is required'],
  ['camera not a string', SUITE.replace('camera: dock-1', 'camera: [dock-1]'), '5: cases[0].camera: Invalid input: expected string, received array'],
  ['missing expect', SUITE.replace('    expect:\n      belt-stopped: [[30, "1:00.5"]]\n', ''), '10: cases[1].expect: is required'],
  ['missing config', SUITE.replace('config: ./site.yaml\n', ''), '1: config: is required'],
  ['bad model URL', SUITE.replace('model: http://127.0.0.1:8000', 'model: 127.0.0.1:8000'), '2: model: expected an http(s) URL like "http://127.0.0.1:8000" (got "127.0.0.1:8000")'],
  ['no cases', 'config: ./site.yaml\ncases: []\n', '2: cases: list at least one case'],
  ['span from after to', SUITE.replace('[["0:12", "0:20"]]', '[["0:20", "0:12"]]'), '8: cases[0].expect.forklift-near-person[0]: from (0:20.0) is after to (0:12.0)'],
  ['negative clip time', SUITE.replace('[30, "1:00.5"]', '[-5, "1:00.5"]'), `13: cases[1].expect.belt-stopped[0][0]: ${CLIP_TIME_MESSAGE} (got -5)`],
  ['malformed clip time', SUITE.replace('"0:20"', '"0:2O"'), `8: cases[0].expect.forklift-near-person[0][1]: ${CLIP_TIME_MESSAGE} (got "0:2O")`],
  ['span of three', SUITE.replace('[["0:12", "0:20"]]', '[["0:12", "0:20", "0:30"]]'), '8: cases[0].expect.forklift-near-person[0]: a span is a list [from, to]'],
  ['span not a list', SUITE.replace('[["0:12", "0:20"]]', '["0:12", "0:20"]'), '8: cases[0].expect.forklift-near-person[0]: Invalid input: expected array, received string (got "0:12")'],
  ['recall above 1', SUITE.replace('recall: 1.0', 'recall: 1.5'), '14: thresholds.recall: Too big: expected number to be <=1 (got 1.5)'],
  ['bad time_to_alert', SUITE.replace('time_to_alert: 10s', 'time_to_alert: 10 sec'), '14: thresholds.time_to_alert: expected a duration like "8s" (got "10 sec")'],
  ['unknown threshold', SUITE.replace('time_to_alert: 10s', 'f1: 0.5'), '14: thresholds: unknown key "f1"'],
  ['missing clip file', SUITE.replace('./clips/belt.mp4', './clips/nope.mp4'), '10: cases[1].clip: clip {dir}/clips/nope.mp4 does not exist'],
  ['clip is a folder', SUITE.replace('./clips/belt.mp4', './clips'), '10: cases[1].clip: clip {dir}/clips is not a regular file'],
  ['missing config file', SUITE.replace('./site.yaml', './other.yaml'), '1: config: config file {dir}/other.yaml does not exist'],
];

for (const [name, suite, expected] of BAD) {
  test(`rejects a suite with ${name} at its line and path`, () => {
    const dir = fixture(suite);
    const got = issuesOf(() => loadSuite(join(dir, 'suite.yaml')));
    const want = expected.replace('{dir}', dir);
    assert.ok(got.includes(want), `expected ${JSON.stringify(want)} in ${JSON.stringify(got, null, 1)}`);
  });
}

test('every problem is listed, in file order, and the message reads like vigil validate', () => {
  const dir = fixture(SUITE.replace('model: http://127.0.0.1:8000', 'model: nope').replace('camera: belt-1', 'camera: 7').replace('"0:20"', '"later"'));
  const file = join(dir, 'suite.yaml');
  let err: unknown;
  try {
    loadSuite(file);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError);
  assert.deepEqual(
    err.issues.map((i) => i.line),
    [2, 8, 11],
  );
  assert.match(err.message, new RegExp(`^${file}: invalid suite\n`));
  assert.ok(err.message.includes(`  ${file}:11: cases[1].camera: Invalid input: expected string, received number (got 7)`), err.message);
});

test('YAML syntax errors give line and column; duplicate keys are errors', () => {
  assert.deepEqual(suiteIssues('config: ./site.yaml\ncases: [1, 2\n'), ['3:1: : Flow sequence in block collection must be sufficiently indented and end with a ]']);
  const dup = suiteIssues(SUITE.replace('    camera: belt-1\n', '    camera: belt-1\n    camera: dock-1\n'));
  assert.equal(dup.length, 1);
  assert.match(dup[0]!, /^12:5: : Map keys must be unique/);
});

test('an unreadable suite file is a ConfigError', () => {
  const got = issuesOf(() => loadSuite('/nonexistent/suite.yaml'));
  assert.equal(got.length, 1);
  assert.match(got[0]!, /^-: : cannot read file: ENOENT/);
});

function loaded(suite: string) {
  const dir = fixture(suite);
  const s = loadSuite(join(dir, 'suite.yaml'));
  return { dir, suite: s, config: loadConfig(s.config, {}) };
}

test('checkSuite accepts cameras and queries the config has', () => {
  const { suite, config } = loaded(SUITE);
  assert.doesNotThrow(() => checkSuite(suite, config));
});

test('checkSuite names an unknown camera with the known ones, at its line', () => {
  const { suite, config } = loaded(SUITE.replace('camera: belt-1', 'camera: belt-9'));
  assert.deepEqual(issuesOf(() => checkSuite(suite, config)), ['11: cases[1].camera: unknown camera "belt-9" (known: dock-1, belt-1)']);
});

test('checkSuite rejects an unknown query and one that does not watch the camera', () => {
  const { suite, config } = loaded(SUITE.replace('      anyone: []', '      belt-stopped: []\n      forklift: []'));
  assert.deepEqual(issuesOf(() => checkSuite(suite, config)), [
    '9: cases[0].expect.belt-stopped: query "belt-stopped" does not apply to camera dock-1 (it watches belt-1)',
    '10: cases[0].expect.forklift: unknown query "forklift" (queries of camera dock-1: forklift-near-person, anyone)',
  ]);
});

function candidates(text: string, env: Record<string, string> = {}): { dir: string; run: () => VigilConfig } {
  const { dir, config } = loaded(SUITE);
  writeFileSync(join(dir, 'candidates.yaml'), text);
  return { dir, run: () => loadCandidates(join(dir, 'candidates.yaml'), config, join(dir, 'site.yaml'), env) };
}

const CANDIDATE = `queries:
  - id: belt-stopped
    cameras: [belt-1]
    question: "\${BELT_Q:-Is the belt still?}"
    window: 6s
    every: 3s
`;

test('candidates replace their queries in place, through the real config loader', () => {
  const c = candidates(CANDIDATE).run();
  assert.deepEqual(
    c.queries.map((q) => q.id),
    ['forklift-near-person', 'belt-stopped', 'anyone'],
  );
  assert.equal(c.queries[1]!.question, 'Is the belt still?');
  assert.equal(c.queries[1]!.windowMs, 6000);
  assert.equal(c.queries[1]!.cooldownMs, 60_000, 'defaults applied');
  assert.equal(c.queries[0]!.question, 'Is a forklift near a person?');
  assert.equal(c.queries[2]!.windowMs, 4000);
});

test('candidates substitute ${ENV} as configs do', () => {
  const c = candidates(CANDIDATE, { BELT_Q: 'Is the conveyor moving?' }).run();
  assert.equal(c.queries[1]!.question, 'Is the conveyor moving?');
  const unset = issuesOf(candidates(CANDIDATE.replace('${BELT_Q:-Is the belt still?}', '${BELT_Q}')).run);
  assert.ok(unset.includes('4: queries[0].question: environment variable BELT_Q is not set (use ${BELT_Q:-default} for a fallback)'), JSON.stringify(unset));
});

test('an invalid candidate is reported against the candidate file, its lines and its own index', () => {
  const text = `queries:
  - id: anyone
    cameras: [dock-1]
    question: "Is anyone near the dock?"
    window: 4s
    every: 2s
  - id: forklift-near-person
    cameras: [dock-9]
    question: "Forklift?"
    window: 4 sec
    every: 2s
    colour: red
`;
  const { dir, run } = candidates(text);
  let err: unknown;
  try {
    run();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError);
  const file = join(dir, 'candidates.yaml');
  assert.equal(err.file, file);
  const lines = err.message.split('\n');
  assert.equal(lines[0], `${file}: invalid candidates`);
  assert.ok(lines.includes(`  ${file}:10: queries[1].window: expected a duration like "8s" (got "4 sec")`), err.message);
  assert.ok(lines.includes(`  ${file}:12: queries[1]: unknown key "colour"`), err.message);
  assert.ok(err.issues.every((i) => i.file === undefined && i.path.startsWith('queries[1]')), JSON.stringify(err.issues));
});

test('a candidate cross-check is at the candidate line; one it causes elsewhere names the config file', () => {
  const bad = CANDIDATE.replace('cameras: [belt-1]', 'cameras: [belt-1, dock-7]');
  assert.deepEqual(issuesOf(candidates(bad).run), ['3: queries[0].cameras[1]: unknown camera "dock-7" (known: dock-1, belt-1)']);
  const long = CANDIDATE.replace('window: 6s', 'window: 60s\n    fps: 1');
  const { dir, run } = candidates(long);
  let err: unknown;
  try {
    run();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError);
  assert.deepEqual(
    err.issues.map((i) => [i.file, i.path, i.message]),
    [[join(dir, 'site.yaml'), 'infer.buffer', 'must be at least as long as the longest query window']],
  );
  assert.ok(err.message.includes(`${join(dir, 'site.yaml')}:`), err.message);
});

test('candidate ids must exist in the config, once each; the file holds only queries', () => {
  assert.deepEqual(issuesOf(candidates(CANDIDATE.replace('id: belt-stopped', 'id: belt-halted')).run), [
    '2: queries[0].id: unknown query "belt-halted" (the config has: forklift-near-person, belt-stopped, anyone)',
  ]);
  assert.deepEqual(issuesOf(candidates(CANDIDATE + CANDIDATE.replace('queries:\n', '')).run), ['7: queries[1].id: query "belt-stopped" is listed twice']);
  assert.deepEqual(issuesOf(candidates(`cameras: []\n${CANDIDATE}`).run), ['1: : unknown key "cameras"']);
  assert.deepEqual(issuesOf(candidates('queries: []\n').run), ['1: queries: list at least one query']);
  assert.deepEqual(issuesOf(candidates('queries:\n  - cameras: [belt-1]\n').run), ['2: queries[0].id: is required']);
});
