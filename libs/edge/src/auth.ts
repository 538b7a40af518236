import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { AlertsConfig } from '@vigil/config';

export type Role = 'read' | 'admin';

/** Who is calling: a configured token's name and role (tokens themselves never leave here). */
export interface Principal {
  name: string;
  role: Role;
}

export type AuthResult = { ok: true; principal: Principal } | { ok: false; status: 401 | 403; message: string };

/** The cookie that lets a browser load media (`<img>`, `<video>`, live view) without a token in the URL. */
export const MEDIA_COOKIE = 'vigil_media';
/** How long a media session lasts; the dashboard renews it well before. */
export const MEDIA_SESSION_MS = 12 * 3600_000;

const digest = (s: string) => createHash('sha256').update(s).digest();
const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/**
 * Bearer-token check for REST, Socket.IO, live view and the ops endpoints. With no tokens
 * configured every caller is an anonymous admin (standalone on a trusted network); with
 * tokens, each request needs one, and admin routes need an admin token.
 */
export class Authenticator {
  private tokens: { name: string; role: Role; hash: Buffer }[] = [];

  constructor(tokens: AlertsConfig['tokens']) {
    this.update(tokens);
  }

  /** Takes a reloaded token list; callers then close connections whose principal is gone (`has`). */
  update(tokens: AlertsConfig['tokens']): void {
    this.tokens = tokens.map((t) => ({ name: t.name, role: t.role, hash: digest(t.token) }));
  }

  get enabled(): boolean {
    return this.tokens.length > 0;
  }

  /** `credential` is an Authorization header value or a bare token (Socket.IO `auth.token`). */
  check(credential: unknown, need: Role): AuthResult {
    if (!this.enabled) return { ok: true, principal: { name: 'anonymous', role: 'admin' } };
    if (credential === undefined || credential === null || credential === '') return { ok: false, status: 401, message: 'missing bearer token: send "Authorization: Bearer <token>"' };
    if (typeof credential !== 'string' || credential.length > 4096) return { ok: false, status: 401, message: 'malformed credential: expected "Bearer <token>"' };
    const m = /^Bearer\s+(\S+)\s*$/i.exec(credential);
    const token = m ? m[1]! : /^\S+$/.test(credential) && !/^Bearer$/i.test(credential) ? credential : undefined;
    if (!token) return { ok: false, status: 401, message: 'malformed Authorization header: expected "Bearer <token>"' };
    // Compare digests in constant time so timing reveals nothing about the tokens.
    const h = digest(token);
    const found = this.tokens.find((t) => timingSafeEqual(t.hash, h));
    if (!found) return { ok: false, status: 401, message: 'invalid token' };
    return this.allow(found, need);
  }

  /**
   * A media session for a principal: `name.expiry.mac`, signed with that token's own digest,
   * so every replica can check it without shared state, and it dies with its token.
   */
  mediaSession(p: Principal, now = Date.now()): { value: string; maxAgeS: number } | undefined {
    const t = this.tokens.find((x) => x.name === p.name);
    if (!t) return undefined;
    const exp = now + MEDIA_SESSION_MS;
    return { value: `${b64url(t.name)}.${exp}.${mac(t.hash, t.name, exp)}`, maxAgeS: MEDIA_SESSION_MS / 1000 };
  }

  /** Checks the media cookie in a `Cookie` header (read access to media only). */
  checkMedia(cookieHeader: unknown, now = Date.now()): AuthResult {
    if (!this.enabled) return { ok: true, principal: { name: 'anonymous', role: 'admin' } };
    const value = typeof cookieHeader === 'string' ? cookieValue(cookieHeader, MEDIA_COOKIE) : undefined;
    if (!value) return { ok: false, status: 401, message: 'missing bearer token or media session' };
    const [n, e, sig] = value.split('.');
    const name = n ? Buffer.from(n, 'base64url').toString('utf8') : '';
    const exp = Number(e);
    const t = this.tokens.find((x) => x.name === name);
    if (!t || !sig || !Number.isSafeInteger(exp)) return { ok: false, status: 401, message: 'invalid media session' };
    const want = Buffer.from(mac(t.hash, t.name, exp));
    const got = Buffer.from(sig);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return { ok: false, status: 401, message: 'invalid media session' };
    if (exp <= now) return { ok: false, status: 401, message: 'media session expired: sign in again' };
    return this.allow(t, 'read');
  }

  /** Whether a token with this name is still configured (open connections of removed ones are closed). */
  has(name: string): boolean {
    return !this.enabled ? name === 'anonymous' : this.tokens.some((t) => t.name === name);
  }

  private allow(t: { name: string; role: Role }, need: Role): AuthResult {
    if (need === 'admin' && t.role !== 'admin') return { ok: false, status: 403, message: `token "${t.name}" has role read; this needs an admin token` };
    return { ok: true, principal: { name: t.name, role: t.role } };
  }
}

function mac(key: Buffer, name: string, exp: number): string {
  return createHmac('sha256', key).update(`vigil-media\u0000${name}\u0000${exp}`).digest('base64url');
}

/** One cookie's value from a `Cookie` header (undefined when absent or malformed). */
export function cookieValue(header: string, name: string): string | undefined {
  for (const part of header.slice(0, 8192).split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}
