import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { loadConfig, type VigilConfig } from '@vigil/config';
import { createLogger, redactUrl } from '@vigil/observability';
import { PgliteDatabase, SqlIncidentStore } from '@vigil/store';
import { createModelClient } from '@vigil/infer';
import { UsageError } from '../usage-error.ts';
import { checkSuite, loadCandidates, loadSuite } from './suite.ts';
import { ClipError, replayCase, type Variant } from './replay.ts';
import { compare, score } from './score.ts';
import { formatTable, toJson, toJunit, type CompareReport } from './report.ts';
import type { CaseResult } from './types.ts';

/**
 * `vigil test SUITE.yaml [--model URL] [--json] [--junit FILE] [--compare QUERY_FILE]`:
 * replays each case's clip through the production pipeline and scores the incidents.
 * Returns 0 when every threshold holds, 1 when one does not; a bad suite, config or clip
 * throws (ConfigError, UsageError) or returns 2.
 */
export async function testCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { model: { type: 'string' }, json: { type: 'boolean' }, junit: { type: 'string' }, compare: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('test takes exactly one suite file');
  if (values.model !== undefined && !isHttpUrl(values.model)) throw new UsageError(`--model must be an http(s) URL (got "${values.model}")`);
  const suite = loadSuite(positionals[0]!);
  const config = loadConfig(suite.config);
  checkSuite(suite, config);
  const candidate = values.compare ? loadCandidates(values.compare, config, suite.config) : undefined;
  const candidateIds = candidate ? candidateQueries(config, candidate) : [];

  // Logs go to stderr: stdout carries the report (and --json's last line).
  const log = createLogger('vigil-test', { level: process.env.VIGIL_LOG_LEVEL ?? 'warn', destination: process.stderr });
  const url = values.model ?? suite.model;
  const model = createModelClient(config, url ? [{ url }] : undefined);
  if (!model) process.stderr.write('vigil test: no model endpoint (--model, the suite\'s model: or the config\'s): triggered windows become trigger findings, as in production\n');
  if (model) {
    // A replay waits for the model as production does; an endpoint that is down from the start is a setup error.
    const up = await Promise.all(model.pool.endpoints.map(async (e) => (await model.ready(e.url)) && (await model.modelId(e.url).then(() => true, () => false))));
    if (!up.some(Boolean)) {
      await model.pool.close();
      process.stderr.write(`vigil test: no model server answers at ${model.pool.endpoints.map((e) => redactUrl(e.url)).join(', ')} (GET /v1/health/ready or /health, then /v1/models)\n`);
      return 2;
    }
  }
  const store = await SqlIncidentStore.open(await PgliteDatabase.open());
  const baseline: CaseResult[] = [];
  const candidates: CaseResult[] = [];
  try {
    for (const c of suite.cases) {
      const t0 = performance.now();
      const variants: Variant[] = [{ config, namespace: `${c.index}/base/` }];
      if (candidate) variants.push({ config: candidate, namespace: `${c.index}/candidate/` });
      let results: CaseResult[];
      try {
        results = await replayCase(c, variants, { model, store, log });
      } catch (e) {
        if (!(e instanceof ClipError)) throw e;
        process.stderr.write(`${suite.file}: cases[${c.index}].clip: ${e.message}\n`);
        return 2;
      }
      baseline.push(results[0]!);
      if (results[1]) candidates.push(results[1]);
      const r = results[0]!;
      // A window the model did not answer scores as "no": say so, or a dead endpoint reads as misses.
      const failed = r.windows.filter((w) => w.status === 'error' || w.status === 'truncated').length;
      const note = failed > 0 ? `, ${failed} NOT ANSWERED (model errors or cut-off replies: see the log)` : '';
      process.stderr.write(`vigil test: case ${c.index + 1}/${suite.cases.length} ${basename(c.clip)}: ${r.windows.length} windows asked, ${r.incidents.length} incidents${note} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    }
  } finally {
    await model?.pool.close();
    await store.close();
  }

  const result = score(baseline, suite.thresholds);
  const compared: CompareReport | undefined = candidate
    ? { queries: candidateIds, candidate: score(candidates, suite.thresholds), disagreements: compare(baseline, candidates, candidateIds) }
    : undefined;
  if (values.junit) writeFileSync(values.junit, toJunit(result, basename(suite.file)));
  if (values.json) process.stdout.write(JSON.stringify(JSON.parse(toJson(result, compared))) + '\n');
  else process.stdout.write(formatTable(result, { compare: compared }));
  return result.passed ? 0 : 1;
}

/** The ids of the queries the candidate file changed. */
function candidateQueries(config: VigilConfig, candidate: VigilConfig): string[] {
  const before = new Map(config.queries.map((q) => [q.id, JSON.stringify(q)]));
  return candidate.queries.filter((q) => before.get(q.id) !== JSON.stringify(q)).map((q) => q.id);
}

function isHttpUrl(s: string): boolean {
  try {
    return /^https?:$/.test(new URL(s).protocol);
  } catch {
    return false;
  }
}
