import { z } from 'zod';
import { DURATION_PATTERN } from './duration.ts';
import { AlertWhenSchema, BudgetSchema, CameraSelectorSchema, EndpointSchema, OnnxSchema, QueryModelSchema, SamplingSchema, ScheduleSchema, TriggerSchema, ZoneSchema } from './inference.ts';

/**
 * The YAML config as users write it. Unknown keys are rejected everywhere so a typo
 * never silently falls back to a default. Durations stay strings here (so the JSON
 * Schema can describe them); `normalize` turns them into milliseconds.
 */
const duration = z.string().regex(new RegExp(DURATION_PATTERN), { error: 'expected a duration like "8s"' });
const id = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, { error: 'expected an id of letters, digits, "-", "_" or "." (at most 64)' });
// Ports may come from ${ENV} substitution, which yields strings: accept digits too.
const port = z.preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v), z.number().int().min(0).max(65535));

export const ModelProfiles = ['cosmos-reason1', 'cosmos-reason2', 'openai-frames'] as const;

export const ModelSchema = z.strictObject({
  // An empty entry (e.g. an unset "${VIGIL_MODEL_URL:-}") is dropped; no endpoint at all
  // means no model server yet: queries wait for one instead of failing.
  // An entry is a URL or { url, max_in_flight, api_key }.
  endpoints: z.array(EndpointSchema).default([]),
  profile: z.enum(ModelProfiles).default('cosmos-reason1'),
  /** Served model id; read from GET /v1/models when absent. */
  model_id: z.string().min(1).optional(),
  api_key: z.string().optional(),
  timeout: duration.default('120s'),
  max_tokens: z.number().int().min(16).max(32768).default(4096),
  /** Overrides of the profile's sampling (the model card's by default). */
  sampling: SamplingSchema.optional(),
  budget: BudgetSchema.optional(),
  /**
   * Questions about the same frames (same camera, window end and length, fps and profile): `prefix`
   * sends them back to back to one endpoint with the video first and the question last, so
   * the server's prefix cache prefills the video once; `fused` asks them in one request (one
   * answer per question in a JSON object; for servers without a prefix cache); `none` sends
   * each on its own.
   */
  share: z.enum(['prefix', 'fused', 'none']).default('prefix'),
});

export const CameraSchema = z.strictObject({
  id,
  name: z.string().optional(),
  site: z.string().optional(),
  url: z.string().regex(/^(rtsps?|https?|file):\/\//, { error: 'expected an rtsp://, rtsps://, http(s):// or file:// URL' }),
  transport: z.enum(['tcp', 'udp']).default('tcp'),
  fps: z.number().positive().max(30).default(4),
  width: z.number().int().min(64).max(3840).default(640),
  /** Credentials, if not in the URL (they replace any there); kept out of logs and status. */
  username: z.string().min(1).optional(),
  password: z.string().optional(),
  /** Hardware decoding, passed to ffmpeg as `-hwaccel` (ingest's packet decoders too, under `on_demand`). */
  hwaccel: z.enum(['none', 'auto', 'cuda', 'vaapi']).default('none'),
  /**
   * `on_demand`: ingest keeps the compressed stream, decodes keyframes for the triggers and
   * the full stream only while a query looks; `continuous`: ingest decodes every
   * frame all the time (MJPEG or other codecs than H.264/H.265 fall back to it). Default: `ingest.decode`.
   */
  decode: z.enum(['on_demand', 'continuous']).optional(),
  /** Under `on_demand`, the trigger stage sees every Nth keyframe while the camera is quiet (packets dropped before the decoder). */
  keyframe_every: z.number().int().min(1).max(10).default(1),
  /**
   * Under `on_demand`: the camera's low-resolution substream, decoded continuously at
   * `detect_fps` for the trigger stage instead of the main stream's keyframes (Frigate's
   * `detect` role). The camera's username/password apply to it too.
   */
  detect_url: z.string().regex(/^(rtsps?|https?|file):\/\//, { error: 'expected an rtsp://, rtsps://, http(s):// or file:// URL' }).optional(),
  detect_fps: z.number().positive().max(10).default(2),
  /** Extra ffmpeg input options, placed just before `-i` (e.g. ["-probesize", "500000"]). */
  input_args: z
    .array(z.string())
    .refine((a) => !a.includes('-i'), { error: 'must not contain "-i": the URL is the input' })
    .default([]),
  /** No frame for this long restarts ffmpeg and marks the camera offline. */
  stall_timeout: duration.default('10s'),
  /** Free-form labels carried in the camera's status (zone, floor, owner…). */
  tags: z.array(z.string().min(1)).default([]),
  /** Named polygons in relative coordinates, for zone triggers and `{zone}` in questions. */
  zones: z.array(ZoneSchema).default([]),
});

export const QuerySchema = z.strictObject({
  id,
  /** Camera ids, or a selector `{ tags, site }`. */
  cameras: CameraSelectorSchema,
  /** May use {camera}, {site} and {zone}. */
  question: z.string().min(1),
  window: duration,
  every: duration,
  /** Frames per second of the window sent to the model (a frame budget): at most the camera's fps, which it defaults to. */
  fps: z.number().positive().max(30).optional(),
  schedule: ScheduleSchema.optional(),
  trigger: TriggerSchema.default('always'),
  /**
   * The zone (a name from each selected camera's `zones`) the question is about, for triggers
   * without one (`always`, `schedule`); with a zone trigger it may repeat the trigger's zone.
   */
  zone: z.string().min(1).optional(),
  /**
   * How the model learns where the zone is: `name` only names it in the question (`{zone}`);
   * `outline` also draws the zone's polygon in yellow on every frame sent, and `{zone}` reads
   * "<zone> (the area inside the yellow outline)"; `crop` sends the zone's box (padded) cut
   * from the camera's full-resolution picture instead of the whole scene, at about the same
   * pixels (more detail for the same tokens).
   */
  zone_view: z.enum(['name', 'outline', 'crop']).default('name'),
  alert_when: AlertWhenSchema.default('^\\s*yes'),
  model: QueryModelSchema.optional(),
  severity: z.enum(['low', 'medium', 'high', 'critical']).default('medium'),
  /** Positive answers this close together belong to one incident; this long quiet closes it. */
  cooldown: duration.default('60s'),
  /** An incident opens when `need` of the last `of` windows (on capture time) are positive; absent: the first positive opens it. */
  confirm: z
    .strictObject({ of: z.number().int().min(1).max(20), need: z.number().int().min(1).max(20) })
    .refine((c) => c.need <= c.of, { error: '`need` must be at most `of`' })
    .optional(),
  /** An open episode may close after this many negative windows in a row (the cooldown stays the upper bound). */
  clear_after: z.number().int().min(1).max(100).optional(),
  /**
   * The id of another query this one shadows: asked and recorded like any query, its would-be
   * incidents kept apart (no webhooks, MQTT or live events), its answers compared with that query's.
   */
  shadow: z.string().min(1).optional(),
});

// Sizes like "500MB", "10GB" (powers of 1024).
const size = z.string().regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB)$/i, { error: 'expected a size like "500MB" or "10GB"' });

