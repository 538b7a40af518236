import { LABEL_PARAMS, MODEL_STATS_PARAMS, SEARCH_PARAMS, SHADOW_DIFF_PARAMS, SHADOW_PARAMS, STATS_PARAMS, UPTIME_PARAMS, WINDOW_PARAMS } from './params.ts';
import { MODEL_METRICS } from '@vigil/store';
import { AskBodySchema, AskReplySchema, CameraLiveStatusSchema, IncidentSchema, jsonSchemaOf, LabelBodySchema, LabelSchema, ShadowDifferencePageSchema, ShadowListSchema, WindowPageSchema, WindowStatusSchema } from '@vigil/contracts';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });
const err = (description: string) => json(ref('Error'), description);
const AUTH = { '401': err('Missing or invalid bearer token (when tokens are configured)') };
const ADMIN = { ...AUTH, '403': err('The token has role read; this needs admin') };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const str = { type: 'string' };
const nstr = { type: ['string', 'null'] };

const PARAM_DOCS: Record<string, { description: string; schema: object }> = {
  camera: { description: 'Camera id', schema: str },
  site: { description: 'Site name', schema: str },
  query: { description: 'Standing query id (`camera-offline` for offline incidents)', schema: str },
  severity: { description: 'Comma-separated: low, medium, high, critical', schema: str },
  state: { description: 'Comma-separated: open, closed, acknowledged, resolved', schema: str },
  from: { description: 'ISO 8601; incidents whose window overlaps [from, to)', schema: { type: 'string', format: 'date-time' } },
  to: { description: 'ISO 8601 (exclusive)', schema: { type: 'string', format: 'date-time' } },
  q: { description: 'Full text over question, answer and reasoning (web-search syntax); adds `highlight`', schema: str },
  limit: { description: '1–500, default 50', schema: { type: 'integer', minimum: 1, maximum: 500 } },
  cursor: { description: '`next_cursor` of the previous page', schema: str },
  sort: { description: 'newest (default) or oldest, by start time', schema: { type: 'string', enum: ['newest', 'oldest'] } },
  bucket: { description: 'minute, hour (default) or day (UTC)', schema: { type: 'string', enum: ['minute', 'hour', 'day'] } },
  by: { description: 'camera (default), query, severity or site', schema: { type: 'string', enum: ['camera', 'query', 'severity', 'site'] } },
};
const queryParams = (names: readonly string[], docs: Record<string, { description: string; schema: object }> = {}) =>
  names.map((name) => ({ name, in: 'query', required: false, ...(docs[name] ?? PARAM_DOCS[name]) }));
const HOURLY = { bucket: { description: 'hour (default) or day (UTC)', schema: { type: 'string', enum: ['hour', 'day'] } } };
const MODEL_DOCS = {
  ...HOURLY,
  metric: { description: 'latency_ms (mean, default), tokens (prompt + completion), prompt_tokens, completion_tokens, requests or errors', schema: { type: 'string', enum: [...MODEL_METRICS] } },
  by: { description: 'query (default) or camera', schema: { type: 'string', enum: ['query', 'camera'] } },
};
const LABEL_DOCS = {
  query: { description: 'Standing query id', schema: str },
  from: { description: 'ISO 8601; labels whose span overlaps [from, to), in capture time', schema: { type: 'string', format: 'date-time' } },
};
const WINDOW_DOCS = {
  query: { description: 'Standing query id', schema: str },
  from: { description: 'ISO 8601; windows (and skip runs) overlapping [from, to), in capture time', schema: { type: 'string', format: 'date-time' } },
  verdict: { description: 'true or false: asked windows whose answer did (not) match alert_when (skip runs left out)', schema: { type: 'string', enum: ['true', 'false'] } },
  status: { description: `Comma-separated: ${WindowStatusSchema.options.join(', ')} (skipped: the skip runs)`, schema: str },
  q: { description: 'Full text over answer and reasoning (web-search syntax); skip runs left out', schema: str },
};
const SHADOW_DOCS = { from: { description: 'ISO 8601; windows starting in [from, to), in capture time', schema: { type: 'string', format: 'date-time' } } };
const valueSeries = { type: 'array', items: { type: 'object', properties: { key: str, points: { type: 'array', items: { type: 'object', properties: { t: str, value: { type: 'number' } } } } } } };

