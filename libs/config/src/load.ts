import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError, formatPath, type ConfigIssue } from './errors.ts';
import { substituteEnv, type EnvIssue } from './env.ts';
import { ConfigSchema, type RawConfig } from './schema.ts';
import { parseDuration } from './duration.ts';
import { alertRegex, normalizeAlertWhen, normalizeEndpoints, normalizeSampling, normalizeSchedule, normalizeTrigger, selectCameras } from './inference.ts';
import { checkInference } from './inference-check.ts';
import { checkShadows } from './shadow-check.ts';
import { withCrops } from './crops.ts';
import type { VigilConfig } from './types.ts';
import { scrubber } from '@vigil/observability';
import { rawSecrets, SECRET_KEYS } from './secrets.ts';

/** The most frames one question may carry: bounds the model server's memory per request. */
export const MAX_FRAMES_PER_WINDOW = 128;

/** The outbox target of MQTT's incident events (beside the webhooks' ids). */
export const MQTT_TARGET = 'mqtt';

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
  const { raw, lineOf } = readYamlDocument(text, file);
  const checked = checkRawConfig(raw ?? {}, lineOf, env);
  if (!checked.ok) throw new ConfigError(file, checked.issues);
  return checked.config;
}

/** Line (1-based) in the YAML document of the value at `path` (or of its deepest existing parent). */
export type LineOf = (path: (string | number)[]) => number | undefined;

/** A YAML file's plain value and how to locate a path of it. */
export interface YamlDocument {
  raw: unknown;
  lineOf: LineOf;
}

/** Parses YAML text (duplicate keys rejected); throws ConfigError at the first syntax error's line:column. */
export function readYamlDocument(text: string, file: string): YamlDocument {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  // After a syntax error the parser reports every following token too: only the first helps.
  const [syntax] = doc.errors;
  if (syntax) {
    const { line, col } = lines.linePos(syntax.pos[0]);
    throw new ConfigError(file, [{ path: '', message: syntax.message.split('\n')[0] ?? syntax.message, line, column: col }]);
  }
  return { raw: doc.toJS(), lineOf: (path) => lineAt(doc, lines, path) };
}

/**
 * Validates and normalises a config's plain value (`${ENV}` not yet substituted), locating
 * issues with `lineOf`. For callers that assemble a config from more than one file.
 */
export function checkRawConfig(
  raw: unknown,
  lineOf: LineOf,
  env: Record<string, string | undefined> = process.env,
): { ok: true; config: VigilConfig } | { ok: false; issues: ConfigIssue[] } {
  const envIssues: EnvIssue[] = [];
  const substituted = substituteEnv(raw, env, envIssues);
  const issues: ConfigIssue[] = envIssues.map((i) => ({ path: formatPath(i.path), message: i.message, line: lineOf(i.path) }));
  const parsed = ConfigSchema.safeParse(substituted, { reportInput: true });
  if (!parsed.success) issues.push(...zodIssues(parsed.error, lineOf));
  else issues.push(...crossCheck(parsed.data, lineOf));
  if (issues.length > 0 || !parsed.success) {
    // Messages quote values; none may carry a secret the file (or the environment) holds.
    const scrub = scrubber(rawSecrets(substituted));
    return { ok: false, issues: dedupe(issues).map((i) => ({ ...i, message: scrub(i.message) })) };
  }
  return { ok: true, config: normalize(parsed.data) };
}

/** A zod error's issues as config issues, with the messages `vigil validate` prints. */
export function zodIssues(error: z.ZodError, lineOf: LineOf): ConfigIssue[] {
  return error.issues.map((i) => toIssue(i, lineOf));
}

