import type { ModelProfiles } from './schema.ts';
import type { AlertRule, EndpointConfig, SamplingConfig, ScheduleConfig, TriggerConfig } from './inference.ts';

/** Config as the services receive it: validated, defaults applied, durations in ms. */
export interface VigilConfig {
  site?: string;
  model: {
    endpoints: string[];
    profile: (typeof ModelProfiles)[number];
    modelId?: string;
    apiKey?: string;
    timeoutMs: number;
    maxTokens: number;
    /** The same endpoints with their own in-flight limits and keys. */
    endpointSettings: EndpointConfig[];
    sampling: SamplingConfig;
    budget: { cameraTokensPerHour?: number; siteTokensPerHour?: number };
    /** How questions about the same frames are sent (see the schema). */
    share: 'prefix' | 'fused' | 'none';
  };
  dataDir: string;
  /** Absent: the in-process bus (standalone mode). */
  kafka?: { brokers: string[]; clientId: string };
  /** Absent: embedded PGlite under dataDir. */
  postgres?: { url: string };
  /** Absent: shared state in memory. */
  redis?: { url: string; prefix: string };
  /** Absent: control plane in-process. */
  nats?: { url: string };
  /** Every listener binds `host`; `allowedHosts` see @vigil/edge `RequestGuard`. */
  http: { port: number; host: string; allowedHosts: string[] };
  ingest: { metricsPort: number; chunkMs: number; ffmpegPath: string; bufferMs: number; decode: 'on_demand' | 'continuous'; busyAfterMs: number };
  infer: {
    metricsPort: number;
    bufferMs: number;
    /** Default in-flight limit of an endpoint that sets none. */
    concurrency: number;
    onnx: {
      provider: 'cpu' | 'cuda';
      maxBatch: number;
      batchWaitMs: number;
      detector?: { model: string; input: number; labels: string[]; score: number; iou: number };
    };
  };
  cameras: CameraConfig[];
  queries: QueryConfig[];
  alerts: AlertsConfig;
  /** Absent: no MQTT. */
  mqtt?: MqttConfig;
}

export interface MqttConfig {
  url: string;
  username?: string;
  /** Secret: never log it. */
  password?: string;
  clientId?: string;
  topicPrefix: string;
  qos: 0 | 1 | 2;
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean };
  discovery: { enabled: boolean; prefix: string };
  commands: boolean;
  maxQueued: number;
}

/** What alerts does beyond storing incidents: offline grace, evidence, API tokens, webhooks. */
export interface AlertsConfig {
  offlineGraceMs: number;
  evidence: { dir: string; maxAgeMs: number; maxBytes: number; keyFrames: number; clip: boolean };
  /** How long the window audit keeps windows (whole days are dropped once all of a day is older). */
  audit: { retentionMs: number };
  liveView: { width: number };
  /** Secrets: never log them. */
  tokens: { name: string; token: string; role: 'read' | 'admin' }[];
  webhooks: WebhookConfig[];
}

export interface WebhookConfig {
  id: string;
  /** May hold credentials: show it through `redactUrl`. */
  url: string;
  /** Secret: never log it. */
  token?: string;
  /** Absent: every query. */
  queries?: string[];
  events: ('open' | 'update' | 'close' | 'ack' | 'resolve' | 'camera-offline')[];
  template?: unknown;
  maxAttempts: number;
  backoffMs: number;
}

export interface CameraConfig {
  id: string;
  name: string;
  site?: string;
  /** May hold credentials: never log it, use `redactUrl`. */
  url: string;
  transport: 'tcp' | 'udp';
  fps: number;
  width: number;
  username?: string;
  /** Never log it; ingest scrubs it from anything it reports. */
  password?: string;
  hwaccel: 'none' | 'auto' | 'cuda' | 'vaapi';
  /** `on_demand`: ingest sends packets, infer decodes what is looked at; `continuous`: ingest sends JPEG frames. */
  decode: 'on_demand' | 'continuous';
  /** Under `on_demand`: the trigger stage sees every Nth keyframe. */
  keyframeEvery: number;
  /** Under `on_demand`: a substream decoded for the trigger stage instead of keyframes. May hold credentials: never log it. */
  detectUrl?: string;
  detectFps: number;
  inputArgs: string[];
  stallTimeoutMs: number;
  tags: string[];
  /** Named polygons, relative coordinates (0..1). */
  zones: { name: string; polygon: [number, number][] }[];
  /**
   * Zones ingest cuts from the full-resolution picture beside each frame, for the queries
   * with `zone_view: crop` that watch this camera (derived; absent: none).
   */
  crops?: CropView[];
}

/** A zone cut from a camera's full-resolution picture: its bounding box, padded, relative coordinates. */
export interface CropView {
  zone: string;
  box: { x: number; y: number; w: number; h: number };
}

export interface QueryConfig {
  id: string;
  cameras: string[];
  question: string;
  windowMs: number;
  everyMs: number;
  /** Frames per second sent to the model; undefined: the camera's fps (every frame ingest keeps). */
  fps?: number;
  /** The regex form of `alert`; never matches a JSON rule. */
  alertWhen: RegExp;
  alert: AlertRule;
  schedule?: ScheduleConfig;
  trigger: TriggerConfig;
  /** The zone the question is about: the query's `zone:`, else its trigger's zone. */
  zone?: string;
  /**
   * How the model sees `zone`: named only; `outline`: its polygon drawn on the frames;
   * `crop`: its box cut from the full-resolution picture (CameraConfig.crops).
   */
  zoneView: 'name' | 'outline' | 'crop';
  /** Per-query model overrides. */
  model: { profile?: (typeof ModelProfiles)[number]; maxTokens?: number; sampling: SamplingConfig };
  severity: 'low' | 'medium' | 'high' | 'critical';
  /** Absent only in hand-built configs: 60 s. */
  cooldownMs?: number;
  /** N-of-M confirmation before an incident opens; absent: the first positive window opens it. */
  confirm?: { of: number; need: number };
  /** Negative windows in a row after which an open episode closes (before its cooldown). */
  clearAfter?: number;
  /** The query this one shadows: its incidents are recorded apart and never announced (README, "Shadow queries"). */
  shadow?: string;
}
