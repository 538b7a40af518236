import { createHash } from 'node:crypto';

/**
 * Outcome of one window: the model answered (`ok`), its answer was cut off (`truncated`),
 * asking failed (`error`), or no model was asked and the trigger itself is the event
 * (`trigger`: no model server is configured; the answer says what the trigger saw).
 */
export type FindingStatus = 'ok' | 'truncated' | 'error' | 'trigger';

/**
 * One answered (or failed) window, published on `vigil.findings` keyed by camera id.
 * Times are capture times (ms since epoch), never processing times.
 */
export interface Finding {
  v: 1;
  /** Deterministic from (camera, query, window start): replays are idempotent. */
  id: string;
  cameraId: string;
  queryId: string;
  question: string;
  windowStart: number;
  windowEnd: number;
  frameCount: number;
  status: FindingStatus;
  /** Whether the query's `alert_when` matched the answer. */
  verdict: boolean;
  /** The JSON verdict, when the query's `alert_when` reads one (validated against its schema). */
  structured?: unknown;
  /** Why a yes/no or JSON verdict could not be read from an `ok` answer (verdict is then false). */
  verdictError?: string;
  /** The model's text, each cut to FINDING_TEXT_LIMITS (a cut one ends `… [cut: N more characters]`). */
  answer: string;
  reasoning: string;
  rawAnswer: string;
  error?: string;
  /** For `trigger` findings: which trigger fired and what it measured. */
  trigger?: { type: string; zone?: string; detail: string };
  model: { id: string; profile: string; endpoint: string };
  usage: { promptTokens: number; completionTokens: number };
  latencyMs: number;
  /** Absolute times (ms since epoch) the answer mentions, read off the timestamp band. */
  mentionedTimes: number[];
  /** Capture times of the key frames (first, middle, last). */
  evidence: { capturedAt: number }[];
  /**
   * Every frame of the window (JPEG, base64, with the timestamp band), carried only when
   * the verdict is positive, so alerts can store key frames and a clip with the incident
   * in the same write that opens it.
   */
  evidenceFrames?: { capturedAt: number; streamTime: number; jpeg: string }[];
  createdAt: number;
}

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

/** Parses and checks a finding from the bus. */
export function decodeFinding(buf: Buffer): { ok: true; value: Finding } | { ok: false; reason: string } {
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    return { ok: false, reason: 'finding is not JSON' };
  }
  const f = v as Partial<Finding>;
  if (typeof v !== 'object' || v === null || f.v !== 1) return { ok: false, reason: 'unsupported finding version' };
  for (const k of ['id', 'cameraId', 'queryId', 'question', 'answer', 'reasoning'] as const) {
    if (typeof f[k] !== 'string') return { ok: false, reason: `finding.${k} must be a string` };
  }
  for (const k of ['windowStart', 'windowEnd'] as const) {
    if (typeof f[k] !== 'number' || !Number.isFinite(f[k])) return { ok: false, reason: `finding.${k} must be a number` };
  }
  // Ids name files and rooms downstream (evidence folders): letters, digits, - _ . only.
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(f.id!)) return { ok: false, reason: 'finding.id must be 1-128 letters, digits, "-" or "_"' };
  for (const k of ['cameraId', 'queryId'] as const) {
    if (!/^[A-Za-z0-9_.-]{1,128}$/.test(f[k]!) || f[k] === '.' || f[k] === '..') return { ok: false, reason: `finding.${k} must be an id of letters, digits, "-", "_" or "."` };
  }
  if (typeof f.verdict !== 'boolean') return { ok: false, reason: 'finding.verdict must be a boolean' };
  return { ok: true, value: f as Finding };
}
