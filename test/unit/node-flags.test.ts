// Every launcher of a Vigil service passes the same Node flags (SERVICE_NODE_FLAGS): Node
// refuses them in NODE_OPTIONS, so each launcher spells them out and could drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVICE_NODE_FLAGS } from '@vigil/platform';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');

test('bin/vigil.js runs node with SERVICE_NODE_FLAGS through its shebang, and the shebang works here', () => {
  const first = read('bin/vigil.js').split('\n')[0]!;
  const m = /^#!\/usr\/bin\/env -S node((?: \S+)*)$/.exec(first);
  assert.ok(m, `unexpected shebang: ${first}`);
  assert.deepEqual(m[1]!.trim().split(' ').filter(Boolean), [...SERVICE_NODE_FLAGS]);
  // Run through the shebang itself (env -S), not through `node bin/vigil.js`.
  const out = execFileSync(join(ROOT, 'bin/vigil.js'), ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.match(out, /vigil run --config/);
});

test("the Dockerfile's ENTRYPOINT passes SERVICE_NODE_FLAGS", () => {
  const line = read('Dockerfile').split('\n').find((l) => l.startsWith('ENTRYPOINT '));
  assert.ok(line, 'no ENTRYPOINT in the Dockerfile');
  assert.deepEqual(JSON.parse(line.slice('ENTRYPOINT '.length)), ['node', ...SERVICE_NODE_FLAGS, 'bin/vigil.js']);
});

test('scripts/start.sh starts the services with SERVICE_NODE_FLAGS', () => {
  const runs = read('scripts/start.sh').split('\n').filter((l) => /\bbin\/vigil\.js run\b/.test(l));
  assert.equal(runs.length, 1, 'one line of start.sh runs bin/vigil.js');
  assert.ok(runs[0]!.startsWith(`node ${SERVICE_NODE_FLAGS.join(' ')} bin/vigil.js run `), runs[0]);
});

test('the benches start their Vigil children with SERVICE_NODE_FLAGS', () => {
  for (const f of ['bench/ingest.ts', 'bench/infer.ts', 'bench/standalone.ts', 'bench/replay.ts']) {
    const text = read(f);
    const spawns = [...text.matchAll(/spawn\(process\.execPath, \[(.*)$/gm)].map((m) => m[1]!);
    const vigil = spawns.filter((s) => /bin\/vigil\.js|--child|--quiet-child|--role-infer/.test(s));
    assert.ok(vigil.length > 0, `${f}: no Vigil child found`);
    for (const s of vigil) assert.ok(s.trimStart().startsWith('...SERVICE_NODE_FLAGS'), `${f}: ${s.slice(0, 80)}`);
  }
});
