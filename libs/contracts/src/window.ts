import { z } from 'zod';
import { FindingStatusSchema } from './finding.ts';

/*
 * The window audit as `GET /api/windows` shows it: every window a standing query decided, in
 * capture time. Built by alerts from its own rows (not validated on the way out); the schemas
 * type the code and the OpenAPI document, and a test parses what the API returns with them.
 */

const iso = z.iso.datetime();

/** A window the model was asked about (or a trigger finding): what it answered and what it cost. */
export const AskedWindowSchema = z.strictObject({
  kind: z.literal('asked'),
  id: z.string().describe('The finding id (deterministic from camera, query and window start)'),
  camera: z.string(),
  query: z.string(),
  query_version: z.string().nullable(),
  start: iso.describe("Capture time of the window's start"),
  end: iso.describe("Capture time of the window's end"),
  status: FindingStatusSchema,
  verdict: z.boolean().describe("Whether the query's alert_when matched the answer"),
  answer: z.string(),
  reasoning: z.string(),
  error: z.string().nullable(),
  latency_ms: z.int().min(0),
  prompt_tokens: z.int().min(0),
  completion_tokens: z.int().min(0),
  frames: z.int().min(0),
  model: z.string(),
});
export type AskedWindow = z.infer<typeof AskedWindowSchema>;

/** Consecutive windows not asked, for one reason: one item however many windows it spans. */
export const SkippedRunSchema = z.strictObject({
  kind: z.literal('skipped'),
  id: z.string(),
  camera: z.string(),
  query: z.string(),
  reason: z.string().describe('schedule, too_few_frames, undecodable, budget_camera, budget_site, no_model, superseded, or the trigger outcome: still, ongoing, no_analytics'),
  start: iso.describe("The first window's start"),
  end: iso.describe("The last window's end"),
  count: z.int().min(1).describe('Windows in the run'),
  every_ms: z.int().min(1).describe('Grid step between their starts'),
});
export type SkippedRun = z.infer<typeof SkippedRunSchema>;

export const WindowItemSchema = z.discriminatedUnion('kind', [AskedWindowSchema, SkippedRunSchema]);
export type WindowItem = z.infer<typeof WindowItemSchema>;

/** Status filter of the audit: a finding's status, or `skipped` for skip runs. */
export const WindowStatusSchema = z.enum([...FindingStatusSchema.options, 'skipped']);
export type WindowStatus = z.infer<typeof WindowStatusSchema>;

/** One page, oldest first by start (then id): a timeline draws it in order. */
export const WindowPageSchema = z.strictObject({
  items: z.array(WindowItemSchema),
  next_cursor: z.string().nullable(),
});
export type WindowPage = z.infer<typeof WindowPageSchema>;
