import type { VigilConfig } from '@vigil/config';
import { Topics, type CameraStatus } from '@vigil/contracts';
import type { Bus } from '@vigil/bus';
import { createLogger, createRegistry, startOpsServer, type Logger, type OpsServer } from '@vigil/observability';
import { CameraWorker } from './camera-worker.ts';
import { ChunkPublisher } from './publisher.ts';
import { createIngestMetrics } from './metrics.ts';

export interface IngestService {
  port: number;
  close(): Promise<void>;
}

/** Composition root of the ingest service: cameras → ffmpeg → chunks → `vigil.frames`. */
/** What ingest needs from outside; built once per process by the caller (see @vigil/platform). */
export interface IngestDeps {
  bus: Bus;
  logger?: Logger;
}

export async function startIngest(config: VigilConfig, deps: IngestDeps): Promise<IngestService> {
  const log = deps.logger ?? createLogger('ingest');
  const registry = createRegistry('ingest');
  const metrics = createIngestMetrics(registry);
  const { bus } = deps;
  await bus.ensureTopics([
    { topic: Topics.frames, partitions: 6, config: { 'max.message.bytes': String(8 * 1024 * 1024), 'retention.ms': String(6 * 3600_000) } },
    { topic: Topics.cameraStatus, partitions: 3 },
  ]);
  const publisher = new ChunkPublisher(bus, metrics, log);
  const publishStatus = (s: CameraStatus) => {
    log.info({ camera: s.cameraId, state: s.state, reason: s.reason }, 'camera state');
    bus.publish(Topics.cameraStatus, [{ key: s.cameraId, value: Buffer.from(JSON.stringify(s)), timestamp: s.at }]).catch((e: unknown) => {
      log.warn({ camera: s.cameraId, err: (e as Error).message }, 'cannot publish camera status');
    });
  };
  const workers = config.cameras.map(
    (camera) =>
      new CameraWorker(camera, {
        chunkMs: config.ingest.chunkMs,
        ffmpegPath: config.ingest.ffmpegPath,
        metrics,
        log,
        onChunk: (c) => publisher.enqueue(c),
        onStatus: publishStatus,
      }),
  );
  const staleness = setInterval(() => {
    for (const w of workers) metrics.lastFrameAge.set({ camera: w.camera.id }, Math.min(w.secondsSinceLastFrame(), 1e9));
  }, 1000);
  const ops: OpsServer = await startOpsServer({
    port: config.ingest.metricsPort,
    registry,
    health: { bus: () => ({ ok: true }) },
  });
  for (const w of workers) w.start();
  log.info({ cameras: workers.length, metricsPort: ops.port }, 'ingest started');

  let closing: Promise<void> | undefined;
  return {
    port: ops.port,
    close: () =>
      (closing ??= (async () => {
        clearInterval(staleness);
        const results = await Promise.allSettled([
          ...workers.map((w) => w.stop()),
        ]);
        const after = await Promise.allSettled([publisher.close(), ops.close()]);
        for (const r of [...results, ...after]) if (r.status === 'rejected') log.error({ err: String(r.reason) }, 'error while stopping ingest');
        log.info('ingest stopped');
      })()),
  };
}
