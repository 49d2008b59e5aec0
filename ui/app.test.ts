import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asset,
  dailyPartitions,
  defineAssets,
  md,
  multiAsset,
  multiPartitions,
  staticPartitions,
} from '../framework/definitions/index.ts';
import { launchRun } from '../framework/execution/index.ts';
import { loadProject, openProject, type Project } from '../framework/project/index.ts';
import { defaultStorePath, openStore } from '../framework/storage/index.ts';
import { sharedRecent } from './api.ts';
import { CONTENT_SECURITY_POLICY, createApp, type FairwayApp, MAX_BODY_BYTES } from './app.ts';
import { ensureToken } from './auth.ts';
import { orderMetrics } from './pages/asset-page.tsx';
import { allowedHostsFor } from './server.ts';

let dir: string;
let project: Project;
let ui: FairwayApp;
let firstRunId: string;
const loopback = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };

const get = (path: string, init?: RequestInit) => ui.app.request(path, init);
const getJson = async (path: string) => {
  const res = await get(path);
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string } },
  };
};
const authed = (body: unknown, token = ui.token): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
  body: JSON.stringify(body),
});

async function waitForRun(runId: string) {
  for (let i = 0; i < 300; i++) {
    const run = project.store.getRun(runId);
    if (run && !['QUEUED', 'STARTED'].includes(run.status) && !ui.runs.isLive(runId)) return run;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`run ${runId} did not finish`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fairway-ui-'));
  process.env.HELLO_DATA_DIR = join(dir, 'data');
  project = await loadProject({ definitions: 'examples/hello/definitions.ts', stateDir: join(dir, 'state') });
  const first = await launchRun(project, { selection: 'bronze.raw_orders' });
  firstRunId = first.run.run_id;
  // Hostile metadata, as a materializer could report it.
  project.store.recordMaterialization({
    asset_key: 'gold.orders_report',
    partition_key: '',
    run_id: firstRunId,
    ts: new Date().toISOString(),
    data_version: 'v-xss',
    code_version: 'c1',
    input_versions: {},
    deps: ['gold.orders_summary'],
    metadata: {
      report: md.markdown('<script>alert(1)</script>'),
      note: md.text('<img src=x onerror=alert(2)>'),
      row_count: md.rowCount(7),
      table_schema: md.tableSchema([{ name: '<b>col</b>', type: 'string', nullable: true }]),
      track_preview: md.json([
        [-88.0, 43.1],
        [-88.01, 43.11],
        [-88.02, 43.1],
      ]),
    },
  });
  ui = createApp(project, { pollMs: 50 });
});

