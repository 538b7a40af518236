import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compare, median, score } from '../../src/cli/test/score.ts';
import { formatTable, jsonReport, toJson, toJunit } from '../../src/cli/test/report.ts';
import type { CaseResult, IncidentRecord, Span, Thresholds, WindowRecord } from '../../src/cli/test/types.ts';

const S = 1000;

interface CaseSpec {
  index?: number;
  clip?: string;
  expect: Record<string, Span[]>;
  /** [query, firstWindowStart, firstWindowEnd] in seconds. */
  incidents?: [string, number, number][];
  windows?: Partial<WindowRecord>[];
  skipped?: Record<string, Record<string, number>>;
  windowMs?: Record<string, number>;
  queries?: string[];
}

/** A replay result; spans in seconds, every query's window 4 s unless given. */
function result(spec: CaseSpec): CaseResult {
  const queries = spec.queries ?? Object.keys(spec.expect);
  const index = spec.index ?? 0;
  const incidents: IncidentRecord[] = (spec.incidents ?? []).map(([query, a, b], i) => ({ query, id: `inc-${index}-${i}`, firstWindowStart: a * S, firstWindowEnd: b * S }));
  const windows: WindowRecord[] = (spec.windows ?? []).map((w) => ({ query: queries[0]!, start: 0, end: 4 * S, status: 'ok', verdict: false, answer: 'No.', tokens: 100, ...w }));
  return {
    case: {
      index,
      clip: `/suite/clips/${spec.clip ?? 'dock.mp4'}`,
      camera: 'dock-1',
      start: 0,
      expect: Object.fromEntries(Object.entries(spec.expect).map(([q, spans]) => [q, spans.map(([a, b]): Span => [a * S, b * S])])),
    },
    incidents,
    windows,
    skipped: spec.skipped ?? {},
    windowMs: spec.windowMs ?? Object.fromEntries(queries.map((q) => [q, 4 * S])),
    queries,
  };
}

const NONE: Thresholds = {};

test('a span with two incidents inside counts once; time to alert from the earliest-ending one', () => {
  const s = score([result({ expect: { fork: [[12, 20]] }, incidents: [['fork', 14, 18], ['fork', 12, 16]] })], NONE);
  const [q] = s.queries;
  assert.equal(q!.tp, 1);
  assert.equal(q!.fp, 0);
  assert.equal(q!.fn, 0);
  assert.equal(q!.timeToAlertMaxS, 4);
  assert.deepEqual(s.cases[0]!.hits.map((h) => h.timeToAlertS), [4]);
});

test('an incident outside every widened span is a false positive; a span without one is a miss', () => {
  const s = score(
    [
      result({
        expect: { fork: [[12, 20], [60, 70]] },
        incidents: [['fork', 16, 20], ['fork', 40, 44]],
        windows: [{ query: 'fork', start: 40 * S, end: 44 * S, verdict: true, answer: 'Yes, a forklift.' }],
      }),
    ],
    NONE,
  );
  const c = s.cases[0]!;
  assert.deepEqual([c.tp, c.fp, c.fn], [1, 1, 1]);
  assert.deepEqual(c.missed, [[60 * S, 70 * S]]);
  assert.deepEqual(c.falsePositives, [{ incident: 'inc-0-1', from: 40 * S, to: 44 * S, answer: 'Yes, a forklift.' }]);
  assert.equal(c.passed, false);
});

test('spans are widened by the query window on both sides; touching counts', () => {
  const spans: Span[] = [[12, 20]];
  const outcome = (inc: [number, number], windowS: number) => {
    const c = score([result({ expect: { q: spans }, incidents: [['q', ...inc]], windowMs: { q: windowS * S } })], NONE).cases[0]!;
    return `${c.tp}/${c.fp}`;
  };
  assert.equal(outcome([24, 28], 4), '1/0', 'starts exactly at to + w');
  assert.equal(outcome([24.001, 28], 4), '0/1', 'just after to + w');
  assert.equal(outcome([4, 8], 4), '1/0', 'ends exactly at from − w');
  assert.equal(outcome([4, 7.999], 4), '0/1', 'ends just before from − w');
  assert.equal(outcome([24, 28], 2), '0/1', 'a shorter window widens less');
  assert.equal(outcome([21, 25], 0), '0/1', 'no window, no widening');
});

