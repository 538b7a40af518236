import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dashboardBuilt, dashboardDir } from '@vigil/dashboard';
import { PAGE_HTML } from './page.ts';

const FILES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/app.js.map': 'app.js.map',
  '/styles.css': 'styles.css',
};
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', map: 'application/json' };

/**
 * Serves the dashboard's built files (`npm run build`); nothing is fetched from elsewhere
 * at run time. Before a build exists, `/` falls back to the minimal live page.
 */
export async function serveDashboard(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const path = (req.url ?? '/').split('?')[0]!;
  const file = FILES[path];
  if (!file) return false;
  if (!dashboardBuilt()) {
    if (file !== 'index.html') return false;
    res.writeHead(200, { 'content-type': TYPES.html! }).end(PAGE_HTML);
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