afterAll(async () => {
  await ui.runs.shutdown();
  project.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('read API', () => {
  it('lists assets with status, first cause, latest materialization and checks', async () => {
    const { status, body } = await getJson('/api/assets');
    expect(status).toBe(200);
    const assets = body.assets as {
      key: string;
      status: string;
      first_cause: string | null;
      latest_materialization: unknown;
    }[];
    expect(assets.map((a) => a.key)).toEqual([
      'bronze.raw_orders',
      'silver.clean_orders',
      'gold.orders_summary',
      'gold.orders_report',
    ]);
    expect(assets[0]).toMatchObject({ status: 'FRESH', kinds: ['file'], group: 'bronze' });
    expect(assets[0]!.latest_materialization).toMatchObject({ run_id: firstRunId });
    expect(assets[1]).toMatchObject({ status: 'MISSING', first_cause: 'it has never been materialized' });
    const fresh = await getJson('/api/assets?status=FRESH');
    expect((fresh.body.assets as unknown[]).length).toBe(1);
    expect((await getJson('/api/assets?status=NOPE')).status).toBe(400);
  });

  it('returns the laid-out graph with status', async () => {
    const { body } = await getJson('/api/graph');
    expect(body.engine).toBe('elk');
    const nodes = body.nodes as { key: string; x: number; status: string }[];
    expect(nodes).toHaveLength(4);
    const x = Object.fromEntries(nodes.map((n) => [n.key, n.x]));
    expect(x['bronze.raw_orders']!).toBeLessThan(x['silver.clean_orders']!);
    expect(x['gold.orders_summary']!).toBeLessThan(x['gold.orders_report']!);
    expect(body.edges).toContainEqual({ from: 'bronze.raw_orders', to: 'silver.clean_orders' });
    expect((body.groups as { name: string }[]).map((g) => g.name).sort()).toEqual(['bronze', 'gold', 'silver']);
  });

  it('describes one asset with partitions and the why chain', async () => {
    const { status, body } = await getJson('/api/assets/silver.clean_orders');
    expect(status).toBe(200);
    expect(body).toMatchObject({ key: 'silver.clean_orders', group: 'silver', status: 'MISSING' });
    expect((body.partitions as unknown[]).length).toBe(2);
    const why = body.why as { partition_key: string; lines: { text: string }[] };
    expect(why.partition_key).toBe('store=north');
    expect(why.lines[0]!.text).toContain('is MISSING because');
    expect((await getJson('/api/assets/silver.nope')).status).toBe(404);
    const bad = await getJson('/api/assets/..%2Fetc');
    expect(bad.status).toBe(400);
    expect(bad.body.error!.message).toContain('asset key');
  });

  it('pages materialization history', async () => {
    const page1 = await getJson('/api/assets/bronze.raw_orders/history?limit=1');
    expect(page1.status).toBe(200);
    const items = page1.body.items as { partition_key: string; numeric: Record<string, number> }[];
    expect(items).toHaveLength(1);
    expect(items[0]!.numeric.row_count).toBeGreaterThan(0);
    expect(page1.body.next).not.toBeNull();
    const page2 = await getJson(`/api/assets/bronze.raw_orders/history?limit=1&before=${page1.body.next}`);
    expect((page2.body.items as unknown[]).length).toBe(1);
    expect((await getJson('/api/assets/bronze.raw_orders/history?partition=store=north')).body.items).toHaveLength(1);
    expect((await getJson('/api/assets/bronze.raw_orders/history?limit=0')).status).toBe(400);
    expect((await getJson('/api/assets/bronze.raw_orders/history?limit=abc')).status).toBe(400);
  });

  it('lists runs and shows one with events, attempts and compute-log index', async () => {
    const list = await getJson('/api/runs?limit=5');
    expect((list.body.items as { run_id: string }[]).map((r) => r.run_id)).toContain(firstRunId);
    expect((await getJson('/api/runs?status=SUCCESS')).status).toBe(200);
    expect((await getJson('/api/runs?status=bogus')).status).toBe(400);
    const { status, body } = await getJson(`/api/runs/${firstRunId}`);
    expect(status).toBe(200);
    expect(body.run).toMatchObject({ run_id: firstRunId, status: 'SUCCESS' });
    expect((body.events as { type: string }[]).map((e) => e.type)).toContain('RUN_FINISHED');
    expect((body.step_attempts as unknown[]).length).toBeGreaterThanOrEqual(2);
    const logs = body.compute_logs as { asset_key: string; url: string }[];
    expect(logs.length).toBe(2);
    expect((await getJson('/api/runs/NOPE')).status).toBe(404);
    expect((await getJson('/api/runs/a%20b')).status).toBe(400);
  });

  it('serves compute logs and refuses paths outside the state directory', async () => {
    const ok = await get(`/api/runs/${firstRunId}/logs/bronze.raw_orders?partition=store=north`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('text/plain');
    expect((await get(`/api/runs/${firstRunId}/logs/gold.orders_summary`)).status).toBe(404);
    project.store.recordComputeLog({
      run_id: firstRunId,
      asset_key: 'gold.orders_summary',
      partition_key: '',
      path: '../../../etc/passwd',
      stream: 'combined',
      bytes: 10,
    });
    const evil = await getJson(`/api/runs/${firstRunId}/logs/gold.orders_summary`);
    expect(evil.status).toBe(400);
    expect(evil.body.error!.message).toContain('outside the state directory');
    expect((await get(`/api/runs/${firstRunId}/logs/..%2F..%2Fetc`)).status).toBe(400);
  });

  it('resolves selections and shows the caret on a bad one', async () => {
    const ok = await getJson('/api/selection?q=%2Bgold.orders_summary');
    expect(ok.body.keys).toEqual(['silver.clean_orders', 'gold.orders_summary']);
    const bad = await getJson(`/api/selection?q=${encodeURIComponent('group:silver and')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error!.code).toBe('SELECTION_INVALID');
    expect(bad.body.error!.message).toContain('^');
    expect((await getJson('/api/selection')).status).toBe(400);
  });

  it('streams stored events over SSE and ends for a finished run', async () => {
    const res = await get(`/api/runs/${firstRunId}/events`);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    expect(text).toContain('event: run-event');
    expect(text).toContain('"type":"RUN_FINISHED"');
    expect(text).toMatch(/event: end\ndata: \{"status":"SUCCESS"/);
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    const after = await (
      await get(`/api/runs/${firstRunId}/events`, { headers: { 'Last-Event-ID': String(ids.at(-2)) } })
    ).text();
    expect([...after.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))).toEqual([ids.at(-1)]);
  });
});

describe('hostile requests', () => {
  it('answers only to the host names it serves (DNS rebinding)', async () => {
    for (const host of ['evil.example', 'evil.example:3000', '127.0.0.1.evil.example']) {
      const res = await get('/api/assets', { headers: { host } });
      expect(res.status, host).toBe(421);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('HOST_NOT_ALLOWED');
      expect(body.error.message).toContain('FAIRWAY_UI_ALLOWED_HOSTS');
    }
    expect((await get('/', { headers: { host: 'evil.example' } })).status).toBe(421);
    for (const host of ['127.0.0.1:3000', 'localhost:3000', '[::1]:3000', 'LOCALHOST']) {
      expect((await get('/api/assets', { headers: { host } })).status, host).toBe(200);
    }
    const named = createApp(project, { token: 'd'.repeat(64), allowedHosts: ['fairway.lan'] });
    expect((await named.app.request('/api/assets', { headers: { host: 'fairway.lan:8080' } })).status).toBe(200);
    expect((await named.app.request('/api/assets', { headers: { host: 'localhost' } })).status).toBe(421);
    expect(allowedHostsFor('127.0.0.1', { FAIRWAY_UI_ALLOWED_HOSTS: 'a.lan, b.lan' })).toEqual([
      'localhost',
      '127.0.0.1',
      '::1',
      'a.lan',
      'b.lan',
    ]);
  });

  it('answers malformed JSON with 400 and a body over the limit with 413, launching nothing', async () => {
    const runs = project.store.listRuns({ limit: 100 }).items.length;
    const malformed = await get('/api/runs', { ...authed({}), body: '{"selection": ' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { message: string } }).error.message).toMatch(/JSON/i);
    const huge = await get('/api/runs', authed({ selection: '*', padding: 'x'.repeat(MAX_BODY_BYTES) }));
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: { code: string } }).error.code).toBe('BODY_TOO_LARGE');
    expect(project.store.listRuns({ limit: 100 }).items.length).toBe(runs);
  });

  it('compresses responses for clients that accept it, and may not be framed', async () => {
    const res = await get('/api/graph', { headers: { 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-encoding')).toBe('gzip');
    const plain = await get('/api/graph');
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });
});

describe('launch and cancel', () => {
  it('refuses launching without a token or with a wrong one', async () => {
    const none = await get('/api/runs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ selection: '*' }),
    });
    expect(none.status).toBe(401);
    expect((await get('/api/runs', authed({ selection: '*' }, 'f'.repeat(64)))).status).toBe(401);
    expect(project.store.listRuns({ limit: 10 }).items).toHaveLength(1);
  });

  it('validates the launch body', async () => {
    expect((await get('/api/runs', authed({ selection: '' }))).status).toBe(400);
    expect((await get('/api/runs', authed({ selection: 5 }))).status).toBe(400);
    const badSel = await getJson('/api/runs');
    expect(badSel.status).toBe(200);
    const res = await get('/api/runs', authed({ selection: 'silver.nope' }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("'silver.nope'");
  });

  it('launches with the bearer token: 202, then the run appears and finishes', async () => {
    const res = await get('/api/runs', authed({ selection: 'bronze.raw_orders', partition: 'store=north' }));
    expect(res.status).toBe(202);
    const { run_id } = (await res.json()) as { run_id: string };
    expect(project.store.getRun(run_id)).toMatchObject({ selection: 'bronze.raw_orders', partition: 'store=north' });
    const run = await waitForRun(run_id);
    expect(run.status).toBe('SUCCESS');
    const runs = (await getJson('/api/runs')).body.items as { run_id: string }[];
    expect(runs[0]!.run_id).toBe(run_id);
  });

  it('launches from a loopback browser session with cookie + CSRF header, never with the cookie alone', async () => {
    const remote = await getJson('/api/session');
    expect(remote.body.can_launch).toBe(false);
    const res = await ui.app.request('http://localhost:3000/api/session', {}, loopback);
    const { csrf_token } = (await res.json()) as { csrf_token: string };
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const sessionCookie = cookie.split(';')[0]!;
    const post = (headers: Record<string, string>, host = 'http://localhost:3000') =>
      ui.app.request(`${host}/api/runs`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Cookie: sessionCookie, ...headers },
        body: JSON.stringify({ selection: 'bronze.raw_orders', staleOnly: true }),
      });
    expect((await post({})).status).toBe(403);
    expect((await post({ 'X-CSRF-Token': 'nope' })).status).toBe(403);
    // another host name for this server (DNS rebinding) is refused before any credential is looked at
    expect((await post({ 'X-CSRF-Token': csrf_token }, 'http://evil.example:3000')).status).toBe(421);
    const ok = await post({ 'X-CSRF-Token': csrf_token });
    expect(ok.status).toBe(202);
    await waitForRun(((await ok.json()) as { run_id: string }).run_id);
  });

  it('cancels a live run (202), and answers 404 / 409 otherwise', async () => {
    process.env.HELLO_SLOW_MS = '3000';
    try {
      const res = await get('/api/runs', authed({ selection: 'bronze.raw_orders' }));
      const { run_id } = (await res.json()) as { run_id: string };
      const cancel = await get(`/api/runs/${run_id}/cancel`, authed({}));
      expect(cancel.status).toBe(202);
      const run = await waitForRun(run_id);
      expect(run.status).toBe('CANCELED');
      expect((await get(`/api/runs/${run_id}/cancel`, authed({}))).status).toBe(409);
    } finally {
      delete process.env.HELLO_SLOW_MS;
    }
    expect((await get('/api/runs/NOPE/cancel', authed({}))).status).toBe(404);
    expect((await get(`/api/runs/${firstRunId}/cancel`, { method: 'POST' })).status).toBe(401);
  });

  it('cancels a run launched outside the server (CLI, daemon) through a request its process polls', async () => {
    process.env.HELLO_SLOW_MS = '20000';
    let launched: ReturnType<typeof launchRun> | undefined;
    try {
      let runId: string | undefined;
      launched = launchRun(project, {
        selection: 'bronze.raw_orders',
        partition: 'store=north',
        onPlan: (_plan, run) => {
          runId = run.run_id;
        },
      });
      while (!runId || project.store.getRun(runId)?.status !== 'STARTED') await new Promise((r) => setTimeout(r, 20));
      // its page offers the cancel button although this server did not launch it
      expect(await (await get(`/runs/${runId}`)).text()).toContain('id="cancel"');
      const started = Date.now();
      const cancel = await get(`/api/runs/${runId}/cancel`, authed({}));
      expect(cancel.status).toBe(202);
      const result = await launched;
      expect(result.run.status).toBe('CANCELED');
      expect(result.run.reason).toContain('canceled from the UI');
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      delete process.env.HELLO_SLOW_MS;
      await launched?.catch(() => undefined);
    }
    expect((await get(`/api/runs/${firstRunId}/cancel`, { method: 'POST' })).status).toBe(401);
  });
});

describe('pages and security headers', () => {
  it('renders every page with the CSP header and no inline script', async () => {
    for (const path of [
      '/',
      '/assets/silver.clean_orders',
      '/assets/gold.orders_report',
      '/runs',
      `/runs/${firstRunId}`,
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      const html = await res.text();
      expect(html.startsWith('<!doctype html>')).toBe(true);
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    }
    expect((await get('/api/assets')).headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
  });

  it('escapes data from metadata', async () => {
    const html = await (await get('/assets/gold.orders_report')).text();
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain('&lt;b&gt;col&lt;/b&gt;');
  });

  it('shows the graph with a node per asset, partitions, history and runs', async () => {
    const graph = await (await get('/')).text();
    expect(graph.match(/class="node st-/g)).toHaveLength(4);
    expect(graph).toContain('href="/assets/silver.clean_orders"');
    const asset = await (await get('/assets/bronze.raw_orders')).text();
    expect(asset).toContain('data-partition="store=north"');
    expect(asset).toContain('data-metrics="row_count"');
    expect(asset).toContain('data-plotted="row_count"');
    expect(asset).not.toContain('id="metric-picker"'); // one metric: nothing to pick
    const run = await (await get(`/runs/${firstRunId}`)).text();
    expect(run).toContain('id="gantt"');
    expect(run).toContain(`/api/runs/${firstRunId}/logs/bronze.raw_orders?partition=store%3Dnorth`);
  });

  it('answers unknown pages with 404 and bad params with 400', async () => {
    expect((await get('/nowhere')).status).toBe(404);
    expect((await get('/assets/gold.nope')).status).toBe(404);
    expect((await get('/runs/NOPE')).status).toBe(404);
    const res = await get('/assets/<script>');
    expect(res.status).toBe(400);
    expect(await res.text()).not.toContain('<script>');
  });

  it('serves static files and vendored libraries from explicit routes only', async () => {
    for (const p of ['/static/ui.css', '/static/graph.js', '/vendor/uplot.js', '/vendor/uplot.css', '/vendor/elk.js']) {
      expect((await get(p)).status, p).toBe(200);
    }
    expect((await get('/static/../app.ts')).status).toBe(404);
    expect((await get('/static/app.ts')).status).toBe(404);
  });
});

describe('multi-asset outputs', () => {
  it('says on the page of a multi-asset output which step writes it and with which assets', async () => {
    const defs = defineAssets({
      assets: multiAsset({
        name: 'clean_job',
        codeVersion: 'v1',
        outputs: [{ key: 'silver.facts' }, { key: 'silver.rejects' }],
        materialize: () => ({ outputs: {} }),
      }),
    });
    const multi = openProject(defs, { root: dir, stateDir: join(dir, 'multi'), log: project.log });
    try {
      const multiUi = createApp(multi, { token: 'c'.repeat(64) });
      const html = await (await multiUi.app.request('/assets/silver.rejects')).text();
      expect(html).toMatch(
        /<th>written by<\/th>\s*<td>step clean_job, together with <a href="\/assets\/silver.facts">silver.facts<\/a>/,
      );
      const api = (await (await multiUi.app.request('/api/assets/silver.facts')).json()) as Record<string, unknown>;
      expect(api.written_by).toEqual({ step: 'clean_job', assets: ['silver.facts', 'silver.rejects'] });
      const plain = await (await ui.app.request('/assets/bronze.raw_orders')).text();
      expect(plain).not.toContain('written by');
    } finally {
      multi.close();
    }
  });
});

describe('two-dimensional partitions', () => {
  it('draws course_id × ingest_date as rows × columns, each cell coloured by its status', async () => {
    const defs = defineAssets({
      assets: [
        asset({
          key: 'silver.events',
          partitions: multiPartitions(
            staticPartitions('course_id', ['pinehurst4', 'erinhills']),
            dailyPartitions('ingest_date', '2026-11-23', '2026-11-25'),
          ),
          codeVersion: 'v1',
          materialize: () => ({}),
        }),
      ],
    });
    const grid = openProject(defs, { root: dir, stateDir: join(dir, 'grid'), log: project.log });
    const ts = '2026-11-25T10:00:00.000Z';
    for (const partition_key of [
      'course_id=erinhills,ingest_date=2026-11-24',
      'course_id=pinehurst4,ingest_date=2026-11-23',
    ]) {
      grid.store.recordMaterialization({
        asset_key: 'silver.events',
        partition_key,
        run_id: 'r1',
        ts,
        data_version: 'd1',
        code_version: 'v1',
        input_versions: {},
        deps: [],
        metadata: { row_count: md.rowCount(10) },
      });
    }
    grid.store.recordStepAttempt({
      asset_key: 'silver.events',
      partition_key: 'course_id=pinehurst4,ingest_date=2026-11-25',
      run_id: 'r1',
      status: 'FAILURE',
      started_at: ts,
      finished_at: ts,
      duration_ms: 5,
      attempts: 1,
      reason: 'boom',
    });
    const gridUi = createApp(grid, { token: 'a'.repeat(64) });
    try {
      const html = await (await gridUi.app.request('/assets/silver.events')).text();
      expect(html).toContain('<table class="pgrid" data-rows="course_id" data-cols="ingest_date">');
      expect([...html.matchAll(/<tr data-row="([^"]+)"/g)].map((m) => m[1])).toEqual(['erinhills', 'pinehurst4']);
      expect([...html.matchAll(/<th class="rot" scope="col"><span>([^<]+)</g)].map((m) => m[1])).toEqual([
        '2026-11-23',
        '2026-11-24',
        '2026-11-25',
      ]);
      // Row-major: erinhills × 3 days, then pinehurst4 × 3 days.
      const cells = [...html.matchAll(/class="cell st-(\w+)"[^>]*data-partition="([^"]+)"/g)].map(
        (m) => `${m[2]} ${m[1]}`,
      );
      expect(cells).toEqual([
        'course_id=erinhills,ingest_date=2026-11-23 MISSING',
        'course_id=erinhills,ingest_date=2026-11-24 FRESH',
        'course_id=erinhills,ingest_date=2026-11-25 MISSING',
        'course_id=pinehurst4,ingest_date=2026-11-23 FRESH',
        'course_id=pinehurst4,ingest_date=2026-11-24 MISSING',
        'course_id=pinehurst4,ingest_date=2026-11-25 FAILED',
      ]);
      expect(html).toContain('6 partitions: ');
    } finally {
      await gridUi.runs.shutdown();
      grid.close();
    }
  });
});

describe('many partitions', () => {
  it('sums them up as a health bar per month, the courses not fresh first and the first partitions not fresh', async () => {
    const courses = Array.from({ length: 30 }, (_, i) => `c${String(i).padStart(2, '0')}`);
    const defs = defineAssets({
      assets: [
        asset({
          key: 'silver.events',
          partitions: multiPartitions(
            staticPartitions('course_id', courses),
            dailyPartitions('ingest_date', '2025-01-01', '2026-05-15'),
          ),
          codeVersion: 'v1',
          materialize: () => ({}),
        }),
      ],
    });
    const many = openProject(defs, { root: dir, stateDir: join(dir, 'many'), log: project.log });
    const ts = '2026-11-25T10:00:00.000Z';
    // every partition of 2025 materialized except course c07's; 2026 missing; one failure
    for (const course of courses) {
      if (course === 'c07') continue;
      for (let d = 0; d < 365; d++) {
        const day = new Date(Date.UTC(2025, 0, 1 + d)).toISOString().slice(0, 10);
        many.store.recordMaterialization({
          asset_key: 'silver.events',
          partition_key: `course_id=${course},ingest_date=${day}`,
          run_id: 'r1',
          ts,
          data_version: 'd1',
          code_version: 'v1',
          input_versions: {},
          deps: [],
          metadata: {},
        });
      }
    }
    many.store.recordStepAttempt({
      asset_key: 'silver.events',
      partition_key: 'course_id=c03,ingest_date=2026-01-02',
      run_id: 'r1',
      status: 'FAILURE',
      started_at: ts,
      finished_at: ts,
      duration_ms: 5,
      attempts: 1,
      reason: 'boom',
    });
    const manyUi = createApp(many, { token: 'a'.repeat(64) });
    try {
      const detail = (await (await manyUi.app.request('/api/assets/silver.events')).json()) as {
        partitions_total: number;
        partitions: { partition_key: string; status: string }[];
        partition_health: {
          counts: Record<string, number>;
          columns: { unit: string; buckets: { label: string; counts: Record<string, number> }[] };
          groups: { total: number; rows: { value: string; not_fresh: number }[] };
        };
      };
      const total = 30 * 500;
      expect(detail.partitions_total).toBe(total);
      expect(detail.partition_health.counts).toEqual({ FRESH: 29 * 365, MISSING: total - 29 * 365 - 1, FAILED: 1 });
      expect(detail.partition_health.columns.unit).toBe('month');
      expect(detail.partition_health.columns.buckets.map((b) => b.label).slice(0, 2)).toEqual(['2025-01', '2025-02']);
      expect(detail.partition_health.columns.buckets[0]!.counts).toEqual({ FRESH: 29 * 31, MISSING: 31 });
      expect(detail.partition_health.groups.total).toBe(30);
      expect(detail.partition_health.groups.rows[0]).toMatchObject({ value: 'c07', not_fresh: 500 });
      // only partitions not fresh are listed, capped
      expect(detail.partitions.length).toBe(200);
      expect(detail.partitions.every((p) => p.status !== 'FRESH')).toBe(true);

      const html = await (await manyUi.app.request('/assets/silver.events')).text();
      expect(html).not.toContain('<table class="pgrid"');
      expect(html).toContain('<svg class="health-bar"');
      expect([...html.matchAll(/<g data-bucket="([^"]+)"/g)]).toHaveLength(17);
      expect(html).toContain('<title>ingest_date 2025-01: 31 missing, 899 fresh</title>');
      expect(html).toContain('<tr data-group="c07">');
      expect(html).toContain(`${total} partitions: `);
      expect(html.length).toBeLessThan(200_000);
    } finally {
      await manyUi.runs.shutdown();
      many.close();
    }
  });
});

describe('status kept between requests', () => {
  it("shows a materialization committed by another process on the next request (the store's data_version)", async () => {
    const defs = defineAssets({
      assets: [
        asset({
          key: 'silver.days',
          partitions: dailyPartitions('ingest_date', '2026-01-01', '2026-01-04'),
          codeVersion: 'v1',
          materialize: () => ({}),
        }),
      ],
    });
    const kept = openProject(defs, { root: dir, stateDir: join(dir, 'kept'), log: project.log });
    const record = (store: Project['store'], day: string) =>
      store.recordMaterialization({
        asset_key: 'silver.days',
        partition_key: `ingest_date=${day}`,
        run_id: 'r1',
        ts: '2026-11-25T10:00:00.000Z',
        data_version: `d-${day}`,
        code_version: 'v1',
        input_versions: {},
        deps: [],
        metadata: {},
      });
    record(kept.store, '2026-01-01');
    const keptUi = createApp(kept, { token: 'b'.repeat(64) });
    const statuses = async () => {
      const detail = (await (await keptUi.app.request('/api/assets/silver.days')).json()) as {
        partitions: { partition_key: string; status: string }[];
      };
      return Object.fromEntries(detail.partitions.map((p) => [p.partition_key.slice(-2), p.status]));
    };
    try {
      await keptUi.warmUp();
      expect(await statuses()).toEqual({ '01': 'FRESH', '02': 'MISSING', '03': 'MISSING', '04': 'MISSING' });
      // another process (a CLI run) commits through its own connection
      const other = openStore(defaultStorePath(join(dir, 'kept')));
      try {
        record(other, '2026-01-03');
      } finally {
        other.close();
      }
      expect(await statuses()).toEqual({ '01': 'FRESH', '02': 'MISSING', '03': 'FRESH', '04': 'MISSING' });
      const html = await (await keptUi.app.request('/assets/silver.days')).text();
      expect(html).toContain('2 fresh');
    } finally {
      await keptUi.runs.shutdown();
      kept.close();
    }
  });
});

describe('freshness in the API and the pages', () => {
  const now = Date.now();
  const ago = (minutes: number) => new Date(now - minutes * 60_000).toISOString();
  const plus = (iso: string, minutes: number) => new Date(Date.parse(iso) + minutes * 60_000).toISOString();
  const yesterday = new Date(now - 86_400_000).toISOString().slice(0, 10);
  const today = new Date(now).toISOString().slice(0, 10);
  let fresh: Project;
  let freshUi: FairwayApp;
  const fj = async (path: string) => (await (await freshUi.app.request(path)).json()) as Record<string, unknown>;

  beforeAll(() => {
    const stores = staticPartitions('store', ['north', 'south']);
    const days = dailyPartitions('ingest_date', yesterday, yesterday);
    const noop = () => ({});
    const orders = asset({ key: 'bronze.orders', partitions: stores, codeVersion: 'v1', materialize: noop });
    const days0 = asset({ key: 'bronze.days', partitions: days, codeVersion: 'v1', materialize: noop });
    const defs = defineAssets({
      assets: [
        orders,
        days0,
        asset({
          key: 'silver.orders',
          deps: [orders],
          partitions: stores,
          codeVersion: 'v1',
          freshness: { maxLag: { warnAfterMinutes: 20, failAfterMinutes: 30 } },
          materialize: noop,
        }),
        asset({
          key: 'silver.days',
          deps: [days0],
          partitions: days,
          codeVersion: 'v1',
          freshness: { deadline: { cron: '0 6 * * *', timezone: 'UTC' } },
          materialize: noop,
        }),
      ],
    });
    fresh = openProject(defs, { root: dir, stateDir: join(dir, 'freshness'), log: project.log });
    const land = (asset_key: string, partition_key: string, ts: string) =>
      fresh.store.recordMaterialization({
        asset_key,
        partition_key,
        run_id: 'r1',
        ts,
        data_version: `d-${ts}`,
        code_version: 'v1',
        input_versions: {},
        deps: [],
        metadata: {},
      });
    // Silver never consumed them: north has lagged for two hours, south for five minutes.
    land('bronze.orders', 'store=north', ago(120));
    land('bronze.orders', 'store=south', ago(5));
    land('bronze.days', `ingest_date=${yesterday}`, ago(60));
    freshUi = createApp(fresh, { token: 'b'.repeat(64) });
  });

  afterAll(async () => {
    await freshUi.runs.shutdown();
    fresh.close();
  });

  it('GET /api/assets gives each asset its freshness: worst partition, times, reason and policy; null without one', async () => {
    const { assets } = (await fj('/api/assets')) as { assets: { key: string; freshness: unknown }[] };
    const byKey = new Map(assets.map((a) => [a.key, a.freshness]));
    expect(byKey.get('bronze.orders')).toBeNull();
    expect(byKey.get('silver.orders')).toEqual({
      policy: 'max lag 30m (warn 20m)',
      state: 'OVERDUE',
      partition_key: 'store=north',
      text: expect.stringMatching(
        /^overdue since .*: upstream 'bronze\.orders' \[store=north\] was materialized at /,
      ) as unknown,
      warn_at: plus(ago(120), 20),
      due_at: plus(ago(120), 30),
      counts: { FRESH: 1, WARN: 0, OVERDUE: 1 },
    });
    const graph = (await fj('/api/graph')) as { nodes: { key: string; freshness: string | null }[] };
    expect(Object.fromEntries(graph.nodes.map((n) => [n.key, n.freshness]))).toMatchObject({
      'bronze.orders': null,
      'silver.orders': 'OVERDUE',
    });
  });

  it('GET /api/assets/:key gives the freshness of every partition, keyed on its day for a daily deadline', async () => {
    const detail = (await fj('/api/assets/silver.orders')) as {
      freshness: { state: string; partitions: Record<string, unknown>[] };
    };
    expect(detail.freshness.state).toBe('OVERDUE');
    expect(detail.freshness.partitions).toContainEqual({
      partition_key: 'store=south',
      state: 'FRESH',
      text: expect.stringMatching(/^due by .*: upstream 'bronze\.orders' \[store=south\]/) as unknown,
      warn_at: plus(ago(5), 20),
      due_at: plus(ago(5), 30),
      pending_since: ago(5),
      day: null,
    });
    expect((await fj('/api/assets/bronze.orders')).freshness).toBeNull();

    const days = (await fj('/api/assets/silver.days')) as {
      freshness: { policy: string; partitions: { due_at: string; pending_since: string; day: unknown }[] };
    };
    expect(days.freshness.policy).toBe("deadline '0 6 * * *' UTC per ingest_date: the first tick after the day ends");
    const [p] = days.freshness.partitions;
    expect(p!.day).toEqual({ dimension: 'ingest_date', value: yesterday, ends_at: `${today}T00:00:00.000Z` });
    // Due at the first 06:00Z once both the day has ended and the data has arrived.
    const from = Math.max(Date.parse(`${today}T00:00:00.000Z`) - 1, Date.parse(p!.pending_since));
    const six = new Date(from);
    six.setUTCHours(6, 0, 0, 0);
    if (six.getTime() <= from) six.setUTCDate(six.getUTCDate() + 1);
    expect(p!.due_at).toBe(six.toISOString());
  });

  it('draws a freshness badge on policy nodes and a Freshness section on their asset pages', async () => {
    const graph = await (await freshUi.app.request('/')).text();
    expect(graph.match(/<g class="fresh-badge fr-\w+"/g)).toHaveLength(2);
    expect(graph).toMatch(/data-key="silver\.orders" data-status="MISSING" data-freshness="OVERDUE"/);
    expect(graph).toMatch(
      /<g class="fresh-badge fr-OVERDUE" data-freshness="OVERDUE"><title>freshness OVERDUE \[store=north\]: overdue since/,
    );
    expect(graph).not.toMatch(/data-key="bronze\.orders"[^>]*data-freshness/);

    const page = await (await freshUi.app.request('/assets/silver.orders')).text();
    expect(page).toContain('<section id="freshness" data-state="OVERDUE">');
    expect(page).toContain('policy: max lag 30m (warn 20m)');
    expect(page).toContain(`<th>overdue at</th><td>${plus(ago(120), 30).replace('T', ' ').slice(0, 19)} UTC</td>`);
    expect(page).toContain('1 fresh · 0 warn · 1 overdue');
    expect([...page.matchAll(/<tr data-partition="([^"]+)">/g)].map((m) => m[1])).toEqual([
      'store=north',
      'store=south',
    ]);
    expect(await (await freshUi.app.request('/assets/bronze.orders')).text()).not.toContain('id="freshness"');
  });

  it('describes the freshness objects in the OpenAPI document', async () => {
    const doc = (await fj('/api/openapi.json')) as { components: { schemas: Record<string, { required: string[] }> } };
    expect(doc.components.schemas.Freshness!.required).toEqual(
      expect.arrayContaining(['state', 'text', 'warn_at', 'due_at', 'policy']),
    );
    expect(doc.components.schemas.FreshnessDetail!.required).toContain('partitions');
  });
});

describe('sharedRecent', () => {
  it('runs one computation for concurrent callers and reuses it within the time-to-live', async () => {
    let calls = 0;
    const get = sharedRecent(async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 20));
      return calls;
    }, 60);
    expect(await Promise.all([get(), get(), get()])).toEqual([1, 1, 1]);
    expect(await get()).toBe(1);
    await new Promise((r) => setTimeout(r, 80));
    expect(await get()).toBe(2);
  });
});

describe('asset page pieces', () => {
  it('orders metrics: the leading ones in their order (default row_count), then alphabetical', () => {
    const keys = ['files', 'duration_ms', 'apples', 'row_count', 'duplicates_removed'];
    expect(orderMetrics(keys)).toEqual(['row_count', 'apples', 'duplicates_removed', 'duration_ms', 'files']);
    expect(orderMetrics(keys, ['duration_ms', 'files'])).toEqual([
      'duration_ms',
      'files',
      'apples',
      'duplicates_removed',
      'row_count',
    ]);
  });

  it("draws the sections of the definitions' assetPage hooks from the latest materialization", async () => {
    const page = async () => (await get('/assets/gold.orders_report')).text();
    // the framework's page knows no project's own metadata (the fixture's track_preview is only listed)
    expect(await page()).not.toContain('<h2>Track preview</h2>');
    const seen: { assetKey: string; partitionKey: string; keys: string[] }[] = [];
    project.defs.hooks.assetPage = {
      leadingMetrics: ['note'],
      sections: ({ assetKey, partitionKey, metadata }) => {
        seen.push({ assetKey, partitionKey, keys: Object.keys(metadata) });
        return [{ title: 'Extra', html: '<p id="extra">drawn by the definitions</p>' }];
      },
    };
    try {
      expect(await page()).toContain('<section><h2>Extra</h2><p id="extra">drawn by the definitions</p></section>');
      expect(seen).toEqual([
        { assetKey: 'gold.orders_report', partitionKey: '', keys: expect.arrayContaining(['track_preview']) },
      ]);
      // an asset never materialized has no latest materialization to draw from
      expect(await (await get('/assets/silver.clean_orders')).text()).not.toContain('<h2>Extra</h2>');
      expect(seen).toHaveLength(1);
    } finally {
      delete project.defs.hooks.assetPage;
    }
  });
});

describe('token file', () => {
  it('is created once with mode 0600 and reused', () => {
    const stateDir = join(dir, 'tok');
    const a = ensureToken(stateDir);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(join(stateDir, 'ui-token')).mode & 0o777).toBe(0o600);
    expect(ensureToken(stateDir)).toBe(a);
  });
});
