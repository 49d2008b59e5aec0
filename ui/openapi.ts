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
const auth = { security: [{ bearer: [] }, { csrfCookie: [] }] };
const runStatus = { type: 'string', enum: ['QUEUED', 'STARTED', 'SUCCESS', 'FAILURE', 'CANCELED'] };

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
          summary: 'Every asset with status, first cause, latest materialization and check summary',
          parameters: [query('status'), query('group')],
          responses: { '200': json('{ assets: AssetSummary[] }'), '400': errors['400'] },
        },
      },
      '/api/graph': {
        get: {
          summary: 'Lineage graph: laid-out nodes with status, edges and group boxes',
          responses: { '200': json('{ engine, width, height, nodes, edges, groups }') },
        },
      },
      '/api/assets/{key}': {
        get: {
          summary: 'Definition, partitions with status, why chain and latest check results of one asset',
          parameters: [key],
          responses: { '200': json('AssetDetail'), ...errors },
        },
      },
      '/api/assets/{key}/history': {
        get: {
          summary: 'Materialization history, newest first, paged by materialization id',
          parameters: [key, query('partition'), query('limit', { ...int, maximum: 500 }), query('before', int)],
          responses: { '200': json('{ items: Materialization[], next: number | null }'), ...errors },
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
            '409': { description: 'Run finished, or launched by another process' },
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
