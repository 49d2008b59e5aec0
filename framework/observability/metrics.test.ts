import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { asset, defineAssets, type Metadata, md } from '../definitions/index.ts';
import { recordEventsTo } from '../execution/index.ts';
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

  it('counts rows written, quarantined and removed as duplicates per asset over its materializations', async () => {
    const record = recordEventsTo(project.store);
    const materialized = (partition_key: string, metadata: Metadata) =>
      record({
        type: 'MATERIALIZATION',
        run_id: 'r1',
        record: {
          asset_key: 'a.one',
          partition_key,
          run_id: 'r1',
          ts: '2026-12-04T12:00:00.000Z',
          data_version: partition_key,
          code_version: 'v1',
          input_versions: {},
          deps: [],
          metadata,
        },
      });
    materialized('p1', { row_count: md.rowCount(10), quarantined_rows: md.int(2), duplicates_removed: md.int(1) });
    materialized('p2', { row_count: md.rowCount(5), note: md.text('no counts but rows') });
    const text = (await renderMetrics(project)).text;
    expect(text).toContain('fairway_rows_total{asset="a.one",kind="written"} 15');
    expect(text).toContain('fairway_rows_total{asset="a.one",kind="quarantined"} 2');
    expect(text).toContain('fairway_rows_total{asset="a.one",kind="duplicates_removed"} 1');
  });
});