/** A query's `alert_when` as its config writes it. */
const ALERT_WHEN = {
  description: 'as written in the config: a regex on the answer (case-insensitive), `{answer: yes|no}`, or `{json: {schema, when}}` on a JSON verdict',
  oneOf: [
    str,
    { type: 'object', required: ['answer'], additionalProperties: false, properties: { answer: { type: 'string', enum: ['yes', 'no'] } } },
    { type: 'object', required: ['json'], additionalProperties: false, properties: { json: { type: 'object', required: ['schema', 'when'], properties: { schema: { type: 'object' }, when: { type: 'object' } } } } },
  ],
};

/** Media routes: the bearer header, or the media session cookie browsers send with <img>, <video>. */
const MEDIA_SECURITY = [{ bearer: [] }, { mediaSession: [] }, {}];
/** Mutations must be JSON (a cross-site form cannot send that without a preflight). */
const JSON_ONLY = { '415': err('Content-Type is not application/json') };

/** The OpenAPI 3.1 document served at /api/openapi.json (a test checks it against the routes). */
export const OPENAPI = {
  openapi: '3.1.0',
  info: { title: 'Vigil alerts API', version: '1.0.0', description: 'Incidents from standing questions about live cameras: search, evidence, operator actions, live status.' },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'API token from alerts.tokens (role read or admin); required only when tokens are configured' },
      mediaSession: { type: 'apiKey', in: 'cookie', name: 'vigil_media', description: 'Set by POST /api/session; accepted by media routes (frames, clip, latest frame, live view), which browsers load without headers' },
    },
    schemas: {
      Error: { type: 'object', required: ['error'], properties: { error: str, param: str } },
      // Message and API shapes come from their zod schemas in @vigil/contracts: one definition.
      Incident: jsonSchemaOf(IncidentSchema),
      WindowPage: { ...jsonSchemaOf(WindowPageSchema), description: 'Asked windows and skip runs (`kind`), oldest first by start' },
      ShadowList: { ...jsonSchemaOf(ShadowListSchema), description: 'Each shadow query against the query it shadows' },
      ShadowDifferencePage: { ...jsonSchemaOf(ShadowDifferencePageSchema), description: 'Windows where a shadow and the query it shadows disagree, oldest first' },
      Page: { type: 'object', required: ['items', 'next_cursor'], properties: { items: { type: 'array', items: ref('Incident') }, next_cursor: nstr } },
      Camera: {
        type: 'object',
        required: ['id', 'name', 'url', 'status'],
        properties: { id: str, name: str, site: str, url: { type: 'string', description: 'credentials redacted' }, transport: str, fps: { type: 'number' }, width: { type: 'integer' }, queries: { type: 'array', items: str }, status: { anyOf: [ref('CameraStatus'), { type: 'null' }] } },
      },
      CameraStatus: { ...jsonSchemaOf(CameraLiveStatusSchema), description: "The camera's latest status from ingest; `since`: when it entered this state" },
      Query: { type: 'object', required: ['id', 'version', 'question', 'cameras'], properties: { id: str, version: { type: 'string', description: 'Hash of what is asked (question, window, every, trigger, schedule, alert_when, severity, cooldown, model); incidents record it as query_version' }, status: { type: 'string', enum: ['active', 'waiting_for_model'] }, question: str, cameras: { type: 'array', items: str }, window_ms: { type: 'integer' }, every_ms: { type: 'integer' }, cooldown_ms: { type: 'integer' }, alert_when: ALERT_WHEN, severity: str, shadow: { type: ['string', 'null'], description: 'The query this one shadows (recorded and compared, never alerts); null for a query that alerts' }, webhooks: { type: 'array', items: str } } },
      Action: { type: 'object', additionalProperties: false, properties: { note: { type: 'string', maxLength: 2000 }, by: { type: 'string', description: 'only used when no tokens are configured; otherwise the token name' } } },
      Ask: jsonSchemaOf(AskBodySchema, 'input'),
      Label: jsonSchemaOf(LabelSchema),
      LabelBody: { ...jsonSchemaOf(LabelBodySchema, 'input'), description: '`false_positive` names its incident (camera, query and span are taken from it); `missed` names camera, query and a span of at most 24 h. `by` is used only when no tokens are configured' },
      AskReply: jsonSchemaOf(AskReplySchema),
    },
  },
  security: [{ bearer: [] }, {}],
  paths: {
    '/api/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1') } } },
    '/api/config': {
      get: {
        summary: 'The running config: when it was applied, and the last reload refused (an invalid file: the errors, secrets redacted; the running config stays)',
        responses: {
          '200': json({ type: 'object', properties: { applied_at: str, cameras: { type: 'integer' }, queries: { type: 'integer' }, refused: { type: ['object', 'null'], properties: { at: str, error: str } } } }, 'Config status'),
          ...AUTH,
        },
      },
    },
    '/api/session': {
      post: {
        summary: 'Start a media session: sets the HttpOnly, SameSite=Strict `vigil_media` cookie (12 h) that media routes accept, so no token goes into a URL',
        requestBody: { required: false, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: { '200': json({ type: 'object', properties: { name: str, role: str, media_session: { type: 'boolean' }, expires_in_s: { type: ['integer', 'null'] } } }, 'Who the token is; the cookie is set'), '415': err('Not JSON'), ...AUTH },
      },
      delete: { summary: 'End the media session (clears the cookie)', security: [], responses: { '200': json({ type: 'object' }, 'Cleared') } },
    },
    '/api/incidents': {
      get: {
        summary: 'Search incidents, newest first (stable cursor pagination)',
        parameters: queryParams(SEARCH_PARAMS),
        responses: { '200': json(ref('Page'), 'A page of incidents'), '400': err('A bad parameter (named in `param`)'), ...AUTH },
      },
    },
    '/api/windows': {
      get: {
        summary: 'The window audit: every window decided — asked (answer, verdict, status, latency, tokens) or skipped (runs with their reason) — oldest first, one timeline (stable cursor pagination)',
        parameters: queryParams(WINDOW_PARAMS, WINDOW_DOCS),
        responses: { '200': json(ref('WindowPage'), 'A page of windows'), '400': err('A bad parameter (named in `param`)'), ...AUTH },
      },
    },
    '/api/labels': {
      get: {
        summary: 'Operator labels (false positives, missed spans) overlapping [from, to), oldest first, at most 1000',
        parameters: queryParams(LABEL_PARAMS, LABEL_DOCS),
        responses: { '200': json({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('Label') } } }, 'The labels'), '400': err('A bad parameter (named in `param`)'), ...AUTH },
      },
      post: {
        summary: 'Label an incident a false positive, or a span of a camera and query as missed; the labeller is the token name',
        requestBody: { required: true, content: { 'application/json': { schema: ref('LabelBody') } } },
        responses: { '201': json(ref('Label'), 'Stored'), '400': err('Bad body (the field named in `param`)'), '404': err('No such incident'), ...JSON_ONLY, ...ADMIN },
      },
    },
    '/api/labels/suite': {
      get: {
        summary: 'The labels as a `vigil test` suite skeleton (YAML): a case per label, missed spans where the query must fire, false positives where it must not; clips are placeholders to supply',
        parameters: queryParams(LABEL_PARAMS, LABEL_DOCS),
        responses: { '200': { description: 'suite.yaml', content: { 'application/yaml': { schema: { type: 'string' } } } }, '400': err('A bad parameter (named in `param`)'), ...AUTH },
      },
    },
    '/api/labels/{id}': {
      delete: { summary: 'Delete a label', parameters: [idParam], responses: { '200': json({ type: 'object', properties: { deleted: str } }, 'Deleted'), '400': err('Bad id'), '404': err('No such label'), ...ADMIN } },
    },
    '/api/shadows': {
      get: {
        summary: 'Shadow queries: how often each answered like the query it shadows (windows both answered), their verdict counts and would-be incidents',
        parameters: queryParams(SHADOW_PARAMS, SHADOW_DOCS),
        responses: { '200': json(ref('ShadowList'), 'Every shadow query'), '400': err('A bad parameter (named in `param`)'), ...AUTH },
      },
    },
    '/api/shadows/{query}/differences': {
      get: {
        summary: "The windows where a shadow query's verdict differs from the query it shadows, with both answers (stable cursor pagination)",
        parameters: [{ name: 'query', in: 'path', required: true, schema: str }, ...queryParams(SHADOW_DIFF_PARAMS, SHADOW_DOCS)],
        responses: { '200': json(ref('ShadowDifferencePage'), 'A page of differing windows'), '400': err('A bad parameter (named in `param`)'), '404': err('No such shadow query'), ...AUTH },
      },
    },
    '/api/incidents/{id}': {
      get: { summary: 'One incident with its webhook deliveries', parameters: [idParam], responses: { '200': json(ref('Incident'), 'The incident'), '400': err('Bad id'), '404': err('No such incident'), ...AUTH } },
    },
    '/api/incidents/{id}/ack': {
      post: {
        summary: 'Acknowledge an open or closed incident',
        parameters: [idParam],
        requestBody: { required: false, content: { 'application/json': { schema: ref('Action') } } },
        responses: { '200': json(ref('Incident'), 'Acknowledged'), '400': err('Bad body'), '404': err('No such incident'), '409': err('Already acknowledged or resolved'), ...JSON_ONLY, ...ADMIN },
      },
    },
    '/api/incidents/{id}/resolve': {
      post: {
        summary: 'Resolve an incident (ends its episode)',
        parameters: [idParam],
        requestBody: { required: false, content: { 'application/json': { schema: ref('Action') } } },
        responses: { '200': json(ref('Incident'), 'Resolved'), '400': err('Bad body'), '404': err('No such incident'), '409': err('Already resolved'), ...JSON_ONLY, ...ADMIN },
      },
    },
    '/api/incidents/{id}/frames/{n}.jpg': {
      get: {
        security: MEDIA_SECURITY,
        summary: 'Key frame n of the incident (JPEG with the timestamp band)',
        parameters: [idParam, { name: 'n', in: 'path', required: true, schema: { type: 'integer', minimum: 0 } }],
        responses: { '200': { description: 'JPEG', content: { 'image/jpeg': {} } }, '400': err('Bad frame number'), '404': err('No such incident or frame (or deleted by retention)'), ...AUTH },
      },
    },
    '/api/incidents/{id}/clip.mp4': {
      get: {
        security: MEDIA_SECURITY,
        summary: 'H.264 clip of the window that opened the incident (Range requests supported)',
        parameters: [idParam],
        responses: { '200': { description: 'MP4', content: { 'video/mp4': {} } }, '206': { description: 'Partial MP4', content: { 'video/mp4': {} } }, '400': err('Bad id'), '404': err('No clip'), '416': err('Bad range'), ...AUTH },
      },
    },
    '/api/stats/incidents': {
      get: {
        summary: 'Incident counts per time bucket (UTC) and key, for charts',
        parameters: queryParams(STATS_PARAMS),
        responses: {
          '200': json({ type: 'object', properties: { bucket: str, by: str, from: str, to: str, series: { type: 'array', items: { type: 'object', properties: { key: str, points: { type: 'array', items: { type: 'object', properties: { t: str, count: { type: 'integer' } } } } } } } } }, 'Series'),
          '400': err('A bad parameter'),
          ...AUTH,
        },
      },
    },
    '/api/stats/model': {
      get: {
        summary: "The model's latency, tokens, requests or errors per hour or day and query or camera, from every finding (positive or not)",
        parameters: queryParams(MODEL_STATS_PARAMS, MODEL_DOCS),
        responses: {
          '200': json({ type: 'object', properties: { metric: str, bucket: str, by: str, from: str, to: str, series: valueSeries } }, 'Series'),
          '400': err('A bad parameter'),
          ...AUTH,
        },
      },
    },
    '/api/stats/uptime': {
      get: {
        summary: 'Per camera and bucket: percent of the time its state was known that it was online or degraded',
        parameters: queryParams(UPTIME_PARAMS, HOURLY),
        responses: {
          '200': json({ type: 'object', properties: { bucket: str, from: str, to: str, series: valueSeries } }, 'Series'),
          '400': err('A bad parameter'),
          ...AUTH,
        },
      },
    },
    '/api/cameras': { get: { summary: 'Configured cameras with live status (no credentials)', responses: { '200': json({ type: 'array', items: ref('Camera') }, 'Cameras'), ...AUTH } } },
    '/api/cameras/{id}': { get: { summary: 'One camera', parameters: [idParam], responses: { '200': json(ref('Camera'), 'Camera'), '400': err('Bad id'), '404': err('No such camera'), ...AUTH } } },
    '/api/cameras/{id}/latest.jpg': {
      get: {
        security: MEDIA_SECURITY,
        summary: "The camera's newest frame (JPEG with the timestamp band), from frames ingest already publishes",
        parameters: [idParam],
        responses: { '200': { description: 'JPEG', content: { 'image/jpeg': {} } }, '400': err('Bad id'), '404': err('No such camera, or no frame yet'), ...AUTH },
      },
    },
    '/api/queries': { get: { summary: 'Standing queries', responses: { '200': json({ type: 'array', items: ref('Query') }, 'Queries'), ...AUTH } } },
    '/api/ask': {
      post: {
        summary: 'Ask a camera a question now (answered by infer over the control plane)',
        requestBody: { required: true, content: { 'application/json': { schema: ref('Ask') } } },
        responses: {
          '200': json(ref('AskReply'), "The model's answer"),
          '400': err('A bad field'),
          '502': err('infer failed to answer'),
          '503': err('No infer service answers'),
          '504': err('infer did not answer in time'),
          ...JSON_ONLY,
          ...ADMIN,
        },
      },
    },
  },
} as const;
