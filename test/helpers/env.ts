import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import pg from 'pg';
import { parseConfig, type VigilConfig } from '@vigil/config';

/** Real services the integration tests use; started by scripts/test.sh. */
export const KAFKA = process.env.VIGIL_TEST_KAFKA ?? '127.0.0.1:9092';
export const POSTGRES = process.env.VIGIL_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432';

/** A short random id so tests never share cameras, groups or databases. */
export function uid(): string {
  return randomBytes(4).toString('hex');
}

/** A free TCP port on 127.0.0.1 (also used for UDP: collisions there are unlikely enough). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A database URL no other test uses; dropped by `dropDatabase`. */
export function freshDatabaseUrl(): string {
  return `${POSTGRES}/vigil_test_${uid()}`;
}

export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: `${POSTGRES}/postgres` });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Builds a config through the real YAML loader, so tests exercise what users write. */
export function configFromYaml(yaml: string): VigilConfig {
  return parseConfig(yaml, 'test.yaml', {});
}

/** Polls until `fn` returns a truthy value or the time runs out. */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000, everyMs = 200): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}

/** Reads one counter/gauge sum from a Prometheus text page, filtered by label substring. */
export function metricSum(text: string, name: string, labelFilter = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (labelFilter && !(m[2] ?? '').includes(labelFilter)) continue;
    sum += Number(m[3]);
  }
  return sum;
}
