/**
 * A camera's health as ingest sees it: `starting` until the first frame, `online` while
 * it delivers, `degraded` while it delivers under 80% of its target fps, `offline` when
 * ffmpeg has ended (the reason says why) and a restart is pending; `removed` once, when the
 * camera left the config (alerts forgets it: no offline spell, no incident).
 */
export type CameraState = 'starting' | 'online' | 'degraded' | 'offline' | 'removed';

/** The video stream as the camera sends it (before sampling), as ffmpeg reports it. */
export interface CameraSource {
  codec: string;
  width?: number;
  height?: number;
  fps?: number;
}

/**
 * Published on `vigil.camera-status` (keyed by camera id, JSON) at every state change,
 * and when an offline camera's reason changes. Never holds credentials or the URL.
 */
export interface CameraStatus {
  v: 1;
  cameraId: string;
  state: CameraState;
  /** Why it is in this state (`stream ended`, `connection refused`, `no frames for 10 s`…). */
  reason: string;
  /** When this status was decided, ms since epoch. */
  at: number;
  /** Target frames per second. */
  fps: number;
  /** Frames per second actually delivered over the last 10 s. */
  fpsOut?: number;
  /** Frame size sent on (after scaling and the timestamp band). */
  width?: number;
  height?: number;
  source?: CameraSource;
  /** ffmpeg restarts since ingest started the camera. */
  restarts?: number;
  name?: string;
  site?: string;
  tags?: string[];
}
