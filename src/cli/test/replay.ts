import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import type { VigilConfig } from '@vigil/config';
import type { Finding, FrameChunk } from '@vigil/contracts';
import { clipArgs, FrameGroups, JpegSplitter, jpegSize } from '@vigil/media';
import type { ModelClient } from '@vigil/model';
import type { Logger } from '@vigil/observability';
import { keepsWindows, type IncidentStore } from '@vigil/store';
import { InferReplay } from '@vigil/infer';
import { AlertPolicy } from '@vigil/alerts';
import type { CaseResult, IncidentRecord, SuiteCase, WindowRecord } from './types.ts';

/** A clip ffmpeg could not read (exit 2: the suite is wrong, not the queries). */
export class ClipError extends Error {}

/** One version of the config under test, with where its incidents are kept apart from the others'. */
export interface Variant {
  config: VigilConfig;
  /** Prefix for camera ids in the shared incident store: each case × variant has episodes of its own. */
  namespace: string;
}

/** The case's camera alone, decoded continuously, with the queries that look at it. */
export function caseConfig(config: VigilConfig, cameraId: string): VigilConfig {
  const camera = config.cameras.find((c) => c.id === cameraId);
  if (!camera) throw new ClipError(`camera "${cameraId}" is not in the config`);
  return {
    ...config,
    cameras: [{ ...camera, decode: 'continuous' }],
    queries: config.queries.filter((q) => q.cameras.includes(cameraId)).map((q) => ({ ...q, cameras: [cameraId] })),
  };
}

/**
 * Replays one case's clip through infer's decision path for each variant (the frames are
 * decoded once and fed to all), then folds the positive findings into incidents with the
 * alerts service's own episode rules (cooldown, capture time) in `store`.
 */
export async function replayCase(c: SuiteCase, variants: Variant[], opts: { model?: ModelClient; store: IncidentStore; log: Logger }): Promise<CaseResult[]> {
  const configs = variants.map((v) => caseConfig(v.config, c.camera));
  // Every variant's crops are cut in the one decode (a candidate may crop where the config does not).
  const crops = [...new Map(configs.flatMap((cfg) => cfg.cameras[0]!.crops ?? []).map((v) => [v.zone, v])).values()];
  const camera = { ...configs[0]!.cameras[0]!, crops };
  const replays: InferReplay[] = [];
  try {
    for (const config of configs) replays.push(await InferReplay.open(config, { model: opts.model, log: opts.log }));
    for await (const chunk of clipChunks(c, camera, configs[0]!.ingest.chunkMs, configs[0]!.ingest.ffmpegPath)) {
      await Promise.all(replays.map((r) => r.feed(chunk)));
    }
    await Promise.all(replays.map((r) => r.finish()));
    const out: CaseResult[] = [];
    for (const [i, r] of replays.entries()) {
      const config = configs[i]!;
      out.push({
        case: c,
        incidents: await incidents(r.findings, c, variants[i]!.namespace, new AlertPolicy(config), opts.store),
        windows: windows(r.findings, c.start),
        skipped: await r.skipped(),
        windowMs: Object.fromEntries(config.queries.map((q) => [q.id, q.windowMs])),
        queries: config.queries.map((q) => q.id),
      });
    }
    return out;
  } finally {
    for (const r of replays) await r.close();
  }
}

/**
 * The clip as a camera's chunks: ffmpeg decodes it as fast as it can (no real-time pacing)
 * into the same 640 px JPEGs ingest makes; frame n is captured at start + n / fps. Reading
 * is paused while a chunk is being planned (the pipe's own backpressure).
 */
async function* clipChunks(c: SuiteCase, camera: VigilConfig['cameras'][number], chunkMs: number, ffmpegPath: string): AsyncGenerator<FrameChunk> {
  const crops = camera.crops ?? [];
  const child = spawn(ffmpegPath, clipArgs(c.clip, { fps: camera.fps, width: camera.width, crops: crops.map((v) => v.box) }, camera.hwaccel), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => resolve(code));
    child.on('error', (e) => {
      stderr += e.message;
      resolve(-1);
    });
  });
  const splitter = new JpegSplitter();
  const groups = new FrameGroups(crops.length);
  const perChunk = Math.max(1, Math.round((chunkMs / 1000) * camera.fps));
  let n = 0;
  let seq = 0;
  let frames: FrameChunk['frames'] = [];
  let size: { width: number; height: number } | undefined;
  const chunk = (): FrameChunk => ({ cameraId: camera.id, seq: seq++, width: size!.width, height: size!.height, fps: camera.fps, codec: 'jpeg', frames: frames.splice(0) });
  try {
    for await (const data of child.stdout as AsyncIterable<Buffer>) {
      for (const out of splitter.push(data)) {
        const group = groups.push(out);
        if (!group) continue;
        const jpeg = group.picture;
        size ??= jpegSize(jpeg);
        if (!size) throw new ClipError(`${basename(c.clip)}: ffmpeg wrote something that is not a JPEG`);
        const frame: FrameChunk['frames'][number] = { capturedAt: c.start + Math.round((n * 1000) / camera.fps), streamTime: n / camera.fps, jpeg };
        if (crops.length > 0) frame.crops = new Map(crops.map((v, i) => [v.zone, group.crops[i]!]));
        frames.push(frame);
        n++;
        if (frames.length >= perChunk) yield chunk();
      }
    }
    if (frames.length > 0) yield chunk();
    const code = await exited;
    if (code !== 0 || n === 0) {
      const why = stderr.trim().split('\n').pop() || `ffmpeg exited with ${code}`;
      throw new ClipError(`cannot read clip ${c.clip}: ${n === 0 ? 'no video frames' : why}${n === 0 && stderr ? ` (${why})` : ''}`);
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

/** Asked windows in clip time. */
function windows(findings: Finding[], start: number): WindowRecord[] {
  return findings
    .map((f) => ({ query: f.queryId, start: f.windowStart - start, end: f.windowEnd - start, status: f.status, verdict: f.verdict, answer: f.answer, tokens: f.usage.promptTokens + f.usage.completionTokens }))
    .sort((a, b) => a.start - b.start || a.query.localeCompare(b.query));
}

/**
 * Positive findings in capture order through the store's episode rules (what alerts does
 * with them); the incidents they opened, in clip time.
 */
async function incidents(findings: Finding[], c: SuiteCase, namespace: string, policy: AlertPolicy, store: IncidentStore): Promise<IncidentRecord[]> {
  const ordered = [...findings].sort((a, b) => a.windowEnd - b.windowEnd || a.id.localeCompare(b.id));
  const out: IncidentRecord[] = [];
  for (const f of ordered) {
    // Each case × variant keeps its own episodes: the same camera in another case is another recording.
    const scoped = { ...f, cameraId: `${namespace}${f.cameraId}`, id: `${namespace}${f.id}` };
    const p = policy.forFinding(f.cameraId, f.queryId);
    if (!f.verdict) {
      // As alerts does: a query with `confirm` or `clear_after` counts its answered "no" windows.
      if (keepsWindows(p) && f.status === 'ok') await store.recordNegative(scoped, p);
      continue;
    }
    const r = await store.recordFinding(scoped, p);
    if (r.outcome !== 'opened') continue;
    // A confirmed incident starts at its first confirming window; time to alert is when it opened.
    const first = r.incident.confirmed_by?.[0];
    const opener = first ? (ordered.find((x) => `${namespace}${x.id}` === first) ?? f) : f;
    out.push({ query: f.queryId, id: r.incident.id, firstWindowStart: opener.windowStart - c.start, firstWindowEnd: f.windowEnd - c.start });
  }
  return out;
}
