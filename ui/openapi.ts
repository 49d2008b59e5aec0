import { z } from 'zod';
import { LaunchBody } from './validate.ts';

type Param = { name: string; in: 'path' | 'query' | 'header'; required?: boolean; schema: Record<string, unknown> };

const str = { type: 'string' };
const int = { type: 'integer', minimum: 1 };
const path = (name: string, description: string): Param & { description: string } => ({
  name,
  in: 'path',
  required: true,
  schema: str,
  description,
});
const query = (name: string, schema: Record<string, unknown> = str): Param => ({ name, in: 'query', schema });
const json = (description: string) => ({
  description,
  content: { 'application/json': { schema: { type: 'object' } } },
});
const errors = {
  '400': {
    description: 'Invalid input',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  },
  '404': {
    description: 'Not found',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  },
};
const engineError = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
const auth = { security: [{ bearer: [] }, { csrfCookie: [] }] };
const runStatus = { type: 'string', enum: ['QUEUED', 'STARTED', 'SUCCESS', 'FAILURE', 'CANCELED'] };

const jsonOf = (description: string, schema: Record<string, unknown>) => ({
  description,
  content: { 'application/json': { schema } },
});
const nullable = (ref: string) => ({ oneOf: [{ $ref: ref }, { type: 'null' }] });
const isoOrNull = { type: ['string', 'null'], format: 'date-time' };
const freshnessState = { type: 'string', enum: ['FRESH', 'WARN', 'OVERDUE'] };

/** One partition's freshness ("" when unpartitioned); ui/freshness-view.ts. */
const PARTITION_FRESHNESS = {
  type: 'object',
  required: ['partition_key', 'state', 'text', 'warn_at', 'due_at', 'pending_since', 'day'],
  properties: {
    partition_key: str,
    state: freshnessState,
    text: { type: 'string', description: 'In plain words, as `fairway why` prints it' },
    warn_at: { ...isoOrNull, description: 'When it turns WARN unless materialized; null when nothing is pending' },
    due_at: { ...isoOrNull, description: 'When it turns OVERDUE unless materialized; null when nothing is pending' },
    pending_since: { ...isoOrNull, description: 'Arrival of the earliest data it does not reflect' },
    day: {
      description: "The partition's own day a deadline is keyed on, and when it ends in the deadline's time zone",
      oneOf: [
        {
          type: 'object',
          properties: { dimension: str, value: str, ends_at: { type: 'string', format: 'date-time' } },
        },
        { type: 'null' },
      ],
    },
  },
};

/** An asset's freshness: its worst partition (earliest due first), the policy in words, counts per state. */
const FRESHNESS_SUMMARY = {
  type: 'object',
  required: ['policy', 'state', 'partition_key', 'text', 'warn_at', 'due_at', 'counts'],
  properties: {
    policy: str,
    state: freshnessState,
    partition_key: str,
    text: str,
    warn_at: isoOrNull,
    due_at: isoOrNull,
    counts: {
      type: 'object',
      properties: { FRESH: { type: 'integer' }, WARN: { type: 'integer' }, OVERDUE: { type: 'integer' } },
    },
  },
};

