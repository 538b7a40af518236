import { z } from 'zod';
import { MessageId, parseMessage, TimeMs, type DecodeResult } from './check.ts';

/** Header that marks a `vigil.findings` message as something other than a finding. */
export const MESSAGE_TYPE_HEADER = 'vigil-type';
/** `MESSAGE_TYPE_HEADER` value of a window progress message. */
export const PROGRESS_TYPE = 'progress';

/**
 * How far infer has decided the windows of one (camera, query), in capture time: every window
 * ending at or before `through` has been asked (its finding published), skipped or superseded.
 * Published on `vigil.findings` keyed by camera, after the findings it covers, so on each
 * partition it follows them in order. Alerts closes an episode once this passes its
 * `close_after` by a window — on capture time, however late the findings arrive.
 */
/** The most skip runs one progress message carries (infer keeps the rest for the next one). */
export const MAX_SKIP_RUNS = 256;

/**
 * Consecutive grid windows of one (camera, query) not asked for one reason (`schedule`,
 * `too_few_frames`, `undecodable`, `budget_camera`, a trigger's `still`, `superseded`…): the
 * window audit keeps runs, not a row per window. `from` is the first window's start, `to` the
 * last one's end; the windows are `count` grid steps of `everyMs` apart, with no gap, so a run
 * sent again (a replay, or the same run grown) merges into the stored one as a union.
 */
export const SkipRunSchema = z
  .object({
    reason: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, { error: 'expected a reason of 1-64 lower-case letters, digits or "_"' }),
    from: TimeMs,
    to: TimeMs,
    count: z.int().min(1).max(1_000_000),
    everyMs: z.int().min(1).max(86_400_000),
  })
  .refine((r) => r.to > r.from, { path: ['to'], error: 'must be after from' })
  .refine((r) => r.from + (r.count - 1) * r.everyMs < r.to, { path: ['count'], error: 'more windows than fit between from and to' });
export type SkipRun = z.infer<typeof SkipRunSchema>;

export const WindowProgressSchema = z.object({
  v: z.literal(1),
  cameraId: MessageId,
  queryId: MessageId,
  through: TimeMs,
  /** Windows skipped since the last message (absent from older producers). */
  skips: z.array(SkipRunSchema).max(MAX_SKIP_RUNS).optional(),
});
export type WindowProgress = z.infer<typeof WindowProgressSchema>;

/** Parses a progress message (bytes or a value); never throws. */
export function parseWindowProgress(input: Buffer | unknown): DecodeResult<WindowProgress> {
  return parseMessage('progress', WindowProgressSchema, input);
}