function toIssue(i: z.core.$ZodIssue, lineOf: LineOf): ConfigIssue {
  const path = i.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (i.code === 'unrecognized_keys') {
    const keys = i.keys.map((k) => `"${k}"`).join(', ');
    return { path: formatPath(path), message: `unknown key ${keys}`, line: lineOf([...path, i.keys[0] ?? '']) ?? lineOf(path) };
  }
  let message = i.message;
  // The value at a secret key is never quoted back, not even a wrong one.
  const got = path.some((p) => typeof p === 'string' && SECRET_KEYS.test(p)) ? '(a secret: not shown)' : JSON.stringify(i.input);
  if (i.code === 'invalid_type' && i.input === undefined) message = 'is required';
  else if (i.code === 'invalid_value' && 'values' in i) message = `expected one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}, got ${got}`;
  else if (i.input !== undefined && typeof i.input !== 'object') message += ` (got ${got})`;
  return { path: formatPath(path), message, line: lineOf(path) };
}

/** Rules that span fields: unique ids, known cameras, compilable patterns, bounded windows. */
function crossCheck(c: RawConfig, lineOf: LineOf): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const at = (path: (string | number)[], message: string) => issues.push({ path: formatPath(path), message, line: lineOf(path) });
  const cameras = new Map<string, RawConfig['cameras'][number]>();
  c.cameras.forEach((cam, i) => {
    if (cameras.has(cam.id)) at(['cameras', i, 'id'], `duplicate camera id "${cam.id}"`);
    cameras.set(cam.id, cam);
    if ((cam.username !== undefined || cam.password !== undefined) && cam.url.startsWith('file:')) {
      at(['cameras', i, cam.username !== undefined ? 'username' : 'password'], 'credentials need a network URL (rtsp:// or http://), not file://');
    }
    if ((cam.username !== undefined || cam.password !== undefined) && cam.detect_url?.startsWith('file:')) {
      at(['cameras', i, 'detect_url'], 'credentials need a network URL (rtsp:// or http://), not file://');
    }
    if (cam.detect_url !== undefined && (cam.decode ?? c.ingest.decode) !== 'on_demand') {
      at(['cameras', i, 'detect_url'], 'only read under decode: on_demand (a continuous camera\'s trigger sees every decoded frame)');
    }
    if (parseDuration(cam.stall_timeout) < 1000) at(['cameras', i, 'stall_timeout'], `must be at least 1s (got "${cam.stall_timeout}")`);
  });
  if (parseDuration(c.ingest.buffer) < parseDuration(c.ingest.chunk)) at(['ingest', 'buffer'], 'must be at least one chunk long');
  const queryIds = new Set<string>();
  c.queries.forEach((q, i) => {
    if (queryIds.has(q.id)) at(['queries', i, 'id'], `duplicate query id "${q.id}"`);
    queryIds.add(q.id);
    const picked = selectCameras(q.cameras, c.cameras.map((cam) => ({ ...cam, site: cam.site ?? c.site })));
    if (Array.isArray(q.cameras)) {
      q.cameras.forEach((camId, j) => {
        if (!cameras.has(camId)) at(['queries', i, 'cameras', j], `unknown camera "${camId}" (known: ${[...cameras.keys()].join(', ')})`);
      });
    } else if (picked.length === 0) {
      at(['queries', i, 'cameras'], 'the selector matches no camera');
    }
    if (typeof q.alert_when === 'string') {
      try {
        new RegExp(q.alert_when, 'i');
      } catch (e) {
        at(['queries', i, 'alert_when'], `not a valid regular expression: ${(e as Error).message}`);
      }
    }
    issues.push(...checkInference(q, picked, c, cameras, (p) => lineOf(['queries', i, ...p]), ['queries', i]));
    const windowMs = parseDuration(q.window);
    if (windowMs < 1000) at(['queries', i, 'window'], `must be at least 1s (got "${q.window}")`);
    if (parseDuration(q.every) < 250) at(['queries', i, 'every'], `must be at least 250ms (got "${q.every}")`);
    for (const camId of picked) {
      const cam = cameras.get(camId);
      if (cam && q.fps !== undefined && q.fps > cam.fps) {
        at(['queries', i, 'fps'], `${q.fps} is more than camera ${camId}'s ${cam.fps} fps (ingest keeps no more frames than that)`);
        break;
      }
      const fps = Math.min(q.fps ?? Infinity, cam?.fps ?? 0);
      if (cam && (windowMs / 1000) * fps > MAX_FRAMES_PER_WINDOW) {
        const rate = q.fps === undefined ? `camera ${camId}'s ${fps} fps` : `the query's ${fps} fps`;
        at(['queries', i, 'window'], `"${q.window}" at ${rate} is more than ${MAX_FRAMES_PER_WINDOW} frames`);
        break;
      }
    }
  });
  issues.push(...checkShadows(c, lineOf));
  const webhookIds = new Set<string>();
  c.alerts.webhooks.forEach((w, i) => {
    // Incidents for MQTT go through the same outbox, under this name.
    if (w.id === MQTT_TARGET) at(['alerts', 'webhooks', i, 'id'], `"${MQTT_TARGET}" is reserved for the mqtt: section`);
    if (webhookIds.has(w.id)) at(['alerts', 'webhooks', i, 'id'], `duplicate webhook id "${w.id}"`);
    webhookIds.add(w.id);
    w.queries?.forEach((qid, j) => {
      if (!queryIds.has(qid)) at(['alerts', 'webhooks', i, 'queries', j], `unknown query "${qid}" (known: ${[...queryIds].join(', ')})`);
    });
    for (const name of templatePlaceholders(w.template)) {
      if (!TEMPLATE_FIELDS.includes(name)) at(['alerts', 'webhooks', i, 'template'], `unknown placeholder {{${name}}} (known: ${TEMPLATE_FIELDS.join(', ')})`);
    }
  });
  const tokens = new Set<string>();
  const tokenNames = new Set<string>();
  c.alerts.tokens.forEach((t, i) => {
    if (tokens.has(t.token)) at(['alerts', 'tokens', i, 'token'], 'the same token is listed twice');
    if (tokenNames.has(t.name)) at(['alerts', 'tokens', i, 'name'], `duplicate token name "${t.name}" (names say who acted)`);
    tokens.add(t.token);
    tokenNames.add(t.name);
  });
  if (parseDuration(c.infer.buffer) < Math.max(0, ...c.queries.map((q) => parseDuration(q.window)))) {
    at(['infer', 'buffer'], 'must be at least as long as the longest query window');
  }
  return issues;
}

