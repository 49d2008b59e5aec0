import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { asset, defineAssets } from '../definitions/index.ts';
import { openProject } from '../project/index.ts';
import { renderMetrics } from './metrics.ts';

describe('renderMetrics', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fairway-metrics-'));
  const project = openProject(defineAssets({ assets: [asset({ key: 'a.one', materialize: () => ({}) })] }), {
    root: dir,
    stateDir: join(dir, 'state'),
  });
  afterAll(() => {
    project.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has no daemon series before a daemon ticked, then its last tick’s duration and age', async () => {
    const now = new Date('2026-12-04T12:00:00.000Z');
    const before = (await renderMetrics(project, { now })).text;
    expect(before).not.toMatch(/^fairway_daemon_tick/m);
    expect(before).toContain('fairway_asset_partitions{asset="a.one",state="missing"} 1');
    project.store.beginTick({
      tick_id: 1,
      holder: 'd1',
      status: 'SUCCESS',
      started_at: '2026-12-04T11:59:00.000Z',
      finished_at: '2026-12-04T11:59:02.500Z',
      evaluated: {},
      error: null,
    });
    const after = (await renderMetrics(project, { now })).text;
    expect(after).toContain('fairway_daemon_tick_age_seconds 60');
    expect(after).toContain('fairway_daemon_tick_duration_seconds 2.5');
  });
});
