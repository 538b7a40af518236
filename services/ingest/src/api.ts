import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * `GET /cameras` on ingest's ops port: every camera this process runs with its state,
 * reason, rates and restarts, as JSON. Built from status snapshots, which never hold a URL.
 */
export function camerasHandler(list: () => object[]) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/cameras') return false;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ cameras: list() }));
    return true;
  };
}
