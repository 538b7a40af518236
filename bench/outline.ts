/**
 * `npm run bench -- outline [--windows 20] [--frames 32] [--width 640] [--json]`
 *
 * What `zone_view: outline` costs per window: ingest-like JPEGs (testsrc2 with sensor noise,
 * mjpeg -q:v 5 with the standard Huffman tables, 640 wide, height a multiple of 16) get the
 * zone drawn by ZoneOutliner — one ffmpeg run per window, as infer does — and the wall time
 * of each window is reported (median, p90, max), with the one-off rasterisation of the outline.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createLogger } from '@vigil/observability';
import { JpegSplitter, frameFilters, jpegSize } from '@vigil/media';
import { rasterizeOutline, ZoneOutliner } from '../services/infer/src/outline.ts';

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { windows: { type: 'string', default: '20' }, frames: { type: 'string', default: '32' }, width: { type: 'string', default: '640' }, json: { type: 'boolean', default: false } } });
  const windows = Number(values.windows);
  const n = Number(values.frames);
  const width = Number(values.width);
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=4', '-frames:v', String(n), '-vf', `noise=alls=6:allf=t,${frameFilters(4, width)}`, '-c:v', 'mjpeg', '-huffman', 'default', '-q:v', '5', '-f', 'image2pipe', 'pipe:1'], { maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(String(r.stderr));
  const jpegs = new JpegSplitter().push(r.stdout);
  const size = jpegSize(jpegs[0]!)!;
  const polygon: [number, number][] = [[0.1, 0.55], [0.6, 0.4], [0.95, 0.6], [0.7, 0.95], [0.15, 0.9]];
  let t = performance.now();
  rasterizeOutline(polygon, size.width, size.height);
  const rasterMs = performance.now() - t;
  let failures = 0;
  const outliner = new ZoneOutliner({ ffmpegPath: 'ffmpeg', log: createLogger('bench', { level: 'warn' }), onFailure: () => failures++ });
  const ms: number[] = [];
  for (let w = 0; w < windows + 1; w++) {
    // Each window its own capture times: no result reused.
    const frames = jpegs.map((jpeg, i) => ({ capturedAt: w * 100_000 + i * 250, streamTime: i / 4, jpeg }));
    t = performance.now();
    const out = await outliner.outline('bench', { name: 'zone', polygon }, frames);
    if (!out || out.length !== n) throw new Error('window not outlined');
    if (w > 0) ms.push(performance.now() - t); // the first run warms the page cache
  }
  ms.sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!;
  const kb = Math.round(jpegs.reduce((s, j) => s + j.length, 0) / n / 1024);
  const result = { frames: n, width: size.width, height: size.height, frameKB: kb, windows, rasterMs: +rasterMs.toFixed(2), medianMs: +q(0.5).toFixed(1), p90Ms: +q(0.9).toFixed(1), maxMs: +ms[ms.length - 1]!.toFixed(1), failures };
  process.stdout.write(`zone outline: ${n} frames of ${size.width}x${size.height} (~${kb} KB each), ${windows} windows: median ${result.medianMs} ms, p90 ${result.p90Ms} ms, max ${result.maxMs} ms per window; outline rasterised once in ${result.rasterMs} ms\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  return failures === 0 ? 0 : 1;
}
