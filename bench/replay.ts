/**
 * `npm run bench -- replay [--runs 3] [--json]`
 *
 * How long `vigil test` takes to replay the example suite's 60 s dock clip (decode, trigger,
 * windows, episodes) against the model test server: the whole command as a user runs it,
 * process start included. The median of `--runs` tries stands; the e2e test only checks that a
 * replay is faster than real time, since a shared CI machine makes a tighter figure noise.
 */
import { spawn, execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startModelServer } from '../test/fixtures/model-server.ts';
import { SERVICE_NODE_FLAGS } from '@vigil/platform';

const CLIP_S = 60;

function run(suite: string, modelUrl: string): Promise<{ code: number | null; ms: number; stderr: string }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, 'bin/vigil.js', 'test', suite, '--model', modelUrl, '--json'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, VIGIL_LOG_LEVEL: 'warn' } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((done) => child.on('close', (code) => done({ code, ms: performance.now() - t0, stderr })));
}

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { runs: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) {
    process.stderr.write('bench replay: --runs must be an integer from 1 to 20\n');
    return 2;
  }
  const examples = resolve('examples/tests');
  execFileSync('bash', [join(examples, 'make-clips.sh')], { stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-replay-'));
  const server = await startModelServer({});
  try {
    copyFileSync(join(examples, 'site.yaml'), join(dir, 'site.yaml'));
    const suite = join(dir, 'one-clip.yaml');
    writeFileSync(suite, `config: ./site.yaml\ncases:\n  - clip: ${join(examples, 'clips', 'dock-red-pallet.mp4')}\n    camera: dock-1\n    expect:\n      red-pallet: [["0:12", "0:20"], ["0:40", "0:46"]]\n`);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await run(suite, server.url);
      if (r.code !== 0) {
        process.stderr.write(`bench replay: vigil test exited ${r.code}\n${r.stderr}\n`);
        return 1;
      }
      times.push(r.ms / 1000);
    }
    const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    const result = { clip_s: CLIP_S, runs: times.map((t) => Number(t.toFixed(2))), replay_s_median: Number(median.toFixed(2)), times_real_time: Number((CLIP_S / median).toFixed(1)) };
    process.stdout.write(`vigil test replay of a ${CLIP_S} s clip (2 queries, model test server): median ${result.replay_s_median} s of ${runs} (${result.runs.join(', ')} s), ${result.times_real_time}× real time\n`);
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
