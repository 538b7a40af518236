import type { IncidentSearch } from '@vigil/store';

/** A request parameter that is wrong: becomes a 400 naming it. */
export class BadParam extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(`${param}: ${message}`);
    this.name = 'BadParam';
  }
}

const KNOWN = new Set(['camera', 'query', 'from', 'to', 'q', 'limit', 'cursor']);

/** Validates `GET /api/incidents` query parameters. */
export function parseIncidentSearch(params: URLSearchParams): IncidentSearch {
  for (const key of params.keys()) if (!KNOWN.has(key)) throw new BadParam(key, `unknown parameter (known: ${[...KNOWN].join(', ')})`);
  const one = (k: string) => {
    const all = params.getAll(k);
    if (all.length > 1) throw new BadParam(k, 'given more than once');
    return all[0] === '' ? undefined : all[0];
  };
  const time = (k: string) => {
    const v = one(k);
    if (v === undefined) return undefined;
    if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) || Number.isNaN(Date.parse(v))) {
      throw new BadParam(k, `expected an ISO 8601 time like 2026-01-31T08:00:00Z, got ${JSON.stringify(v)}`);
    }
    return new Date(v);
  };
  const limitRaw = one('limit');
  const limit = limitRaw === undefined ? 50 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new BadParam('limit', `expected an integer from 1 to 500, got ${JSON.stringify(limitRaw)}`);
  const from = time('from');
  const to = time('to');
  if (from && to && from >= to) throw new BadParam('to', 'must be after from');
  const q = one('q');
  if (q !== undefined && q.length > 500) throw new BadParam('q', 'at most 500 characters');
  return { camera: one('camera'), query: one('query'), from, to, q, limit, cursor: one('cursor') };
}
