import { describe, expect, it } from 'vitest';
import type { RunRecord, StepAttemptRecord } from '../framework/storage/index.ts';
import { RunPage } from './pages/run-page.tsx';

const T0 = '2026-12-01T10:00:00.000Z';
const at = (s: number) => new Date(Date.parse(T0) + s * 1000).toISOString();

function render(partitions: number, failed: number[] = []) {
  const keys = Array.from({ length: partitions }, (_, i) => `day=d${String(i).padStart(3, '0')}`);
  const plan = [
    ...keys.map((k) => ({ asset_key: 'silver.events', partition_key: k })),
    { asset_key: 'gold.report', partition_key: '' },
  ];
  const run: RunRecord = {
    run_id: 'R1',
    selection: '*',
    partition: null,
    stale_only: false,
    status: 'SUCCESS',
    reason: null,
    pid: 1,
    hostname: 'h',
    created_at: T0,
    started_at: T0,
    finished_at: at(60),
    heartbeat_at: at(60),
    plan,
    tags: {},
  };
  const attempts: StepAttemptRecord[] = plan.map((s, i) => ({
    ...s,
    run_id: 'R1',
    status: failed.includes(i) ? 'FAILURE' : 'SUCCESS',
    started_at: s.partition_key ? at(1) : at(50),
    finished_at: s.partition_key ? at(41) : at(60),
    duration_ms: s.partition_key ? 40_000 : 10_000,
    attempts: 1,
    reason: null,
  }));
  const summary = {
    run_id: 'R1',
    selection: '*',
    status: 'SUCCESS',
    reason: null,
    started_at: T0,
    finished_at: at(60),
    duration_ms: 60_000,
    steps: [],
    asset_checks: [],
  };
  return String(RunPage({ run, events: [], attempts, summary, logs: [] }));
}

describe('run page timeline', () => {
  it('draws a row per partition for a few partitions', () => {
    const html = render(3);
    expect(html.match(/class="gantt-row /g)).toHaveLength(4);
    expect(html).toContain('data-step="silver.events [day=d001]"');
  });

  it('draws one row for a batch of many partitions, with how each ended', () => {
    const html = render(200, [7, 9]);
    expect(html.match(/class="gantt-row /g)).toHaveLength(2);
    expect(html).toContain('data-step="silver.events [200 partitions]"');
    expect(html).toContain('class="gantt-row st-FAILURE" data-step="silver.events [200 partitions]"');
    expect(html).toContain('198 success, 2 failure');
  });
});
