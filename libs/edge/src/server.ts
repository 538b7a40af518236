import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** Limits every Vigil listener applies: slow or idle clients cannot hold sockets for long. */
export const SERVER_LIMITS = {
  /** Whole request headers must arrive within this (slowloris). */
  headersTimeoutMs: 10_000,
  /** The whole request (headers and body) within this; responses may take longer. */
  requestTimeoutMs: 30_000,
  /** The idle keep-alive a response advertises (`Keep-Alive: timeout=5`). */
  keepAliveTimeoutMs: 5_000,
  /**
   * How much longer an idle socket is really kept. Clients close at the advertised timeout less
   * a margin (Node's fetch: 1 s); a server closing at exactly the advertised time races a client
   * reusing the socket, and a busy event loop on either side loses it as "fetch failed".
   */
  keepAliveGraceMs: 3_000,
  maxHeadersCount: 100,
  /** Open connections per listener; beyond it new ones are closed at once. */
  maxConnections: 4096,
} as const;

/** Applies `SERVER_LIMITS` and makes a client error (bad request line, reset) end only that socket. */
export function hardenServer(server: Server): Server {
  server.headersTimeout = SERVER_LIMITS.headersTimeoutMs;
  server.requestTimeout = SERVER_LIMITS.requestTimeoutMs;
  server.keepAliveTimeout = SERVER_LIMITS.keepAliveTimeoutMs + SERVER_LIMITS.keepAliveGraceMs;
  const advertised = `timeout=${SERVER_LIMITS.keepAliveTimeoutMs / 1000}`;
  // First among the request listeners (Socket.IO keeps it first when it wraps them): Node
  // writes its own hint, from keepAliveTimeout, only when the response has none.
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => res.setHeader('keep-alive', advertised));
  server.maxHeadersCount = SERVER_LIMITS.maxHeadersCount;
  server.maxConnections = SERVER_LIMITS.maxConnections;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });
  return server;
}

/**
 * Answers a WebSocket upgrade request with an HTTP error and closes the socket, so refused
 * and unknown upgrades never hold a descriptor (or delay shutdown).
 */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  socket.on('error', () => socket.destroy());
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify({ error: message });
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 421: 'Misdirected Request', 503: 'Service Unavailable' }[status] ?? 'Error';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  // A client that never reads must not keep the socket: end() waits for the write to drain.
  setTimeout(() => socket.destroy(), 2000).unref();
}
