import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../assets/lib/config.ts';
import { queryTrino } from '../assets/lib/query.ts';
import { readLakehouseTable } from '../assets/lib/tables.ts';
import { asset, defineAssets } from '../framework/definitions/index.ts';
import { launchRun } from '../framework/execution/index.ts';
import { loadProject, openProject, type Project } from '../framework/project/index.ts';
import { createApp, type FairwayApp } from './app.ts';
import { tableReader } from './table-reader.ts';

let dir: string;
let project: Project;
let ui: FairwayApp;

const getJson = async (path: string, app = ui) => {
  const res = await app.app.request(path);
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string } },
  };
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fairway-ui-table-'));
  process.env.HELLO_DATA_DIR = join(dir, 'data');
  project = await loadProject({ definitions: 'examples/hello/definitions.ts', stateDir: join(dir, 'state') });
  ui = createApp(project, { token: 'b'.repeat(64) });
});

afterAll(async () => {
  await ui.runs.shutdown();
  project.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('table metadata and previews (examples/hello: CSV files behind the table hooks)', () => {
  it('answers 404 with what to do for a table not written yet, an asset without a table, an unknown asset', async () => {
    const missing = await getJson('/api/assets/silver.clean_orders/table');
    expect(missing.status).toBe(404);
    expect(missing.body.error!.message).toContain("Table 'silver.clean_orders' of asset 'silver.clean_orders'");
    expect(missing.body.error!.message).toContain('fairway materialize silver.clean_orders');
    const none = await getJson('/api/assets/gold.orders_report/preview');
    expect(none.status).toBe(404);
    expect(none.body.error!.message).toContain("Asset 'gold.orders_report' has no table");
    const unknown = await getJson('/api/assets/silver.clean_order/table');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error!.message).toContain("Did you mean 'silver.clean_orders'?");
    expect((await getJson('/api/assets/..%2Fetc/table')).status).toBe(400);
  });

  it('reads row count, snapshot and preview once materialized; concurrent requests share one read', async () => {
    const run = await launchRun(project, { selection: '*' });
    expect(run.run.status).toBe('SUCCESS');
    const [meta, preview] = await Promise.all([
      getJson('/api/assets/silver.clean_orders/table'),
      getJson('/api/assets/silver.clean_orders/preview?limit=3'),
    ]);
    expect(meta.status).toBe(200);
    expect(meta.body).toMatchObject({
      asset_key: 'silver.clean_orders',
      table: 'silver.clean_orders',
      engine: 'files',
      row_count: 8, // north 5 + south 3, every amount positive
      max_event_time: null,
      time_column: null,
    });
    expect(meta.body.snapshot_id).toMatch(/^[0-9a-f]{16}$/);
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ limit: 3, columns: ['store', 'order', 'amount'] });
    expect(preview.body.rows).toEqual([
      ['north', 0, 10],
      ['north', 1, 20],
      ['north', 2, 30],
    ]);
    expect(preview.body.read_at).toBe(meta.body.read_at);
    const summary = await getJson('/api/assets/gold.orders_summary/preview');
    expect(summary.body.rows).toEqual([
      ['north', 150],
      ['south', 60],
    ]);
  });

  it('validates the preview limit: 1 to 100, default 20', async () => {
    expect((await getJson('/api/assets/silver.clean_orders/preview')).body.limit).toBe(20);
    expect((await getJson('/api/assets/silver.clean_orders/preview?limit=100')).status).toBe(200);
    for (const bad of ['0', '101', 'abc', '2.5']) {
      const r = await getJson(`/api/assets/silver.clean_orders/preview?limit=${bad}`);
      expect(r.status, bad).toBe(400);
      expect(r.body.error!.message).toContain('limit');
    }
  });

  it('reuses a read for the time-to-live, then reads again', async () => {
    const first = await getJson('/api/assets/bronze.raw_orders/table');
    writeFileSync(join(dir, 'data', 'orders-south.csv'), 'store,order,amount\nsouth,0,5\n');
    const cached = await getJson('/api/assets/bronze.raw_orders/table');
    expect(cached.body).toEqual(first.body);
    const fresh = await tableReader(project, 0).metadata('bronze.raw_orders');
    expect(fresh.row_count).toBe(6);
    expect(fresh.snapshot_id).not.toBe(first.body.snapshot_id);
  });

  it('is described in the OpenAPI document, with the 503 answer', async () => {
    const { body } = await getJson('/api/openapi.json');
    const paths = body.paths as Record<string, { get: { responses: Record<string, unknown> } }>;
    expect(Object.keys(paths['/api/assets/{key}/table']!.get.responses)).toContain('503');
    expect(Object.keys(paths['/api/assets/{key}/preview']!.get.responses)).toEqual(
      expect.arrayContaining(['200', '400', '404', '503']),
    );
  });

  it('shows a Table section on pages of assets with a table only', async () => {
    const page = await (await ui.app.request('/assets/silver.clean_orders')).text();
    expect(page).toContain('id="table-section"');
    expect(page).toContain('data-table="silver.clean_orders"');
    expect(page).toContain('id="table-load"');
    const report = await (await ui.app.request('/assets/gold.orders_report')).text();
    expect(report).not.toContain('id="table-section"');
  });
});

describe('table reads with the query engine down', () => {
  it('answers 503 naming Trino and `fairway stack status` (the lakehouse reader, Trino not listening)', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    await new Promise<void>((r) => server.close(() => r()));
    const cfg = loadConfig({
      projectRoot: project.root,
      profile: 'local',
      env: { FAIRWAY_TRINO_URL: `http://127.0.0.1:${port}`, FAIRWAY_STATE_DIR: join(dir, 'lake') },
    });
    const defs = defineAssets({
      assets: [asset({ key: 'silver.fact_telemetry_event', codeVersion: 'v1', materialize: () => ({}) })],
      hooks: {
        tableOf: (key) => ({ table: key, timeColumn: 'fix_timestamp' }),
        readTable: (ref, { limit }) => readLakehouseTable('trino', (s) => queryTrino(cfg, s), ref, limit),
      },
    });
    const down = openProject(defs, { root: dir, stateDir: join(dir, 'down'), log: project.log });
    const app = createApp(down, { token: 'c'.repeat(64) });
    try {
      const r = await getJson('/api/assets/silver.fact_telemetry_event/table', app);
      expect(r.status).toBe(503);
      expect(r.body.error!.code).toBe('SERVICE_UNAVAILABLE');
      expect(r.body.error!.message).toContain(`Trino at http://127.0.0.1:${port}`);
      expect(r.body.error!.message).toContain('fairway stack status');
      // A failed read is not kept: the next request asks the engine again (and fails again).
      expect((await getJson('/api/assets/silver.fact_telemetry_event/preview', app)).status).toBe(503);
    } finally {
      await app.runs.shutdown();
      down.close();
    }
  });
});
