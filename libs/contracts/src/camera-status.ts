/** A camera's health as ingest sees it. */
export type CameraState = 'starting' | 'online' | 'degraded' | 'offline';

/** Published on `vigil.camera-status` (keyed by camera) at every state change. */
export interface CameraStatus {
  v: 1;
  cameraId: string;
  state: CameraState;
  /** Why it is in this state (`stream ended`, `connection refused`…); never holds credentials. */
  reason: string;
  at: number;
  fps: number;
}
