import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fairway, fairwayBin, repoRoot } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const shots = join(repoRoot, 'test-artifacts', 'ui');

/** Errors the pages raised (uncaught exceptions, console errors); every test must leave none. */
const pageErrors: string[] = [];
let dir: string;
let definitions: string;
let env: NodeJS.ProcessEnv;
let server: ChildProcess;
let baseUrl: string;
let browser: Browser;
let page: Page;

/** Starts `fairway ui --port 0` and resolves with the URL it prints. */
function startUi(): Promise<string> {
  server = spawn(
    'node',
    [fairwayBin, '--definitions', definitions, '--state-dir', join(dir, 'state'), 'ui', '--port', '0'],
    { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`fairway ui did not start:\n${err}`)), 60_000);
    server.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    server.once('exit', (code) => reject(new Error(`fairway ui exited with ${code}:\n${err}`)));
  });
}

/**
 * The example definitions (assets and hooks as they are) with a freshness policy on silver.clean_orders:
 * WARN as soon as Bronze data it has not consumed arrives, OVERDUE only after ten hours (so the state
 * stays put during the test).
 */
function withFreshnessPolicy(into: string): string {
  const file = join(into, 'definitions.ts');
  const hello = join(repoRoot, 'examples', 'hello', 'definitions.ts');
  writeFileSync(join(into, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(
    file,
    `import { defineAssets } from '${join(repoRoot, 'framework', 'definitions', 'index.ts')}';
import hello from '${hello}';
const freshness = { maxLag: { warnAfterMinutes: 0, failAfterMinutes: 600 } };
const assets = [...hello.assets.values()].map((a) => (a.key === 'silver.clean_orders' ? { ...a, freshness } : a));
export default defineAssets({ assets, resources: hello.resources, hooks: hello.hooks });
`,
  );
  return file;
}

const plottedPoints = async () => {
  await page.waitForSelector('#plots[data-ready="true"]');
  return Number(await page.getAttribute('#plots', 'data-points'));
};

describe.skipIf(!existsSync(CHROMIUM))('UI in a real browser', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fairway-ui-e2e-'));
    mkdirSync(shots, { recursive: true });
    definitions = withFreshnessPolicy(dir);
    env = { ...process.env, HELLO_DATA_DIR: join(dir, 'data'), FAIRWAY_LOG_LEVEL: 'warn' };
    const first = await fairway(
      ['--definitions', definitions, '--state-dir', join(dir, 'state'), 'materialize', 'bronze.raw_orders'],
      { cwd: repoRoot, env },
    );
    expect(first.exitCode, String(first.stderr)).toBe(0);
    baseUrl = await startUi();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(60_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      // The bad selection in the first test answers 400 on purpose; anything else (CSP violations, 404s, a
      // script that throws) is a bug.
      if (m.type() === 'error' && !m.text().includes('status of 400')) pageErrors.push(m.text());
    });
  });

  afterEach(() => {
    expect(pageErrors.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    server?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the lineage graph and highlights a selection typed in the filter box', async () => {
    await page.goto(`${baseUrl}/`);
    await page.waitForSelector('#graph .node');
    expect(await page.locator('#graph .node').count()).toBe(4);
    expect(await page.getAttribute('[data-key="bronze.raw_orders"]', 'data-status')).toBe('FRESH');
    await page.screenshot({ path: join(shots, 'graph.png') });

    await page.fill('#filter', '+silver.clean_orders');
    await page.press('#filter', 'Enter');
    await page.waitForSelector('#graph.filtering .node.selected');
    const selected = await page.$$eval('#graph .node.selected', (ns) => ns.map((n) => n.getAttribute('data-key')));
    expect(selected.sort()).toEqual(['bronze.raw_orders', 'silver.clean_orders']);
    await page.screenshot({ path: join(shots, 'graph-filtered.png') });

    await page.fill('#filter', 'group:silver and');
    await page.press('#filter', 'Enter');
    await page.waitForSelector('#filter-error:not([hidden])');
    expect(await page.textContent('#filter-error')).toContain('^');
    await page.screenshot({ path: join(shots, 'graph-selection-error.png') });

    // zoom changes the viewBox
    const before = await page.getAttribute('#graph', 'viewBox');
    await page.mouse.move(500, 400);
    await page.mouse.wheel(0, -400);
    await expect.poll(() => page.getAttribute('#graph', 'viewBox')).not.toBe(before);
  });

  it('shows freshness: a badge on policy nodes and a Freshness section on the asset page', async () => {
    await page.goto(`${baseUrl}/`);
    const badge = page.locator('[data-key="silver.clean_orders"] .fresh-badge');
    await badge.waitFor();
    expect(await badge.getAttribute('data-freshness')).toBe('WARN');
    expect(await badge.textContent()).toContain('warn');
    expect(await page.locator('[data-key="bronze.raw_orders"] .fresh-badge').count()).toBe(0);
    // Painted: the badge has a real box inside its node.
    const box = (await badge.locator('rect').boundingBox())!;
    const node = (await page.locator('[data-key="silver.clean_orders"] rect.box').boundingBox())!;
    expect(box.width).toBeGreaterThan(20);
    expect(box.x + box.width).toBeLessThanOrEqual(node.x + node.width + 1);
    await page.screenshot({ path: join(shots, 'graph-freshness.png') });

    await page.click('[data-key="silver.clean_orders"] text.key');
    await page.waitForURL(/\/assets\/silver\.clean_orders$/);
    const section = page.locator('#freshness');
    expect(await section.getAttribute('data-state')).toBe('WARN');
    const text = (await section.textContent()) ?? '';
    expect(text).toContain('policy: max lag 600m (warn 0m)');
    expect(text).toMatch(/overdue at\s*\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/);
    expect(text).toContain("upstream 'bronze.raw_orders' [store=north] was materialized at");
    expect(await page.locator('#freshness-partitions tbody tr').count()).toBe(2);
    await section.screenshot({ path: join(shots, 'asset-freshness.png') });
  });

  it('launches a materialization from the asset page, follows the run live, and plots the new points', async () => {
    await page.goto(`${baseUrl}/assets/bronze.raw_orders`);
    const pointsBefore = await plottedPoints();
    const rowsBefore = await page.locator('#history tbody tr').count();
    expect(pointsBefore).toBe(2);
    expect(rowsBefore).toBe(2);
    // One small chart per metric (hello reports only row_count) and one shared legend: a series per store.
    expect(await page.locator('#plots .plot').count()).toBe(1);
    expect(await page.locator('#plot-legend .item').allTextContents()).toEqual(['north', 'south']);

    await page.click('#launch-form button[type="submit"]');
    await page.waitForURL(/\/runs\/[0-9A-Z]+$/);
    await page.waitForSelector('#run-status[data-status="SUCCESS"]', { timeout: 120_000 });
    await page.waitForSelector('#gantt .gantt-row.st-SUCCESS');
    expect(await page.locator('#events tbody tr').count()).toBeGreaterThan(3);
    expect(await page.textContent('#events')).toContain('run finished: SUCCESS');
    await page.screenshot({ path: join(shots, 'run.png'), fullPage: true });

    await page.goto(`${baseUrl}/assets/bronze.raw_orders`);
    expect(await plottedPoints()).toBe(pointsBefore + 2);
    expect(await page.locator('#history tbody tr').count()).toBe(rowsBefore + 2);
    expect(await page.locator('.plot canvas').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(shots, 'asset.png'), fullPage: true });

    // the table section reads the asset's table on demand (here: the CSV files behind hello's table hooks)
    await page.selectOption('#table-limit', '10');
    await page.click('#table-load');
    await page.waitForSelector('#table-section[data-state="loaded"]');
    expect(await page.locator('#table-meta tr[data-field="rows"] td').textContent()).toMatch(/^\d+$/);
    expect(Number(await page.getAttribute('#table-preview', 'data-rows'))).toBeGreaterThan(0);
  });

  it('shows a failed run with its reason, and the runs list', async () => {
    // A launch now also materializes missing upstream assets, so force a real failure: a directory where
    // gold.orders_summary writes summary.json makes that step fail with EISDIR.
    mkdirSync(join(dir, 'data', 'summary.json'), { recursive: true });
    await page.goto(`${baseUrl}/`);
    await page.fill('#filter', 'gold.orders_report');
    await page.press('#filter', 'Enter');
    await page.waitForSelector('#graph .node.selected');
    await page.click('#materialize');
    await page.waitForURL(/\/runs\/[0-9A-Z]+$/);
    await page.waitForSelector('#run-status:not([data-status="STARTED"]):not([data-status="QUEUED"])', {
      timeout: 120_000,
    });
    const status = await page.getAttribute('#run-status', 'data-status');
    expect(status).toBe('FAILURE');
    await page.waitForSelector('pre.error');
    await page.screenshot({ path: join(shots, 'run-failed.png'), fullPage: true });
    await page.goto(`${baseUrl}/runs?status=FAILURE`);
    expect(await page.locator('#runs tbody tr').count()).toBe(1);
    await page.screenshot({ path: join(shots, 'runs.png') });
  });
});
