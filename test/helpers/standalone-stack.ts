import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIngest, type IngestService } from '@vigil/ingest';
import { startInfer, type InferService } from '@vigil/infer';
import { startAlerts, type AlertsService } from '@vigil/alerts';
import { createLogger } from '@vigil/observability';
import { openPlatform, type Platform } from '@vigil/platform';
import { startModelServer, type ModelServer } from '../fixtures/model-server.ts';
import { startCameraSim, startRtspServer, type CameraSimOptions, type CameraSim, type RtspServer } from '../fixtures/camera-sim.ts';
import { configFromYaml, freePort } from './env.ts';

/** One simulated RTSP camera and the three services in one process (in-process bus, PGlite). */
export interface StandaloneStack {
  model: ModelServer;
  rtsp: RtspServer;
  sim: CameraSim;
  platform: Platform;
  alerts: AlertsService;
  infer: InferService;
  ingest: IngestService;
  dataDir: string;
  /** Stops everything started, in reverse order; safe after a partial start. */
  close(): Promise<void>;
}

export interface StandaloneStackOptions {
  /** The camera's id (its RTSP mount). */
  camera: string;
  sim: Omit<CameraSimOptions, 'name' | 'udpPort'>;
  /** Tells this test's consumer groups apart. */
  id: string;
  /** The config after `model`, `data_dir`, `http`, `ingest` and `infer`: `cameras`, `queries` and the rest, given the camera's URL. */
  yaml: (cameraUrl: string) => string;
  /** Further keys of the `model` block, indented by two. */
  modelExtra?: string;
  /** Runs once alerts is up, before infer and ingest start (a listener that must miss nothing). */
  afterAlerts?: (alerts: AlertsService) => Promise<void>;
}

export async function startStandaloneStack(o: StandaloneStackOptions): Promise<StandaloneStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-stack-'));
  const s: Partial<StandaloneStack> = { dataDir };
  const close = async () => {
    for (const svc of [s.ingest, s.infer, s.alerts]) await svc?.close().catch(() => undefined);
    await s.platform?.close();
    await s.sim?.stop();
    await s.rtsp?.stop();
    await s.model?.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    s.model = await startModelServer();
    const [rtspPort, udp] = [await freePort(), await freePort()];
    s.rtsp = await startRtspServer({ port: rtspPort, mounts: { [o.camera]: udp } });
    s.sim = await startCameraSim({ ...o.sim, name: o.camera, udpPort: udp });
    const config = configFromYaml(`
model:
  endpoints: ["${s.model.url}/v1"]
  profile: cosmos-reason1
${o.modelExtra ?? ''}
data_dir: "${dataDir}"
http: { port: 0, host: 127.0.0.1 }
ingest: { metrics_port: 0 }
infer: { metrics_port: 0 }
${o.yaml(s.rtsp.url(o.camera))}`);
    const logger = createLogger('e2e', { level: process.env.VIGIL_TEST_LOG ?? 'warn' });
    s.platform = await openPlatform(config, logger);
    s.alerts = await startAlerts(config, { bus: s.platform.bus, store: await s.platform.store(), control: s.platform.control, logger, group: `alerts-${o.id}`, tickMs: 500 });
    await o.afterAlerts?.(s.alerts);
    s.infer = await startInfer(config, { bus: s.platform.bus, control: s.platform.control, logger, group: `infer-${o.id}` });
    s.ingest = await startIngest(config, { bus: s.platform.bus, control: s.platform.control, logger });
  } catch (e) {
    await close();
    throw e;
  }
  return { ...(s as Omit<StandaloneStack, 'close'>), close };
}
