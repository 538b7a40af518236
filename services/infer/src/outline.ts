import { spawn } from 'node:child_process';
import type { Frame } from '@vigil/contracts';
import { JpegSplitter, jpegSize } from '@vigil/media';
import type { Logger } from '@vigil/observability';

/** The outline's colour (RGBA) and thickness in pixels. */
export const OUTLINE_RGBA: readonly [number, number, number, number] = [255, 255, 0, 255];
export const OUTLINE_PX = 2;

/**
 * The zone's polygon (relative coordinates, 0..1) as a closed outline `px` pixels thick on a
 * transparent `width`×`height` RGBA picture. Vertices are put on odd pixel boundaries (kept
 * `px / 2` inside the frame, so an edge along the border shows in full) and a pixel is set when
 * its centre lies within `px / 2` of an edge: horizontal and vertical edges are exactly `px`
 * pixels wide, slanted ones about as wide, and corners are closed.
 */
export function rasterizeOutline(polygon: readonly (readonly [number, number])[], width: number, height: number, px = OUTLINE_PX, rgba = OUTLINE_RGBA): Buffer {
  const out = Buffer.alloc(width * height * 4);
  const r = px / 2;
  // Odd pixel boundaries: a 2 px edge along a row or column then covers one row or column of
  // the frames' 4:2:0 colour samples, and stays yellow instead of blending with its neighbours.
  const place = (v: number, size: number) => Math.min(Math.max(2 * Math.round((v * size - 1) / 2) + 1, Math.ceil(r)), size - Math.ceil(r));
  const pts = polygon.map(([x, y]) => [place(x, width), place(y, height)] as const);
  if (pts.length < 2) return out;
  const set = (x: number, y: number) => {
    const i = (y * width + x) * 4;
    out[i] = rgba[0];
    out[i + 1] = rgba[1];
    out[i + 2] = rgba[2];
    out[i + 3] = rgba[3];
  };
  for (let k = 0; k < pts.length; k++) {
    const [x0, y0] = pts[k]!;
    const [x1, y1] = pts[(k + 1) % pts.length]!;
    const dx = x1 - x0;
    const dy = y1 - y0;
    const len2 = dx * dx + dy * dy;
    const yFrom = Math.max(0, Math.floor(Math.min(y0, y1) - r));
    const yTo = Math.min(height - 1, Math.ceil(Math.max(y0, y1) + r));
    for (let y = yFrom; y <= yTo; y++) {
      const cy = y + 0.5;
      // The part of the edge within r of this row's centre line bounds the columns to test.
      let t0 = 0;
      let t1 = 1;
      if (dy !== 0) {
        const a = (cy - r - y0) / dy;
        const b = (cy + r - y0) / dy;
        t0 = Math.max(0, Math.min(a, b));
        t1 = Math.min(1, Math.max(a, b));
        if (t0 > t1) continue;
      }
      const xa = x0 + dx * t0;
      const xb = x0 + dx * t1;
      const xFrom = Math.max(0, Math.floor(Math.min(xa, xb) - r));
      const xTo = Math.min(width - 1, Math.ceil(Math.max(xa, xb) + r));
      for (let x = xFrom; x <= xTo; x++) {
        const cx = x + 0.5;
        // Distance from the pixel's centre to the segment.
        const t = len2 === 0 ? 0 : Math.min(1, Math.max(0, ((cx - x0) * dx + (cy - y0) * dy) / len2));
        const ex = cx - (x0 + dx * t);
        const ey = cy - (y0 + dy * t);
        if (ex * ex + ey * ey <= r * r) set(x, y);
      }
    }
  }
  return out;
}

/**
 * The ffmpeg command line that draws an RGBA picture (fd 3, raw) over every JPEG of a stream
 * (stdin) and writes JPEGs the band splicer can extend (stdout): mjpeg with the standard
 * Huffman tables, 4:2:0 full range, the frames' own size — as ingest makes them. The overlay is
 * converted to full range first so its colour stays as drawn on full-range frames.
 */
