import { z } from 'zod';
import { MessageId, parseMessage, TimeMs, type DecodeResult } from './check.ts';

/**
 * Control-plane subject on which infer asks ingest to decode a camera in full (decode:
 * on_demand): a trigger fired, or a query looks at every window. Fire and forget; infer
 * repeats it while it needs the pictures, and ingest decodes until `until` has passed.
 */
export const VIDEO_OPEN_SUBJECT = 'vigil.video.open';

export const VideoOpenSchema = z
  .object({
    v: z.literal(1),
    cameraId: MessageId,
    /** Capture time the pictures must start at (ingest starts at the keyframe before it). */
    from: TimeMs,
    /** Capture time until which the camera stays decoded in full. */
    until: TimeMs,
  })
  .refine((o) => o.until >= o.from, { path: ['until'], error: 'must not be before from' })
  .refine((o) => o.until - o.from <= 24 * 3600_000, { path: ['until'], error: 'at most a day after from' });
export type VideoOpen = z.infer<typeof VideoOpenSchema>;

/** Validates a video-open request from the control plane. Never throws. */
export function parseVideoOpen(input: unknown): DecodeResult<VideoOpen> {
  return parseMessage('videoOpen', VideoOpenSchema, input);
}
