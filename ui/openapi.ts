import { z } from 'zod';
import * as schemas from './api-schemas.ts';
import {
  AssetParams,
  AssetsQuery,
  EventsQuery,
  HistoryQuery,
  LogParams,
  LogQuery,
  PreviewQuery,
  RunParams,
  RunsQuery,
  SelectionQuery,
} from './validate.ts';

type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 502 | 503;

/** One route of the JSON API: the schemas it validates its input with and the one it answers with. */
export interface ApiRoute {
  method: 'get' | 'post';
  /** As Hono writes it, under /api: `/assets/:key`. */
  path: string;
  summary: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: z.ZodObject;
  body?: z.ZodType;
  /** Needs the token (Bearer) or a browser session with its CSRF token. */
  auth?: boolean;
  ok:
    | { status: 200 | 202; schema: z.ZodType }
    | { status: 200; type: 'text/plain' | 'text/event-stream'; about: string };
  errors: ErrorStatus[];
}

const ERRORS: Record<ErrorStatus, string> = {
  400: 'Invalid input',
  401: 'No token',
  403: 'Bad CSRF token or non-loopback session',
  404: 'Not found',
  409: 'Run already finished',
  502: 'The query engine answered with an error',
  503: 'The query engine (or a server behind it) is down; the message names it',
};
const stream = (about: string) => ({ status: 200 as const, type: 'text/event-stream' as const, about });

/** Every route of the JSON API (api.ts registers them; a test keeps the two lists equal). */
export const API_ROUTES: ApiRoute[] = [
  {
    method: 'get',
    path: '/assets',
    summary:
      'Every asset with status, freshness (null without a policy), first cause, latest materialization and check summary',
    query: AssetsQuery,
    ok: { status: 200, schema: schemas.AssetsAnswer },
    errors: [400],
  },
  {
    method: 'get',
    path: '/graph',
    summary: 'Lineage graph: laid-out nodes with status, check badge and freshness state, edges and group boxes',
    ok: { status: 200, schema: schemas.GraphAnswer },
    errors: [],
  },
  {
    method: 'get',
    path: '/assets/:key',
    summary:
      'Definition, partitions with status, why chain, latest check results and freshness (per partition) of one asset',
    params: AssetParams,
    ok: { status: 200, schema: schemas.AssetDetailAnswer },
    errors: [400, 404],
  },
  {
    method: 'get',
    path: '/assets/:key/history',
    summary: 'Materialization history, newest first, paged by materialization id',
    params: AssetParams,
    query: HistoryQuery,
    ok: { status: 200, schema: schemas.HistoryPage },
    errors: [400, 404],
  },
  {
    method: 'get',
    path: '/assets/:key/table',
    summary:
      "Row count, current snapshot id and max event time of the asset's table, read on the profile's query engine (Trino, or a Spark session: ~20 s); reused for a minute",
    params: AssetParams,
    ok: { status: 200, schema: schemas.TableMetadata },
    errors: [400, 404, 502, 503],
  },
  {
    method: 'get',
    path: '/assets/:key/preview',
    summary: "The first rows of the asset's table (same read and cache as /table)",
    params: AssetParams,
    query: PreviewQuery,
    ok: { status: 200, schema: schemas.TablePreview },
    errors: [400, 404, 502, 503],
  },
  {
    method: 'get',
    path: '/runs',
    summary: 'Runs, newest first, paged by run id',
    query: RunsQuery,
    ok: { status: 200, schema: schemas.RunsPage },
    errors: [400],
  },
  {
    method: 'post',
    path: '/runs',
    summary: 'Launch a run in the server process; returns at once with its id',
    body: schemas.LaunchBody,
    auth: true,
    ok: { status: 202, schema: schemas.Launched },
    errors: [400, 401, 403],
  },
  {
    method: 'get',
    path: '/runs/:id',
    summary: 'Run record, events, step attempts, check evaluations and compute-log index',
    params: RunParams,
    ok: { status: 200, schema: schemas.RunDetailAnswer },
    errors: [400, 404],
  },
  {
    method: 'get',
    path: '/runs/:id/events',
    summary: 'Server-sent events: stored events after Last-Event-ID / ?after=, then live ones until the run ends',
    params: RunParams,
    query: EventsQuery,
    headers: z.object({ 'Last-Event-ID': z.string().optional() }),
    ok: stream('`run-event` (RunEvent) events, then one `end` (RunEnd)'),
    errors: [400, 404],
  },
  {
    method: 'get',
    path: '/runs/:id/output',
    summary: "Server-sent events: the steps' compute logs as they are written, until the run ends",
    params: RunParams,
    ok: stream('`output` (OutputChunk) events from the start of each log, then one `end` (RunEnd)'),
    errors: [400, 404],
  },
  {
    method: 'get',
    path: '/runs/:id/logs/:asset',
    summary: "A step's compute log as plain text",
    params: LogParams,
    query: LogQuery,
    ok: { status: 200, type: 'text/plain', about: 'The log' },
    errors: [400, 404],
  },
  {
    method: 'post',
    path: '/runs/:id/cancel',
    summary: 'Cancel a run this server launched',
    params: RunParams,
    auth: true,
    ok: { status: 202, schema: schemas.Canceling },
    errors: [401, 403, 404, 409],
  },
  {
    method: 'get',
    path: '/selection',
    summary: 'Resolve a selection (CLI syntax) to asset keys; 400 with a caret message when it does not parse',
    query: SelectionQuery,
    ok: { status: 200, schema: schemas.SelectionAnswer },
    errors: [400],
  },
  {
    method: 'get',
    path: '/session',
    summary: 'For browsers on this machine: sets an HttpOnly session cookie and returns the CSRF token',
    ok: { status: 200, schema: schemas.SessionAnswer },
    errors: [],
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    ok: { status: 200, schema: schemas.OpenApiAnswer },
    errors: [],
  },
];