test('time to alert may be negative (fired before the label) and is kept as is', () => {
  const s = score([result({ expect: { q: [[12, 20]] }, incidents: [['q', 6, 10]] })], NONE);
  assert.equal(s.queries[0]!.timeToAlertMaxS, -2);
  assert.equal(s.queries[0]!.timeToAlertP50S, -2);
});

test('p50 and max of time to alert over every true positive across cases', () => {
  const s = score(
    [
      result({ index: 0, expect: { q: [[10, 20], [100, 110]] }, incidents: [['q', 10, 14], ['q', 100, 110]] }),
      result({ index: 1, expect: { q: [[0, 5], [50, 60]] }, incidents: [['q', 0, 2], ['q', 50, 56]] }),
    ],
    NONE,
  );
  // 4, 10, 2, 6 → sorted 2, 4, 6, 10
  assert.equal(s.queries[0]!.timeToAlertP50S, 5);
  assert.equal(s.queries[0]!.timeToAlertMaxS, 10);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([]), null);
});

test('a query not listed under expect is reported but not scored', () => {
  const s = score(
    [
      result({
        expect: { fork: [[12, 20]] },
        queries: ['fork', 'belt'],
        incidents: [['fork', 12, 16], ['belt', 30, 34], ['belt', 50, 54]],
        windows: [
          { query: 'belt', start: 30 * S, end: 34 * S, verdict: true, tokens: 250 },
          { query: 'belt', start: 34 * S, end: 38 * S, verdict: false, tokens: 150 },
          { query: 'fork', start: 12 * S, end: 16 * S, verdict: true, tokens: 100 },
        ],
        skipped: { belt: { schedule: 3 } },
      }),
    ],
    { precision: 1, recall: 1 },
  );
  const belt = s.queries.find((q) => q.query === 'belt')!;
  assert.equal(belt.scored, false);
  assert.deepEqual([belt.tp, belt.fp, belt.fn], [0, 0, 0]);
  assert.equal(belt.precision, null);
  assert.equal(belt.recall, null);
  assert.equal(belt.windows, 2);
  assert.equal(belt.tokens, 400);
  assert.deepEqual(belt.skipped, { schedule: 3 });
  assert.equal(belt.incidents, 2);
  assert.equal(belt.passed, true);
  assert.equal(s.passed, true, 'unscored incidents do not fail the suite');
  const fork = s.queries.find((q) => q.query === 'fork')!;
  assert.equal(fork.windows, 1);
  assert.equal(fork.tokens, 100);
});

test('windows, tokens and skipped add up across cases', () => {
  const s = score(
    [
      result({ index: 0, expect: { q: [] }, windows: [{ query: 'q', tokens: 10 }, { query: 'q', start: 4 * S, end: 8 * S, tokens: 20 }], skipped: { q: { schedule: 2, budget_camera: 1 } } }),
      result({ index: 1, expect: { q: [] }, windows: [{ query: 'q', tokens: 5 }], skipped: { q: { schedule: 4 } } }),
    ],
    NONE,
  );
  assert.equal(s.queries[0]!.windows, 3);
  assert.equal(s.queries[0]!.tokens, 35);
  assert.deepEqual(s.queries[0]!.skipped, { schedule: 6, budget_camera: 1 });
});

test('precision and recall edge cases', () => {
  const quiet = score([result({ expect: { q: [] } })], { precision: 1, recall: 1 }).queries[0]!;
  assert.deepEqual([quiet.precision, quiet.recall, quiet.timeToAlertMaxS], [1, 1, null]);
  assert.equal(quiet.passed, true);
  const noisy = score([result({ expect: { q: [] }, incidents: [['q', 0, 4]] })], NONE).queries[0]!;
  assert.deepEqual([noisy.fp, noisy.precision, noisy.recall], [1, 0, 1]);
  const deaf = score([result({ expect: { q: [[0, 5]] } })], NONE).queries[0]!;
  assert.deepEqual([deaf.fn, deaf.precision, deaf.recall], [1, 1, 0]);
  const mixed = score([result({ expect: { q: [[0, 5], [30, 35], [60, 65]] }, incidents: [['q', 0, 4], ['q', 30, 34], ['q', 100, 104]] })], NONE).queries[0]!;
  assert.equal(mixed.precision, 2 / 3);
  assert.equal(mixed.recall, 2 / 3);
});

