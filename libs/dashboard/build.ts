/**
 * Builds the dashboard into dist/: one bundled script (Preact, Socket.IO client), the
 * stylesheet and index.html. Nothing is fetched at run time — no CDN.
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const dist = `${here}dist`;
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: [`${here}src/main.tsx`],
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'esm',
  target: ['chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outfile: `${dist}/app.js`,
  logLevel: 'warning',
});
copyFileSync(`${here}src/index.html`, `${dist}/index.html`);
copyFileSync(`${here}src/styles.css`, `${dist}/styles.css`);
console.log(`dashboard built into ${dist}`);
