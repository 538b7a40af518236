import { formatClipTime } from './clip-time.ts';
import type { CaseQueryScore, Disagreement, QueryScore, Score, WindowVerdict } from './score.ts';
import type { Span, Thresholds } from './types.ts';

/** `--compare`: the candidate replay's own score and where its windows differ from the baseline's. */
export interface CompareReport {
  /** The candidate query ids (the ones compared). */
  queries: string[];
  candidate: Score;
  disagreements: Disagreement[];
}

export interface TableOptions {
  compare?: CompareReport;
}

/** The human report: a row per query, then each case's misses and false positives, then the comparison. */
export function formatTable(score: Score, opts: TableOptions = {}): string {
  const out: string[] = [];
  const header = ['query', 'tp', 'fp', 'fn', 'precision', 'recall', 'tta p50', 'tta max', 'windows', 'tokens', 'skipped', 'result'];
  out.push(...columns([header, ...score.queries.map((q) => [q.query, ...scoreCells(q), String(q.windows), String(q.tokens), skippedText(q.skipped), verdictText(q)])]));
  out.push('', `thresholds: ${thresholdText(score.thresholds)}`);
  const problems = score.cases.filter((c) => c.scored && !c.passed);
  if (problems.length > 0) {
    out.push('');
    for (const c of problems) out.push(`case ${c.caseIndex} ${c.clip}, ${c.query}: ${problemsText(c, score.thresholds, true).join('; ')}`);
  }
  if (opts.compare) out.push('', ...compareText(score, opts.compare));
  out.push('', score.passed ? 'PASS' : 'FAIL');
  return `${out.join('\n')}\n`;
}

function scoreCells(q: QueryScore): string[] {
  if (!q.scored) return ['-', '-', '-', '-', '-', '-', '-'];
  return [String(q.tp), String(q.fp), String(q.fn), fixed(q.precision), fixed(q.recall), seconds(q.timeToAlertP50S), seconds(q.timeToAlertMaxS)];
}

function verdictText(q: QueryScore): string {
  return !q.scored ? 'not scored' : q.passed ? 'PASS' : 'FAIL';
}

function fixed(x: number | null): string {
  return x === null ? '-' : x.toFixed(2);
}

function seconds(s: number | null): string {
  return s === null ? '-' : `${s.toFixed(1)}s`;
}

function skippedText(skipped: Record<string, number>): string {
  const parts = Object.entries(skipped).filter(([, n]) => n > 0);
  return parts.length === 0 ? '-' : parts.map(([reason, n]) => `${reason} ${n}`).join(', ');
}

function thresholdText(t: Thresholds): string {
  const parts = [
    t.recall !== undefined && `recall ≥ ${t.recall}`,
    t.precision !== undefined && `precision ≥ ${t.precision}`,
    t.timeToAlertMs !== undefined && `time to alert ≤ ${t.timeToAlertMs / 1000}s`,
  ].filter((p): p is string => typeof p === 'string');
  return parts.length === 0 ? 'none' : parts.join(', ');
}

function spanText([from, to]: Span): string {
  return `${formatClipTime(from)}–${formatClipTime(to)}`;
}

/** Each miss, false positive (with the start of its answer) and late alert of one case × query, in clip time. */
function problemsText(c: CaseQueryScore, t: Thresholds, answers = false): string[] {
  return [
    ...c.missed.map((s) => `missed ${spanText(s)}`),
    ...c.falsePositives.map((f) => `false positive ${spanText([f.from, f.to])}${answers && f.answer ? ` "${oneLine(f.answer, 60)}"` : ''}`),
    ...c.hits.filter((h) => h.late).map((h) => `late on ${spanText(h.span)}: ${h.timeToAlertS.toFixed(1)}s > ${(t.timeToAlertMs ?? 0) / 1000}s`),
  ];
}

function compareText(baseline: Score, cmp: CompareReport): string[] {
  const out = ['compare: candidate queries beside the baseline'];
  const rows = [['query', 'version', 'tp', 'fp', 'fn', 'precision', 'recall', 'tta p50', 'tta max', 'windows', 'tokens', 'result']];
  for (const id of cmp.queries) {
    for (const [version, s] of [['baseline', baseline], ['candidate', cmp.candidate]] as const) {
      const q = s.queries.find((x) => x.query === id);
      rows.push([id, version, ...(q ? [...scoreCells(q), String(q.windows), String(q.tokens), verdictText(q)] : Array<string>(10).fill('-'))]);
    }
  }
  out.push(...columns(rows), '');
  if (cmp.disagreements.length === 0) {
    out.push('no window judged differently');
    return out;
  }
  out.push(`${cmp.disagreements.length} window(s) judged differently:`);
  for (const d of cmp.disagreements) {
    out.push(`  case ${d.caseIndex} ${d.clip}, ${d.query} ${spanText([d.from, d.to])}: baseline ${sideText(d.baseline)}, candidate ${sideText(d.candidate)}`);
  }
  return out;
}

function sideText(v: WindowVerdict | null): string {
  if (!v) return 'not asked';
  const answer = oneLine(v.answer, 60);
  return `${v.verdict ? 'yes' : 'no'}${v.status !== 'ok' ? ` (${v.status})` : ''}${answer ? ` "${answer}"` : ''}`;
}