/** A request part's JSON Schema, inline (as the client writes it: defaults apply, numbers are coerced). */
function inputSchema(schema: z.ZodType) {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input' });
  return rest;
}

/** An answer's schema: a reference to its entry in `components.schemas` (every answer is named there). */
function answerSchema(schema: z.ZodType) {
  const id = schemas.apiSchemas.get(schema)?.id;
  if (!id) throw new Error('An API answer schema must be named in ui/api-schemas.ts (named(id, schema)).');
  return { $ref: `#/components/schemas/${id}` };
}

function parameters(where: 'path' | 'query' | 'header', schema: z.ZodObject | undefined) {
  return Object.entries(schema?.shape ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || !(s as z.ZodType).safeParse(undefined).success,
    ...((s as z.ZodType).description ? { description: (s as z.ZodType).description } : {}),
    schema: inputSchema(s as z.ZodType),
  }));
}

function operation(r: ApiRoute) {
  const json = (schema: z.ZodType) => ({ 'application/json': { schema: answerSchema(schema) } });
  const ok =
    'schema' in r.ok
      ? { description: 'OK', content: json(r.ok.schema) }
      : { description: r.ok.about, content: { [r.ok.type]: { schema: { type: 'string' } } } };
  const params = [...parameters('path', r.params), ...parameters('query', r.query), ...parameters('header', r.headers)];
  return {
    summary: r.summary,
    ...(params.length ? { parameters: params } : {}),
    ...(r.auth ? { security: [{ bearer: [] }, { csrfCookie: [] }] } : {}),
    ...(r.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: inputSchema(r.body) } } } }
      : {}),
    responses: {
      [String(r.ok.status)]: ok,
      ...Object.fromEntries(
        r.errors.map((s) => [String(s), { description: ERRORS[s], content: json(schemas.ErrorBody) }]),
      ),
    },
  };
}

/** `/api/assets/:key` → `/api/assets/{key}`. */
export const openApiPath = (path: string) => `/api${path.replace(/:(\w+)/g, '{$1}')}`;

/** The OpenAPI 3.1 description of the JSON API, generated from the route table and its zod schemas. */
export function openApiDocument() {
  const paths: Record<string, Record<string, ReturnType<typeof operation>>> = {};
  for (const r of API_ROUTES) paths[openApiPath(r.path)] = { ...paths[openApiPath(r.path)], [r.method]: operation(r) };
  const named = z.toJSONSchema(schemas.apiSchemas, { uri: (id) => `#/components/schemas/${id}` }).schemas;
  return {
    openapi: '3.1.0',
    info: {
      title: 'Fairway UI API',
      version: '0.1.0',
      description: 'Read asset status, lineage, history and runs; launch and cancel runs (token required).',
    },
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'The token in <state-dir>/ui-token' },
        csrfCookie: {
          type: 'apiKey',
          in: 'header',
          name: 'X-CSRF-Token',
          description: 'With the fairway_session cookie',
        },
      },
      schemas: Object.fromEntries(Object.entries(named).map(([id, { $schema: _, $id: __, ...s }]) => [id, s] as const)),
    },
  };
}
