import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { asset, defineAssets, staticPartitions } from '../definitions/index.ts';
import { loadFreshness } from '../freshness/index.ts';
import { openStore } from '../storage/index.ts';
import { loadStatus, openProject } from './index.ts';

describe('loadStatus with freshness', () => {
  it('observes each source partition once and evaluates freshness as the daemon does', async () => {
    const observed: string[] = [];
    const stores = staticPartitions('store', ['north', 'south']);
    const files = asset({
      key: 'bronze.files',
      partitions: stores,
      codeVersion: 'c',
      observe: ({ partitionKey }) => {
        observed.push(partitionKey);
        return `v-${partitionKey}`;
      },
      materialize: () => ({}),
    });
    const clean = asset({
      key: 'silver.clean',
      deps: [files],
      partitions: stores,
      codeVersion: 'c',
      freshness: { maxLag: { warnAfterMinutes: 20, failAfterMinutes: 30 } },
      materialize: () => ({}),
    });
    const defs = defineAssets({ assets: [files, clean] });
    const project = openProject(defs, {
      root: '.',
      stateDir: '.',
      store: openStore(':memory:'),
      log: pino({ level: 'silent' }),
    });
    try {
      const now = new Date('2026-11-24T10:00:00.000Z');
      const status = await loadStatus(project, ['silver.clean'], { freshnessAt: now });
      expect(observed.sort()).toEqual(['store=north', 'store=south']);
      expect(status.staleness.get('silver.clean')!.get('store=north')!.status).toBe('MISSING');
      expect(status.freshness!.get('silver.clean')!.get('store=north')).toMatchObject({
        state: 'FRESH',
        dueAt: '2026-11-24T10:30:00.000Z',
      });
      expect(status.freshness).toEqual((await loadFreshness(project, now)).freshness);
      // Without `freshnessAt`, or when no selected asset has a policy, nothing is evaluated.
      expect((await loadStatus(project, ['silver.clean'])).freshness).toBeUndefined();
      expect((await loadStatus(project, ['bronze.files'], { freshnessAt: now })).freshness).toBeUndefined();
    } finally {
      project.close();
    }
  });
});
