import { basename } from 'node:path';
import type { CaseResult, IncidentRecord, Span, Thresholds, WindowRecord } from './types.ts';

/** A labelled span some incident overlapped, and how long after the span's start the query alerted. */
export interface Hit {
  span: Span;
  /** First positive window's end − span start; negative when the model fired before the label. */
  timeToAlertS: number;
  /** Over `thresholds.timeToAlertMs`. */
  late: boolean;
}

/** An incident no (widened) span explains, with its first positive window's answer. */
export interface FalsePositive {
  incident: string;
  from: number;
  to: number;
  answer: string;
}

/** What windows cost, for scored and unscored queries alike. */
export interface Usage {
  windows: number;
  tokens: number;
  /** Windows not asked, by reason. */
  skipped: Record<string, number>;
  incidents: number;
}

/** One query in one case (a JUnit test case when scored). */
export interface CaseQueryScore extends Usage {
  caseIndex: number;
  /** The clip's file name (no folder). */
  clip: string;
  query: string;
  /** Listed under the case's `expect`; otherwise only reported. */
  scored: boolean;
  tp: number;
  fp: number;
  fn: number;
  hits: Hit[];
  missed: Span[];
  falsePositives: FalsePositive[];
  /** No miss, no false positive, no late alert (true when not scored). */
  passed: boolean;
}

/** One query across every case. */
export interface QueryScore extends Usage {
  query: string;
  /** Listed under `expect` in at least one case. */
  scored: boolean;
  tp: number;
  fp: number;
  fn: number;
  /** Null when not scored. */
  precision: number | null;
  recall: number | null;
  timeToAlertP50S: number | null;
  timeToAlertMaxS: number | null;
  /** Meets every threshold set (true when not scored). */
  passed: boolean;
}

export interface Score {
  /** In order of first appearance across cases. */
  queries: QueryScore[];
  /** Per case, then per query of the case's camera. */
  cases: CaseQueryScore[];
  thresholds: Thresholds;
  /** Every scored query passes. */
  passed: boolean;
}

/** Scores each case's incidents against its labelled spans (rules: see the comments below). */
export function score(results: CaseResult[], thresholds: Thresholds): Score {
  const cases = results.flatMap((r) => caseQueries(r).map((q) => scoreCaseQuery(r, q, thresholds)));
  const ids = [...new Set(cases.map((c) => c.query))];
  const queries = ids.map((id) => aggregate(id, cases.filter((c) => c.query === id), thresholds));
  return { queries, cases, thresholds, passed: queries.every((q) => q.passed) };
}

/** Every query of the case's camera, and any listed under `expect` the replay did not report. */
function caseQueries(r: CaseResult): string[] {
  return [...new Set([...r.queries, ...Object.keys(r.case.expect)])];
}

function scoreCaseQuery(r: CaseResult, query: string, thresholds: Thresholds): CaseQueryScore {
  const windows = r.windows.filter((w) => w.query === query);
  const incidents = r.incidents.filter((i) => i.query === query);
  const base = {
    caseIndex: r.case.index,
    clip: basename(r.case.clip),
    query,
    windows: windows.length,
    tokens: windows.reduce((n, w) => n + w.tokens, 0),
    skipped: { ...(r.skipped[query] ?? {}) },
    incidents: incidents.length,
  };
  const spans = r.case.expect[query];
  if (spans === undefined) return { ...base, scored: false, tp: 0, fp: 0, fn: 0, hits: [], missed: [], falsePositives: [], passed: true };
  // A window's worth of slack either side: a window that saw part of the event may rightly fire.
  const w = r.windowMs[query] ?? 0;
  const overlaps = (i: IncidentRecord, [from, to]: Span) => i.firstWindowStart <= to + w && i.firstWindowEnd >= from - w;
  const hits: Hit[] = [];
  const missed: Span[] = [];
  for (const span of spans) {
    const inside = incidents.filter((i) => overlaps(i, span));
    if (inside.length === 0) {
      missed.push(span);
      continue;
    }
    const firstEnd = Math.min(...inside.map((i) => i.firstWindowEnd));
    const timeToAlertS = (firstEnd - span[0]) / 1000;
    hits.push({ span, timeToAlertS, late: thresholds.timeToAlertMs !== undefined && timeToAlertS * 1000 > thresholds.timeToAlertMs });
  }
  const falsePositives = incidents
    .filter((i) => !spans.some((s) => overlaps(i, s)))
    .map((i) => ({ incident: i.id, from: i.firstWindowStart, to: i.firstWindowEnd, answer: answerOf(windows, i) }));
  const passed = missed.length === 0 && falsePositives.length === 0 && hits.every((h) => !h.late);
  return { ...base, scored: true, tp: hits.length, fp: falsePositives.length, fn: missed.length, hits, missed, falsePositives, passed };
}

