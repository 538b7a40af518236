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
export const WindowProgressSchema = z.object({
  v: z.literal(1),
  cameraId: MessageId,
  queryId: MessageId,
  through: TimeMs,
});
export type WindowProgress = z.infer<typeof WindowProgressSchema>;

/** Parses a progress message (bytes or a value); never throws. */
export function parseWindowProgress(input: Buffer | unknown): DecodeResult<WindowProgress> {
  return parseMessage('progress', WindowProgressSchema, input);
}
