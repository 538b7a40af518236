import { spawn, type ChildProcess } from 'node:child_process';
import type { LiveSource } from './source.ts';
import { scrubberFor } from './scrub.ts';

/** How an encoder's ffmpeg ended; `stderr` is its last output, credentials scrubbed. */
export interface EncoderExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when `stop()` asked for it. */
  stopped: boolean;
  stderr: string;
}

const STDERR_TAIL = 4096;
const KILL_AFTER_MS = 3000;

/**
 * One ffmpeg turning a camera into MPEG-1 video in MPEG-TS on stdout, the stream JSMpeg
 * plays (node-rtsp-stream's muxer asks for the same). Nothing of it listens on a port;
 * its output goes only to `onChunk`.
 */
export class Mpeg1Encoder {
  /** Resolves once ffmpeg runs; rejects when it cannot be started. */
  readonly ready: Promise<void>;
  /** Resolves once ffmpeg has exited (or never started); never rejects. */
  readonly exited: Promise<EncoderExit>;
  private readonly child: ChildProcess;
  private stopped = false;
  private stderr = '';

  constructor(src: LiveSource, opts: { ffmpegPath: string; width: number }, onChunk: (chunk: Buffer) => void) {
    const scrub = scrubberFor(src.url);
    this.child = spawn(opts.ffmpegPath, ffmpegArgs(src, opts.width), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', onChunk);
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-STDERR_TAIL)));
    let failed: (e: Error) => void = () => undefined;
    this.ready = new Promise((resolve, reject) => {
      this.child.once('spawn', resolve);
      failed = reject;
    });
    this.ready.catch(() => undefined); // the owner awaits it; this only marks it handled
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) =>
        // A cut tail starts mid-line, maybe mid-URL: drop that line before scrubbing.
        resolve({ code, signal, stopped: this.stopped, stderr: scrub(this.stderr.length < STDERR_TAIL ? this.stderr : this.stderr.replace(/^[^\n]*\n?/, '')).trim() });
      this.child.once('close', done);
      // Kept for the process's life: a later failure (say, to signal it) must not go uncaught.
      this.child.on('error', (e: NodeJS.ErrnoException) => {
        if (this.child.pid !== undefined) return;
        // A fresh error: Node's own carries `spawnargs`, the camera URL among them.
        failed(new Error(`ffmpeg could not start (${e.code ?? e.message})`));
        done(null, null);
      });
    });
  }

  /** SIGTERM, then SIGKILL if ffmpeg lingers; resolves once it has exited. */
  stop(): Promise<EncoderExit> {
    this.stopped = true;
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined) {
      this.child.kill('SIGTERM');
      const kill = setTimeout(() => this.child.kill('SIGKILL'), KILL_AFTER_MS);
      void this.exited.then(() => clearTimeout(kill));
    }
    return this.exited;
  }
}

function ffmpegArgs(src: LiveSource, width: number): string[] {
  const file = src.url.startsWith('file://');
  // Looped files (demo and replay cameras) play in real time, as ingest reads them.
  const input = src.url.startsWith('rtsp') ? ['-rtsp_transport', src.transport] : file ? ['-re', '-stream_loop', '-1'] : [];
  const url = file ? decodeURIComponent(src.url.slice('file://'.length)) : src.url;
  return [
    ...['-nostdin', '-hide_banner', '-loglevel', 'error', ...input, '-i', url],
    ...['-an', '-f', 'mpegts', '-codec:v', 'mpeg1video', '-vf', `scale=${width}:-2`, '-b:v', '1200k', '-bf', '0'],
    ...['-r', '25', '-'], // MPEG-1 knows only a few rates (23.976 … 60): not 10 or 15
  ];
}
