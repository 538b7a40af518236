/** What an operator sees and searches: one per (camera, query) episode. */
export interface Incident {
  id: string;
  findingId: string;
  camera: string;
  query: string;
  question: string;
  answer: string;
  reasoning: string;
  severity: string;
  state: 'open' | 'closed' | 'acknowledged' | 'resolved';
  /** Capture time of the window's first frame, ISO 8601. */
  started_at: string;
  /** Capture time of the window's last frame, ISO 8601. */
  ended_at: string;
  created_at: string;
  model: string;
  latency_ms: number;
  /** Present in search results when `q` is given: fragments with matches in <mark>. */
  highlight?: string;
}
