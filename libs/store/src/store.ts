import type { NewLabel, LabelSearch } from './labels.ts';
import type { CameraStatus, Finding, Incident, IncidentState, Label, ShadowDifferencePage, ShadowSummary, SkipRun, StoredCameraStatus, WebhookDelivery, WindowPage, WindowStatus } from '@vigil/contracts';

export type SortOrder = 'newest' | 'oldest';

export interface IncidentSearch {
  camera?: string;
  site?: string;
  query?: string;
  severity?: string[];
  state?: IncidentState[];
  from?: Date;
  to?: Date;
  /** Full-text over question, answer and reasoning (web-search syntax: quotes, OR, -word). */
  q?: string;
  limit: number;
  cursor?: string;
  sort?: SortOrder;
}

export interface IncidentPage {
  items: Incident[];
  next_cursor: string | null;
}

/** A search of the window audit (`GET /api/windows`). */
export interface WindowSearch {
  camera?: string;
  query?: string;
  /** Windows overlapping [from, to) in capture time. */
  from?: Date;
  to?: Date;
  verdict?: boolean;
  /** Finding statuses, and `skipped` for skip runs. */
  status?: WindowStatus[];
  /** Full text over answer and reasoning (web-search syntax). */
  q?: string;
  limit: number;
  cursor?: string;
}

/** Windows starting in [from, to) (capture time); either end open. */
export interface ShadowRange {
  from?: Date;
  to?: Date;
}

/** What to do with a positive finding beyond storing it. */
export interface FindingPolicy {
  severity: string;
  site?: string;
  cooldownMs: number;
  /** The query's window: an episode closes once progress passes close_after by this much. */
  windowMs?: number;
  /** Webhook ids to enqueue deliveries for, per event. */
  webhooks: { open: string[]; update: string[]; close: string[] };
  /** The query's cadence: "the last `of` windows" are those ending within `of × everyMs`. */
  everyMs?: number;
  /** N-of-M: an episode opens when `need` of the last `of` windows are positive. */
  confirm?: { of: number; need: number };
  /** An open episode closes after this many negative windows in a row. */
  clearAfter?: number;
  /**
   * A shadow query's finding: its episode is stored marked `shadow` and enqueues no webhook;
   * shadow incidents never leave the store through the operators' reads.
   */
  shadow?: boolean;
  /**
   * For a shadow query: where the close of a real episode it left open goes (a reload made it
   * a shadow mid-episode) — the webhooks of every query, as it had them.
   */
  formerClose?: string[];
}

/** Whether a query's answered windows are kept for confirmation (its negative ones matter too). */
export const keepsWindows = (p: FindingPolicy) => p.confirm !== undefined || p.clearAfter !== undefined;

/**
 * What a positive finding did: opened an episode, extended the active one, was seen before,
 * or (a query with `confirm`) waits for enough positive windows.
 */
export type FindingOutcome =
  | {
      outcome: 'opened' | 'extended' | 'duplicate';
      incident: Incident;
      /** An active incident of the same episode that this finding found stale and closed. */
      closed?: Incident;
      /** True while this finding's evidence is not stored yet (also after a crash, on replay). */
      evidencePending: boolean;
      /** The incident is a shadow query's: stored, never announced. */
      shadow: boolean;
    }
  | { outcome: 'pending'; incident?: undefined; closed?: Incident; evidencePending: false; shadow?: undefined };

/** One finding's evidence as stored: files relative to the evidence folder. */
export interface EvidenceEntry {
  finding: string;
  dir: string;
  frames: { file: string; captured_at: string }[];
  clip?: string;
  bytes: number;
}

export interface StatsRequest {
  bucket: 'minute' | 'hour' | 'day';
  by: 'camera' | 'query' | 'severity' | 'site';
  from: Date;
  to: Date;
  camera?: string;
  query?: string;
}

export interface StatsSeries {
  key: string;
  points: { t: string; count: number }[];
}

/** Model usage of findings in one hour for one (camera, query), added to what is stored. */
export interface ModelUsageDelta {
  /** Start of the hour (UTC). */
  hour: Date;
  camera: string;
  query: string;
  findings: number;
  errors: number;
  latencyMsSum: number;
  promptTokens: number;
  completionTokens: number;
}

export const MODEL_METRICS = ['latency_ms', 'tokens', 'prompt_tokens', 'completion_tokens', 'requests', 'errors'] as const;
export type ModelMetric = (typeof MODEL_METRICS)[number];

export interface ModelStatsRequest {
  bucket: 'hour' | 'day';
  metric: ModelMetric;
  by: 'camera' | 'query';
  from: Date;
  to: Date;
  camera?: string;
  query?: string;
}

export interface UptimeRequest {
  bucket: 'hour' | 'day';
  from: Date;
  to: Date;
  camera?: string;
}

/** A chart series of measured values (mean latency, tokens, uptime %). */
export interface ValueSeries {
  key: string;
  points: { t: string; value: number }[];
}

/** Defined with the camera status message (it is what Socket.IO sends); re-exported for store users. */
export type { StoredCameraStatus } from '@vigil/contracts';

/** A delivery claimed for sending (leased: another replica retries it if this one dies). */
export interface ClaimedDelivery {
  id: string;
  incidentId: string;
  webhook: string;
  event: WebhookDelivery['event'];
  attempts: number;
  /** The incident's state when the event happened (absent for deliveries queued before it was kept). */
  state?: string;
}

