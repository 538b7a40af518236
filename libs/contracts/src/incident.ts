/** Where an incident is in its life: `open` while the episode lasts unacknowledged, `closed`
 * when it went quiet for the query's cooldown unacknowledged, `acknowledged` once an operator
 * took it (active or not), `resolved` when an operator finished with it. */
export type IncidentState = 'open' | 'closed' | 'acknowledged' | 'resolved';

/**
 * `finding`: a standing query's positive answers; `trigger`: a query's trigger firing with no
 * model server to ask (the trigger is the event); `camera-offline`: a camera offline past its grace.
 */
export type IncidentKind = 'finding' | 'trigger' | 'camera-offline';

/** A stored key frame (JPEG with the timestamp band) of an incident. */
export interface EvidenceFrame {
  /** Index for `GET /api/incidents/:id/frames/:n.jpg`. */
  n: number;
  /** Capture time, ISO 8601. */
  captured_at: string;
  url: string;
}

/** What an operator did, and when. */
export interface OperatorAction {
  by: string;
  at: string;
  note: string;
}

/** A webhook's delivery of one incident event (the URL's credentials and the token never appear). */
export interface WebhookDelivery {
  webhook: string;
  event: 'open' | 'update' | 'close' | 'ack' | 'resolve' | 'camera-offline';
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_error: string | null;
  delivered_at: string | null;
  next_attempt_at: string | null;
}

/** What an operator sees and searches: one per (camera, query) episode. */
export interface Incident {
  id: string;
  kind: IncidentKind;
  /** The finding that opened it (for camera-offline: a synthetic id). */
  findingId: string;
  camera: string;
  site?: string;
  /** The query id; `camera-offline` for offline incidents. */
  query: string;
  question: string;
  /** The latest positive answer (extensions replace it); for offline: the reason. */
  answer: string;
  reasoning: string;
  severity: string;
  state: IncidentState;
  /** Capture time of the first window's first frame, ISO 8601. */
  started_at: string;
  /** Capture time of the latest window's last frame, ISO 8601. */
  ended_at: string;
  created_at: string;
  updated_at: string;
  /** When the episode ended (cooldown passed quietly, or the camera came back); null while active. */
  closed_at: string | null;
  /** Positive findings folded into it. */
  findings: number;
  model: string;
  latency_ms: number;
  acknowledged: OperatorAction | null;
  resolved: OperatorAction | null;
  evidence: { frames: EvidenceFrame[]; clip_url: string | null; bytes: number; deleted_at: string | null };
  /** Present on `GET /api/incidents/:id`. */
  deliveries?: WebhookDelivery[];
  /** Present in search results when `q` is given: fragments with matches in <mark>. */
  highlight?: string;
}