function normalize(c: RawConfig): VigilConfig {
  return withCrops({
    site: c.site,
    model: {
      endpoints: normalizeEndpoints(c.model.endpoints).map((e) => e.url),
      endpointSettings: normalizeEndpoints(c.model.endpoints),
      sampling: normalizeSampling(c.model.sampling),
      budget: { cameraTokensPerHour: c.model.budget?.camera_tokens_per_hour, siteTokensPerHour: c.model.budget?.site_tokens_per_hour },
      share: c.model.share,
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
    http: { port: c.http.port, host: c.http.host, allowedHosts: c.http.allowed_hosts },
    ingest: {
      metricsPort: c.ingest.metrics_port,
      chunkMs: parseDuration(c.ingest.chunk),
      ffmpegPath: c.ingest.ffmpeg_path,
      bufferMs: parseDuration(c.ingest.buffer),
      decode: c.ingest.decode,
      busyAfterMs: parseDuration(c.ingest.busy_after),
    },
    infer: {
      metricsPort: c.infer.metrics_port,
      bufferMs: parseDuration(c.infer.buffer),
      concurrency: c.infer.concurrency,
      onnx: { provider: c.infer.onnx.provider, maxBatch: c.infer.onnx.max_batch, batchWaitMs: parseDuration(c.infer.onnx.batch_wait), detector: c.infer.onnx.detector },
    },
    cameras: c.cameras.map((cam) => ({
      id: cam.id,
      name: cam.name ?? cam.id,
      site: cam.site ?? c.site,
      url: cam.url,
      transport: cam.transport,
      fps: cam.fps,
      width: cam.width,
      username: cam.username,
      password: cam.password,
      hwaccel: cam.hwaccel,
      decode: cam.decode ?? c.ingest.decode,
      keyframeEvery: cam.keyframe_every,
      detectUrl: cam.detect_url,
      detectFps: cam.detect_fps,
      inputArgs: cam.input_args,
      stallTimeoutMs: parseDuration(cam.stall_timeout),
      tags: cam.tags,
      zones: cam.zones,
    })),
    queries: c.queries.map((q) => ({
      id: q.id,
      cameras: selectCameras(q.cameras, c.cameras.map((cam) => ({ ...cam, site: cam.site ?? c.site }))),
      question: q.question,
      windowMs: parseDuration(q.window),
      everyMs: parseDuration(q.every),
      fps: q.fps,
      alertWhen: alertRegex(normalizeAlertWhen(q.alert_when)),
      alert: normalizeAlertWhen(q.alert_when),
      schedule: q.schedule && normalizeSchedule(q.schedule),
      trigger: normalizeTrigger(q.trigger),
      zone: q.zone ?? normalizeTrigger(q.trigger).zone,
      zoneView: q.zone_view,
      model: { profile: q.model?.profile, maxTokens: q.model?.max_tokens, sampling: normalizeSampling(q.model) },
      severity: q.severity,
      cooldownMs: parseDuration(q.cooldown),
      confirm: q.confirm,
      clearAfter: q.clear_after,
      shadow: q.shadow,
    })),
    alerts: {
      offlineGraceMs: parseDuration(c.alerts.offline_grace),
      evidence: {
        dir: c.alerts.evidence.dir ?? join(c.data_dir, 'evidence'),
        maxAgeMs: parseDuration(c.alerts.evidence.max_age),
        maxBytes: parseSize(c.alerts.evidence.max_size),
        keyFrames: c.alerts.evidence.key_frames,
        clip: c.alerts.evidence.clip,
      },
      audit: { retentionMs: parseDuration(c.alerts.audit.retention) },
      liveView: { width: c.alerts.live_view.width },
      tokens: c.alerts.tokens,
      webhooks: c.alerts.webhooks.map((w) => ({
        id: w.id,
        url: w.url,
        token: w.token || undefined,
        queries: w.queries,
        events: w.events,
        template: w.template,
        maxAttempts: w.max_attempts,
        backoffMs: parseDuration(w.backoff),
      })),
    },
    mqtt: c.mqtt && {
      url: c.mqtt.url,
      username: c.mqtt.username || undefined,
      password: c.mqtt.password || undefined,
      clientId: c.mqtt.client_id,
      topicPrefix: c.mqtt.topic_prefix,
      qos: c.mqtt.qos,
      tls: c.mqtt.tls && { ca: c.mqtt.tls.ca, cert: c.mqtt.tls.cert, key: c.mqtt.tls.key, rejectUnauthorized: c.mqtt.tls.reject_unauthorized },
      discovery: c.mqtt.discovery,
      commands: c.mqtt.commands,
      maxQueued: c.mqtt.max_queued,
    },
  });
}

/** Fields a webhook template may name as {{field}}. */
export const TEMPLATE_FIELDS = ['id', 'event', 'kind', 'camera', 'camera_name', 'site', 'query', 'question', 'answer', 'reasoning', 'severity', 'state', 'started_at', 'ended_at', 'url', 'by', 'note'];

/** Every {{name}} in the string values of a JSON template. */
export function templatePlaceholders(t: unknown): string[] {
  if (typeof t === 'string') return [...t.matchAll(/\{\{\s*([a-z_]+)\s*\}\}/g)].map((m) => m[1]!);
  if (Array.isArray(t)) return t.flatMap(templatePlaceholders);
  if (t && typeof t === 'object') return Object.values(t).flatMap(templatePlaceholders);
  return [];
}

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)$/i.exec(s.trim())!;
  return Math.round(Number(m[1]) * 1024 ** ['B', 'KB', 'MB', 'GB', 'TB'].indexOf(m[2]!.toUpperCase()));
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
