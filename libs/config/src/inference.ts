import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from './duration.ts';

/**
 * The inference parts of the config (model endpoints, sampling, budgets, the ONNX trigger
 * stage, camera zones and standing-query options), kept apart from schema.ts so the infer
 * owner can grow them without touching the rest. schema.ts composes them.
 */
const duration = z.string().regex(new RegExp(DURATION_PATTERN), { error: 'expected a duration like "8s"' });
const url = z.string().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, { error: 'expected an http(s) URL like "http://127.0.0.1:8000"' });

/** An endpoint as a URL, or an object with its own in-flight limit and key. */
export const EndpointSchema = z.union([
  z.literal(''),
  url,
  z.strictObject({
    url,
    /** Requests this endpoint may have in flight (default: infer.concurrency). */
    max_in_flight: z.number().int().min(1).max(1024).optional(),
    /** Bearer token for this endpoint only (default: model.api_key). */
    api_key: z.string().optional(),
  }),
]);

/** Overrides of the profile's sampling (the model card's values by default). */
export const SamplingSchema = z.strictObject({
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().gt(0).max(1).optional(),
  top_k: z.number().int().min(-1).optional(),
  repetition_penalty: z.number().gt(0).max(2).optional(),
});

/** Token budgets per hour; a window over budget is skipped and counted. */
export const BudgetSchema = z.strictObject({
  camera_tokens_per_hour: z.number().int().min(1).optional(),
  site_tokens_per_hour: z.number().int().min(1).optional(),
});

export const ModelProfileEnum = z.enum(['cosmos-reason1', 'cosmos-reason2', 'openai-frames']);

/** Per-query model overrides. */
export const QueryModelSchema = SamplingSchema.extend({
  profile: ModelProfileEnum.optional(),
  max_tokens: z.number().int().min(16).max(32768).optional(),
});

/** The trigger stage: per-frame analytics with onnxruntime, and an optional user detector. */
export const OnnxSchema = z.strictObject({
  /** cuda uses onnxruntime's CUDA execution provider (needs the GPU build). */
  provider: z.enum(['cpu', 'cuda']).default('cpu'),
  /** Most frames per batched run across cameras; a batch also runs after `batch_wait`. */
  max_batch: z.number().int().min(1).max(4096).default(256),
  batch_wait: duration.default('50ms'),
  /** A YOLO-style ONNX detector (output [1, 4 + classes, boxes]) for `object` triggers. */
  detector: z
    .strictObject({
      model: z.string().min(1),
      /** Square input side the model expects. */
      input: z.number().int().min(8).max(2048).default(640),
      labels: z.array(z.string().min(1)).min(1),
      score: z.number().min(0).max(1).default(0.4),
      iou: z.number().min(0).max(1).default(0.5),
    })
    .optional(),
});

const point = z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]);

/** A named polygon in relative coordinates (0..1, origin top left). */
export const ZoneSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, { error: 'expected a zone name of letters, digits, "-", "_" or "."' }),
  polygon: z.array(point).min(3, { error: 'a polygon needs at least 3 points' }),
});

/** Query cameras: a list of ids, or a selector by tags (all must match) and/or site. */
export const CameraSelectorSchema = z.union([
  z.array(z.string()).min(1, { error: 'name at least one camera' }),
  z.strictObject({ tags: z.array(z.string().min(1)).optional(), site: z.string().min(1).optional() }),
]);

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** When a query is asked: weekdays and time-of-day ranges in a named time zone. */
export const ScheduleSchema = z.strictObject({
  timezone: z.string().default('UTC'),
  days: z.array(z.enum(DAYS)).min(1).default([...DAYS]),
  /** Ranges like "08:00-18:00"; one that ends before it starts spans midnight. */
  hours: z.array(z.string().regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/, { error: 'expected a range like "08:00-18:00"' })).min(1).default(['00:00-24:00']),
});

export const TriggerTypes = ['always', 'motion', 'stall', 'scene-change', 'tamper', 'schedule', 'object'] as const;

export const TriggerSchema = z.union([
  z.enum(TriggerTypes),
  z.strictObject({
    type: z.enum(TriggerTypes),
    /** A zone of each camera (motion, stall, object); absent: the whole picture. */
    zone: z.string().optional(),
    /** Share of the zone that must change between frames (motion, stall, scene-change). */
    threshold: z.number().gt(0).max(1).optional(),
    /** stall: how long the zone must have been still after moving. */
    still_for: duration.optional(),
    /** object: the detector label to look for, and its minimum score. */
    label: z.string().optional(),
    min_score: z.number().min(0).max(1).optional(),
  }),
]);

/** A JSON Schema subset the verdict is checked against (type, properties, required, enum, minimum, maximum). */
const JsonSchemaLite: z.ZodType<unknown> = z.lazy(() =>
  z.strictObject({
    type: z.enum(['object', 'string', 'number', 'integer', 'boolean', 'array']).optional(),
    properties: z.record(z.string(), JsonSchemaLite).optional(),
    required: z.array(z.string()).optional(),
    enum: z.array(z.union([z.string(), z.number(), z.boolean()])).optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    items: JsonSchemaLite.optional(),
    description: z.string().optional(),
  }),
);

