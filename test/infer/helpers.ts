import jpeg from 'jpeg-js';
import { encodeFrameChunk, decodeFrameChunk, Topics, decodeFinding, type Finding, type FrameChunk } from '@vigil/contracts';
import type { Bus } from '@vigil/bus';
import { MemoryControl } from '@vigil/control';
import type { Logger } from '@vigil/observability';
import { startInfer, type InferService } from '@vigil/infer';
import { startIngest, type IngestService } from '@vigil/ingest';
import { startModelServer, type ModelServer } from '../fixtures/model-server.ts';
import { KAFKA, configFromYaml } from '../helpers/env.ts';

/** Small test frames: a grey picture, optionally with a red or bright square at (x, y) in relative units. */
export function makeJpeg(opts: { width?: number; height?: number; grey?: number; red?: boolean; box?: { x: number; y: number; size?: number; grey?: number } } = {}): Buffer {
  const width = opts.width ?? 160;
  const height = opts.height ?? 120;
  const data = Buffer.alloc(width * height * 4, opts.grey ?? 90);
  const box = opts.box;
  const size = box ? Math.round((box.size ?? 0.25) * width) : 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      data[i + 3] = 255;
      const inBox = box && x >= box.x * width && x < box.x * width + size && y >= box.y * height && y < box.y * height + size;
      if (inBox && opts.red) (data[i] = 220), (data[i + 1] = 20), (data[i + 2] = 20);
      else if (inBox) data[i] = data[i + 1] = data[i + 2] = box.grey ?? 240;
    }
  }
  return Buffer.from(jpeg.encode({ width, height, data }, 80).data);
}

/** One 1 s chunk of `fps` frames starting at `startMs`, frames from `frame(i)`. */
export function chunk(cameraId: string, seq: number, startMs: number, fps: number, frame: (capturedAt: number) => Buffer, size = { width: 160, height: 120 }): Buffer {
  const frames = Array.from({ length: fps }, (_, i) => {
    const capturedAt = startMs + (i * 1000) / fps;
    return { capturedAt, streamTime: capturedAt / 1000, jpeg: frame(capturedAt) };
  });
  return encodeFrameChunk({ cameraId, seq, ...size, fps, codec: 'jpeg', frames });
}

/**
 * Produces 1 s chunks for each camera in real time (capture time = wall clock), until stopped.
 * `frame(camera, capturedAt)` draws each frame.
 */
export function produceLive(bus: Bus, cameras: string[], frame: (camera: string, capturedAt: number) => Buffer, fps = 4, size?: { width: number; height: number }): { stop(): Promise<void>; chunks: number } {
  let stopped = false;
  const state = { chunks: 0 };
  const loop = (async () => {
    let seq = 0;
    let next = Math.floor(Date.now() / 1000) * 1000;
    while (!stopped) {
      const start = next;
      next += 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
      if (stopped) break;
      await bus.publish(
        Topics.frames,
        cameras.map((c) => ({ key: c, value: chunk(c, seq, start, fps, (t) => frame(c, t), size), timestamp: start })),
      );
      seq++;
      state.chunks += cameras.length;
    }
  })();
  return {
    get chunks() {
      return state.chunks;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** Collects findings for the given cameras from the bus (own consumer group, from the beginning). */
export async function collectFindings(bus: Bus, cameras: string[], group: string): Promise<{ findings: Finding[]; close(): Promise<void> }> {
  const wanted = new Set(cameras);
  const findings: Finding[] = [];
  const sub = await bus.subscribe({
    topic: Topics.findings,
    group,
    fromBeginning: true,
    handle: async (m) => {
      const d = decodeFinding(m.value);
      if (d.ok && wanted.has(d.value.cameraId)) findings.push(d.value);
    },
  });
  return { findings, close: () => sub.close() };
}

/** A running on-demand pipeline: what the on-demand tests start and close alike. */
export interface OnDemandRun {
  model: ModelServer;
  infer: InferService;
  ingest: IngestService;
  found: Awaited<ReturnType<typeof collectFindings>>;
  close(): Promise<void>;
}

/**
 * Ingest (`decode: on_demand`) and infer on one bus with an in-process control plane and the
 * model test server. Started in the order the tests need: infer, then a findings collector, then
 * a watcher of every chunk on vigil.frames from the beginning, and ingest last, so no chunk goes
 * out unseen. `ingest` adds keys to the ingest section; `cameras` and `queries` are YAML list lines.
 */
export async function startOnDemand(o: { bus: Bus; logger: Logger; id: string; cameraIds: string[]; ingest?: string; cameras: string; queries: string; onChunk(c: FrameChunk): void }): Promise<OnDemandRun> {
  const model = await startModelServer();
  const control = new MemoryControl();
  const config = configFromYaml(`
model: { endpoints: ["${model.url}"] }
kafka: { brokers: ["${KAFKA}"] }
ingest: { metrics_port: 0, decode: on_demand${o.ingest ? `, ${o.ingest}` : ''} }
infer: { metrics_port: 0, onnx: { batch_wait: 20ms } }
cameras:
${o.cameras}
queries:
${o.queries}
`);
  const infer = await startInfer(config, { bus: o.bus, control, group: `g-${o.id}`, logger: o.logger });
  const found = await collectFindings(o.bus, o.cameraIds, `f-${o.id}`);
  const watch = await o.bus.subscribe({
    topic: Topics.frames,
    group: `w-${o.id}`,
    fromBeginning: true,
    handle: async (m) => {
      const d = decodeFrameChunk(m.value);
      if (d.ok) o.onChunk(d.value);
    },
  });
  const ingest = await startIngest(config, { bus: o.bus, control, logger: o.logger });
  return {
    model,
    infer,
    ingest,
    found,
    close: async () => {
      await watch.close();
      await ingest.close();
      await found.close();
      await infer.close();
      await model.close();
    },
  };
}
