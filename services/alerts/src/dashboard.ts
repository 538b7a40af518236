import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dashboardBuilt, dashboardDir } from '@vigil/dashboard';

const FILES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/app.js.map': 'app.js.map',
  '/styles.css': 'styles.css',
};
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', map: 'application/json' };

/** What `/` answers before `npm run build` has made the dashboard: the fix, not a lesser UI. */
const NOT_BUILT = 'The dashboard is not built: run `npm run build` (the REST API under /api works without it).\n';

/**
 * Serves the dashboard's built files (`npm run build`); nothing is fetched from elsewhere
 * at run time. Before a build exists, its files answer 503 saying so.
 */
export async function serveDashboard(req: IncomingMessage, res: ServerResponse, built: () => boolean = dashboardBuilt): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const path = (req.url ?? '/').split('?')[0]!;
  const file = FILES[path];
  if (!file) return false;
  if (!built()) {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : NOT_BUILT);
    return true;
  }
  const body = await readFile(`${dashboardDir}${file}`);
  res.writeHead(200, {
    'content-type': TYPES[file.split('.').pop()!] ?? 'application/octet-stream',
    'cache-control': file === 'index.html' ? 'no-cache' : 'public, max-age=300',
    'content-security-policy': "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'",
  });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
