import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, DURATION_PATTERN, formatPath, parseDuration, zodIssues, type ConfigIssue, type VigilConfig } from '@vigil/config';
import { CLIP_TIME_FORMS, formatClipTime, parseClipTime } from './clip-time.ts';
import { readYamlFile } from './yaml-file.ts';
import type { Span, Suite, SuiteCase } from './types.ts';

export { loadCandidates } from './candidates.ts';

/** Capture time of a clip's first frame when its case gives none: schedules see a Saturday at midnight UTC. */
/** A Monday at midnight UTC: a clip without a `start` is replayed from here (schedules see a weekday). */
export const DEFAULT_CLIP_START = Date.UTC(2026, 0, 5);

const clipTime = z.unknown().transform((v, ctx) => {
  const ms = parseClipTime(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a clip time: ${CLIP_TIME_FORMS}`, input: v });
    return z.NEVER;
  }
  return ms;
});

const span = z
  .array(clipTime)
  .length(2, { error: 'a span is a list [from, to]' })
  .superRefine(([from, to], ctx) => {
    if (from !== undefined && to !== undefined && from > to) ctx.addIssue({ code: 'custom', message: `from (${formatClipTime(from)}) is after to (${formatClipTime(to)})` });
  })
  .transform((v): Span => [v[0]!, v[1]!]);

// ISO 8601 with a zone: a capture time must not depend on where the test runs.
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})$/;
const start = z.union([z.string(), z.date()]).transform((v, ctx) => {
  const ms = typeof v === 'string' ? (ISO_WITH_ZONE.test(v.trim()) ? Date.parse(v.trim()) : NaN) : v.getTime();
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 date-time with a zone, like "2026-01-05T14:00:00Z"', input: v });
    return z.NEVER;
  }
  return ms;
});

const duration = z.string().regex(new RegExp(DURATION_PATTERN), { error: 'expected a duration like "8s"' });
const share = z.number().min(0).max(1);

const SuiteSchema = z.strictObject({
  config: z.string().min(1),
  model: z.string().regex(/^https?:\/\/[^\s/]+\S*$/, { error: 'expected an http(s) URL like "http://127.0.0.1:8000"' }).optional(),
  cases: z
    .array(
      z.strictObject({
        clip: z.string().min(1),
        camera: z.string().min(1),
        start: start.optional(),
        expect: z.record(z.string(), z.array(span)),
      }),
    )
    .min(1, { error: 'list at least one case' }),
  thresholds: z.strictObject({ recall: share.optional(), precision: share.optional(), time_to_alert: duration.optional() }).optional(),
});

/** Reads and validates a suite file; throws ConfigError listing every problem with its line. */
export function loadSuite(file: string): Suite {
  const { raw, lineOf } = readYamlFile(file, 'suite');
  const dir = dirname(resolve(file));
  const issues: ConfigIssue[] = [];
  const parsed = SuiteSchema.safeParse(raw ?? {}, { reportInput: true });
  if (!parsed.success) issues.push(...zodIssues(parsed.error, lineOf));
  // Files are checked on the raw value so that a missing clip is reported beside schema problems.
  const at = (path: (string | number)[], message: string) => issues.push({ path: formatPath(path), message, line: lineOf(path) });
  const fields = isRecord(raw) ? raw : {};
  if (typeof fields.config === 'string' && fields.config) checkFile(resolve(dir, fields.config), 'config file', (m) => at(['config'], m));
  if (Array.isArray(fields.cases)) {
    fields.cases.forEach((c: unknown, i) => {
      if (isRecord(c) && typeof c.clip === 'string' && c.clip) checkFile(resolve(dir, c.clip), 'clip', (m) => at(['cases', i, 'clip'], m));
    });
  }
  if (issues.length > 0 || !parsed.success) throw new ConfigError(file, byLine(issues), 'suite');
  const s = parsed.data;
  const t = s.thresholds ?? {};
  return {
    file: resolve(file),
    config: resolve(dir, s.config),
    model: s.model,
    cases: s.cases.map((c, index): SuiteCase => ({ index, clip: resolve(dir, c.clip), camera: c.camera, start: c.start ?? DEFAULT_CLIP_START, expect: c.expect })),
    thresholds: {
      recall: t.recall,
      precision: t.precision,
      timeToAlertMs: t.time_to_alert === undefined ? undefined : parseDuration(t.time_to_alert),
    },
  };
}

/**
 * Checks a loaded suite against the config under test: every case's camera exists and every
 * query under `expect` applies to it. Throws ConfigError naming the suite file's lines.
 */
export function checkSuite(suite: Suite, config: VigilConfig): void {
  // Lines come from the suite file itself: a Suite stays a plain value.
  const { lineOf } = readYamlFile(suite.file, 'suite');
  const issues: ConfigIssue[] = [];
  const at = (path: (string | number)[], message: string) => issues.push({ path: formatPath(path), message, line: lineOf(path) });
  const cameraIds = config.cameras.map((c) => c.id);
  for (const c of suite.cases) {
    if (!cameraIds.includes(c.camera)) {
      at(['cases', c.index, 'camera'], `unknown camera "${c.camera}" (known: ${cameraIds.join(', ')})`);
      continue;
    }
    const applying = config.queries.filter((q) => q.cameras.includes(c.camera)).map((q) => q.id);
    for (const id of Object.keys(c.expect)) {
      const q = config.queries.find((q) => q.id === id);
      if (!q) at(['cases', c.index, 'expect', id], `unknown query "${id}" (queries of camera ${c.camera}: ${applying.join(', ') || 'none'})`);
      else if (!q.cameras.includes(c.camera)) {
        at(['cases', c.index, 'expect', id], `query "${id}" does not apply to camera ${c.camera} (it watches ${q.cameras.join(', ')})`);
      }
    }
  }
  if (issues.length > 0) throw new ConfigError(suite.file, issues, 'suite');
}

function checkFile(path: string, what: string, report: (message: string) => void): void {
  try {
    if (!statSync(path).isFile()) report(`${what} ${path} is not a regular file`);
  } catch {
    report(`${what} ${path} does not exist`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** In file order, so the list reads top to bottom (stable: equal lines keep their order). */
export function byLine(issues: ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}
