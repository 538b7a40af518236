import { readJson } from './http-util.ts';
import { labelsToSuite } from './label-suite.ts';
import { BadParam, parseLabelBody, parseLabelSearch } from './params.ts';
import type { ApiDeps, Ctx, Route } from './api.ts';

type Reply = (ctx: Ctx, body: unknown, status?: number) => number;

/** Operator labels: false positives and missed spans, and their export as a test suite. */
export function labelRoutes(d: ApiDeps, ok: Reply): Route[] {
  const fail = (ctx: Ctx, status: number, error: string) => ok(ctx, { error }, status);
  return [
    { method: 'GET', path: '/api/labels', role: 'read', handle: async (ctx) => ok(ctx, { items: await d.store.listLabels(parseLabelSearch(ctx.url.searchParams)) }) },
    {
      method: 'GET',
      path: '/api/labels/suite',
      role: 'read',
      handle: async (ctx) => {
        const yaml = labelsToSuite(await d.store.listLabels(parseLabelSearch(ctx.url.searchParams)));
        ctx.res.writeHead(200, { 'content-type': 'application/yaml; charset=utf-8', 'content-disposition': 'attachment; filename="suite.yaml"' });
        ctx.res.end(yaml);
        return 200;
      },
    },
    {
      method: 'POST',
      path: '/api/labels',
      role: 'admin',
      handle: async (ctx) => {
        const b = parseLabelBody(await readJson(ctx.req));
        // With tokens configured the labeller is the token's name, as for ack and resolve.
        const by = d.auth.enabled ? ctx.principal.name : (b.by ?? 'anonymous');
        const note = b.note ?? '';
        if (b.kind === 'missed') {
          return ok(ctx, await d.store.addLabel({ kind: 'missed', camera: b.camera, query: b.query, from: new Date(b.from), to: new Date(b.to), incident: null, by, note }), 201);
        }
        const i = await d.store.get(b.incident);
        if (!i) return fail(ctx, 404, `no incident ${b.incident}`);
        if (i.kind === 'camera-offline') throw new BadParam('incident', 'a camera-offline incident is not a model answer; label the query’s incidents');
        return ok(ctx, await d.store.addLabel({ kind: 'false_positive', camera: i.camera, query: i.query, from: new Date(i.started_at), to: new Date(i.ended_at), incident: i.id, by, note }), 201);
      },
    },
    {
      method: 'DELETE',
      path: '/api/labels/{id}',
      role: 'admin',
      handle: async (ctx) => {
        const id = ctx.params.id!;
        if (!/^[1-9]\d{0,17}$/.test(id)) throw new BadParam('id', 'expected a label id (digits)');
        return (await d.store.deleteLabel(id)) ? ok(ctx, { deleted: id }) : fail(ctx, 404, `no label ${id}`);
      },
    },
  ];
}
