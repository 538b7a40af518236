import { createHash, timingSafeEqual } from 'node:crypto';
import type { AlertsConfig } from '@vigil/config';

export type Role = 'read' | 'admin';

/** Who is calling: a configured token's name and role (tokens themselves never leave here). */
export interface Principal {
  name: string;
  role: Role;
}

export type AuthResult = { ok: true; principal: Principal } | { ok: false; status: 401 | 403; message: string };

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Bearer-token check for REST and the Socket.IO handshake. With no tokens configured every
 * caller is an anonymous admin (standalone on a trusted network); with tokens, each request
 * needs one, and admin routes need an admin token.
 */
export class Authenticator {
  private readonly tokens: { name: string; role: Role; hash: Buffer }[];

  constructor(tokens: AlertsConfig['tokens']) {
    this.tokens = tokens.map((t) => ({ name: t.name, role: t.role, hash: digest(t.token) }));
  }

  get enabled(): boolean {
    return this.tokens.length > 0;
  }

  /** `credential` is an Authorization header value or a bare token (Socket.IO `auth.token`). */
  check(credential: string | undefined, need: Role): AuthResult {
    if (!this.enabled) return { ok: true, principal: { name: 'anonymous', role: 'admin' } };
    if (!credential) return { ok: false, status: 401, message: 'missing bearer token: send "Authorization: Bearer <token>"' };
    const m = /^Bearer\s+(\S+)\s*$/i.exec(credential);
    const token = m ? m[1]! : /^\S+$/.test(credential) && !/^Bearer$/i.test(credential) ? credential : undefined;
    if (!token) return { ok: false, status: 401, message: 'malformed Authorization header: expected "Bearer <token>"' };
    // Compare digests in constant time so timing reveals nothing about the tokens.
    const h = digest(token);
    const found = this.tokens.find((t) => timingSafeEqual(t.hash, h));
    if (!found) return { ok: false, status: 401, message: 'invalid token' };
    if (need === 'admin' && found.role !== 'admin') return { ok: false, status: 403, message: `token "${found.name}" has role read; this needs an admin token` };
    return { ok: true, principal: { name: found.name, role: found.role } };
  }
}
