/** The alerts REST API as the dashboard uses it. Types mirror libs/contracts. */

/** Mirrors `Incident` in libs/contracts (the dashboard bundles no server code). */
export interface OperatorAction {
  by: string;
  at: string;
  note: string;
}

export interface Incident {
  id: string;
  kind?: 'finding' | 'trigger' | 'camera-offline' | string;
  camera: string;
  site?: string;
  query: string;
  question: string;
  answer: string;
  reasoning: string;
  severity: 'low' | 'medium' | 'high' | 'critical' | string;
  state: 'open' | 'closed' | 'acknowledged' | 'resolved' | string;
  started_at: string;
  ended_at: string;
  created_at: string;
  closed_at?: string | null;
  findings?: number;
  model?: string;
  latency_ms?: number;
  acknowledged?: OperatorAction | null;
  resolved?: OperatorAction | null;
  evidence?: { frames: { n: number; captured_at: string; url: string }[]; clip_url: string | null; bytes: number; deleted_at: string | null };
  deliveries?: { webhook: string; event: string; status: string; attempts: number; last_error: string | null; delivered_at: string | null }[];
  highlight?: string;
}

/** A camera's live state as ingest last reported it (`camera:status`, and within /api/cameras). */
export interface CameraState {
  state: string;
  reason?: string;
  fps?: number;
  fpsOut?: number;
  since?: string;
  at?: string | number;
}

export interface Camera {
  id: string;
  name?: string;
  site?: string;
  fps?: number;
  width?: number;
  status: CameraState | null;
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

/**
 * Exchanges the token for the HttpOnly media session cookie, and renews it hourly (it lasts
 * 12 h): URLs the browser loads itself (<img>, <video>, the live view's websocket) cannot
 * send headers, and never carry the token. Without tokens configured it is harmless.
 */
export async function startMediaSession(): Promise<void> {
  await api('/api/session', { method: 'POST', body: '{}' });
  mediaRenewal ??= setInterval(() => void api('/api/session', { method: 'POST', body: '{}' }).catch(() => undefined), 3600_000);
}
let mediaRenewal: ReturnType<typeof setInterval> | undefined;

/** Forgets the token here and ends the media session at the server. */
export async function signOut(): Promise<void> {
  auth.set(null);
  await fetch('/api/session', { method: 'DELETE' }).catch(() => undefined);
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
