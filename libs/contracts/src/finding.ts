import { createHash } from 'node:crypto';
import { z } from 'zod';
import { count, jsonAtMost, MessageId, parseMessage, text, TimeMs, type DecodeResult } from './check.ts';

/**
 * Caps, in characters, on the model's text a finding carries. A reply can be megabytes (a
 * runaway or hostile server; the client caps bodies at 16 MiB), and a finding is one bus
 * message, read by alerts and the dashboard: a real answer is well under these.
 */
export const FINDING_TEXT_LIMITS = {
  answer: 16 * 1024,
  reasoning: 64 * 1024,
  rawAnswer: 64 * 1024,
  error: 4 * 1024,
} as const;

/**
 * Outcome of one window: the model answered (`ok`), its answer was cut off (`truncated`),
 * asking failed (`error`), or no model was asked and the trigger itself is the event
 * (`trigger`: no model server is configured; the answer says what the trigger saw).
 */
export const FindingStatusSchema = z.enum(['ok', 'truncated', 'error', 'trigger']);
export type FindingStatus = z.infer<typeof FindingStatusSchema>;

/** The most frames a window holds (MAX_FRAMES_PER_WINDOW in @vigil/config): evidence is one window. */
export const MAX_EVIDENCE_FRAMES = 128;
/** Base64 characters of one evidence JPEG: 4 MiB of JPEG, far above any banded frame ingest sends. */
export const MAX_EVIDENCE_JPEG_BASE64 = Math.ceil((4 * 1024 * 1024) / 3) * 4;
/** Room for clipText's note (`… [cut: N more characters]`) above a text limit. */
const CUT_NOTE = 64;
const clipped = (max: number) => text(max + CUT_NOTE);

/**
 * One answered (or failed) window, published on `vigil.findings` keyed by camera id.
 * Times are capture times (ms since epoch), never processing times. Unknown keys are dropped.
 */
export const FindingSchema = z
  .object({
    v: z.literal(1),
    /** Deterministic from (camera, query, window start): replays are idempotent. Names an evidence folder: no dots. */
    id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, { error: 'expected 1-128 letters, digits, "-" or "_"' }),
    cameraId: MessageId,
    queryId: MessageId,
    /** Version of the standing query that asked (queryVersion in @vigil/config); absent from older producers. */
    queryVersion: z.string().regex(/^[0-9a-f]{8,64}$/, { error: 'expected a hex hash' }).optional(),
    question: text(64 * 1024),
    windowStart: TimeMs,
    windowEnd: TimeMs,
    /** Frames the model saw (an ask-now window may hold more than a standing query's). */
    frameCount: count(100_000),
    status: FindingStatusSchema,
    /** Whether the query's `alert_when` matched the answer. */
    verdict: z.boolean(),
    /** The JSON verdict, when the query's `alert_when` reads one (validated against its schema). */
    structured: z.unknown().refine((v) => jsonAtMost(v, 64 * 1024), { error: 'must be JSON of at most 65536 characters' }).optional(),
    /** Why a yes/no or JSON verdict could not be read from an `ok` answer (verdict is then false). */
    verdictError: clipped(FINDING_TEXT_LIMITS.error).optional(),
    /** The model's text, each cut to FINDING_TEXT_LIMITS (a cut one ends `… [cut: N more characters]`). */
    answer: clipped(FINDING_TEXT_LIMITS.answer),
    reasoning: clipped(FINDING_TEXT_LIMITS.reasoning),
    rawAnswer: clipped(FINDING_TEXT_LIMITS.rawAnswer),
    error: clipped(FINDING_TEXT_LIMITS.error).optional(),
    /** For `trigger` findings: which trigger fired and what it measured. */
    trigger: z.object({ type: text(64), zone: text(128).optional(), detail: text(4096) }).optional(),
    model: z.object({ id: text(256), profile: text(64), endpoint: text(2048) }),
    /** `cachedTokens`: of the prompt tokens, those the server's prefix cache served (optional: older findings lack it). */
    usage: z
      .object({ promptTokens: count(10_000_000), completionTokens: count(10_000_000), cachedTokens: count(10_000_000).optional() })
      .refine((u) => u.cachedTokens === undefined || u.cachedTokens <= u.promptTokens, { error: 'must be at most promptTokens', path: ['cachedTokens'] }),
    latencyMs: z.number().min(0).max(86_400_000),
    /** Absolute times (ms since epoch) the answer mentions, read off the timestamp band. */
    mentionedTimes: z.array(TimeMs).max(256),
    /** Capture times of the key frames (first, middle, last). */
    evidence: z.array(z.object({ capturedAt: TimeMs })).max(MAX_EVIDENCE_FRAMES),
    /**
     * Every frame of the window (JPEG, base64, with the timestamp band), carried only when
     * the verdict is positive, so alerts can store key frames and a clip with the incident
     * in the same write that opens it.
     */
    evidenceFrames: z
      .array(z.object({ capturedAt: TimeMs, streamTime: z.number(), jpeg: z.base64().max(MAX_EVIDENCE_JPEG_BASE64) }))
      .max(MAX_EVIDENCE_FRAMES)
      .optional(),
    /** Set when the window's frames would not fit one message: every k-th frame is carried (see fitEvidence). */
    evidenceEvery: count(MAX_EVIDENCE_FRAMES).optional(),
    createdAt: TimeMs,
  })
  .refine((f) => f.windowEnd >= f.windowStart, { path: ['windowEnd'], error: 'must not be before windowStart' });

