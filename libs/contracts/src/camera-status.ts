import { z } from 'zod';
import { count, MessageId, parseMessage, text, TimeMs, type DecodeResult } from './check.ts';
import { MAX_FPS, MAX_FRAME_SIDE } from './frame-chunk.ts';

/**
 * A camera's health as ingest sees it: `starting` until the first frame, `online` while
 * it delivers, `degraded` while it delivers under 80% of its target fps, `offline` when
 * ffmpeg has ended (the reason says why) and a restart is pending; `removed` once, when the
 * camera left the config (alerts forgets it: no offline spell, no incident).
 */
export const CameraStateSchema = z.enum(['starting', 'online', 'degraded', 'offline', 'removed']);
export type CameraState = z.infer<typeof CameraStateSchema>;

const side = z.int().min(1).max(MAX_FRAME_SIDE);
/** Whatever the camera claims (some report 90000 "fps", the RTP clock): bounded, not judged. */
const claimedFps = z.number().min(0).max(1_000_000);

/** The video stream as the camera sends it (before sampling), as ffmpeg reports it. */
export const CameraSourceSchema = z.object({
  codec: text(64),
  width: z.int().min(0).max(65_535).optional(),
  height: z.int().min(0).max(65_535).optional(),
  fps: claimedFps.optional(),
});
export type CameraSource = z.infer<typeof CameraSourceSchema>;

/**
 * Published on `vigil.camera-status` (keyed by camera id, JSON) at every state change,
 * and when an offline camera's reason changes. Never holds credentials or the URL.
 * Unknown keys are dropped.
 */
export const CameraStatusSchema = z.object({
  v: z.literal(1),
  cameraId: MessageId,
  state: CameraStateSchema,
  /** Why it is in this state (`stream ended`, `connection refused`, `no frames for 10 s`…). */
  reason: text(1024),
  /** When this status was decided, ms since epoch. */
  at: TimeMs,
  /** Target frames per second. */
  fps: z.number().min(0).max(MAX_FPS),
  /** Frames per second actually delivered over the last 10 s. */
  fpsOut: claimedFps.optional(),
  /** Frame size sent on (after scaling and the timestamp band). */
  width: side.optional(),
  height: side.optional(),
  source: CameraSourceSchema.optional(),
  /** `on_demand`: ingest sends the compressed stream and infer decodes what is looked at; `continuous`: ingest decodes every frame. */
  decode: z.enum(['on_demand', 'continuous']).optional(),
  /** Seconds between the stream's keyframes, as measured (on_demand). */
  gopS: z.number().min(0).max(3600).optional(),
  /** Frames per second the trigger stage sees while the camera is quiet (on_demand: keyframes kept). */
  triggerFps: z.number().min(0).max(MAX_FPS).optional(),
  /** on_demand: infer kept asking for it, so ffmpeg decodes it directly until infer stops (ingest.busy_after). */
  busy: z.boolean().optional(),
  /** ffmpeg restarts since ingest started the camera. */
  restarts: count(Number.MAX_SAFE_INTEGER).optional(),
  name: text(256).optional(),
  site: text(256).optional(),
  tags: z.array(text(256)).max(64).optional(),
});
export type CameraStatus = z.infer<typeof CameraStatusSchema>;

/** Validates a camera status: JSON bytes from the bus, or a value already parsed. Never throws. */
export function parseCameraStatus(input: unknown): DecodeResult<CameraStatus> {
  return parseMessage('cameraStatus', CameraStatusSchema, input);
}

const isoTime = z.iso.datetime();

/**
 * A camera's latest status as alerts serves it (`status` in `GET /api/cameras`): the last
 * message, with `at` as ISO 8601 and `since`, when the camera entered this state.
 */
export const CameraLiveStatusSchema = CameraStatusSchema.extend({ at: isoTime, since: isoTime });
export type CameraLiveStatus = z.infer<typeof CameraLiveStatusSchema>;

/** The stored status, as the `camera:status` Socket.IO event and the snapshot carry it. */
export const StoredCameraStatusSchema = z.object({
  camera: MessageId,
  state: CameraStateSchema,
  /** When the camera entered `state`, ISO 8601. */
  since: isoTime,
  /** When the status was decided, ISO 8601. */
  at: isoTime,
  status: CameraStatusSchema,
});
export type StoredCameraStatus = z.infer<typeof StoredCameraStatusSchema>;