export const WebhookSchema = z.strictObject({
  id,
  url: z.string().regex(/^https?:\/\/\S+$/, { error: 'expected an http(s) URL' }),
  /** Sent as `Authorization: Bearer <token>`; never logged or shown by the API. */
  token: z.string().optional(), // empty (an unset ${VAR:-}) means none
  /** Query ids this webhook fires for; absent means every query (a global webhook). */
  queries: z.array(z.string()).optional(),
  /** `ack` and `resolve`: an operator acknowledged or resolved an incident of these queries. */
  events: z.array(z.enum(['open', 'update', 'close', 'ack', 'resolve', 'camera-offline'])).min(1).default(['open']),
  /** JSON body; string values may hold {{camera}}, {{query}}, {{answer}}, {{started_at}}… Absent: the incident. */
  template: z.json().optional(),
  max_attempts: z.number().int().min(1).max(100).default(8),
  /** First retry delay; doubles per attempt up to 5 minutes. */
  backoff: duration.default('1s'),
});

export const AlertsSchema = z.strictObject({
  /** A camera offline this long becomes an incident of its own. */
  offline_grace: duration.default('60s'),
  evidence: z
    .strictObject({
      /** Folder for key frames and clips; default <data_dir>/evidence. Share it between alerts replicas. */
      dir: z.string().min(1).optional(),
      max_age: duration.default('720h'),
      max_size: size.default('10GB'),
      key_frames: z.number().int().min(1).max(32).default(3),
      clip: z.boolean().default(true),
    })
    .default({ max_age: '720h', max_size: '10GB', key_frames: 3, clip: true }),
  /** The window audit (every window decided, `GET /api/windows`): kept this long, dropped a day at a time. */
  audit: z.strictObject({ retention: duration.default('168h') }).default({ retention: '168h' }),
  /** The dashboard's live view (a relay per watched camera, MPEG-1 at 25 fps for JSMpeg): its width. */
  live_view: z.strictObject({ width: z.number().int().min(160).max(1920).default(960) }).default({ width: 960 }),
  /** API tokens; when any is set, REST and Socket.IO require one. */
  tokens: z.array(z.strictObject({ name: id, token: z.string().min(16, { error: 'use at least 16 characters' }), role: z.enum(['read', 'admin']) })).default([]),
  webhooks: z.array(WebhookSchema).default([]),
});