/** Where incidents live (PostgreSQL in distributed mode, PGlite in standalone mode). */
export interface IncidentStore {
  /** Folds a positive finding into its (camera, query) episode, idempotently, in one transaction. */
  recordFinding(finding: Finding, policy: FindingPolicy): Promise<FindingOutcome>;
  /** A negative window of a query that keeps its windows (`confirm`, `clear_after`); may end the open episode. */
  recordNegative(finding: Finding, policy: FindingPolicy): Promise<{ closed?: Incident }>;
  /** Forgets kept windows that ended before `before`. */
  pruneWindows(before: Date): Promise<void>;
  /** Records a finding's stored evidence on its incident (idempotent per finding). */
  attachEvidence(incidentId: string, entry: EvidenceEntry): Promise<Incident | undefined>;
  /**
   * Closes active episodes whose quiet time passed on capture time: the (camera, query)'s
   * progress is past close_after by a window. By the wall clock (`now`) only as a fallback:
   * when the camera is offline, or no progress has come for `staleMs` (infer stopped, or an
   * older producer that sends none). Each incident is returned once, to one caller.
   */
  closeQuiet(now: Date, closeWebhooks: (query: string) => string[], staleMs?: number): Promise<Incident[]>;
  /** The window audit: stores findings (positive or not) as asked windows, idempotently; returns how many were new. */
  recordWindows(findings: Finding[]): Promise<number>;
  /** Merges runs of skipped windows of one (camera, query) into the stored ones (a resent run changes nothing). */
  recordSkips(camera: string, query: string, runs: SkipRun[]): Promise<void>;
  /** Asked windows and skip runs, oldest first, one timeline. */
  searchWindows(s: WindowSearch): Promise<WindowPage>;
  /** Operator labels: a false positive or a missed span (kept until deleted). */
  addLabel(l: NewLabel): Promise<Label>;
  /** Labels overlapping the range, oldest first. */
  listLabels(s: LabelSearch): Promise<Label[]>;
  /** False when there was no such label. */
  deleteLabel(id: string): Promise<boolean>;
  /** A shadow query's agreement with the query it shadows, over windows starting in the range. */
  shadowSummary(shadow: { query: string; shadows: string }, r: ShadowRange): Promise<ShadowSummary>;
  /** Compared windows where the shadow and the query it shadows disagree, oldest first. */
  shadowDifferences(shadow: { query: string; shadows: string }, r: ShadowRange & { limit: number; cursor?: string }): Promise<ShadowDifferencePage>;
  /** Retention: drops the daily partitions of asked windows wholly before `cutoff`, and skip runs ended before it. */
  expireWindows(cutoff: Date): Promise<{ partitions: string[]; skips: number }>;
  /** Advances each (camera, query)'s decided-through capture time (never moves it back). */
  recordProgress(items: { camera: string; query: string; through: number }[]): Promise<void>;
  /** Operator action; `conflict` when the state does not allow it (e.g. ack of a resolved incident). */
  act(id: string, action: 'ack' | 'resolve', by: string, note: string, webhooks?: (query: string) => string[]): Promise<Incident | undefined | 'conflict'>;
  get(id: string, opts?: { deliveries?: boolean }): Promise<Incident | undefined>;
  evidenceOf(id: string): Promise<EvidenceEntry[] | undefined>;
  search(s: IncidentSearch): Promise<IncidentPage>;
  /** Active incidents (not closed), newest first, for a new live connection. */
  active(limit: number): Promise<Incident[]>;
  stats(r: StatsRequest): Promise<StatsSeries[]>;
  /** Adds findings' model usage to the hourly totals (one statement for many deltas). */
  addModelUsage(deltas: ModelUsageDelta[]): Promise<void>;
  /** Model latency (mean), tokens, requests or errors per bucket and camera or query. */
  modelStats(r: ModelStatsRequest): Promise<ValueSeries[]>;
  /** Per camera and bucket: the share (%) of the time its state was known that it was online or degraded. */
  uptime(r: UptimeRequest): Promise<ValueSeries[]>;

  /** Stores a camera's status; returns the offline incident it closed when the camera is back. */
  saveCameraStatus(s: CameraStatus): Promise<{ stored: StoredCameraStatus | undefined; closed?: Incident }>;
  cameraStatuses(): Promise<StoredCameraStatus[]>;
  /** A camera left the config: its status goes (no offline incident will open) and its open spell ends; history stays. */
  forgetCamera(camera: string): Promise<void>;
  /** Opens an incident for each camera offline since before `now - graceMs` that has none. */
  openOfflineIncidents(now: Date, graceMs: number, policy: (camera: string) => { site?: string; webhooks: string[] }): Promise<Incident[]>;

  /** Evidence to delete: older than `cutoff`, then oldest first while the total exceeds `maxBytes`. */
  evidenceToExpire(cutoff: Date, maxBytes: number, limit: number): Promise<{ id: string; evidence: EvidenceEntry[] }[]>;
  markEvidenceDeleted(ids: string[]): Promise<void>;
  evidenceBytes(): Promise<number>;

  /** Leases due deliveries; `target`: only those of one target (`only`), or all but one (`except`) — MQTT has its own sender. */
  claimDeliveries(limit: number, leaseMs: number, target?: { only?: string; except?: string }): Promise<ClaimedDelivery[]>;
  finishDelivery(id: string, result: { ok: true } | { ok: false; error: string; retryAt: Date | null }): Promise<void>;
  deliveriesOf(incidentId: string): Promise<WebhookDelivery[]>;

  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Thrown for a cursor the store did not make. */
export class BadCursorError extends Error {
  constructor() {
    super('cursor is not valid');
    this.name = 'BadCursorError';
  }
}

export type { NewLabel, LabelSearch } from './labels.ts';
