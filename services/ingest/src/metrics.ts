import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CameraState } from '@vigil/contracts';

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

export const CAMERA_STATES: readonly CameraState[] = ['starting', 'online', 'degraded', 'offline'];

/** Ingest's metrics; labelled by camera id (never by URL, which may hold credentials). */
export function createIngestMetrics(registry: Registry) {
  const registers = [registry];
  const camera = ['camera'];
  return {
    decoders: new Gauge({ name: 'vigil_ingest_decoders', help: 'Video decoders running for on_demand cameras: keyframes (the trigger input) and full (a camera infer is looking at)', labelNames: ['kind'], registers }),
    decodedFrames: new Counter({ name: 'vigil_ingest_decoded_frames_total', help: 'Pictures decoded from on_demand cameras', labelNames: ['kind'], registers }),
    framesIngested: new Counter({ name: 'vigil_ingest_frames_total', help: 'Frames received from ffmpeg', labelNames: camera, registers }),
    framesPublished: new Counter({ name: 'vigil_ingest_frames_published_total', help: 'Frames published to the bus', labelNames: camera, registers }),
    framesDropped: new Counter({ name: 'vigil_ingest_frames_dropped_total', help: 'Frames dropped because the bus was slow (oldest first)', labelNames: camera, registers }),
    chunksPublished: new Counter({ name: 'vigil_ingest_chunks_published_total', help: 'Frame chunks published', labelNames: camera, registers }),
    chunksDropped: new Counter({ name: 'vigil_ingest_chunks_dropped_total', help: 'Frame chunks dropped (oldest first)', labelNames: camera, registers }),
    restarts: new Counter({ name: 'vigil_ingest_camera_restarts_total', help: 'ffmpeg restarts (reconnects) per camera', labelNames: camera, registers }),
    cameraUp: new Gauge({ name: 'vigil_ingest_camera_online', help: '1 when the camera delivers frames (online or degraded)', labelNames: camera, registers }),
    cameraState: new Gauge({ name: 'vigil_ingest_camera_state', help: '1 for the state the camera is in', labelNames: ['camera', 'state'], registers }),
    fpsIn: new Gauge({ name: 'vigil_ingest_camera_fps_in', help: "The stream's own frame rate, as ffmpeg reports it", labelNames: camera, registers }),
    fpsOut: new Gauge({ name: 'vigil_ingest_camera_fps_out', help: 'Frames per second delivered by ingest over the last 10 s', labelNames: camera, registers }),
    lastFrameAge: new Gauge({ name: 'vigil_ingest_seconds_since_last_frame', help: 'Seconds since the last frame', labelNames: camera, registers }),
    queued: new Gauge({ name: 'vigil_ingest_queued_chunks', help: 'Chunks waiting for the bus', labelNames: camera, registers }),
    cameras: new Gauge({ name: 'vigil_ingest_cameras', help: 'Cameras this ingest (shard) runs', registers }),
    publishLatency: new Histogram({
      name: 'vigil_ingest_publish_seconds',
      help: 'Time from a chunk being complete to the bus acknowledging it',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
  };
}

/** Forgets a removed camera's series, so /metrics does not report cameras that are gone. */
export function removeCameraSeries(m: IngestMetrics, id: string): void {
  for (const metric of [m.framesIngested, m.framesPublished, m.framesDropped, m.chunksPublished, m.chunksDropped, m.restarts, m.cameraUp, m.fpsIn, m.fpsOut, m.lastFrameAge, m.queued]) {
    metric.remove({ camera: id });
  }
  for (const state of CAMERA_STATES) m.cameraState.remove({ camera: id, state });
}