export function outlineArgs(width: number, height: number, quality = 5): string[] {
  return [
    ...['-nostdin', '-hide_banner', '-nostats', '-loglevel', 'error'],
    ...['-f', 'image2pipe', '-c:v', 'mjpeg', '-i', 'pipe:0'],
    ...['-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${width}x${height}`, '-i', 'pipe:3'],
    ...['-filter_complex', '[1:v]scale=out_range=full,format=yuva420p[o];[0:v][o]overlay=eof_action=repeat:format=yuv420,format=yuvj420p'],
    ...['-an', '-c:v', 'mjpeg', '-huffman', 'default', '-q:v', String(quality), '-f', 'image2pipe', 'pipe:1'],
  ];
}

export interface OutlinerOptions {
  ffmpegPath: string;
  log: Logger;
  /** A window went without its outline (counted). */
  onFailure(): void;
  /** Seconds one window took to outline (observed). */
  onOutlined?(seconds: number): void;
  /** The longest one window's ffmpeg run may take (default 10 s). */
  timeoutMs?: number;
}

/** Overlays kept (one per camera, zone, polygon and frame size) and windows' results kept for sharing. */
const MAX_OVERLAYS = 64;
const MAX_RECENT = 8;

/**
 * Draws a query's zone on a window's frames, once per window: the zone's outline is
 * rasterised once per (camera, zone, frame size) and laid over the window's JPEGs in one
 * ffmpeg run. A window that cannot be outlined (ffmpeg missing, failing or too slow) goes
 * without: `outline` then returns the frames as they were, counted and warned once per
 * camera — the window is never lost.
 */
export class ZoneOutliner {
  private readonly overlays = new Map<string, Buffer>();
  private readonly recent = new Map<string, Promise<Frame[] | undefined>>();
  private readonly warned = new Set<string>();

  constructor(private readonly o: OutlinerOptions) {}

  /** The window's frames with the zone drawn on; undefined when it could not be (the caller sends them as they were). */
  outline(cameraId: string, zone: { name: string; polygon: [number, number][] }, frames: Frame[]): Promise<Frame[] | undefined> {
    if (frames.length === 0) return Promise.resolve(frames);
    // Questions about the same window (share: none, a retry) reuse one run.
    const key = `${cameraId}\u0000${zone.name}\u0000${JSON.stringify(zone.polygon)}\u0000${frames.length}\u0000${frames[0]!.capturedAt}\u0000${frames[frames.length - 1]!.capturedAt}`;
    const known = this.recent.get(key);
    if (known) return known;
    const p = this.run(cameraId, zone, frames);
    this.recent.set(key, p);
    if (this.recent.size > MAX_RECENT) this.recent.delete(this.recent.keys().next().value!);
    return p;
  }

  private async run(cameraId: string, zone: { name: string; polygon: [number, number][] }, frames: Frame[]): Promise<Frame[] | undefined> {
    const started = performance.now();
    try {
      const size = jpegSize(frames[0]!.jpeg);
      if (!size) throw new Error('the first frame has no JPEG frame header');
      for (const f of frames) {
        const s = jpegSize(f.jpeg);
        if (s?.width !== size.width || s.height !== size.height) throw new Error(`frames of ${size.width}x${size.height} and ${s ? `${s.width}x${s.height}` : 'no size'} in one window`);
      }
      const overlay = this.overlay(cameraId, zone, size.width, size.height);
      const out = await runOverlay(this.o.ffmpegPath, frames.map((f) => f.jpeg), overlay, size.width, size.height, this.o.timeoutMs ?? 10_000);
      if (out.length !== frames.length) throw new Error(`ffmpeg returned ${out.length} frames for ${frames.length}`);
      this.o.onOutlined?.((performance.now() - started) / 1000);
      return frames.map((f, i) => ({ capturedAt: f.capturedAt, streamTime: f.streamTime, jpeg: out[i]! }));
    } catch (e) {
      this.o.onFailure();
      if (!this.warned.has(cameraId)) {
        this.warned.add(cameraId);
        this.o.log.warn({ camera: cameraId, zone: zone.name, err: (e as Error).message }, 'cannot draw the zone outline; windows are sent without it (warned once per camera)');
      }
      return undefined;
    }
  }

  private overlay(cameraId: string, zone: { name: string; polygon: [number, number][] }, width: number, height: number): Buffer {
    const key = `${cameraId}\u0000${zone.name}\u0000${width}x${height}\u0000${JSON.stringify(zone.polygon)}`;
    let o = this.overlays.get(key);
    if (o) {
      this.overlays.delete(key); // most recently used last
    } else {
      o = rasterizeOutline(zone.polygon, width, height);
      if (this.overlays.size >= MAX_OVERLAYS) this.overlays.delete(this.overlays.keys().next().value!);
    }
    this.overlays.set(key, o);
    return o;
  }
}

/** One ffmpeg run: `jpegs` in on stdin, `overlay` (RGBA) on fd 3, the outlined JPEGs back from stdout. */
export function runOverlay(ffmpegPath: string, jpegs: Buffer[], overlay: Buffer, width: number, height: number, timeoutMs: number): Promise<Buffer[]> {
  return new Promise<Buffer[]>((resolve, reject) => {
    const proc = spawn(ffmpegPath, outlineArgs(width, height), { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    const splitter = new JpegSplitter();
    const out: Buffer[] = [];
    let stderr = '';
    let failed: Error | undefined;
    const fail = (e: Error) => {
      failed ??= e;
      proc.kill('SIGKILL');
    };
    const timer = setTimeout(() => fail(new Error(`ffmpeg took longer than ${timeoutMs} ms`)), timeoutMs);
    proc.on('error', (e) => fail(new Error(`cannot run ffmpeg (${e.message})`)));
    proc.stdout!.on('data', (b: Buffer) => {
      try {
        out.push(...splitter.push(b));
      } catch (e) {
        fail(e as Error);
      }
    });
    proc.stderr!.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-2000);
    });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      if (failed) reject(failed);
      else if (code !== 0) reject(new Error(`ffmpeg exited with ${code ?? signal}: ${stderr.trim().split('\n').pop() ?? ''}`));
      else resolve(out);
    });
    // ffmpeg exiting early closes its pipes: what we still write is lost, and its exit says why.
    const fd3 = proc.stdio[3] as NodeJS.WritableStream & { on(e: 'error', f: () => void): void };
    fd3.on('error', () => {});
    proc.stdin!.on('error', () => {});
    fd3.end(overlay);
    for (const j of jpegs) proc.stdin!.write(j);
    proc.stdin!.end();
  });
}
