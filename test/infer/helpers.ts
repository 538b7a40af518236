import jpeg from 'jpeg-js';
import { encodeFrameChunk, Topics, decodeFinding, type Finding } from '@vigil/contracts';
import type { Bus } from '@vigil/bus';

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
