/**
 * The alerts REST API as the dashboard uses it. Message and API types come from
 * @vigil/contracts as type-only imports: the bundle gets no schema code, and no copy drifts.
 */
import type { AskedWindow, CameraLiveStatus, Incident, Label, LabelBody, OperatorAction, SkippedRun, StoredCameraStatus, WindowItem, WindowPage } from '@vigil/contracts';

export type { AskedWindow, CameraLiveStatus, Incident, Label, LabelBody, OperatorAction, SkippedRun, StoredCameraStatus, WindowItem, WindowPage };

/** A camera's live state: `status` in /api/cameras, or a `camera:status` event made into one. */
export type CameraState = CameraLiveStatus;

/** A camera in /api/cameras (a view of the config, not a message). */
export interface Camera {
  id: string;
  name?: string;
  site?: string;
  fps?: number;
  width?: number;
  status: CameraState | null;
}

/** A standing query in /api/queries; `version` is what incidents record as `query_version`. */
export interface Query {
  id: string;
  version: string;
  question: string;
  cameras: string[];
  status?: string;
  /** The query this one shadows (never alerts); null or absent otherwise. */
  shadow?: string | null;
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
export const listWindows = (params: URLSearchParams) => api<WindowPage>(`/api/windows?${params.toString()}`);
export const listLabels = (params: URLSearchParams) => api<{ items: Label[] }>(`/api/labels?${params.toString()}`).then((r) => r.items);
export const addLabel = (body: LabelBody) => api<Label>('/api/labels', { method: 'POST', body: JSON.stringify(body) });
export const deleteLabel = (id: string) => api<{ deleted: string }>(`/api/labels/${encodeURIComponent(id)}`, { method: 'DELETE' });
