import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md } from '../definitions/index.ts';
import { openStore, type Store } from './index.ts';

// Correctness at scale; times are printed for the report, never asserted (machines differ).
const ASSETS = 10_000;
const keys = Array.from({ length: ASSETS }, (_, i) => `silver.asset_${String(i).padStart(5, '0')}`);

const time = <T>(label: string, fn: () => T): T => {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const result = fn();
  const { user, system } = process.cpuUsage(cpu);
  const wall = (performance.now() - start).toFixed(1);
  // CPU time is printed too: on a loaded machine it is the steadier number.
  console.log(`[storage scale] ${label}: ${wall} ms wall, ${((user + system) / 1000).toFixed(1)} ms cpu`);
  return result;
};

describe(`latest-per-key reads over ${ASSETS} assets`, () => {
  let store: Store;
  beforeAll(() => {
    // In memory to keep seeding quick; reads hit the page cache either way.
    store = openStore(':memory:');
    time(`write ${ASSETS} materializations + step attempts + checks`, () => {
      for (const [i, asset_key] of keys.entries()) {
        const base = { asset_key, partition_key: '', run_id: 'r1', ts: '2024-05-01T00:00:00.000Z' };
        store.recordMaterialization({
          ...base,
          data_version: `dv${i}`,
          code_version: 'cv',
          input_versions: { 'bronze.x': 'v' },
          deps: ['bronze.x'],
          metadata: { rows: md.rowCount(i) },
        });
        store.recordStepAttempt({
          ...base,
          status: 'SUCCESS',
          started_at: null,
          finished_at: null,
          duration_ms: i,
          attempts: 1,
          reason: null,
        });
      }
      store.recordCheckEvaluations(
        keys.map((asset_key) => ({
          asset_key,
          partition_key: '',
          check_name: 'not_null',
          run_id: 'r1',
          ts: '2024-05-01T00:00:00.000Z',
          passed: true,
          severity: 'error' as const,
          blocking: false,
          failures: 0,
          description: null,
          metadata: {},
        })),
      );
    });
  }, 120_000);
  afterAll(() => {
    store.close();
  });

  it('latestMaterializations returns one record per asset', () => {
    // The first call in a process also pays for statement preparation and zod/V8 warm-up.
    const latest = time(`latestMaterializations(${ASSETS} keys), first call`, () => store.latestMaterializations(keys));
    for (let i = 1; i <= 3; i++) {
      time(`latestMaterializations(${ASSETS} keys), warm #${i}`, () => store.latestMaterializations(keys));
    }
    expect(latest.size).toBe(ASSETS);
    expect(latest.get(keys[1234]!)?.get('')?.data_version).toBe('dv1234');
  });

  it('latestStepAttempts, latestCheckEvaluations and recentDurations cover every asset', () => {
    const attempts = time(`latestStepAttempts(${ASSETS} keys)`, () => store.latestStepAttempts(keys));
    expect(attempts.size).toBe(ASSETS);
    const checks = time(`latestCheckEvaluations(${ASSETS} keys)`, () => store.latestCheckEvaluations(keys));
    expect(checks).toHaveLength(ASSETS);
    const durations = time(`recentDurations(${ASSETS} keys, 5)`, () => store.recentDurations(keys, 5));
    expect(durations.get(keys[42]!)).toEqual([42]);
  });

  it('stays correct with 5 materializations per asset in history', () => {
    time(`write ${ASSETS * 4} more materializations`, () => {
      for (let round = 1; round < 5; round++) {
        for (const asset_key of keys) {
          store.recordMaterialization({
            asset_key,
            partition_key: '',
            run_id: `r${round}`,
            ts: '2024-05-02T00:00:00.000Z',
            data_version: `round${round}`,
            code_version: 'cv',
            input_versions: {},
            deps: [],
            metadata: {},
          });
        }
      }
    });
    const latest = time(`latestMaterializations(${ASSETS} keys, ${ASSETS * 5} rows)`, () =>
      store.latestMaterializations(keys),
    );
    expect(latest.size).toBe(ASSETS);
    expect([...latest.values()].every((p) => p.get('')?.data_version === 'round4')).toBe(true);
  }, 120_000);
});
