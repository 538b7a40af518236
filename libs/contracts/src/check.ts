import { z } from 'zod';

/** What every decoder returns: the message, or why it was refused. Decoders never throw. */
export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Capture times are wall-clock ms between 2000 and 2100: anything else is not a capture time. */
export const MIN_CAPTURE_MS = Date.UTC(2000, 0, 1);
export const MAX_CAPTURE_MS = Date.UTC(2100, 0, 1);

/** A time in ms since the epoch: finite, between 2000 and 2100 (1e300 would fail every write). */
export const TimeMs = z
  .number()
  .min(MIN_CAPTURE_MS, { error: 'expected ms since the epoch between 2000 and 2100' })
  .max(MAX_CAPTURE_MS, { error: 'expected ms since the epoch between 2000 and 2100' });

/**
 * A camera, query or finding id as messages carry them: ids name evidence folders and
 * Socket.IO rooms downstream, so letters, digits, `-`, `_` and `.` only, never `.` or `..`.
 */
export const MessageId = z
  .string()
  .regex(/^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,128}$/, { error: 'expected an id of 1-128 letters, digits, "-", "_" or "." (not "." or "..")' });

/** Text of at most `max` characters. */
export const text = (max: number) => z.string().max(max);

/** A count: a non-negative integer no larger than `max`. */
export const count = (max: number) => z.int().min(0).max(max);

/** A value's JSON is at most `max` characters (false for what cannot be serialised at all). */
export function jsonAtMost(v: unknown, max: number): boolean {
  try {
    return v === undefined || (JSON.stringify(v)?.length ?? 0) <= max;
  } catch {
    return false;
  }
}

const ARTICLE: Record<string, string> = { int: 'an integer', object: 'an object', array: 'an array', undefined: 'nothing' };

/** Short, field-level messages for zod's issues (schemas that set their own keep theirs). */
const describe: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type':
      return iss.input === undefined ? 'is required' : `expected ${ARTICLE[iss.expected] ?? `a ${iss.expected}`}`;
    case 'too_big':
    case 'too_small': {
      const limit = iss.code === 'too_big' ? iss.maximum : iss.minimum;
      const unit = iss.origin === 'string' ? ' characters' : iss.origin === 'array' ? ' items' : '';
      return `must be ${iss.code === 'too_big' ? 'at most' : 'at least'} ${String(limit)}${unit}`;
    }
    case 'invalid_value':
      if (iss.input === undefined) return 'is required';
      return `expected ${iss.values.map((v) => JSON.stringify(v)).join(' or ')}`;
    case 'invalid_format':
      return iss.format === 'base64' ? 'expected base64' : iss.format === 'datetime' ? 'expected an ISO 8601 time' : `expected the format ${iss.format}`;
    case 'invalid_union':
      return 'matches none of the allowed forms';
    default:
      return undefined;
  }
};

function fieldPath(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : `${s}.${String(p)}`), root);
}

/** The offending value, quoted only when it is short and plain (never a long text or an object). */
function got(input: unknown): string {
  if (typeof input === 'number' || typeof input === 'boolean' || input === null) return ` (got ${String(input)})`;
  if (typeof input === 'string' && input.length <= 40) return ` (got ${JSON.stringify(input)})`;
  return '';
}

/**
 * Validates a decoded message against its schema. The reason names the first bad field
 * from the message's root: `finding.latencyMs: expected a number (got "x")`.
 */
export function checkMessage<S extends z.ZodType>(root: string, schema: S, input: unknown): DecodeResult<z.output<S>> {
  try {
    const r = schema.safeParse(input, { reportInput: true, error: describe });
    if (r.success) return { ok: true, value: r.data };
    const issue = r.error.issues[0]!;
    const numeric = (issue.code === 'too_big' || issue.code === 'too_small') && issue.origin === 'number';
    const quoted = issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'invalid_format' || numeric ? got(issue.input) : '';
    return { ok: false, reason: `${fieldPath(root, issue.path)}: ${issue.message}${quoted}` };
  } catch (e) {
    // A schema never throws on data; this is a last guard so a decoder never does either.
    return { ok: false, reason: `${root}: ${(e as Error).message}` };
  }
}

/** As checkMessage, for a message that may still be JSON text (a bus message's bytes). */
export function parseMessage<S extends z.ZodType>(root: string, schema: S, input: unknown): DecodeResult<z.output<S>> {
  if (typeof input === 'string' || input instanceof Uint8Array) {
    try {
      input = JSON.parse(typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8'));
    } catch {
      return { ok: false, reason: `${root}: not JSON` };
    }
  }
  return checkMessage(root, schema, input);
}

/**
 * A schema as JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1), for documents: `output`
 * for what a service sends, `input` for what it accepts (defaults make fields optional).
 */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
}