export type Finding = z.infer<typeof FindingSchema>;

/** Validates a finding: JSON bytes from the bus, or a value already parsed. Never throws. */
export function parseFinding(input: unknown): DecodeResult<Finding> {
  return parseMessage('finding', FindingSchema, input);
}

/** The bus decoder's name from before the schemas; the same as parseFinding. */
export const decodeFinding = parseFinding;

/** `text` cut to `max` characters, saying so at the end (the note is extra to `max`). */
export function clipText(text: string, max: number): string {
  if (text.length <= max) return text;
  // Not between the halves of a surrogate pair.
  const last = text.charCodeAt(max - 1);
  const cut = last >= 0xd800 && last <= 0xdbff ? max - 1 : max;
  return `${text.slice(0, cut)}… [cut: ${text.length - cut} more characters]`;
}

/** The finding id for a window: stable across retries, restarts and replays. */
export function findingId(cameraId: string, queryId: string, windowStart: number): string {
  return createHash('sha256').update(`${cameraId}\u0000${queryId}\u0000${Math.round(windowStart)}`).digest('hex').slice(0, 32);
}

/**
 * Keeps a finding within `maxBytes` once serialised (the findings topic's message limit, less
 * headroom): a long window of large frames carries every k-th evidence frame (the first and
 * the last always) instead of failing to publish. Returns the finding as it goes out.
 */
export function fitEvidence<F extends { evidenceFrames?: { jpeg: string }[] }>(f: F, maxBytes: number): F & { evidenceEvery?: number } {
  const frames = f.evidenceFrames;
  if (!frames || frames.length < 3) return f;
  const size = (x: unknown) => Buffer.byteLength(JSON.stringify(x));
  const base = size({ ...f, evidenceFrames: [] });
  const all = frames.reduce((n, fr) => n + fr.jpeg.length + 64, 0);
  if (base + all <= maxBytes) return f;
  for (let every = 2; every < frames.length; every++) {
    const kept = frames.filter((_, i) => i % every === 0 || i === frames.length - 1);
    if (base + kept.reduce((n, fr) => n + fr.jpeg.length + 64, 0) <= maxBytes) return { ...f, evidenceFrames: kept, evidenceEvery: every };
  }
  return { ...f, evidenceFrames: [frames[0]!, frames[frames.length - 1]!], evidenceEvery: frames.length - 1 };
}