function oneLine(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

// Text columns; the others hold numbers and line up on the right.
const TEXT_COLUMNS = new Set(['query', 'version', 'skipped', 'result']);

/** Rows under a header row, two spaces between columns. */
function columns(rows: string[][]): string[] {
  const header = rows[0]!;
  const widths = header.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (TEXT_COLUMNS.has(header[i]!) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** `--json`: the documented keys (see the README); extra keys may be added, these never renamed. */
export interface JsonQuery {
  tp: number;
  fp: number;
  fn: number;
  precision: number | null;
  recall: number | null;
  time_to_alert_p50_s: number | null;
  time_to_alert_max_s: number | null;
  windows: number;
  tokens: number;
  skipped: Record<string, number>;
  scored: boolean;
  incidents: number;
  passed: boolean;
}

export interface JsonReport {
  queries: Record<string, JsonQuery>;
  passed: boolean;
  cases: JsonCase[];
  compare?: {
    queries: Record<string, JsonQuery>;
    passed: boolean;
    disagreements: {
      case: number;
      clip: string;
      query: string;
      from_s: number;
      to_s: number;
      baseline: WindowVerdict | null;
      candidate: WindowVerdict | null;
    }[];
  };
}

export interface JsonCase {
  case: number;
  clip: string;
  query: string;
  scored: boolean;
  tp: number;
  fp: number;
  fn: number;
  missed: [from_s: number, to_s: number][];
  false_positives: { incident: string; from_s: number; to_s: number; answer: string }[];
  times_to_alert_s: number[];
  windows: number;
  tokens: number;
  skipped: Record<string, number>;
  incidents: number;
}

export function jsonReport(score: Score, compare?: CompareReport): JsonReport {
  const report: JsonReport = { queries: jsonQueries(score.queries), passed: score.passed, cases: score.cases.map(jsonCase) };
  if (compare) {
    report.compare = {
      queries: jsonQueries(compare.candidate.queries.filter((q) => compare.queries.includes(q.query))),
      passed: compare.candidate.passed,
      disagreements: compare.disagreements.map((d) => ({ case: d.caseIndex, clip: d.clip, query: d.query, from_s: d.from / 1000, to_s: d.to / 1000, baseline: d.baseline, candidate: d.candidate })),
    };
  }
  return report;
}

/** `jsonReport` as the text `--json` prints. */
export function toJson(score: Score, compare?: CompareReport): string {
  return `${JSON.stringify(jsonReport(score, compare), null, 2)}\n`;
}

function jsonQueries(queries: QueryScore[]): Record<string, JsonQuery> {
  return Object.fromEntries(
    queries.map((q) => [
      q.query,
      {
        tp: q.tp,
        fp: q.fp,
        fn: q.fn,
        precision: q.precision,
        recall: q.recall,
        time_to_alert_p50_s: q.timeToAlertP50S,
        time_to_alert_max_s: q.timeToAlertMaxS,
        windows: q.windows,
        tokens: q.tokens,
        skipped: q.skipped,
        scored: q.scored,
        incidents: q.incidents,
        passed: q.passed,
      },
    ]),
  );
}

function jsonCase(c: CaseQueryScore): JsonCase {
  return {
    case: c.caseIndex,
    clip: c.clip,
    query: c.query,
    scored: c.scored,
    tp: c.tp,
    fp: c.fp,
    fn: c.fn,
    missed: c.missed.map(([a, b]) => [a / 1000, b / 1000]),
    false_positives: c.falsePositives.map((f) => ({ incident: f.incident, from_s: f.from / 1000, to_s: f.to / 1000, answer: f.answer })),
    times_to_alert_s: c.hits.map((h) => h.timeToAlertS),
    windows: c.windows,
    tokens: c.tokens,
    skipped: c.skipped,
    incidents: c.incidents,
  };
}

/** `--junit`: one test case per case × scored query, failing on a miss, a false positive or a late alert. */
export function toJunit(score: Score, suiteName: string): string {
  const cases = score.cases.filter((c) => c.scored);
  const failures = cases.filter((c) => !c.passed).length;
  const counts = `tests="${cases.length}" failures="${failures}" errors="0"`;
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="${xml(suiteName)}" ${counts}>`, `  <testsuite name="${xml(suiteName)}" ${counts}>`];
  for (const c of cases) {
    const open = `    <testcase classname="${xml(c.query)}" name="${xml(`${c.caseIndex}: ${c.clip}`)}"`;
    if (c.passed) {
      out.push(`${open}/>`);
      continue;
    }
    const details = [
      ...c.falsePositives.map((f) => `false positive ${spanText([f.from, f.to])} (incident ${f.incident}): ${f.answer}`),
      ...c.hits.map((h) => `span ${spanText(h.span)}: alerted after ${h.timeToAlertS.toFixed(1)}s`),
    ];
    out.push(`${open}>`, `      <failure message="${xml(problemsText(c, score.thresholds).join('; '))}">${xml(details.join('\n'))}</failure>`, '    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}

// Characters XML 1.0 cannot carry at all (model answers may hold anything).
const NOT_XML = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\n': '&#10;', '\r': '&#13;', '\t': '&#9;' };

/** Escaped for both attribute values and text (newlines kept as character references). */
function xml(s: string): string {
  return s.replace(NOT_XML, '').replace(/[&<>"'\n\r\t]/g, (ch) => ENTITIES[ch]!);
}
