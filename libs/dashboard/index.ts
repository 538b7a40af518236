import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Folder with the built dashboard (index.html, app.js, styles.css). */
export const dashboardDir = fileURLToPath(new URL('./dist/', import.meta.url));

/** True once `npm run build` has produced the dashboard. */
export function dashboardBuilt(): boolean {
  return existsSync(`${dashboardDir}index.html`) && existsSync(`${dashboardDir}app.js`);
}