function answerOf(windows: WindowRecord[], i: IncidentRecord): string {
  return windows.find((w) => w.start === i.firstWindowStart && w.end === i.firstWindowEnd)?.answer ?? '';
}

function aggregate(query: string, cases: CaseQueryScore[], thresholds: Thresholds): QueryScore {
  const skipped: Record<string, number> = {};
  for (const c of cases) for (const [reason, n] of Object.entries(c.skipped)) skipped[reason] = (skipped[reason] ?? 0) + n;
  const usage = {
    windows: sum(cases.map((c) => c.windows)),
    tokens: sum(cases.map((c) => c.tokens)),
    skipped,
    incidents: sum(cases.map((c) => c.incidents)),
  };
  const scored = cases.filter((c) => c.scored);
  if (scored.length === 0) {
    return { query, scored: false, ...usage, tp: 0, fp: 0, fn: 0, precision: null, recall: null, timeToAlertP50S: null, timeToAlertMaxS: null, passed: true };
  }
  const tp = sum(scored.map((c) => c.tp));
  const fp = sum(scored.map((c) => c.fp));
  const fn = sum(scored.map((c) => c.fn));
  const tta = scored.flatMap((c) => c.hits.map((h) => h.timeToAlertS));
  // Nothing claimed, nothing missed: nothing to hold against the query.
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  const timeToAlertMaxS = tta.length === 0 ? null : Math.max(...tta);
  const passed =
    (thresholds.recall === undefined || recall >= thresholds.recall) &&
    (thresholds.precision === undefined || precision >= thresholds.precision) &&
    (thresholds.timeToAlertMs === undefined || timeToAlertMaxS === null || timeToAlertMaxS * 1000 <= thresholds.timeToAlertMs);
  return { query, scored: true, ...usage, tp, fp, fn, precision, recall, timeToAlertP50S: median(tta), timeToAlertMaxS, passed };
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** The middle value (mean of the two middle ones for an even count); null for none. */
export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** One side of a compared window; null: that version did not ask it. */
export interface WindowVerdict {
  verdict: boolean;
  answer: string;
  status: string;
}

/** A window (same case, query and clip-time span) the two config versions judged differently. */
export interface Disagreement {
  caseIndex: number;
  clip: string;
  query: string;
  from: number;
  to: number;
  baseline: WindowVerdict | null;
  candidate: WindowVerdict | null;
}

/**
 * `--compare`: the windows of the candidate queries (`queries`) where the baseline and the
 * candidate replay differ in verdict, or only one of them asked. Cases pair by index.
 */
export function compare(baseline: CaseResult[], candidate: CaseResult[], queries: string[]): Disagreement[] {
  const out: Disagreement[] = [];
  const candByCase = new Map(candidate.map((r) => [r.case.index, r]));
  for (const b of baseline) {
    const c = candByCase.get(b.case.index);
    for (const query of queries) {
      const before = windowsByTime(b.windows, query);
      const after = windowsByTime(c?.windows ?? [], query);
      const keys = [...new Set([...before.keys(), ...after.keys()])];
      const rows: Disagreement[] = [];
      for (const key of keys) {
        const x = before.get(key);
        const y = after.get(key);
        if (x && y && x.verdict === y.verdict) continue;
        const w = (x ?? y)!;
        rows.push({ caseIndex: b.case.index, clip: basename(b.case.clip), query, from: w.start, to: w.end, baseline: verdictOf(x), candidate: verdictOf(y) });
      }
      out.push(...rows.sort((p, q) => p.from - q.from || p.to - q.to));
    }
  }
  return out;
}

function windowsByTime(windows: WindowRecord[], query: string): Map<string, WindowRecord> {
  return new Map(windows.filter((w) => w.query === query).map((w) => [`${w.start}-${w.end}`, w]));
}

function verdictOf(w: WindowRecord | undefined): WindowVerdict | null {
  return w ? { verdict: w.verdict, answer: w.answer, status: w.status } : null;
}