test('thresholds: each applies only when set, at the boundary it passes', () => {
  // 9 of 10 spans found, one false positive: precision 0.9, recall 0.9, worst time to alert 4 s.
  const spans: Span[] = Array.from({ length: 10 }, (_, i): Span => [i * 100, i * 100 + 10]);
  const incidents: [string, number, number][] = spans.slice(0, 9).map(([a]): [string, number, number] => ['q', a, a + 4]);
  incidents.push(['q', 2000, 2004]);
  const r = [result({ expect: { q: spans }, incidents })];
  const passes = (t: Thresholds) => score(r, t).passed;
  assert.equal(passes({}), true);
  assert.equal(passes({ recall: 0.9, precision: 0.9, timeToAlertMs: 4000 }), true);
  assert.equal(passes({ recall: 0.91 }), false);
  assert.equal(passes({ precision: 0.95 }), false);
  assert.equal(passes({ timeToAlertMs: 3999 }), false);
  const late = score(r, { timeToAlertMs: 3000 });
  assert.equal(late.cases[0]!.hits.filter((h) => h.late).length, 9);
  // No true positive at all: the time threshold has nothing to judge.
  assert.equal(score([result({ expect: { q: [] } })], { timeToAlertMs: 1 }).passed, true);
});

test('the suite passes only when every scored query passes', () => {
  const s = score([result({ expect: { a: [[0, 5]], b: [[0, 5]] }, incidents: [['a', 0, 4]] })], { recall: 1 });
  assert.deepEqual(
    s.queries.map((q) => [q.query, q.passed]),
    [
      ['a', true],
      ['b', false],
    ],
  );
  assert.equal(s.passed, false);
});

const REQUIRED_QUERY_KEYS = ['tp', 'fp', 'fn', 'precision', 'recall', 'time_to_alert_p50_s', 'time_to_alert_max_s', 'windows', 'tokens', 'skipped'];

test('JSON has exactly the documented keys and values', () => {
  const s = score(
    [
      result({
        expect: { fork: [[12, 20], [60, 70]] },
        queries: ['fork', 'belt'],
        incidents: [['fork', 12, 18]],
        windows: [{ query: 'fork', start: 12 * S, end: 18 * S, verdict: true, tokens: 321 }],
        skipped: { fork: { no_trigger: 7 } },
      }),
    ],
    { recall: 1 },
  );
  const j = JSON.parse(toJson(s)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(j).sort(), ['cases', 'passed', 'queries']);
  assert.equal(j.passed, false);
  const queries = j.queries as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(queries), ['fork', 'belt']);
  for (const q of Object.values(queries)) for (const k of REQUIRED_QUERY_KEYS) assert.ok(k in q, `missing ${k}`);
  assert.deepEqual(queries.fork, {
    tp: 1,
    fp: 0,
    fn: 1,
    precision: 1,
    recall: 0.5,
    time_to_alert_p50_s: 6,
    time_to_alert_max_s: 6,
    windows: 1,
    tokens: 321,
    skipped: { no_trigger: 7 },
    scored: true,
    incidents: 1,
    passed: false,
  });
  assert.deepEqual(queries.belt, {
    tp: 0,
    fp: 0,
    fn: 0,
    precision: null,
    recall: null,
    time_to_alert_p50_s: null,
    time_to_alert_max_s: null,
    windows: 0,
    tokens: 0,
    skipped: {},
    scored: false,
    incidents: 0,
    passed: true,
  });
  const cases = j.cases as Record<string, unknown>[];
  assert.deepEqual(cases[0]!.missed, [[60, 70]]);
  assert.deepEqual(cases[0]!.times_to_alert_s, [6]);
});

