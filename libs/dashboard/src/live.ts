import { io, type Socket } from 'socket.io-client';
import { useEffect, useState } from 'preact/hooks';
import { api, auth, type CameraState, type Incident, type StoredCameraStatus as StoredStatus } from './api.ts';

type Listener = (event: string, payload: unknown) => void;

/**
 * One Socket.IO connection for the whole page. Views subscribe to the events they need;
 * the server sends current open incidents and camera states on connect.
 */
class Live {
  private socket?: Socket;
  private readonly listeners = new Set<Listener>();
  connected = false;
  authError = '';

  start(): void {
    this.socket?.close();
    this.socket = io({ transports: ['websocket', 'polling'], auth: auth.token ? { token: auth.token } : {} });
    this.socket.on('connect', () => this.set(true));
    this.socket.on('disconnect', () => this.set(false));
    this.socket.on('connect_error', (e: Error) => {
      this.authError = /401|403|token|auth/i.test(e.message) ? e.message : '';
      this.set(false);
    });
    this.socket.onAny((event: string, payload: unknown) => this.listeners.forEach((l) => l(event, payload)));
  }

  on(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private set(connected: boolean): void {
    this.connected = connected;
    this.listeners.forEach((l) => l('$connection', connected));
  }
}

export const live = new Live();

export function useConnected(): boolean {
  const [c, setC] = useState(live.connected);
  useEffect(() => live.on((e, p) => e === '$connection' && setC(p as boolean)), []);
  return c;
}

/** Calls `fn` for incident events (new, update, close, and the initial snapshot). */
export function useIncidentEvents(fn: (kind: 'new' | 'update' | 'close' | 'snapshot', incidents: Incident[]) => void): void {
  useEffect(
    () =>
      live.on((event, payload) => {
        if (event === 'incident:new') fn('new', [payload as Incident]);
        else if (event === 'incident:update') fn('update', [payload as Incident]);
        else if (event === 'incident:close') fn('close', [payload as Incident]);
        else if (event === 'snapshot') fn('snapshot', (payload as { incidents?: Incident[] }).incidents ?? []);
      }),
    [],
  );
}


/** Calls `fn` with camera states: on connect (snapshot) and at every change. */
export function useCameraEvents(fn: (states: { id: string; status: CameraState }[]) => void): void {
  useEffect(
    () =>
      live.on((event, payload) => {
        const toState = (s: StoredStatus) => ({ id: s.camera, status: { ...s.status, state: s.state, since: s.since, at: s.at } });
        if (event === 'camera:status') fn([toState(payload as StoredStatus)]);
        else if (event === 'snapshot') fn(((payload as { cameras?: StoredStatus[] }).cameras ?? []).map(toState));
      }),
    [],
  );
}

/** The running config's status as alerts reports it (`GET /api/config`, then `config:status`). */
export interface ConfigStatus {
  applied_at: string;
  cameras: number;
  queries: number;
  refused: { at: string; error: string } | null;
}

/** The config status, kept current: a refused reload shows until a later one applies. */
export function useConfigStatus(signedIn: boolean): ConfigStatus | undefined {
  const [status, setStatus] = useState<ConfigStatus | undefined>();
  useEffect(() => {
    if (signedIn) void api<ConfigStatus | null>('/api/config').then((s) => s && setStatus(s), () => undefined);
    return live.on((event, payload) => event === 'config:status' && setStatus(payload as ConfigStatus));
  }, [signedIn]);
  return status;
}