const comparison = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.strictObject({ eq: z.union([z.string(), z.number(), z.boolean()]).optional(), in: z.array(z.union([z.string(), z.number(), z.boolean()])).optional(), gte: z.number().optional(), lte: z.number().optional(), gt: z.number().optional(), lt: z.number().optional() }),
]);

/** A regex on the answer; a yes/no choice; or a condition on a JSON verdict with its schema. */
export const AlertWhenSchema = z.union([
  z.string(),
  z.strictObject({ answer: z.enum(['yes', 'no']) }),
  z.strictObject({ json: z.strictObject({ schema: JsonSchemaLite, when: z.record(z.string(), comparison) }) }),
]);

export type RawAlertWhen = z.infer<typeof AlertWhenSchema>;
export type RawTrigger = z.infer<typeof TriggerSchema>;

/** How a query's answer becomes a verdict. */
export type AlertRule =
  | { kind: 'regex'; pattern: RegExp }
  | { kind: 'choice'; yes: boolean }
  | { kind: 'json'; schema: JsonSchemaLite; when: Record<string, Comparison> };

export interface JsonSchemaLite {
  type?: 'object' | 'string' | 'number' | 'integer' | 'boolean' | 'array';
  properties?: Record<string, JsonSchemaLite>;
  required?: string[];
  enum?: (string | number | boolean)[];
  minimum?: number;
  maximum?: number;
  items?: JsonSchemaLite;
  description?: string;
}

export type Comparison = string | number | boolean | { eq?: string | number | boolean; in?: (string | number | boolean)[]; gte?: number; lte?: number; gt?: number; lt?: number };

export interface TriggerConfig {
  type: (typeof TriggerTypes)[number];
  zone?: string;
  threshold?: number;
  stillForMs?: number;
  label?: string;
  minScore?: number;
}

export interface ScheduleConfig {
  timezone: string;
  days: (typeof DAYS)[number][];
  /** [startMinute, endMinute) of the day; end may be below start (spans midnight). */
  hours: [number, number][];
}

export interface SamplingConfig {
  temperature?: number;
  topP?: number;
  topK?: number;
  repetitionPenalty?: number;
}

export interface EndpointConfig {
  url: string;
  maxInFlight?: number;
  apiKey?: string;
}

export function normalizeAlertWhen(a: RawAlertWhen): AlertRule {
  if (typeof a === 'string') return { kind: 'regex', pattern: new RegExp(a, 'i') };
  if ('answer' in a) return { kind: 'choice', yes: a.answer === 'yes' };
  return { kind: 'json', schema: a.json.schema as JsonSchemaLite, when: a.json.when };
}

/**
 * A rule as the config writes `alert_when`, to show it back (GET /api/queries): a regex as
 * its source (what was written, but for `/` escaped as `\/`), `{answer}` or `{json}`.
 */
export function writtenAlertWhen(rule: AlertRule): RawAlertWhen {
  if (rule.kind === 'regex') return rule.pattern.source;
  if (rule.kind === 'choice') return { answer: rule.yes ? 'yes' : 'no' };
  return { json: { schema: rule.schema, when: rule.when } };
}

/** The regex form of a rule, for code that only understands regexes (never matches a JSON rule). */
export function alertRegex(rule: AlertRule): RegExp {
  if (rule.kind === 'regex') return rule.pattern;
  if (rule.kind === 'choice') return rule.yes ? /^\W*yes\b/i : /^\W*no\b/i;
  return /(?!)/;
}

export function normalizeTrigger(t: RawTrigger): TriggerConfig {
  if (typeof t === 'string') return { type: t };
  return {
    type: t.type,
    zone: t.zone,
    threshold: t.threshold,
    stillForMs: t.still_for === undefined ? undefined : parseDuration(t.still_for),
    label: t.label,
    minScore: t.min_score,
  };
}

export function normalizeSchedule(s: z.infer<typeof ScheduleSchema>): ScheduleConfig {
  const minute = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  return { timezone: s.timezone, days: s.days, hours: s.hours.map((r) => [minute(r.slice(0, 5)), minute(r.slice(6, 11))]) };
}

export function normalizeSampling(s: z.infer<typeof SamplingSchema> | undefined): SamplingConfig {
  return { temperature: s?.temperature, topP: s?.top_p, topK: s?.top_k, repetitionPenalty: s?.repetition_penalty };
}

export function normalizeEndpoints(list: z.infer<typeof EndpointSchema>[]): EndpointConfig[] {
  const clean = (u: string) => u.replace(/\/+$/, '').replace(/\/v1$/, '');
  return list
    .filter((e) => e !== '')
    .map((e) => (typeof e === 'string' ? { url: clean(e) } : { url: clean(e.url), maxInFlight: e.max_in_flight, apiKey: e.api_key }));
}

/** True when the name is a time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Camera ids a selector picks, in config order. */
export function selectCameras(sel: z.infer<typeof CameraSelectorSchema>, cameras: { id: string; site?: string; tags: string[] }[]): string[] {
  if (Array.isArray(sel)) return sel;
  return cameras.filter((c) => (sel.site === undefined || c.site === sel.site) && (sel.tags ?? []).every((t) => c.tags.includes(t))).map((c) => c.id);
}