/** Checks nesting, quoting and escaping of the XML the report writes; returns the elements with their attributes. */
function parseXml(text: string): { name: string; attrs: Record<string, string>; text: string }[] {
  const token = /<\?xml[^?]*\?>|<\/([\w-]+)>|<([\w-]+)((?:\s+[\w-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  const stack: { name: string; attrs: Record<string, string>; text: string }[] = [];
  const all: typeof stack = [];
  const unescape = (s: string) => {
    assert.ok(!/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(s), `bare & in ${JSON.stringify(s)}`);
    return s.replace(/&(amp|lt|gt|quot|apos|#(\d+));/g, (_m, e: string, n?: string) => (n ? String.fromCharCode(Number(n)) : { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e]!));
  };
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = token.exec(text))) {
    end = token.lastIndex;
    if (m[1]) assert.equal(stack.pop()?.name, m[1], `unbalanced </${m[1]}>`);
    else if (m[2]) {
      const attrs = Object.fromEntries([...m[3]!.matchAll(/([\w-]+)="([^"]*)"/g)].map(([, k, v]) => [k!, unescape(v!)]));
      const el = { name: m[2], attrs, text: '' };
      all.push(el);
      if (!m[4]) stack.push(el);
    } else if (m[5] !== undefined) {
      const t = unescape(m[5]);
      if (stack.length > 0) stack[stack.length - 1]!.text += t;
      else assert.equal(t.trim(), '', 'text outside the root');
    }
  }
  assert.equal(end, text.length, `cannot read the XML from ${JSON.stringify(text.slice(end, end + 40))}`);
  assert.equal(stack.length, 0, 'unclosed elements');
  return all;
}

test('JUnit: one test case per case × listed query, failures naming misses, false positives and late alerts, escaped', () => {
  const s = score(
    [
      result({
        index: 0,
        clip: 'dock.mp4',
        expect: { fork: [[12, 20], [60, 70]] },
        queries: ['fork', 'belt'],
        incidents: [['fork', 12, 30], ['fork', 100, 104], ['belt', 0, 4]],
        windows: [{ query: 'fork', start: 100 * S, end: 104 * S, verdict: true, answer: 'Yes <&"> \u0001 it is' }],
      }),
      result({ index: 1, clip: 'quiet.mp4', expect: { fork: [] } }),
    ],
    { timeToAlertMs: 10_000 },
  );
  const xml = toJunit(s, 'dock & belt <nightly>');
  assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n'));
  assert.ok(xml.includes('&lt;&amp;&quot;&gt;'), xml);
  assert.ok(!xml.includes('\u0001'), 'characters XML cannot carry are dropped');
  const els = parseXml(xml);
  const suite = els.find((e) => e.name === 'testsuite')!;
  assert.equal(suite.attrs.name, 'dock & belt <nightly>');
  assert.equal(suite.attrs.tests, '2');
  assert.equal(suite.attrs.failures, '1');
  const cases = els.filter((e) => e.name === 'testcase');
  assert.deepEqual(
    cases.map((c) => [c.attrs.classname, c.attrs.name]),
    [
      ['fork', '0: dock.mp4'],
      ['fork', '1: quiet.mp4'],
    ],
  );
  const failures = els.filter((e) => e.name === 'failure');
  assert.equal(failures.length, 1);
  const message = failures[0]!.attrs.message!;
  assert.ok(message.includes('missed 1:00.0–1:10.0'), message);
  assert.ok(message.includes('false positive 1:40.0–1:44.0'), message);
  assert.ok(message.includes('late on 0:12.0–0:20.0: 18.0s > 10s'), message);
  assert.ok(failures[0]!.text.includes('Yes <&">  it is'), failures[0]!.text);
});

test('JUnit with every case passing has no failure element', () => {
  const xml = toJunit(score([result({ expect: { q: [[0, 5]] }, incidents: [['q', 0, 4]] })], {}), 's');
  const els = parseXml(xml);
  assert.equal(els.filter((e) => e.name === 'failure').length, 0);
  assert.equal(els.find((e) => e.name === 'testsuite')!.attrs.failures, '0');
});

test('compare: windows judged differently, or asked by one version only', () => {
  const w = (query: string, start: number, verdict: boolean, answer: string): Partial<WindowRecord> => ({ query, start: start * S, end: (start + 4) * S, verdict, answer });
  const base = [
    result({ expect: { q: [] }, queries: ['q', 'other'], windows: [w('q', 0, false, 'No.'), w('q', 4, true, 'Yes.'), w('q', 8, false, 'No.'), w('other', 0, true, 'Yes.')] }),
    result({ index: 1, clip: 'b.mp4', expect: { q: [] }, windows: [w('q', 0, false, 'No.')] }),
  ];
  const cand = [
    result({ expect: { q: [] }, queries: ['q', 'other'], windows: [w('q', 0, false, 'No, none.'), w('q', 4, false, 'No.'), w('q', 12, true, 'Yes!'), w('other', 0, false, 'No.')] }),
    result({ index: 1, clip: 'b.mp4', expect: { q: [] }, windows: [w('q', 0, false, 'No.')] }),
  ];
  const d = compare(base, cand, ['q']);
  assert.deepEqual(
    d.map((x) => [x.caseIndex, x.clip, x.query, x.from, x.to, x.baseline?.verdict ?? 'not asked', x.candidate?.verdict ?? 'not asked']),
    [
      [0, 'dock.mp4', 'q', 4 * S, 8 * S, true, false],
      [0, 'dock.mp4', 'q', 8 * S, 12 * S, false, 'not asked'],
      [0, 'dock.mp4', 'q', 12 * S, 16 * S, 'not asked', true],
    ],
  );
  assert.equal(d[0]!.baseline!.answer, 'Yes.');
  assert.equal(d[2]!.candidate!.answer, 'Yes!');
  assert.equal(compare(base, cand, ['q', 'other']).length, 4, '"other" only when listed');
});

test('the table shows each query, the problems in clip time, and the comparison', () => {
  const r = [
    result({
      expect: { fork: [[12, 20], [60, 70.5]] },
      queries: ['fork', 'belt'],
      incidents: [['fork', 12, 16], ['fork', 100, 104]],
      windows: [{ query: 'fork', start: 100 * S, end: 104 * S, verdict: true, answer: 'Yes' }],
      skipped: { fork: { schedule: 2, no_trigger: 1 } },
    }),
  ];
  const s = score(r, { recall: 1 });
  const text = formatTable(s, {
    compare: {
      queries: ['fork'],
      candidate: score([result({ expect: { fork: [[12, 20], [60, 70.5]] }, incidents: [['fork', 12, 16], ['fork', 60, 64]] })], { recall: 1 }),
      disagreements: [{ caseIndex: 0, clip: 'dock.mp4', query: 'fork', from: 60 * S, to: 64 * S, baseline: null, candidate: { verdict: true, answer: 'Yes, a forklift\nnear a person', status: 'ok' } }],
    },
  });
  const lines = text.split('\n');
  assert.match(lines[0]!, /^query\s+tp\s+fp\s+fn\s+precision\s+recall\s+tta p50\s+tta max\s+windows\s+tokens\s+skipped\s+result$/);
  assert.match(text, /^fork\s+1\s+1\s+1\s+0\.50\s+0\.50\s+4\.0s\s+4\.0s\s+1\s+100\s+schedule 2, no_trigger 1\s+FAIL$/m);
  assert.match(text, /^belt\s+(-\s+){7}0\s+0\s+-\s+not scored$/m);
  assert.ok(text.includes('case 0 dock.mp4, fork: missed 1:00.0–1:10.5; false positive 1:40.0–1:44.0 "Yes"'), text);
  assert.match(text, /^fork\s+candidate\s+2\s+0\s+0\s+1\.00\s+1\.00/m);
  assert.ok(text.includes('case 0 dock.mp4, fork 1:00.0–1:04.0: baseline not asked, candidate yes "Yes, a forklift near a person"'), text);
  assert.equal(lines.at(-2), 'FAIL');
});

test('JSON with a comparison keeps the documented keys and adds compare', () => {
  const s = score([result({ expect: { q: [[0, 5]] }, incidents: [['q', 0, 4]] })], {});
  const cand = score([result({ expect: { q: [[0, 5]] } })], { recall: 1 });
  const j = jsonReport(s, { queries: ['q'], candidate: cand, disagreements: [] });
  assert.equal(j.passed, true);
  assert.equal(j.compare!.passed, false);
  assert.equal(j.compare!.queries.q!.recall, 0);
  assert.equal(j.queries.q!.recall, 1);
});
