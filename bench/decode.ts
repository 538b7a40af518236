/**
 * `npm run bench -- decode [--seconds 30] [--json]`
 *
 * What a camera costs to watch, by how much of it is decoded: the measurements behind
 * docs/decode-on-demand.md. Generates H.264 clips with ffmpeg (1080p30 at 4 Mb/s with sensor
 * noise, GOP 1 s and 10 s; a 640×360 substream; one with B-frames), then runs each way of
 * reading them once, single-threaded as ingest does, and reports the CPU seconds the ffmpeg
 * child used per 60 s of video (from bash's `times`, so only the child counts), the cores
 * per camera that makes, and what a trigger stage would see. Also: how long a decoder
 * started at a keyframe takes to deliver an 8 s window, and whether the MPEG-TS timestamps
 * of a B-frame stream arrive out of order (what a stream-copy capture clock must handle).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cropBox } from '@vigil/config';
import { clipArgs } from '@vigil/media';

const CACHE = fileURLToPath(new URL('../.cache/bench-clips/', import.meta.url));

interface Clip {
  name: string;
  file: string;
  /** Source size and rate, encoder settings. */
  describe: string;
}

function makeClip(name: string, seconds: number, o: { size: string; fps: number; kbps: number; gop: number; bframes: number }): Clip {
  mkdirSync(CACHE, { recursive: true });
  const file = join(CACHE, `${name}-${seconds}s.mp4`);
  const describe = `${o.size} ${o.fps} fps H.264 ${o.kbps} kb/s, GOP ${o.gop / o.fps} s, ${o.bframes} B-frames`;
  if (!existsSync(file)) {
    execFileSync('ffmpeg', [
      '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=${o.size}:rate=${o.fps}`,
      // Sensor noise: a still camera's frames are never identical.
      '-vf', 'noise=alls=6:allf=t',
      '-t', String(seconds),
      '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
      '-b:v', `${o.kbps}k`, '-maxrate', `${o.kbps}k`, '-bufsize', `${o.kbps * 2}k`,
      '-g', String(o.gop), '-keyint_min', String(o.gop), '-sc_threshold', '0', '-bf', String(o.bframes),
      file,
    ]);
  }
  return { name, file, describe };
}

