import { spawn } from 'node:child_process';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Finding } from '@vigil/contracts';
import type { EvidenceEntry } from '@vigil/store';

export interface EvidenceOptions {
  dir: string;
  keyFrames: number;
  clip: boolean;
  ffmpegPath: string;
}

/**
 * Evidence files: a finding's key frames (JPEG with the timestamp band, as the model saw them)
 * and a short H.264 MP4 of its window, under <dir>/<xx>/<finding id>/. Paths depend only on the
 * finding, so writing again after a crash overwrites instead of duplicating.
 */
export class EvidenceFiles {
  readonly root: string;

  constructor(private readonly opts: EvidenceOptions) {
    this.root = resolve(opts.dir);
  }

  /** Writes key frames (and the clip when `clip`); the entry to record on the incident. */
  async save(f: Finding, withClip: boolean): Promise<EvidenceEntry> {
    const frames = f.evidenceFrames ?? [];
    const rel = join(f.id.slice(0, 2), f.id);
    const dir = resolve(this.root, rel);
    // The id comes off the bus: never let it name a folder outside the evidence root.
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(f.id) || !dir.startsWith(this.root + sep)) throw new Error(`finding id ${JSON.stringify(f.id.slice(0, 80))} cannot name an evidence folder`);
    await mkdir(dir, { recursive: true });
    const picked = pickKeyFrames(frames.length, this.opts.keyFrames).map((i) => frames[i]!);
    let bytes = 0;
    const entry: EvidenceEntry = { finding: f.id, dir: rel, frames: [], bytes: 0 };
    for (const [k, fr] of picked.entries()) {
      const jpeg = Buffer.from(fr.jpeg, 'base64');
      const file = `frame-${k}.jpg`;
      await writeFile(join(dir, file), jpeg);
      bytes += jpeg.length;
      entry.frames.push({ file, captured_at: new Date(fr.capturedAt).toISOString() });
    }
    if (withClip && this.opts.clip && frames.length >= 2) {
      const span = (frames[frames.length - 1]!.capturedAt - frames[0]!.capturedAt) / 1000;
      const fps = span > 0 ? Math.min(30, Math.max(1, (frames.length - 1) / span)) : 4;
      const out = join(dir, 'clip.mp4');
      await encodeClip(this.opts.ffmpegPath, frames.map((fr) => Buffer.from(fr.jpeg, 'base64')), fps, out);
      bytes += (await stat(out)).size;
      entry.clip = 'clip.mp4';
    }
    entry.bytes = bytes;
    return entry;
  }

  /** Absolute path of a stored file, refusing anything that would leave the evidence folder. */
  path(entry: EvidenceEntry, file: string): string | undefined {
    const p = resolve(this.root, entry.dir, file);
    return p.startsWith(this.root + sep) ? p : undefined;
  }

  async remove(entries: EvidenceEntry[]): Promise<void> {
    for (const e of entries) {
      const p = this.path(e, '.');
      if (p && p !== this.root) await rm(p, { recursive: true, force: true });
    }
  }
}

/** `count` indices spread evenly over `n` frames, first and last included. */
export function pickKeyFrames(n: number, count: number): number[] {
  if (n <= 0) return [];
  if (count >= n) return Array.from({ length: n }, (_, i) => i);
  if (count === 1) return [Math.floor((n - 1) / 2)];
  return [...new Set(Array.from({ length: count }, (_, k) => Math.round((k * (n - 1)) / (count - 1))))];
}

/** One ffmpeg: the JPEGs piped in as MJPEG, out as H.264 MP4 that browsers play. */
function encodeClip(ffmpeg: string, jpegs: Buffer[], fps: number, out: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const args = ['-hide_banner', '-loglevel', 'error', '-f', 'image2pipe', '-c:v', 'mjpeg', '-framerate', fps.toFixed(3), '-i', 'pipe:0',
      '-vf', 'scale=trunc(iw/2)*2:trunc(ih/2)*2', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-y', out];
    const p = spawn(ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    p.on('error', reject);
    p.stdin.on('error', () => undefined); // ffmpeg exiting early surfaces through its exit code
    p.on('close', (code) => (code === 0 ? resolvePromise() : reject(new Error(`ffmpeg exited with ${code}: ${err.trim().split('\n').pop() ?? ''}`))));
    for (const j of jpegs) p.stdin.write(j);
    p.stdin.end();
  });
}
