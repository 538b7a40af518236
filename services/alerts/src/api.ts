import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadCursorError, type IncidentStore } from '@vigil/store';
import { BadParam, parseIncidentSearch } from './params.ts';
import { PAGE_HTML } from './page.ts';
import type { AlertsMetrics } from './metrics.ts';

/** REST routes of alerts. Returns false for paths it does not serve. */
export function createApi(store: IncidentStore, metrics: AlertsMetrics) {
  const json = (res: ServerResponse, status: number, body: unknown, route: string) => {
    metrics.requests.inc({ route, status: String(status) });
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body));
  };
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (req.method === 'GET' && (path === '/' || path === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE_HTML);
      return true;
    }
    if (!path.startsWith('/api/')) return false;
    if (req.method !== 'GET') {
      json(res, 405, { error: `method ${req.method} not allowed on ${path}` }, 'other');
      return true;
    }
    try {
      if (path === '/api/incidents') {
        json(res, 200, await store.search(parseIncidentSearch(url.searchParams)), 'incidents');
        return true;
      }
      const m = /^\/api\/incidents\/([A-Za-z0-9_-]{1,128})$/.exec(path);
      if (m) {
        const inc = await store.get(m[1]!);
        if (inc) json(res, 200, inc, 'incident');
        else json(res, 404, { error: `no incident ${m[1]}` }, 'incident');
        return true;
      }
      json(res, 404, { error: `no route ${path}` }, 'other');
      return true;
    } catch (e) {
      if (e instanceof BadParam) json(res, 400, { error: e.message, param: e.param }, 'incidents');
      else if (e instanceof BadCursorError) json(res, 400, { error: 'cursor: not a cursor this API returned', param: 'cursor' }, 'incidents');
      else throw e;
      return true;
    }
  };
}
