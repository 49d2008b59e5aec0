import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AssetDefinition,
  asset,
  defineAssets,
  md,
  multiAsset,
  type PublishContext,
  staticPartitions,
} from '../definitions/index.ts';
import { buildGraph } from '../graph/index.ts';
import { openStore, type Store } from '../storage/index.ts';
import { launchRun, type RunContext } from './index.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'fairway-publish-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

let store: Store;
beforeEach(() => {
  store = openStore(':memory:');
});
afterEach(() => store.close());

const parts = staticPartitions('day', ['d1', 'd2']);
const keys = ['day=d1', 'day=d2'];

/** bronze → a multi-asset writing silver.facts + silver.rejects for audit, gated on facts, → gold. */
function lake(opts: {
  gatePasses: () => boolean;
  publish: (ctx: PublishContext) => Promise<unknown>;
  /** A partition whose own blocking check (partition-scoped) fails. */
  badPartition?: string;
}) {
  const written: string[] = [];
  const bronze = asset({ key: 'bronze.files', codeVersion: 'v1', partitions: parts, materialize: () => ({}) });
  const silver = multiAsset({
    name: 'clean_job',
    deps: [bronze],
    partitions: parts,
    batch: { maxPartitions: 10 },
    codeVersion: 'v1',
    outputs: [
      {
        key: 'silver.facts',
        checks: [
          { name: 'gate', scope: 'asset', blocking: true, severity: 'error' },
          {
            name: 'rows_ok',
            blocking: true,
            severity: 'error',
            evaluate: (ctx) => ({ passed: ctx.partitionKey !== opts.badPartition }),
          },
        ],
        evaluateAssetChecks: async () => [{ name: 'gate', passed: opts.gatePasses() }],
      },
      { key: 'silver.rejects' },
    ],
    materialize: (ctx) => {
      written.push(...ctx.partitions.map((p) => p.key));
      const per = (t: string) => ({
        partitions: Object.fromEntries(ctx.partitions.map((p) => [p.key, { dataVersion: `${t}-audited-${p.key}` }])),
      });
      return { outputs: { 'silver.facts': per('facts'), 'silver.rejects': per('rejects') } };
    },
    publish: opts.publish as (ctx: PublishContext) => Promise<undefined>,
  });
  const gold = asset({ key: 'gold.all', deps: ['silver.facts'], codeVersion: 'v1', materialize: () => ({}) });
  const assets: AssetDefinition[] = [bronze, ...silver, gold];
  const defs = defineAssets({ assets });
  const ctx: RunContext = { stateDir, store, defs, graph: buildGraph(defs), log: pino({ level: 'silent' }) };
  return { ctx, written };
}

const recorded = (key: string) =>
  Object.fromEntries(
    [...(store.latestMaterializations([key]).get(key) ?? new Map()).entries()].map(([p, r]) => [p, r.data_version]),
  );

describe('write-audit-publish', () => {
  it('records the materializations only once the gate passed and publish succeeded, with what publish says', async () => {
    const seen: PublishContext[] = [];
    const { ctx } = lake({
      gatePasses: () => true,
      publish: async (c) => {
        seen.push(c);
        return {
          dataVersions: { 'silver.rejects': { 'day=d2': 'rejects-rebased' } },
          metadata: { mode: md.text('ff') },
        };
      },
    });
    const r = await launchRun(ctx, { selection: '*' });
    expect(r.run.status).toBe('SUCCESS');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.assetKey).toBe('silver.facts');
    expect(seen[0]!.pending).toEqual({
      'silver.facts': { 'day=d1': 'facts-audited-day=d1', 'day=d2': 'facts-audited-day=d2' },
      'silver.rejects': { 'day=d1': 'rejects-audited-day=d1', 'day=d2': 'rejects-audited-day=d2' },
    });
    expect(recorded('silver.rejects')).toEqual({ 'day=d1': 'rejects-audited-day=d1', 'day=d2': 'rejects-rebased' });
    expect(store.latestMaterializations(['silver.facts']).get('silver.facts')!.get('day=d1')!.metadata.mode).toEqual(
      md.text('ff'),
    );
    // Gold built from what was published
    expect(recorded('gold.all')).toHaveProperty('');
    const again = await launchRun(ctx, { selection: '*', staleOnly: true });
    expect(again.plan.steps).toEqual([]);
  });

  it('a failed gate publishes nothing and records nothing: the partitions are written again by the next run', async () => {
    let passes = false;
    let published = 0;
    const { ctx, written } = lake({
      gatePasses: () => passes,
      publish: async () => {
        published++;
        return undefined;
      },
    });
    const r = await launchRun(ctx, { selection: '*' });
    expect(r.run.status).toBe('FAILURE');
    expect(r.run.reason).toMatch(/blocking check failed: blocking check 'gate' on silver.facts#checks failed/);
    expect(published).toBe(0);
    expect(recorded('silver.facts')).toEqual({});
    expect(recorded('silver.rejects')).toEqual({});
    expect(recorded('gold.all')).toEqual({});

    passes = true;
    written.length = 0;
    const again = await launchRun(ctx, { selection: '*', staleOnly: true });
    expect(again.run.status).toBe('SUCCESS');
    expect(written).toEqual(keys);
    expect(published).toBe(1);
    expect(Object.keys(recorded('silver.facts'))).toEqual(keys);
  });

  it('a publish that throws fails the run naming it, records nothing, and holds Gold back', async () => {
    const { ctx } = lake({
      gatePasses: () => true,
      publish: async () => {
        throw new Error('main moved: conflict on day=d1');
      },
    });
    const r = await launchRun(ctx, { selection: '*' });
    expect(r.run.status).toBe('FAILURE');
    expect(r.run.reason).toContain('publishing silver.facts failed: main moved: conflict on day=d1');
    expect(recorded('silver.facts')).toEqual({});
    expect(r.summary.steps.find((s) => s.asset_key === 'gold.all')?.status).toBe('SKIPPED');
  });

  it('a partition whose own blocking check failed holds the whole write back: it is one branch', async () => {
    let published = 0;
    const { ctx } = lake({
      gatePasses: () => true,
      badPartition: 'day=d2',
      publish: async () => {
        published++;
        return undefined;
      },
    });
    const r = await launchRun(ctx, { selection: '*' });
    expect(r.run.status).toBe('FAILURE');
    expect(published).toBe(0);
    expect(recorded('silver.facts')).toEqual({});
    expect(recorded('silver.rejects')).toEqual({});
  });

  it('refuses publish on an asset without asset-scoped checks, and on a multi-asset without one gated output', () => {
    expect(() =>
      asset({ key: 'silver.x', codeVersion: 'v1', materialize: () => ({}), publish: async () => undefined }),
    ).toThrow(/has publish but no asset-scoped checks/);
    expect(() =>
      multiAsset({
        name: 'j',
        codeVersion: 'v1',
        outputs: [{ key: 'a.b' }, { key: 'a.c' }],
        materialize: () => ({ outputs: {} }),
        publish: async () => undefined,
      }),
    ).toThrow(/exactly one output must have asset-scoped checks .*none has/);
    expect(() =>
      multiAsset({
        name: 'j',
        codeVersion: 'v1',
        canSubset: true,
        outputs: [{ key: 'a.b', checks: [{ name: 'g', scope: 'asset' }] }, { key: 'a.c' }],
        materialize: () => ({ outputs: {} }),
        publish: async () => undefined,
      }),
    ).toThrow(/has publish and canSubset/);
  });
});
