/** The alerts REST API as the dashboard uses it. Types mirror libs/contracts. */

export interface Incident {
  id: string;
  camera: string;
  site?: string;
  query: string;
  question: string;
  answer: string;
  reasoning: string;
  severity: 'low' | 'medium' | 'high' | 'critical' | string;
  state: 'open' | 'closed' | 'acknowledged' | 'resolved' | string;
  kind?: string;
  started_at: string;
  ended_at: string;
  created_at: string;
  model?: string;
  latency_ms?: number;
  prompt_tokens?: number;
  completion_tokens?: number;
  frame_count?: number;
  evidence_frames?: number;
  has_clip?: boolean;
  acknowledged_by?: string | null;
  acknowledged_at?: string | null;
  resolved_by?: string | null;
  resolved_at?: string | null;
  note?: string | null;
  webhook_status?: string | null;
  webhook?: unknown;
  highlight?: string;
  [k: string]: unknown;
}

export interface Camera {
  id: string;
  name?: string;
  site?: string;
  state?: string;
  reason?: string;
  fps?: number;
  fps_in?: number;
  fps_out?: number;
  last_frame_at?: string | number | null;
  [k: string]: unknown;
}

export interface Query {
  id: string;
  question: string;
  cameras: string[];
  status?: string;
  [k: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'vigil.token';
export const auth = {
  get token(): string | null {
    return localStorage.getItem(TOKEN_KEY);
  },
  set(token: string | null): void {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  },
};

/** Adds the token to URLs the browser loads itself (<img>, <video>), which cannot send headers. */
export function mediaUrl(path: string): string {
  const t = auth.token;
  return t ? `${path}${path.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(t)}` : path;
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.body) headers['content-type'] = 'application/json';
  if (auth.token) headers.authorization = `Bearer ${auth.token}`;
  const res = await fetch(path, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } });
  const text = await res.text();
  const body = text ? (JSON.parse(text) as unknown) : null;
  if (!res.ok) throw new ApiError(res.status, (body as { error?: string } | null)?.error ?? `${res.status} ${res.statusText}`);
  return body as T;
}

export const searchIncidents = (params: URLSearchParams) =>
  api<{ items: Incident[]; next_cursor: string | null }>(`/api/incidents?${params.toString()}`);
export const getIncident = (id: string) => api<Incident>(`/api/incidents/${encodeURIComponent(id)}`);
export const actOnIncident = (id: string, action: 'ack' | 'resolve', note: string) =>
  api<Incident>(`/api/incidents/${encodeURIComponent(id)}/${action}`, { method: 'POST', body: JSON.stringify({ note }) });
export const listCameras = () => api<Camera[] | { items: Camera[] }>('/api/cameras').then((r) => (Array.isArray(r) ? r : r.items));
export const listQueries = () => api<Query[] | { items: Query[] }>('/api/queries').then((r) => (Array.isArray(r) ? r : r.items));
