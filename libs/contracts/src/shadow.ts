import { z } from 'zod';

/*
 * Shadow queries as `GET /api/shadows` shows them: how often a shadow answered like the query it
 * shadows, over the windows both asked (same camera, same window start and end) and both
 * answered (status ok). Built by alerts from its own rows; the schemas type the code and the
 * OpenAPI document, and a test parses what the API returns with them.
 */

const iso = z.iso.datetime();
const count = z.int().min(0);

/** One shadow query against the query it shadows. */
export const ShadowSummarySchema = z.strictObject({
  query: z.string().describe('The shadow query'),
  shadows: z.string().describe('The query it shadows'),
  compared: count.describe('Windows both answered (same camera, window start and end)'),
  agreed: count.describe('Compared windows with the same verdict'),
  agreement: z.number().min(0).max(1).nullable().describe('agreed / compared; null when nothing was compared'),
  shadow_yes: count.describe("Compared windows the shadow's verdict was positive"),
  shadow_no: count,
  shadowed_yes: count.describe("Compared windows the shadowed query's verdict was positive"),
  shadowed_no: count,
  shadow_incidents: count.describe('Would-be incidents of the shadow (recorded, never announced)'),
});
export type ShadowSummary = z.infer<typeof ShadowSummarySchema>;

export const ShadowListSchema = z.strictObject({ items: z.array(ShadowSummarySchema) });
export type ShadowList = z.infer<typeof ShadowListSchema>;

/** One query's answer to a compared window. */
export const ShadowAnswerSchema = z.strictObject({
  id: z.string().describe('The finding id'),
  verdict: z.boolean(),
  answer: z.string(),
});

/** A window where the shadow and the query it shadows disagree. */
export const ShadowDifferenceSchema = z.strictObject({
  camera: z.string(),
  start: iso,
  end: iso,
  shadow: ShadowAnswerSchema,
  shadowed: ShadowAnswerSchema,
});
export type ShadowDifference = z.infer<typeof ShadowDifferenceSchema>;

/** One page, oldest first by window start (then camera). */
export const ShadowDifferencePageSchema = z.strictObject({
  items: z.array(ShadowDifferenceSchema),
  next_cursor: z.string().nullable(),
});
export type ShadowDifferencePage = z.infer<typeof ShadowDifferencePageSchema>;
