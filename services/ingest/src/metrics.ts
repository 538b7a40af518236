import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

/** Ingest's metrics; labelled by camera id (never by URL, which may hold credentials). */
export function createIngestMetrics(registry: Registry) {
  const registers = [registry];
  return {
    framesIngested: new Counter({ name: 'vigil_ingest_frames_total', help: 'Frames decoded from cameras', labelNames: ['camera'], registers }),
    framesPublished: new Counter({ name: 'vigil_ingest_frames_published_total', help: 'Frames published to the bus', labelNames: ['camera'], registers }),
    framesDropped: new Counter({ name: 'vigil_ingest_frames_dropped_total', help: 'Frames dropped because the bus was slow', labelNames: ['camera'], registers }),
    chunksPublished: new Counter({ name: 'vigil_ingest_chunks_published_total', help: 'Frame chunks published', labelNames: ['camera'], registers }),
    chunksDropped: new Counter({ name: 'vigil_ingest_chunks_dropped_total', help: 'Frame chunks dropped (oldest first)', labelNames: ['camera'], registers }),
    restarts: new Counter({ name: 'vigil_ingest_camera_restarts_total', help: 'ffmpeg restarts per camera', labelNames: ['camera'], registers }),
    cameraUp: new Gauge({ name: 'vigil_ingest_camera_online', help: '1 when the camera delivers frames', labelNames: ['camera'], registers }),
    lastFrameAge: new Gauge({ name: 'vigil_ingest_seconds_since_last_frame', help: 'Seconds since the last frame', labelNames: ['camera'], registers }),
    publishLatency: new Histogram({
      name: 'vigil_ingest_publish_seconds',
      help: 'Time to publish a batch of chunks',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
  };
}
