import { z } from 'zod';
import { checkRawConfig, ConfigError, formatPath, zodIssues, type ConfigIssue, type LineOf, type VigilConfig } from '@vigil/config';
import { readYamlFile } from './yaml-file.ts';

// Entries are checked by the config's own query schema once merged; here only what finds their place.
const CandidatesSchema = z.strictObject({
  queries: z.array(z.looseObject({ id: z.string() })).min(1, { error: 'list at least one query' }),
});

/**
 * `vigil test --compare`: the config with some queries replaced, in place, by the candidate
 * file's entries (the config's own query syntax, matched by id). The merged config goes
 * through the real validation (`${ENV}` included); a problem in a candidate entry is
 * reported against the candidate file and its lines, any other against the config file.
 */
export function loadCandidates(file: string, config: VigilConfig, configFile: string, env: Record<string, string | undefined> = process.env): VigilConfig {
  const cand = readYamlFile(file, 'candidates');
  const parsed = CandidatesSchema.safeParse(cand.raw ?? {}, { reportInput: true });
  if (!parsed.success) throw new ConfigError(file, zodIssues(parsed.error, cand.lineOf), 'candidates');
  // Config query position → candidate position.
  const replaced = new Map<number, number>();
  const issues: ConfigIssue[] = [];
  parsed.data.queries.forEach((q, j) => {
    const path = ['queries', j, 'id'];
    const i = config.queries.findIndex((c) => c.id === q.id);
    if (i < 0) issues.push({ path: formatPath(path), message: `unknown query "${q.id}" (the config has: ${config.queries.map((c) => c.id).join(', ')})`, line: cand.lineOf(path) });
    else if (replaced.has(i)) issues.push({ path: formatPath(path), message: `query "${q.id}" is listed twice`, line: cand.lineOf(path) });
    else replaced.set(i, j);
  });
  if (issues.length > 0) throw new ConfigError(file, issues, 'candidates');

  const base = readYamlFile(configFile, 'config');
  const baseRaw = base.raw as Record<string, unknown>;
  const baseQueries = Array.isArray(baseRaw.queries) ? baseRaw.queries : [];
  const candRaw = (cand.raw as { queries: unknown[] }).queries;
  const merged = { ...baseRaw, queries: baseQueries.map((q: unknown, i) => (replaced.has(i) ? candRaw[replaced.get(i)!] : q)) };
  const inCandidate = (path: (string | number)[]) => path[0] === 'queries' && typeof path[1] === 'number' && replaced.has(path[1]);
  const lineOf: LineOf = (path) => (inCandidate(path) ? cand.lineOf(['queries', replaced.get(path[1] as number)!, ...path.slice(2)]) : base.lineOf(path));
  const checked = checkRawConfig(merged, lineOf, env);
  if (checked.ok) return checked.config;
  throw new ConfigError(file, checked.issues.map((i) => relocate(i, replaced, configFile)), 'candidates');
}

// Issue paths are already formatted: `queries[3].window` of the merged config is `queries[0].window` of the candidate file.
const QUERY_PATH = /^queries\[(\d+)\](?=$|[.[])/;

function relocate(issue: ConfigIssue, replaced: Map<number, number>, configFile: string): ConfigIssue {
  const m = QUERY_PATH.exec(issue.path);
  const j = m ? replaced.get(Number(m[1])) : undefined;
  if (j === undefined) return { ...issue, file: configFile };
  return { ...issue, path: `queries[${j}]${issue.path.slice(m![0].length)}` };
}