/** CPU seconds (user + system) an ffmpeg run used, and its wall time. */
function cpuOf(args: string[]): { cpuS: number; wallS: number; out: string } {
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', `ffmpeg ${quoted} >/dev/null 2>/tmp/vigil-bench-decode.err; echo rc=$?; times`], { encoding: 'utf8' });
  const wallS = (performance.now() - t0) / 1000;
  if (!/rc=0/.test(r.stdout)) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stdout}`);
  // `times`: shell user/sys, then children's user/sys, as "0m1.234s 0m0.056s".
  const lines = r.stdout.trim().split('\n');
  const child = lines[lines.length - 1]!.split(/\s+/).map((x) => {
    const m = /(\d+)m([\d.]+)s/.exec(x);
    return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
  });
  return { cpuS: child[0]! + child[1]!, wallS, out: r.stdout };
}

/** Frames an ffmpeg command writes (counted by the null muxer's frame= line would need stderr; count JPEG SOIs instead). */
function framesOut(args: string[]): number {
  const r = spawnSync('ffmpeg', args, { maxBuffer: 1 << 30 });
  const buf = r.stdout;
  let n = 0;
  for (let i = 0; i + 2 < buf.length; i++) if (buf[i] === 0xff && buf[i + 1] === 0xd8 && buf[i + 2] === 0xff) n++;
  return n;
}

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { seconds: { type: 'string', default: '30' }, json: { type: 'boolean', default: false } } });
  const seconds = Number(values.seconds);
  if (!(seconds >= 10 && seconds <= 600)) throw new Error('--seconds: expected 10..600');
  const main1 = makeClip('main-gop1', seconds, { size: '1920x1080', fps: 30, kbps: 4000, gop: 30, bframes: 0 });
  const main10 = makeClip('main-gop10', seconds, { size: '1920x1080', fps: 30, kbps: 4000, gop: 300, bframes: 0 });
  const sub = makeClip('sub-gop1', seconds, { size: '640x360', fps: 15, kbps: 512, gop: 15, bframes: 0 });
  const bfr = makeClip('main-bframes', Math.min(seconds, 10), { size: '1920x1080', fps: 30, kbps: 4000, gop: 30, bframes: 2 });

  const jpeg = ['-f', 'image2pipe', '-c:v', 'mjpeg', '-q:v', '5', '-'];
  const base = ['-hide_banner', '-nostdin', '-threads', '1'];
  const modes: { mode: string; clip: Clip; args: string[]; trigger: string }[] = [
    { mode: 'full decode → 4 fps 640 px JPEG (ingest today)', clip: main1, args: [...base, '-i', main1.file, '-vf', 'fps=4,scale=640:-2', ...jpeg], trigger: '4 fps' },
    { mode: 'keyframes only → 640 px JPEG', clip: main1, args: [...base, '-skip_frame', 'nokey', '-i', main1.file, '-vf', 'scale=640:-2', '-fps_mode', 'passthrough', ...jpeg], trigger: '1 fps (every keyframe)' },
    { mode: 'every other keyframe → 640 px JPEG', clip: main1, args: [...base, '-skip_frame', 'nokey', '-i', main1.file, '-vf', "select='not(mod(n,2))',scale=640:-2", '-fps_mode', 'passthrough', ...jpeg], trigger: '0.5 fps' },
    { mode: 'stream copy, no decode (MPEG-TS)', clip: main1, args: [...base, '-i', main1.file, '-c', 'copy', '-f', 'mpegts', '-'], trigger: 'none' },
    { mode: 'keyframes only, 10 s GOP', clip: main10, args: [...base, '-skip_frame', 'nokey', '-i', main10.file, '-vf', 'scale=640:-2', '-fps_mode', 'passthrough', ...jpeg], trigger: '0.1 fps' },
    { mode: 'substream full decode → 4 fps JPEG', clip: sub, args: [...base, '-i', sub.file, '-vf', 'fps=4', ...jpeg], trigger: '4 fps (substream)' },
    { mode: 'substream full decode → 2 fps JPEG', clip: sub, args: [...base, '-i', sub.file, '-vf', 'fps=2', ...jpeg], trigger: '2 fps (substream)' },
    // zone_view: crop — ingest's own command line, with 0, 1 and 2 zones cut from the full picture.
    { mode: "ingest's decode, no crop", clip: main1, args: ingestArgs(main1.file, 0), trigger: '4 fps' },
    { mode: '… + 1 crop zone (a third of the picture)', clip: main1, args: ingestArgs(main1.file, 1), trigger: '4 fps' },
    { mode: '… + 2 crop zones', clip: main1, args: ingestArgs(main1.file, 2), trigger: '4 fps' },
  ];
  const rows = modes.map((m) => {
    const { cpuS } = cpuOf(m.args);
    const per60 = (cpuS * 60) / seconds;
    return { mode: m.mode, clip: m.clip.describe, cpu_s_per_60s: round(per60, 2), cores_per_camera: round(per60 / 60, 4), cameras_per_core: round(60 / Math.max(per60, 1e-6), 1), trigger_sees: m.trigger };
  });

  // Activation: a decoder started at the keyframe before a window delivers its 8 s at 4 fps.
  const windowS = 8;
  const act = [1, 2].map((k) => {
    const at = Math.min(seconds - windowS - 1, 5 + k * 3);
    const t = cpuOf([...base, '-ss', String(at), '-i', main1.file, '-t', String(windowS), '-vf', 'fps=4,scale=640:-2', ...jpeg]);
    return t;
  });
  const activation = { window_s: windowS, wall_s: round(Math.max(...act.map((a) => a.wallS)), 3), cpu_s: round(Math.max(...act.map((a) => a.cpuS)), 3) };
  // The same window from a 10 s GOP: up to 10 s of frames decoded before the window's first.
  const act10 = cpuOf([...base, '-ss', String(Math.min(seconds - windowS - 1, 19)), '-i', main10.file, '-t', String(windowS), '-vf', 'fps=4,scale=640:-2', ...jpeg]);
  // Starting a process per window: ffmpeg's start-up alone (open, probe, first frame of a tiny input).
  const spawnMs = Array.from({ length: 5 }, () => cpuOf(['-hide_banner', '-nostdin', '-f', 'lavfi', '-i', 'color=s=64x64:d=0.04', '-f', 'null', '-']).wallS * 1000).sort((a, b) => a - b);

  // Capture clock under stream copy: presentation times of a B-frame stream in arrival (decode) order.
  const probe = spawnSync('bash', ['-c', `ffmpeg -loglevel error -i '${bfr.file}' -c copy -f mpegts - | ffprobe -loglevel error -select_streams v -show_entries packet=pts,dts,flags -of csv=p=0 -`], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const packets = probe.stdout.trim().split('\n').map((l) => l.split(',')).filter((p) => p.length >= 3).map(([pts, dts, flags]) => ({ pts: Number(pts), dts: Number(dts), key: flags!.includes('K') }));
  let backwards = 0;
  for (let i = 1; i < packets.length; i++) if (packets[i]!.pts < packets[i - 1]!.pts) backwards++;
  const reorder = { packets: packets.length, pts_backwards: backwards, dts_monotonic: packets.every((p, i) => i === 0 || p.dts > packets[i - 1]!.dts), keyframes: packets.filter((p) => p.key).length };
  const keyframesOut = framesOut([...base, '-loglevel', 'error', '-skip_frame', 'nokey', '-i', main1.file, '-vf', 'scale=640:-2', '-fps_mode', 'passthrough', ...jpeg]);

  for (const r of rows) console.log(`${r.mode.padEnd(48)} ${String(r.cpu_s_per_60s).padStart(6)} CPU-s/min  ${String(r.cores_per_camera).padStart(7)} cores/camera  ${String(r.cameras_per_core).padStart(6)} cameras/core  trigger: ${r.trigger_sees}`);
  console.log(`activation: an ${windowS} s window decoded from its keyframe: ${activation.wall_s} s wall, ${activation.cpu_s} CPU-s (GOP 1 s); ${round(act10.wallS, 3)} s, ${round(act10.cpuS, 3)} CPU-s (GOP 10 s)`);
  console.log(`ffmpeg start-up per process: median ${round(spawnMs[2]!, 0)} ms (min ${round(spawnMs[0]!, 0)}, max ${round(spawnMs[4]!, 0)})`);
  console.log(`B-frames in MPEG-TS: ${reorder.packets} packets, pts went backwards ${reorder.pts_backwards} times in arrival order; dts monotonic: ${reorder.dts_monotonic}`);
  console.log(`keyframe-only decode of ${seconds} s wrote ${keyframesOut} frames`);
  if (values.json) {
    console.log(JSON.stringify({ seconds, rows, activation, activation_gop10: { wall_s: round(act10.wallS, 3), cpu_s: round(act10.cpuS, 3) }, ffmpeg_startup_ms: { median: round(spawnMs[2]!, 0), min: round(spawnMs[0]!, 0), max: round(spawnMs[4]!, 0) }, bframes_mpegts: reorder, keyframe_frames: keyframesOut }));
  }
  return 0;
}

/** The zones of the crop rows: a loading lane and a door, each about a third of the picture's area. */
const CROP_ZONES: [number, number][][] = [
  [[0.1, 0.4], [0.7, 0.4], [0.7, 0.95], [0.1, 0.95]],
  [[0.55, 0.05], [0.95, 0.05], [0.95, 0.75], [0.55, 0.75]],
];

/** Ingest's ffmpeg command for a camera (clipArgs: the same filters and encoder), one decoder thread like the other rows. */
function ingestArgs(file: string, crops: number): string[] {
  const args = clipArgs(file, { fps: 4, width: 640, crops: CROP_ZONES.slice(0, crops).map(cropBox) }, 'none', 'pipe:1');
  args.splice(args.indexOf('-i'), 0, '-threads', '1');
  return args;
}

function round(x: number, d: number): number {
  const k = 10 ** d;
  return Math.round(x * k) / k;
}
