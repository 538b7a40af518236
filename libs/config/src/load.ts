import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError, formatPath, type ConfigIssue } from './errors.ts';
import { substituteEnv, type EnvIssue } from './env.ts';
import { ConfigSchema, type RawConfig } from './schema.ts';
import { parseDuration } from './duration.ts';
import type { VigilConfig } from './types.ts';

/** The most frames one question may carry: bounds the model server's memory per request. */
export const MAX_FRAMES_PER_WINDOW = 128;

/** Reads, validates and normalises a config file. Throws ConfigError listing every issue. */
export function loadConfig(file: string, env: Record<string, string | undefined> = process.env): VigilConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [{ path: '', message: `cannot read file: ${(e as Error).message}` }]);
  }
  return parseConfig(text, file, env);
}

/** As `loadConfig`, from text already in memory (`file` names it in errors). */
export function parseConfig(text: string, file: string, env: Record<string, string | undefined> = process.env): VigilConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ path: '', message: e.message.split('\n')[0] ?? e.message, line: lines.linePos(e.pos[0]).line })),
    );
  }
  const lineOf = (path: (string | number)[]) => lineAt(doc, lines, path);
  const envIssues: EnvIssue[] = [];
  const raw = substituteEnv(doc.toJS() ?? {}, env, envIssues);
  const issues: ConfigIssue[] = envIssues.map((i) => ({ path: formatPath(i.path), message: i.message, line: lineOf(i.path) }));
  const parsed = ConfigSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) issues.push(...parsed.error.issues.map((i) => toIssue(i, lineOf)));
  else issues.push(...crossCheck(parsed.data, lineOf));
  if (issues.length > 0 || !parsed.success) throw new ConfigError(file, dedupe(issues));
  return normalize(parsed.data);
}

function toIssue(i: z.core.$ZodIssue, lineOf: (p: (string | number)[]) => number | undefined): ConfigIssue {
  const path = i.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (i.code === 'unrecognized_keys') {
    const keys = i.keys.map((k) => `"${k}"`).join(', ');
    return { path: formatPath(path), message: `unknown key ${keys}`, line: lineOf([...path, i.keys[0] ?? '']) ?? lineOf(path) };
  }
  let message = i.message;
  if (i.code === 'invalid_type' && i.input === undefined) message = 'is required';
  else if (i.code === 'invalid_value' && 'values' in i) message = `expected one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(i.input)}`;
  else if (i.input !== undefined && typeof i.input !== 'object') message += ` (got ${JSON.stringify(i.input)})`;
  return { path: formatPath(path), message, line: lineOf(path) };
}

/** Rules that span fields: unique ids, known cameras, compilable patterns, bounded windows. */
function crossCheck(c: RawConfig, lineOf: (p: (string | number)[]) => number | undefined): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const at = (path: (string | number)[], message: string) => issues.push({ path: formatPath(path), message, line: lineOf(path) });
  const cameras = new Map<string, RawConfig['cameras'][number]>();
  c.cameras.forEach((cam, i) => {
    if (cameras.has(cam.id)) at(['cameras', i, 'id'], `duplicate camera id "${cam.id}"`);
    cameras.set(cam.id, cam);
  });
  const queryIds = new Set<string>();
  c.queries.forEach((q, i) => {
    if (queryIds.has(q.id)) at(['queries', i, 'id'], `duplicate query id "${q.id}"`);
    queryIds.add(q.id);
    q.cameras.forEach((camId, j) => {
      if (!cameras.has(camId)) at(['queries', i, 'cameras', j], `unknown camera "${camId}" (known: ${[...cameras.keys()].join(', ')})`);
    });
    try {
      new RegExp(q.alert_when, 'i');
    } catch (e) {
      at(['queries', i, 'alert_when'], `not a valid regular expression: ${(e as Error).message}`);
    }
    const windowMs = parseDuration(q.window);
    if (windowMs < 1000) at(['queries', i, 'window'], `must be at least 1s (got "${q.window}")`);
    if (parseDuration(q.every) < 250) at(['queries', i, 'every'], `must be at least 250ms (got "${q.every}")`);
    for (const camId of q.cameras) {
      const cam = cameras.get(camId);
      if (cam && (windowMs / 1000) * cam.fps > MAX_FRAMES_PER_WINDOW) {
        at(['queries', i, 'window'], `"${q.window}" at camera ${camId}'s ${cam.fps} fps is more than ${MAX_FRAMES_PER_WINDOW} frames`);
        break;
      }
    }
  });
  if (parseDuration(c.infer.buffer) < Math.max(0, ...c.queries.map((q) => parseDuration(q.window)))) {
    at(['infer', 'buffer'], 'must be at least as long as the longest query window');
  }
  return issues;
}

function normalize(c: RawConfig): VigilConfig {
  return {
    site: c.site,
    model: {
      endpoints: c.model.endpoints.filter((e) => e !== '').map((e) => e.replace(/\/+$/, '').replace(/\/v1$/, '')),
      profile: c.model.profile,
      modelId: c.model.model_id,
      apiKey: c.model.api_key,
      timeoutMs: parseDuration(c.model.timeout),
      maxTokens: c.model.max_tokens,
    },
    dataDir: c.data_dir,
    kafka: c.kafka && { brokers: c.kafka.brokers, clientId: c.kafka.client_id },
    postgres: c.postgres && { url: c.postgres.url },
    redis: c.redis && { url: c.redis.url, prefix: c.redis.prefix },
    nats: c.nats && { url: c.nats.url },
    http: { port: c.http.port, host: c.http.host },
    ingest: { metricsPort: c.ingest.metrics_port, chunkMs: parseDuration(c.ingest.chunk), ffmpegPath: c.ingest.ffmpeg_path },
    infer: { metricsPort: c.infer.metrics_port, bufferMs: parseDuration(c.infer.buffer), concurrency: c.infer.concurrency },
    cameras: c.cameras.map((cam) => ({
      id: cam.id,
      name: cam.name ?? cam.id,
      site: cam.site ?? c.site,
      url: cam.url,
      transport: cam.transport,
      fps: cam.fps,
      width: cam.width,
    })),
    queries: c.queries.map((q) => ({
      id: q.id,
      cameras: q.cameras,
      question: q.question,
      windowMs: parseDuration(q.window),
      everyMs: parseDuration(q.every),
      alertWhen: new RegExp(q.alert_when, 'i'),
      severity: q.severity,
    })),
  };
}

/** Line (1-based) of the deepest node along `path` that exists in the document. */
function lineAt(doc: Document, lines: LineCounter, path: (string | number)[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}|${i.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}