/** The OpenAPI 3.1 description of the JSON API, written by hand next to the routes it describes. */
export function openApiDocument() {
  const runId = path('id', 'Run id (ULID)');
  const key = path('key', "Asset key, e.g. 'silver.clean_orders'");
  return {
    openapi: '3.1.0',
    info: {
      title: 'Fairway UI API',
      version: '0.1.0',
      description: 'Read asset status, lineage, history and runs; launch and cancel runs (token required).',
    },
    paths: {
      '/api/assets': {
        get: {
          summary:
            'Every asset with status, freshness (null without a policy), first cause, latest materialization and check summary',
          parameters: [query('status'), query('group')],
          responses: {
            '200': jsonOf('{ assets: AssetSummary[] }', {
              type: 'object',
              properties: {
                assets: {
                  type: 'array',
                  items: { type: 'object', properties: { freshness: nullable('#/components/schemas/Freshness') } },
                },
              },
            }),
            '400': errors['400'],
          },
        },
      },
      '/api/graph': {
        get: {
          summary: 'Lineage graph: laid-out nodes with status, check badge and freshness state, edges and group boxes',
          responses: { '200': json('{ engine, width, height, nodes, edges, groups }') },
        },
      },
      '/api/assets/{key}': {
        get: {
          summary:
            'Definition, partitions with status, why chain, latest check results and freshness (per partition) of one asset',
          parameters: [key],
          responses: {
            '200': jsonOf('AssetDetail', {
              type: 'object',
              properties: { freshness: nullable('#/components/schemas/FreshnessDetail') },
            }),
            ...errors,
          },
        },
      },
      '/api/assets/{key}/history': {
        get: {
          summary: 'Materialization history, newest first, paged by materialization id',
          parameters: [key, query('partition'), query('limit', { ...int, maximum: 500 }), query('before', int)],
          responses: { '200': json('{ items: Materialization[], next: number | null }'), ...errors },
        },
      },
      '/api/assets/{key}/table': {
        get: {
          summary:
            "Row count, current snapshot id and max event time of the asset's table, read on the profile's query engine (Trino, or a Spark session: ~20 s); reused for a minute",
          parameters: [key],
          responses: {
            '200': json(
              '{ asset_key, table, time_column, engine, row_count, snapshot_id (text), max_event_time (ISO-8601 | null), read_at }',
            ),
            ...errors,
            '502': engineError('The query engine answered with an error'),
            '503': engineError('The query engine (or a server behind it) is down; the message names it'),
          },
        },
      },
      '/api/assets/{key}/preview': {
        get: {
          summary: "The first rows of the asset's table (same read and cache as /table)",
          parameters: [key, query('limit', { ...int, maximum: 100, default: 20 })],
          responses: {
            '200': json('{ asset_key, table, engine, limit, columns: string[], rows: unknown[][], read_at }'),
            ...errors,
            '502': engineError('The query engine answered with an error'),
            '503': engineError('The query engine (or a server behind it) is down; the message names it'),
          },
        },
      },
      '/api/runs': {
        get: {
          summary: 'Runs, newest first, paged by run id',
          parameters: [query('status', runStatus), query('limit', { ...int, maximum: 200 }), query('before')],
          responses: { '200': json('{ items: Run[], next: string | null }'), '400': errors['400'] },
        },
        post: {
          summary: 'Launch a run in the server process; returns at once with its id',
          security: auth.security,
          requestBody: {
            required: true,
            content: { 'application/json': { schema: z.toJSONSchema(LaunchBody, { io: 'input' }) } },
          },
          responses: {
            '202': json('{ run_id, url }'),
            '400': errors['400'],
            '401': { description: 'No token' },
            '403': { description: 'Bad CSRF token or non-loopback session' },
          },
        },
      },
      '/api/runs/{id}': {
        get: {
          summary: 'Run record, events, step attempts, check evaluations and compute-log index',
          parameters: [runId],
          responses: { '200': json('RunDetail'), ...errors },
        },
      },
      '/api/runs/{id}/events': {
        get: {
          summary: 'Server-sent events: stored events after Last-Event-ID / ?after=, then live ones until the run ends',
          parameters: [
            runId,
            query('after', { type: 'integer', minimum: 0 }),
            { name: 'Last-Event-ID', in: 'header', schema: str },
          ],
          responses: { '200': { description: 'text/event-stream of `run-event` and a final `end` event' }, ...errors },
        },
      },
      '/api/runs/{id}/output': {
        get: {
          summary: "Server-sent events: the steps' compute logs as they are written, until the run ends",
          parameters: [runId],
          responses: {
            '200': { description: 'text/event-stream of `output` events `{ step, lines }` and a final `end` event' },
            ...errors,
          },
        },
      },
      '/api/runs/{id}/logs/{asset}': {
        get: {
          summary: "A step's compute log as plain text",
          parameters: [runId, path('asset', 'Asset key'), query('partition')],
          responses: { '200': { description: 'text/plain', content: { 'text/plain': { schema: str } } }, ...errors },
        },
      },
      '/api/runs/{id}/cancel': {
        post: {
          summary: 'Cancel a run this server launched',
          security: auth.security,
          parameters: [runId],
          responses: {
            '202': json('{ run_id, status }'),
            '401': { description: 'No token' },
            '404': errors['404'],
            '409': { description: 'Run already finished' },
          },
        },
      },
      '/api/selection': {
        get: {
          summary: 'Resolve a selection (CLI syntax) to asset keys; 400 with a caret message when it does not parse',
          parameters: [{ ...query('q'), required: true }],
          responses: { '200': json('{ selection, keys }'), '400': errors['400'] },
        },
      },
      '/api/session': {
        get: {
          summary: 'For browsers on this machine: sets an HttpOnly session cookie and returns the CSRF token',
          responses: { '200': json('{ can_launch, csrf_token? }') },
        },
      },
      '/api/openapi.json': { get: { summary: 'This document', responses: { '200': json('OpenAPI 3.1') } } },
    },
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
      schemas: {
        Freshness: FRESHNESS_SUMMARY,
        FreshnessDetail: {
          ...FRESHNESS_SUMMARY,
          required: [...FRESHNESS_SUMMARY.required, 'partitions'],
          properties: {
            ...FRESHNESS_SUMMARY.properties,
            partitions: { type: 'array', items: PARTITION_FRESHNESS },
          },
        },
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: { type: 'object', required: ['code', 'message'], properties: { code: str, message: str } },
          },
        },
      },
    },
  };
}
