import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type AssetDefinition,
  type AssetSpec,
  asset,
  type BatchMaterializeResult,
  defineAssets,
  type MaterializeContext,
  md,
  staticPartitions,
} from '../definitions/index.ts';
import { buildGraph } from '../graph/index.ts';
import { buildPlan } from './index.ts';
import { runPlanForTest } from './run-plan-for-test.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'fairway-batch-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const DAYS = ['d1', 'd2', 'd3', 'd4', 'd5'];
const parts = staticPartitions('day', DAYS);
const keys = DAYS.map((d) => `day=${d}`);

const def = (key: string, spec: Partial<AssetSpec> = {}) =>
  asset({ key, codeVersion: `cv-${key}`, partitions: parts, materialize: () => ({}), ...spec });

/** A batched materializer recording each call's partitions; `fail` names partitions that report a failure. */
function batchedRecorder(fail: (key: string, attempt: number) => string | undefined = () => undefined) {
  const calls: string[][] = [];
  const materialize = (ctx: MaterializeContext): BatchMaterializeResult => {
    calls.push(ctx.partitions.map((p) => p.key));
    const attempt = calls.length;
    return {
      partitions: Object.fromEntries(
        ctx.partitions.map((p) => {
          const error = fail(p.key, attempt);
          return [p.key, error ? { error } : { dataVersion: `v-${p.key}`, metadata: { rows: md.int(1) } }];
        }),
      ),
    };
  };
  return { calls, materialize };
}

function execute(assets: AssetDefinition[], pools?: Record<string, number>, concurrency = 2) {
  const partitions = new Map(assets.map((a) => [a.key, keys]));
  return runPlanForTest(assets, stateDir, {
    partitions,
    concurrency,
    sleep: async () => undefined,
    ...(pools ? { pools } : {}),
  });
}