/** MQTT (Home Assistant and friends): incidents, states and camera status published; commands taken. */
export const MqttSchema = z.strictObject({
  url: z.string().regex(/^(mqtts?|wss?):\/\/[^\s@/]+(:\d+)?(\/\S*)?$/, { error: 'expected an mqtt://, mqtts://, ws:// or wss:// URL without credentials (use username and password)' }),
  username: z.string().optional(),
  /** Never logged or shown; use ${ENV}. */
  password: z.string().optional(),
  client_id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'expected 1-64 letters, digits, "_", "." or "-"' }).optional(),
  /** Every Vigil topic starts with it (several sites on one broker: one prefix each). */
  topic_prefix: z.string().regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, { error: 'expected topic levels of letters, digits, "_" or "-" (no wildcards, no leading or trailing "/")' }).default('vigil'),
  qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
  tls: z
    .strictObject({ ca: z.string().min(1).optional(), cert: z.string().min(1).optional(), key: z.string().min(1).optional(), reject_unauthorized: z.boolean().default(true) })
    .optional(),
  /** Home Assistant MQTT discovery, retained under `prefix` (false: none). */
  discovery: z.strictObject({ enabled: z.boolean().default(true), prefix: z.string().regex(/^[A-Za-z0-9_-]+$/).default('homeassistant') }).default({ enabled: true, prefix: 'homeassistant' }),
  /** Ask, acknowledge and resolve over MQTT (admin actions: restrict them with broker ACLs, or turn them off). */
  commands: z.boolean().default(true),
  /** Messages kept while the broker is away; beyond it the oldest are dropped and counted. */
  max_queued: z.number().int().min(1).max(100_000).default(1000),
});

export const ConfigSchema = z.strictObject({
  site: z.string().optional(),
  model: ModelSchema,
  /** Where standalone mode keeps its embedded database, evidence and lock file. */
  data_dir: z.string().min(1).default('./data'),
  // Each outside system is optional: absent means the embedded stand-in (standalone mode).
  kafka: z.strictObject({ brokers: z.array(z.string().min(1)).min(1), client_id: z.string().default('vigil') }).optional(),
  postgres: z.strictObject({ url: z.string().regex(/^postgres(ql)?:\/\//, { error: 'expected a postgres:// URL' }) }).optional(),
  redis: z.strictObject({ url: z.string().regex(/^rediss?:\/\//, { error: 'expected a redis:// URL' }), prefix: z.string().default('vigil:') }).optional(),
  nats: z.strictObject({ url: z.string().regex(/^(nats|tls|ws|wss):\/\//, { error: 'expected a nats:// URL' }) }).optional(),
  /**
   * Every listener (alerts' API, ingest's and infer's ops ports) binds `host`. `allowed_hosts`:
   * names (or `.suffix` patterns) this server is reached by, besides IP addresses and localhost
   * — checked against Host with authentication off (DNS rebinding) and against Origin always.
   */
  http: z
    .strictObject({
      port: port.default(8080),
      host: z.string().default('0.0.0.0'),
      allowed_hosts: z.array(z.string().regex(/^\.?[A-Za-z0-9.-]{1,253}$/, { error: 'expected a host name like "vigil.example.com" or ".example.com"' })).default([]),
    })
    .default({ port: 8080, host: '0.0.0.0', allowed_hosts: [] }),
  ingest: z
    .strictObject({
      metrics_port: port.default(9101),
      chunk: duration.default('1s'),
      ffmpeg_path: z.string().default('ffmpeg'),
      /** Video kept per camera while Kafka is slow or down; older chunks are dropped. */
      buffer: duration.default('10s'),
      /** How cameras are read unless a camera says otherwise (see the camera's `decode`). */
      decode: z.enum(['on_demand', 'continuous']).default('continuous'),
      /** on_demand: a camera decoded in full this long without a pause is decoded by ffmpeg directly until infer stops asking; 0s: never. */
      busy_after: duration.default('60s'),
    })
    .default({ metrics_port: 9101, chunk: '1s', ffmpeg_path: 'ffmpeg', buffer: '10s', decode: 'continuous', busy_after: '60s' }),
  infer: z
    .strictObject({
      metrics_port: port.default(9102),
      buffer: duration.default('30s'),
      concurrency: z.number().int().min(1).max(1024).default(4),
      onnx: OnnxSchema.default({ provider: 'cpu', max_batch: 256, batch_wait: '50ms' }),
    })
    .default({ metrics_port: 9102, buffer: '30s', concurrency: 4, onnx: { provider: 'cpu', max_batch: 256, batch_wait: '50ms' } }),
  cameras: z.array(CameraSchema).min(1, { error: 'configure at least one camera' }),
  queries: z.array(QuerySchema).default([]),
  mqtt: MqttSchema.optional(),
  alerts: AlertsSchema.default({
    offline_grace: '60s',
    evidence: { max_age: '720h', max_size: '10GB', key_frames: 3, clip: true },
    audit: { retention: '168h' },
    live_view: { width: 960 },
    tokens: [],
    webhooks: [],
  }),
});

export type RawConfig = z.infer<typeof ConfigSchema>;

/** JSON Schema for editors (published as schema/vigil.schema.json). */
export function configJsonSchema(): object {
  return z.toJSONSchema(ConfigSchema, { io: 'input', target: 'draft-2020-12' });
}
