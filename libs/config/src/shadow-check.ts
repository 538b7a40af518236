import { formatPath, type ConfigIssue } from './errors.ts';
import { selectCameras } from './inference.ts';
import type { RawConfig } from './schema.ts';

/**
 * Cross-query rules of `shadow:`. A shadow names another query that is not itself a shadow,
 * and watches only cameras that query watches: its windows are compared with that query's,
 * which means nothing on a camera the shadowed query never asks about. A webhook cannot name
 * a shadow query: a shadow never calls one.
 */
export function checkShadows(c: RawConfig, lineOf: (p: (string | number)[]) => number | undefined): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const at = (p: (string | number)[], message: string) => issues.push({ path: formatPath(p), message, line: lineOf(p) });
  const byId = new Map(c.queries.map((q) => [q.id, q]));
  const cameras = c.cameras.map((cam) => ({ ...cam, site: cam.site ?? c.site }));
  c.queries.forEach((q, i) => {
    if (q.shadow === undefined) return;
    const target = byId.get(q.shadow);
    if (q.shadow === q.id) return at(['queries', i, 'shadow'], 'a query cannot shadow itself');
    if (!target) return at(['queries', i, 'shadow'], `unknown query "${q.shadow}" (known: ${[...byId.keys()].filter((id) => id !== q.id).join(', ')})`);
    if (target.shadow !== undefined) return at(['queries', i, 'shadow'], `"${q.shadow}" is itself a shadow (of "${target.shadow}"): shadow the query it shadows`);
    const theirs = new Set(selectCameras(target.cameras, cameras));
    const outside = selectCameras(q.cameras, cameras).filter((id) => !theirs.has(id));
    if (outside.length > 0) at(['queries', i, 'cameras'], `camera ${outside.join(', ')} is not watched by "${q.shadow}" (a shadow watches only cameras of the query it shadows)`);
  });
  c.alerts.webhooks.forEach((w, i) => {
    w.queries?.forEach((qid, j) => {
      if (byId.get(qid)?.shadow !== undefined) at(['alerts', 'webhooks', i, 'queries', j], `"${qid}" is a shadow query: it never calls webhooks`);
    });
  });
  return issues;
}
