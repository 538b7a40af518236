/**
 * `npm run bench -- <name> [options]` runs bench/<name>.ts, which prints its figures and,
 * with --json, ends with one JSON object on the last line.
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [name, ...args] = process.argv.slice(2);
const dir = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'run.ts').map((f) => f.slice(0, -3));
if (!name || !existsSync(`${dir}/${name}.ts`)) {
  process.stderr.write(`usage: npm run bench -- <${available.join('|')}> [options]\n`);
  process.exit(2);
}
const mod = (await import(pathToFileURL(`${dir}/${name}.ts`).href)) as { main(args: string[]): Promise<number> };
process.exitCode = await mod.main(args);
