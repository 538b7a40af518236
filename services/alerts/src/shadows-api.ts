import type { IncomingMessage, ServerResponse } from 'node:http';
import type { VigilConfig } from '@vigil/config';
import type { IncidentStore } from '@vigil/store';
import { sendJson } from './http-util.ts';
import { BadParam, parseShadowDifferences, parseShadowRange } from './params.ts';

interface ShadowCtx {
  res: ServerResponse;
  req: IncomingMessage;
  url: URL;
  params: Record<string, string>;
}

/**
 * `GET /api/shadows` and `GET /api/shadows/{query}/differences`: how each shadow query's
 * answers compare with the query it shadows (README, "Shadow queries"). The config is read per
 * request: a reload may add or drop shadows.
 */
export function shadowRoutes(d: { config: VigilConfig; store: IncidentStore }) {
  const send = (ctx: ShadowCtx, status: number, body: unknown) => (sendJson(ctx.res, status, body), status);
  const shadows = () => d.config.queries.flatMap((q) => (q.shadow === undefined ? [] : [{ query: q.id, shadows: q.shadow }]));
  return [
    {
      method: 'GET' as const,
      path: '/api/shadows',
      role: 'read' as const,
      handle: async (ctx: ShadowCtx) => {
        const range = parseShadowRange(ctx.url.searchParams);
        const items = [];
        for (const s of shadows()) items.push(await d.store.shadowSummary(s, range));
        return send(ctx, 200, { items });
      },
    },
    {
      method: 'GET' as const,
      path: '/api/shadows/{query}/differences',
      role: 'read' as const,
      handle: async (ctx: ShadowCtx) => {
        const id = ctx.params.query!;
        if (!/^[A-Za-z0-9_.-]{1,128}$/.test(id)) throw new BadParam('query', 'expected letters, digits, "-", "_" or "."');
        const s = shadows().find((x) => x.query === id);
        if (!s) return send(ctx, 404, { error: `no shadow query ${id}` });
        return send(ctx, 200, await d.store.shadowDifferences(s, parseShadowDifferences(ctx.url.searchParams)));
      },
    },
  ];
}
