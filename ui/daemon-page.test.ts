import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { asset, defineAssets } from '../framework/definitions/index.ts';
import { launchRun } from '../framework/execution/index.ts';
import { openProject } from '../framework/project/index.ts';
import { createApp } from './app.ts';

describe('the daemon page', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fairway-ui-daemon-'));
  const project = openProject(
    defineAssets({
      assets: [asset({ key: 'silver.t', materialize: () => ({}) }), asset({ key: 'gold.g', materialize: () => ({}) })],
    }),
    { root: dir, stateDir: join(dir, 'state') },
  );
  const ui = createApp(project, { token: 'b'.repeat(64) });
  afterAll(() => {
    project.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const page = async (path: string) => {
    const res = await ui.app.request(path);
    return { status: res.status, html: await res.text() };
  };

  it('lists ticks with their decisions, why, the predicted finish against the deadline, and links runs both ways', async () => {
    expect((await page('/daemon')).html).toContain('No daemon tick recorded yet.');
    const run = (await launchRun(project, { selection: 'silver.t' })).run.run_id;
    project.store.beginTick({
      tick_id: 1_800_000_000_000,
      holder: 'host:1:d',
      status: 'SUCCESS',
      started_at: '2027-01-15T08:00:00.000Z',
      finished_at: '2027-01-15T08:00:01.500Z',
      evaluated: {},
      error: null,
    });
    const decision = (
      asset_key: string,
      action: 'launch' | 'wait' | 'defer',
      reason: string,
      run_id: string | null,
    ) => ({
      tick_id: 1_800_000_000_000,
      asset_key,
      partition_key: '',
      action,
      reason,
      due_at: '2027-01-15T09:00:00.000Z',
      expected_ms: action === 'launch' ? 20 * 60_000 : null,
      run_id,
      selection: run_id ? 'silver.t' : null,
      run_partition: null,
      created_at: '2027-01-15T08:00:00.000Z',
    });
    project.store.recordDecisions([
      decision('silver.t', 'launch', 'overdue at 09:00: new data since 07:40', run),
      decision('gold.g', 'wait', 'upstream silver.t is being materialized', null),
      { ...decision('gold.g', 'defer', 'nothing pending', null), partition_key: 'p2' },
    ]);

    const all = await page('/daemon');
    expect(all.status).toBe(200);
    expect(all.html).toContain('overdue at 09:00: new data since 07:40');
    expect(all.html).toContain('expected to take 20 min 0 s, 40 min 0 s before its deadline');
    expect(all.html).toContain('upstream silver.t is being materialized');
    expect(all.html).toContain(`href="/runs/${run}"`);
    expect(all.html).toContain('took 1.5 s');
    expect(all.html).toContain('1 partition(s) deferred: nothing due yet.');
    expect(all.html).not.toContain('nothing pending'); // deferred ones are counted, not listed

    const gold = await page('/daemon?asset=gold.g');
    expect(gold.html).toContain('upstream silver.t is being materialized');
    expect(gold.html).not.toContain('overdue at 09:00');
    expect((await page('/daemon?asset=nobody.here')).html).toContain('No daemon tick recorded yet.');
    expect((await page('/daemon?before=soon')).status).toBe(400);

    const runPage = await page(`/runs/${run}`);
    expect(runPage.html).toContain('launched by');
    expect(runPage.html).toContain('href="/daemon#tick-1800000000000"');
    expect(runPage.html).toContain('overdue at 09:00: new data since 07:40');
  });
});
