import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { hostname } from 'node:os';

/** A refusal the edge sends as it is: status and a message naming what is wrong. */
export interface Refusal {
  status: 400 | 403 | 415 | 421;
  message: string;
}

/** The request target as a URL, or undefined when it cannot be one (`//`, `http://x`, garbage). */
export function requestUrl(req: IncomingMessage): URL | undefined {
  const target = req.url ?? '';
  // Origin-form only: a path starting with one slash. Absolute and authority forms are not ours.
  if (!target.startsWith('/') || target.startsWith('//') || target.length > 8192) return undefined;
  try {
    return new URL(target, 'http://vigil.invalid');
  } catch {
    return undefined;
  }
}

/** `host[:port]` → lower-case host name without brackets or port. */
function hostOnly(hostPort: string): string {
  const h = hostPort.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.lastIndexOf(':');
  return colon > 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

/**
 * Guards against requests a browser makes on an attacker's behalf: cross-site requests
 * (CSRF, cross-site WebSocket hijacking) and DNS rebinding.
 * - A request carrying `Origin` must come from this server's own origin (the Host it was
 *   sent to, or one behind a reverse proxy's `X-Forwarded-Host`) or from an allowed host.
 * - With authentication off, the `Host` itself must be an IP address, localhost, this
 *   machine's name or an allowed host: a rebound DNS name is refused, so a page on another
 *   site cannot read or act through the visitor's browser.
 * - A mutation must be JSON (`Content-Type: application/json`): a plain HTML form cannot
 *   send that cross-site without a CORS preflight, which Vigil never grants.
 */
export class RequestGuard {
  private allowed: string[] = [];
  private readonly machine = hostname().toLowerCase();
  private opts!: { authEnabled: boolean; allowedHosts: string[] };

  constructor(opts: { authEnabled: boolean; allowedHosts: string[] }) {
    this.update(opts);
  }

  /** Takes reloaded settings (tokens added or removed, allowed hosts changed). */
  update(opts: { authEnabled: boolean; allowedHosts: string[] }): void {
    this.opts = opts;
    this.allowed = opts.allowedHosts.map((h) => h.toLowerCase());
  }

  /** Checks any request (page, API, WebSocket upgrade); undefined when it may proceed. */
  check(req: IncomingMessage, kind: 'read' | 'mutation' | 'upgrade'): Refusal | undefined {
    const host = headerOf(req, 'host');
    if (!this.opts.authEnabled && !(host && this.hostAllowed(hostOnly(host)))) {
      return { status: 421, message: `host "${(host ?? '').slice(0, 100)}" is not served here: with authentication off only IP addresses, localhost and http.allowed_hosts are` };
    }
    const origin = headerOf(req, 'origin');
    if (origin !== undefined && !this.originAllowed(origin, req)) {
      return { status: 403, message: `cross-site request from origin "${origin.slice(0, 100)}" refused (add its host to http.allowed_hosts if it is yours)` };
    }
    if (kind === 'mutation' && !/^application\/json\s*(;|$)/i.test(headerOf(req, 'content-type') ?? '')) {
      return { status: 415, message: 'expected Content-Type: application/json' };
    }
    return undefined;
  }

  private hostAllowed(h: string): boolean {
    if (!h) return false;
    if (isIP(h) || h === 'localhost' || h.endsWith('.localhost') || h === this.machine) return true;
    return this.allowed.some((a) => (a.startsWith('.') ? h.endsWith(a) || h === a.slice(1) : h === a));
  }

  private originAllowed(origin: string, req: IncomingMessage): boolean {
    let o: URL;
    try {
      o = new URL(origin);
    } catch {
      return false; // includes the opaque "null" origin of sandboxed frames and files
    }
    const own = [headerOf(req, 'host'), headerOf(req, 'x-forwarded-host')?.split(',')[0]].filter((h): h is string => !!h);
    // Compared as URLs of the origin's scheme, so a default port written out (":443") still matches.
    if (own.some((h) => sameHost(o, h))) return true;
    const h = hostOnly(o.host);
    return this.allowed.some((a) => (a.startsWith('.') ? h.endsWith(a) || h === a.slice(1) : h === a));
  }
}

function sameHost(origin: URL, hostHeader: string): boolean {
  try {
    return new URL(`${origin.protocol}//${hostHeader.trim()}`).host === origin.host;
  } catch {
    return false;
  }
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