describe('batched partition steps', () => {
  it('plans partitions in steps of at most maxPartitions, each partition keeping its own upstream', () => {
    const defs = defineAssets({
      assets: [def('bronze.a'), def('silver.b', { deps: ['bronze.a'], batch: { maxPartitions: 2 } })],
    });
    const graph = buildGraph(defs);
    const plan = buildPlan({ graph, selected: graph.keys(), partitions: new Map(graph.keys().map((k) => [k, keys])) });
    const silver = plan.steps.filter((s) => s.asset_key === 'silver.b');
    expect(silver.map((s) => s.partitions.map((p) => p.key))).toEqual([
      ['day=d1', 'day=d2'],
      ['day=d3', 'day=d4'],
      ['day=d5'],
    ]);
    expect(silver[0]!.id).toBe('silver.b[day=d1 … day=d2]');
    expect(silver[2]!.id).toBe('silver.b[day=d5]');
    expect(silver[0]!.partitions[1]!.after).toEqual(['bronze.a[day=d2]']);
    expect(silver[0]!.after).toEqual(['bronze.a[day=d1]', 'bronze.a[day=d2]']);
    expect(plan.steps.filter((s) => s.asset_key === 'bronze.a')).toHaveLength(5);
  });

  it('calls the materializer once per batch and records every partition on its own', async () => {
    const silver = batchedRecorder();
    const r = await execute([
      def('bronze.a'),
      def('silver.b', { deps: ['bronze.a'], batch: { maxPartitions: 10 }, materialize: silver.materialize }),
      def('gold.c', { deps: ['silver.b'] }),
    ]);
    expect(r.result.status).toBe('SUCCESS');
    expect(silver.calls).toEqual([keys]);
    const mats = r.events.flatMap((e) =>
      e.type === 'MATERIALIZATION' && e.record.asset_key === 'silver.b' ? [e.record] : [],
    );
    expect(mats.map((m) => [m.partition_key, m.data_version])).toEqual(keys.map((k) => [k, `v-${k}`]));
    expect(mats[0]!.input_versions).toHaveProperty('bronze.a');
    expect(r.status['gold.c[day=d3]']).toBe('SUCCESS');
  });

  it('fails one partition alone: the rest of the batch is materialized and only its downstream is skipped', async () => {
    const silver = batchedRecorder((k) => (k === 'day=d2' ? 'bad input file' : undefined));
    const r = await execute([
      def('bronze.a'),
      def('silver.b', { deps: ['bronze.a'], batch: { maxPartitions: 10 }, materialize: silver.materialize }),
      def('gold.c', { deps: ['silver.b'] }),
    ]);
    expect(r.result.status).toBe('FAILURE');
    expect(r.status['silver.b[day=d2]']).toBe('FAILURE');
    expect(r.result.outcomes.get('silver.b[day=d2]')!.reason).toBe('bad input file');
    expect(r.status['silver.b[day=d1]']).toBe('SUCCESS');
    expect(r.status['gold.c[day=d2]']).toBe('SKIPPED');
    expect(r.result.outcomes.get('gold.c[day=d2]')!.reason).toContain('silver.b[day=d2] failed: bad input file');
    expect(r.status['gold.c[day=d1]']).toBe('SUCCESS');
  });

  it('runs the partitions whose upstream succeeded when an upstream partition of the batch failed', async () => {
    const silver = batchedRecorder();
    const r = await execute([
      def('bronze.a', {
        materialize: (ctx) => {
          if (ctx.partitionKey === 'day=d4') throw new Error('no files');
          return {};
        },
      }),
      def('silver.b', { deps: ['bronze.a'], batch: { maxPartitions: 10 }, materialize: silver.materialize }),
    ]);
    expect(silver.calls).toEqual([keys.filter((k) => k !== 'day=d4')]);
    expect(r.status['silver.b[day=d4]']).toBe('SKIPPED');
    expect(r.result.outcomes.get('silver.b[day=d4]')!.reason).toBe('upstream bronze.a[day=d4] failed: no files');
    expect(r.status['silver.b[day=d5]']).toBe('SUCCESS');
  });

  it('retries only the partitions that failed, and a partition left out of the result fails', async () => {
    const silver = batchedRecorder((k, attempt) => (k === 'day=d1' && attempt === 1 ? 'flaky' : undefined));
    const r = await execute([
      def('silver.b', {
        batch: { maxPartitions: 10 },
        retry: { maxRetries: 1, backoffMs: 1 },
        materialize: silver.materialize,
      }),
    ]);
    expect(silver.calls).toEqual([keys, ['day=d1']]);
    expect(r.result.status).toBe('SUCCESS');
    const retries = r.events.filter((e) => e.type === 'STEP_RETRY');
    expect(retries.map((e) => e.type === 'STEP_RETRY' && e.partition_key)).toEqual(['day=d1']);

    const partial = await execute([
      def('silver.b', {
        batch: { maxPartitions: 10 },
        materialize: (ctx) => ({ partitions: { [ctx.partitions[0]!.key]: { dataVersion: 'x' } } }),
      }),
    ]);
    expect(partial.status['silver.b[day=d1]']).toBe('SUCCESS');
    expect(partial.result.outcomes.get('silver.b[day=d2]')!.reason).toBe(
      'the batched materializer reported no result for this partition',
    );
  });

  it('a thrown error fails every partition of the batch', async () => {
    const r = await execute([
      def('silver.b', {
        batch: { maxPartitions: 3 },
        materialize: () => {
          throw new Error('spark died');
        },
      }),
    ]);
    expect(Object.values(r.status)).toEqual(Array(5).fill('FAILURE'));
    expect(r.result.outcomes.get('silver.b[day=d5]')!.reason).toBe('spark died');
  });

  it('never runs two steps of a one-slot pool at once', async () => {
    let active = 0;
    let maxActive = 0;
    const materialize = async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 20));
      active--;
      return {};
    };
    const spark = (key: string) => def(key, { partitions: undefined, pool: 'spark', materialize });
    await execute([spark('silver.x'), spark('silver.y'), spark('silver.z')], { spark: 1 }, 3);
    expect(maxActive).toBe(1);
    await execute([spark('silver.x'), spark('silver.y'), spark('silver.z')], { spark: 2 }, 3);
    expect(maxActive).toBe(2);
  });

  it('reports each partition once when a batch with a skipped partition waits for a pool slot', async () => {
    const slow = def('other.slow', {
      partitions: undefined,
      pool: 'spark',
      materialize: async () => {
        await new Promise((r) => setTimeout(r, 100));
        return {};
      },
    });
    const bronze = def('bronze.a', {
      materialize: async (ctx) => {
        await new Promise((r) => setTimeout(r, 10));
        if (ctx.partitionKey === 'day=d1') throw new Error('boom');
        return {};
      },
    });
    const silver = def('silver.b', { deps: ['bronze.a'], batch: { maxPartitions: 10 }, pool: 'spark' });
    const r = await execute([slow, bronze, silver], { spark: 1 }, 4);
    const finished = r.events.flatMap((e) =>
      e.type === 'STEP_FINISHED' ? [`${e.asset_key}[${e.partition_key}]`] : [],
    );
    expect(finished.length).toBe(new Set(finished).size);
    expect(finished.filter((f) => f.startsWith('silver.b'))).toHaveLength(5);
    expect(r.status['silver.b[day=d1]']).toBe('SKIPPED');
    expect(r.status['silver.b[day=d2]']).toBe('SUCCESS');
  });

  it("runs an asset's checks over the partitions that succeeded, so their downstream is built", async () => {
    const evaluated: string[][] = [];
    const silver = batchedRecorder((k) => (k === 'day=d2' ? 'bad rows' : undefined));
    const r = await execute([
      def('silver.b', {
        batch: { maxPartitions: 10 },
        materialize: silver.materialize,
        checks: [{ name: 'gate', scope: 'asset', blocking: true }],
        evaluateAssetChecks: async (ctx) => {
          evaluated.push(ctx.partitions);
          return [{ name: 'gate', passed: true }];
        },
      }),
      def('silver.c', { deps: ['silver.b'], batch: { maxPartitions: 10 } }),
    ]);
    expect(evaluated).toEqual([keys.filter((k) => k !== 'day=d2')]);
    expect(r.status['silver.b#checks']).toBe('SUCCESS');
    expect(r.status['silver.c[day=d2]']).toBe('SKIPPED');
    expect(r.status['silver.c[day=d3]']).toBe('SUCCESS');
  });

  it('refuses a batch policy on an unpartitioned asset or with a bad size', () => {
    expect(() =>
      defineAssets({ assets: [def('silver.b', { partitions: undefined, batch: { maxPartitions: 5 } })] }),
    ).toThrow(/batch policy but no partitions/);
    expect(() => defineAssets({ assets: [def('silver.b', { batch: { maxPartitions: 0 } })] })).toThrow(
      /maxPartitions 0: use a positive integer/,
    );
  });
});
