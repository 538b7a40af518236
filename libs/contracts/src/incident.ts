import { z } from 'zod';

/*
 * The incident as the REST API, Socket.IO and webhooks show it. Alerts builds it from its own
 * rows, so it is not validated on the way out: the schema types the code and the dashboard,
 * builds the OpenAPI document, and a test parses what the API returns with it.
 */

const iso = z.iso.datetime();
const isoOrNull = iso.nullable();

/** Where an incident is in its life: `open` while the episode lasts unacknowledged, `closed`
 * when it went quiet for the query's cooldown unacknowledged, `acknowledged` once an operator
 * took it (active or not), `resolved` when an operator finished with it. */
export const IncidentStateSchema = z.enum(['open', 'closed', 'acknowledged', 'resolved']);
export type IncidentState = z.infer<typeof IncidentStateSchema>;

/**
 * `finding`: a standing query's positive answers; `trigger`: a query's trigger firing with no
 * model server to ask (the trigger is the event); `camera-offline`: a camera offline past its grace.
 */
export const IncidentKindSchema = z.enum(['finding', 'trigger', 'camera-offline']);
export type IncidentKind = z.infer<typeof IncidentKindSchema>;

/** A stored key frame (JPEG with the timestamp band) of an incident. */
export const EvidenceFrameSchema = z.strictObject({
  n: z.int().min(0).describe('Index for `GET /api/incidents/{id}/frames/{n}.jpg`'),
  captured_at: iso.describe('Capture time'),
  url: z.string(),
});
export type EvidenceFrame = z.infer<typeof EvidenceFrameSchema>;

/** What an operator did, and when. */
export const OperatorActionSchema = z.strictObject({ by: z.string(), at: iso, note: z.string() });
export type OperatorAction = z.infer<typeof OperatorActionSchema>;

export const WebhookEventSchema = z.enum(['open', 'update', 'close', 'ack', 'resolve', 'camera-offline']);

/** A webhook's delivery of one incident event (the URL's credentials and the token never appear). */
export const WebhookDeliverySchema = z.strictObject({
  webhook: z.string(),
  event: WebhookEventSchema,
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.int().min(0),
  last_error: z.string().nullable(),
  delivered_at: isoOrNull,
  next_attempt_at: isoOrNull,
});
export type WebhookDelivery = z.infer<typeof WebhookDeliverySchema>;

/** What an operator sees and searches: one per (camera, query) episode. */
export const IncidentSchema = z.strictObject({
  id: z.string(),
  kind: IncidentKindSchema,
  findingId: z.string().describe('The finding that opened it (for camera-offline: a synthetic id)'),
  camera: z.string(),
  site: z.string().optional(),
  query: z.string().describe('The query id; `camera-offline` for offline incidents'),
  query_version: z
    .string()
    .nullable()
    .describe('Version of the standing query (GET /api/queries `version`) whose finding opened it, or the latest one if the query changed during the episode; null for offline incidents and older findings'),
  question: z.string(),
  answer: z.string().describe('The latest positive answer (extensions replace it); for offline: the reason'),
  reasoning: z.string(),
  severity: z.enum(['low', 'medium', 'high', 'critical']),
  state: IncidentStateSchema,
  started_at: iso.describe("Capture time of the first window's first frame"),
  ended_at: iso.describe("Capture time of the latest window's last frame"),
  created_at: iso,
  updated_at: iso,
  closed_at: isoOrNull.describe('When the episode ended (cooldown passed quietly, or the camera came back); null while active'),
  findings: z.int().min(0).describe('Positive findings folded into it'),
  model: z.string(),
  latency_ms: z.int().min(0),
  acknowledged: OperatorActionSchema.nullable(),
  resolved: OperatorActionSchema.nullable(),
  evidence: z.strictObject({
    frames: z.array(EvidenceFrameSchema),
    clip_url: z.string().nullable(),
    bytes: z.int().min(0),
    deleted_at: isoOrNull,
  }),
  confirmed_by: z.array(z.string()).optional().describe('Findings (windows) whose positive answers opened it, for a query with `confirm` (N of M)'),
  deliveries: z.array(WebhookDeliverySchema).optional().describe('Present on `GET /api/incidents/{id}`'),
  highlight: z.string().optional().describe('Present in search results when `q` is given: fragments with matches in <mark>'),
});
export type Incident = z.infer<typeof IncidentSchema>;
