import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchRun } from '../framework/execution/index.ts';
import { loadProject, type Project } from '../framework/project/index.ts';
import { createApp, type FairwayApp } from './app.ts';
import { API_ROUTES, openApiDocument, openApiPath } from './openapi.ts';

let dir: string;
let project: Project;
let ui: FairwayApp;
let runId: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fairway-openapi-'));
  process.env.HELLO_DATA_DIR = join(dir, 'data');
  project = await loadProject({ definitions: 'examples/hello/definitions.ts', stateDir: join(dir, 'state') });
  runId = (await launchRun(project, { selection: 'bronze.raw_orders' })).run.run_id;
  ui = createApp(project, { token: 'c'.repeat(64) });
});

afterAll(async () => {
  await ui.runs.shutdown();
  project.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Checks a body against the schema the document gives for `method path` answering `status`. */
function documentedAnswer() {
  const doc = openApiDocument();
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ ...doc, $id: 'api' });
  const problems = (pointer: string[], body: unknown) => {
    const validate = ajv.getSchema(
      `api#/${pointer.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`,
    );
    if (!validate) return [`no schema at ${pointer.join(' ')}`];
    return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
  };
  return Object.assign(
    (method: string, path: string, status: number, body: unknown) =>
      problems(['paths', path, method, 'responses', String(status), 'content', 'application/json', 'schema'], body),
    { component: (id: string, body: unknown) => problems(['components', 'schemas', id], body) },
  );
}

/** `[event, data]` of each server-sent event in a finished stream. */
const sseEvents = (text: string) =>
  [...text.matchAll(/^event: (.+)\ndata: (.+)$/gm)].map((m) => [m[1]!, JSON.parse(m[2]!)] as const);

describe('OpenAPI document', () => {
  it('describes exactly the routes the API serves', () => {
    const served = new Set(
      ui.app.routes
        .filter((r) => r.path.startsWith('/api/') && r.method !== 'ALL')
        .map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path.slice('/api'.length))}`),
    );
    const described = new Set(API_ROUTES.map((r) => `${r.method} ${openApiPath(r.path)}`));
    expect([...served].sort()).toEqual([...described].sort());
    const doc = openApiDocument();
    expect(doc.openapi).toBe('3.1.0');
    for (const r of API_ROUTES) expect(doc.paths[openApiPath(r.path)]).toHaveProperty(r.method);
  });

  it('documents the answers the server gives, field by field', async () => {
    const check = documentedAnswer();
    const cases: [string, string, number][] = [
      ['/api/assets', '/api/assets', 200],
      ['/api/assets?status=NOPE', '/api/assets', 400],
      ['/api/graph', '/api/graph', 200],
      ['/api/assets/silver.clean_orders', '/api/assets/{key}', 200],
      ['/api/assets/silver.nope', '/api/assets/{key}', 404],
      ['/api/assets/bronze.raw_orders/history', '/api/assets/{key}/history', 200],
      ['/api/assets/bronze.raw_orders/table', '/api/assets/{key}/table', 200],
      ['/api/assets/bronze.raw_orders/preview?limit=2', '/api/assets/{key}/preview', 200],
      ['/api/runs', '/api/runs', 200],
      [`/api/runs/${runId}`, '/api/runs/{id}', 200],
      ['/api/selection?q=bronze.raw_orders%2B', '/api/selection', 200],
      ['/api/selection?q=((', '/api/selection', 400],
      ['/api/session', '/api/session', 200],
      ['/api/openapi.json', '/api/openapi.json', 200],
    ];
    for (const [url, path, status] of cases) {
      const res = await ui.app.request(url);
      expect(res.status, url).toBe(status);
      expect(check('get', path, status, await res.json()), url).toEqual([]);
    }
    const launch = await ui.app.request('/api/runs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ui.token}` },
      body: JSON.stringify({ selection: 'silver.clean_orders', staleOnly: true }),
    });
    expect(check('post', '/api/runs', 202, await launch.json())).toEqual([]);
  });

  it('documents the payloads of the server-sent events', async () => {
    const check = documentedAnswer();
    const schemaOf: Record<string, string> = { 'run-event': 'RunEvent', output: 'OutputChunk', end: 'RunEnd' };
    const seen = new Set<string>();
    for (const stream of ['events', 'output']) {
      for (const [event, data] of sseEvents(await (await ui.app.request(`/api/runs/${runId}/${stream}`)).text())) {
        seen.add(event);
        expect(check.component(schemaOf[event] ?? `(undocumented event '${event}')`, data), event).toEqual([]);
      }
    }
    expect([...seen].sort()).toEqual(expect.arrayContaining(['end', 'run-event']));
  });

  it('notices an answer that does not match (an unknown field, a wrong type)', () => {
    const check = documentedAnswer();
    expect(check('get', '/api/selection', 200, { selection: '*', keys: ['a'] })).toEqual([]);
    expect(check('get', '/api/selection', 200, { selection: '*', keys: [1] })).not.toEqual([]);
    expect(check('get', '/api/selection', 200, { selection: '*', keys: [], extra: true })).not.toEqual([]);
  });
});
