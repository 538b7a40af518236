import { z } from 'zod';

/*
 * Operator labels (issue 18): an incident marked a false positive, or a span of a camera and
 * query marked as missed. They become a `vigil test` suite skeleton (GET /api/labels/suite).
 */

const iso = z.iso.datetime({ offset: true });
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const id = z.string().regex(ID, { error: 'expected an id of letters, digits, "-", "_" or "."' });
const note = z.string().max(2000, { error: 'at most 2000 characters' }).optional();
/** The actor; taken from the body only when the API is open (as ack and resolve do). */
const by = z.string().min(1).max(100).optional();

/** The longest span a "missed" label may cover: a label names an event, not a shift. */
export const MAX_LABEL_SPAN_MS = 24 * 3_600_000;

export const LabelKindSchema = z.enum(['false_positive', 'missed']);
export type LabelKind = z.infer<typeof LabelKindSchema>;

/** Body of `POST /api/labels`: a false positive names its incident; a miss names its span. */
export const LabelBodySchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('false_positive'), incident: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, { error: 'expected an incident id' }), note, by }),
  z
    .strictObject({ kind: z.literal('missed'), camera: id, query: id, from: iso, to: iso, note, by })
    .refine((b) => Date.parse(b.from) < Date.parse(b.to), { error: 'must be after from', path: ['to'] })
    .refine((b) => Date.parse(b.to) - Date.parse(b.from) <= MAX_LABEL_SPAN_MS, { error: 'the span may cover at most 24 h', path: ['to'] }),
]);
export type LabelBody = z.infer<typeof LabelBodySchema>;

/** A stored label as the API returns it. */
export const LabelSchema = z.strictObject({
  id: z.string(),
  kind: LabelKindSchema,
  camera: z.string(),
  query: z.string(),
  from: z.iso.datetime().describe('Capture time: the incident’s start, or the missed span’s'),
  to: z.iso.datetime(),
  incident: z.string().nullable().describe('The incident a false positive is about'),
  by: z.string().describe("Who labelled it: the token's name"),
  at: z.iso.datetime().describe('When it was labelled'),
  note: z.string(),
});
export type Label = z.infer<typeof LabelSchema>;

export const LabelListSchema = z.strictObject({ items: z.array(LabelSchema) });
