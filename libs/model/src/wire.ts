import http from 'node:http';
import https from 'node:https';

/**
 * Request bodies are mostly base64 JPEG (about a megabyte per window). Building them with
 * one JSON.stringify would copy and scan that text again for every window; instead a
 * profile puts a placeholder where frames go, and the body is assembled from buffers,
 * each frame's base64 computed once per frame (it is reused by the overlapping windows).
 */
const base64Cache = new WeakMap<Buffer, Buffer>();

/** The frame's base64 text as ASCII bytes, cached for as long as the frame lives. */
export function base64Of(jpeg: Buffer): Buffer {
  let b = base64Cache.get(jpeg);
  if (!b) base64Cache.set(jpeg, (b = Buffer.from(jpeg.toString('base64'), 'latin1')));
  return b;
}

/** A placeholder string in a request body, replaced by `parts` when the body is serialised. */
export interface Splice {
  token: string;
  parts: Buffer[];
}

let counter = 0;

/** A placeholder for a `data:` URL made of a prefix and frames joined by `sep`. */
export function frameSplice(prefix: string, frames: { jpeg: Buffer; base64?: Buffer[] }[], sep = ','): Splice {
  const parts: Buffer[] = [Buffer.from(prefix, 'latin1')];
  const sepBuf = Buffer.from(sep, 'latin1');
  frames.forEach((f, i) => {
    if (i > 0) parts.push(sepBuf);
    if (f.base64) parts.push(...f.base64);
    else parts.push(base64Of(f.jpeg));
  });
  return { token: `\u0001vigil-splice-${++counter}\u0001`, parts };
}

/** Serialises a body whose strings may be splice tokens, as the buffers to write in order (not joined: no copy). */
export function serializeBody(body: unknown, splices: Splice[]): Buffer[] {
  const text = JSON.stringify(body);
  if (splices.length === 0) return [Buffer.from(text, 'utf8')];
  const out: Buffer[] = [];
  let rest = text;
  for (const s of splices) {
    // JSON.stringify escapes \u0001 as the six characters \u0001.
    const token = JSON.stringify(s.token).slice(1, -1);
    const at = rest.indexOf(token);
    if (at < 0) continue;
    out.push(Buffer.from(rest.slice(0, at), 'utf8'), ...s.parts);
    rest = rest.slice(at + token.length);
  }
  out.push(Buffer.from(rest, 'utf8'));
  return out;
}

const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 1024 }), https: new https.Agent({ keepAlive: true, maxSockets: 1024 }) };

export interface WireResponse {
  status: number;
  text: string;
}

/**
 * One HTTP request with a keep-alive agent (no stream/web copies of the body, unlike fetch).
 * Rejects with a message naming a timeout, the connection error, or a reply body over
 * `maxBytes`: then the socket is destroyed at once (a Content-Length over the cap is refused
 * before any body is read), so a hostile server cannot make the client hold or read more.
 */
export function send(url: string, method: string, headers: Record<string, string>, body: Buffer[] | undefined, timeoutMs: number, maxBytes: number): Promise<WireResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    let settled = false;
    const settle = (e: Error | undefined, r?: WireResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve(r!);
    };
    const abort = (e: Error) => {
      settle(e);
      req.destroy();
    };
    const req = mod.request(
      u,
      { method, headers: body ? { ...headers, 'content-length': String(body.reduce((n, b) => n + b.length, 0)) } : headers, agent: u.protocol === 'https:' ? agents.https : agents.http },
      (res) => {
        res.on('error', (e) => settle(e));
        const declared = Number(res.headers['content-length']);
        if (declared > maxBytes) return abort(new Error(`model reply exceeded ${maxBytes} bytes (Content-Length ${declared})`));
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (settled) return;
          size += c.length;
          if (size > maxBytes) return abort(new Error(`model reply exceeded ${maxBytes} bytes`));
          chunks.push(c);
        });
        res.on('end', () => settle(undefined, { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    const timer = setTimeout(() => abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => settle(e));
    // Corked: the parts leave in one writev.
    req.cork();
    for (const b of body ?? []) req.write(b);
    req.uncork();
    req.end();
  });
}
