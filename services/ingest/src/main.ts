import type { VigilConfig } from '@vigil/config';
import { parseVideoOpen, Topics, topicSpecs, VIDEO_OPEN_SUBJECT } from '@vigil/contracts';
import type { Bus } from '@vigil/bus';
import type { Control } from '@vigil/control';
import { opsListener } from '@vigil/edge';
import { createLogger, createRegistry, startOpsServer, type Logger, type OpsServer } from '@vigil/observability';
import { CameraFleet, type ApplyResult } from './fleet.ts';
import { ChunkPublisher, type QueuedChunk } from './publisher.ts';
import { StatusOutbox } from './status-outbox.ts';
import { createIngestMetrics, removeCameraSeries } from './metrics.ts';
import { camerasHandler } from './api.ts';
import type { Shard } from './shard.ts';
import type { BackoffPolicy } from './backoff.ts';

/** What ingest needs from outside; built once per process by the caller (see @vigil/platform). */
export interface IngestDeps {
  bus: Bus;
  logger?: Logger;
  /** Where infer asks for on_demand cameras' pictures (`vigil.video.open`); without it they send keyframes only. */
  control?: Control;
  /** Run only this share of the cameras (see shard.ts); all of them when absent. */
  shard?: Shard;
  /** Called for each chunk the bus acknowledged, with the time from enqueue to ack (benchmarks). */
  onPublished?(chunk: QueuedChunk, ms: number): void;
  /** Restart pacing and the fps window, shortened by tests. */
  backoff?: BackoffPolicy;
  rateWindowMs?: number;
}

export interface IngestService {
  port: number;
  /** Every camera this process runs, with its state (URLs never included). */
  cameras(): ReturnType<CameraFleet['snapshots']>;
  /** Applies a new config: only the cameras that changed restart (see CameraFleet.apply). */
  reload(config: VigilConfig): Promise<ApplyResult>;
  close(): Promise<void>;
}

/** Composition root of the ingest service: cameras → ffmpeg → chunks → `vigil.frames`. */
export async function startIngest(config: VigilConfig, deps: IngestDeps): Promise<IngestService> {
  const log = deps.logger ?? createLogger('ingest');
  const registry = createRegistry('ingest');
  const metrics = createIngestMetrics(registry);
  const { bus } = deps;
  await bus.ensureTopics(topicSpecs([Topics.frames, Topics.cameraStatus]));
  const perCamera = (c: VigilConfig) => Math.max(1, Math.ceil(c.ingest.bufferMs / c.ingest.chunkMs));
  const publisher = new ChunkPublisher(bus, metrics, log, { maxQueuedPerCamera: perCamera(config), onPublished: deps.onPublished });
  const statuses = new StatusOutbox(bus, log);
  const fleet = new CameraFleet({
    metrics,
    log,
    shard: deps.shard,
    onChunk: (c) => publisher.enqueue(c),
    onStatus: (s) => statuses.publish(s),
    // Forget a removed camera's series only once its last chunks are out, or they would reappear.
    onRemoved: async (cameraId) => {
      await publisher.drained(cameraId);
      removeCameraSeries(metrics, cameraId);
    },
    backoff: deps.backoff,
    rateWindowMs: deps.rateWindowMs,
  });
  // A full decode starts at the keyframe before the window infer asks for: keep what its longest window needs.
  const settings = (c: VigilConfig) => ({ chunkMs: c.ingest.chunkMs, ffmpegPath: c.ingest.ffmpegPath, packetsMs: c.infer.bufferMs, busyAfterMs: c.ingest.busyAfterMs });
  const stopOpens = deps.control?.subscribe(VIDEO_OPEN_SUBJECT, (data) => {
    const open = parseVideoOpen(data);
    if (!open.ok) return log.warn({ reason: open.reason }, 'video open request refused');
    fleet.activate(open.value.cameraId, open.value.from, open.value.until);
  });
  const ticker = setInterval(() => fleet.tick(), 1000);
  const ops: OpsServer = await startOpsServer({
    port: config.ingest.metricsPort,
    ...opsListener(config),
    registry,
    health: { bus: () => ({ ok: true, detail: bus.healthy() ? 'connected' : 'not connected; chunks are buffered' }) },
    extra: camerasHandler(() => fleet.snapshots()),
  });
  // on_demand needs someone to ask for the pictures: without a control plane, decode continuously.
  const cameras = (c: VigilConfig) => (deps.control ? c.cameras : c.cameras.map((cam) => (cam.decode === 'on_demand' ? { ...cam, decode: 'continuous' as const } : cam)));
  if (!deps.control && config.cameras.some((c) => c.decode === 'on_demand')) log.warn('no control plane to hear infer ask for pictures: on_demand cameras are decoded continuously');
  const first = await fleet.apply(cameras(config), settings(config));
  log.info({ cameras: fleet.size, otherShards: first.otherShards, shard: deps.shard, metricsPort: ops.port }, 'ingest started');

  let running = config;
  const reload = async (next: VigilConfig): Promise<ApplyResult> => {
    if (next.ingest.metricsPort !== running.ingest.metricsPort) log.warn('ingest.metrics_port changes take effect on restart');
    const result = await fleet.apply(cameras(next), settings(next));
    running = next;
    log.info({ added: result.added, removed: result.removed, restarted: result.restarted, relabelled: result.relabelled }, 'config reloaded');
    return result;
  };

  let closing: Promise<void> | undefined;
  return {
    port: ops.port,
    cameras: () => fleet.snapshots(),
    reload,
    close: () =>
      (closing ??= (async () => {
        clearInterval(ticker);
        stopOpens?.();
        // Cameras first (their last chunks and "offline" go to the queues), then the queues.
        const steps = [await Promise.allSettled([fleet.close()]), await Promise.allSettled([publisher.close(), statuses.close(), ops.close()])].flat();
        for (const r of steps) if (r.status === 'rejected') log.error({ err: String(r.reason) }, 'error while stopping ingest');
        log.info('ingest stopped');
      })()),
  };
}
