import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type AssetDefinition,
  asset,
  defineAssets,
  type MaterializeContext,
  type MultiMaterializeResult,
  md,
  multiAsset,
  staticPartitions,
} from '../definitions/index.ts';
import { buildGraph } from '../graph/index.ts';
import { openStore } from '../storage/index.ts';
import { buildPlan, launchRun } from './index.ts';
import { runPlanForTest } from './run-plan-for-test.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'fairway-multi-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const DAYS = ['d1', 'd2', 'd3'];
const parts = staticPartitions('day', DAYS);
const keys = DAYS.map((d) => `day=${d}`);

const source = asset({ key: 'bronze.files', codeVersion: 'cv', partitions: parts, materialize: () => ({}) });

/** One job writing `silver.facts` and `silver.rejects` (batched); `fail` makes a partition fail in every output. */
function job(opts: { fail?: (key: string, call: number) => string | undefined; leaveOut?: string } = {}) {
  const calls: { outputs: readonly string[]; partitions: string[] }[] = [];
  const materialize = (ctx: MaterializeContext): MultiMaterializeResult => {
    calls.push({ outputs: ctx.outputs, partitions: ctx.partitions.map((p) => p.key) });
    const call = calls.length;
    const per = (table: string) => ({
      partitions: Object.fromEntries(
        ctx.partitions.map((p) => {
          const error = opts.fail?.(p.key, call);
          return [p.key, error ? { error } : { dataVersion: `${table}-${p.key}`, metadata: { table: md.text(table) } }];
        }),
      ),
    });
    const outputs: MultiMaterializeResult['outputs'] = {
      'silver.facts': per('facts'),
      'silver.rejects': per('rejects'),
    };
    if (opts.leaveOut) delete outputs[opts.leaveOut];
    return { outputs };
  };
  const outputs = multiAsset({
    name: 'clean_job',
    deps: [source],
    partitions: parts,
    batch: { maxPartitions: 10 },
    retry: { maxRetries: 1, backoffMs: 1 },
    codeVersion: 'cv-job',
    outputs: [
      { key: 'silver.facts', description: 'the facts' },
      { key: 'silver.rejects', description: 'rows that failed validation' },
    ],
    materialize,
  });
  return { calls, outputs };
}

const downstream = (dep: string) =>
  asset({ key: `gold.from_${dep.split('.')[1]}`, deps: [dep], codeVersion: 'cv', materialize: () => ({}) });

function execute(assets: AssetDefinition[], selected?: string[]) {
  const partitions = new Map(assets.filter((a) => a.partitions).map((a) => [a.key, keys]));
  return runPlanForTest(assets, stateDir, {
    partitions,
    sleep: async () => undefined,
    ...(selected ? { selected } : {}),
  });
}

describe('multi-asset steps', () => {
  it('declares one asset per output, each with its own key and description, sharing deps, partitions and code', () => {
    const { outputs } = job();
    expect(outputs.map((a) => [a.key, a.description, a.deps, a.codeVersion])).toEqual([
      ['silver.facts', 'the facts', ['bronze.files'], 'cv-job'],
      ['silver.rejects', 'rows that failed validation', ['bronze.files'], 'cv-job'],
    ]);
    expect(outputs[0]!.multi).toEqual({
      name: 'clean_job',
      outputs: ['silver.facts', 'silver.rejects'],
      canSubset: false,
    });
    expect(outputs[0]!.sourceFile).toBe(import.meta.filename);
  });

  it('refuses a multi-asset of one output, a repeated output, and definitions that leave an output out', () => {
    const base = { name: 'j', materialize: () => ({ outputs: {} }) };
    expect(() => multiAsset({ ...base, outputs: [{ key: 'a.b' }] })).toThrow(/use asset\(\) for one/);
    expect(() => multiAsset({ ...base, outputs: [{ key: 'a.b' }, { key: 'a.b' }] })).toThrow(/'a.b' twice/);
    expect(() => multiAsset({ ...base, name: 'Bad-Name', outputs: [{ key: 'a.b' }, { key: 'a.c' }] })).toThrow(
      /lower_snake_case/,
    );
    const [facts] = job().outputs;
    expect(() => defineAssets({ assets: [source, facts!] })).toThrow(
      /written by multi-asset 'clean_job' together with silver.rejects, which the definitions leave out/,
    );
  });

  it('plans one step writing every output; selecting one output plans all and says so', () => {
    const { outputs } = job();
    const defs = defineAssets({ assets: [source, ...outputs, downstream('silver.rejects')] });
    const graph = buildGraph(defs);
    const partitions = new Map([source, ...outputs].map((a) => [a.key, keys]));
    const plan = buildPlan({ graph, selected: ['silver.facts'], partitions });
    expect(plan.alsoWritten).toEqual(['silver.rejects']);
    const [step, ...others] = plan.steps;
    expect(others).toEqual([]);
    expect(step).toMatchObject({ asset_key: 'silver.facts', outputs: ['silver.facts', 'silver.rejects'] });
    expect(step!.partitions.map((p) => p.key)).toEqual(keys);

    const all = buildPlan({ graph, selected: graph.keys(), partitions });
    const gold = all.steps.find((s) => s.asset_key === 'gold.from_rejects')!;
    expect(gold.after).toEqual(keys.map((k) => `silver.rejects[${k}]`));
    expect(all.steps.filter((s) => s.outputs.includes('silver.rejects'))).toHaveLength(1);
  });

  it('refuses to plan a multi-asset whose output feeds, through another asset, another of its outputs', () => {
    const outputs = multiAsset({
      name: 'loop_job',
      codeVersion: 'v1',
      outputs: [
        { key: 'silver.first', deps: [source] },
        { key: 'silver.second', deps: ['silver.between'] },
      ],
      materialize: () => ({ outputs: {} }),
    });
    const between = asset({
      key: 'silver.between',
      deps: ['silver.first'],
      codeVersion: 'v1',
      materialize: () => ({}),
    });
    const graph = buildGraph(defineAssets({ assets: [source, ...outputs, between] }));
    expect(() => buildPlan({ graph, selected: graph.keys(), partitions: new Map([['bronze.files', keys]]) })).toThrow(
      /cannot be ordered: .*loop_job.*asset:silver.between|cannot be ordered: .*asset:silver.between.*loop_job/,
    );
  });

  it('runs the materializer once for all outputs and records each output with its own version and metadata', async () => {
    const { calls, outputs } = job();
    const { status, materializations, events } = await execute([source, ...outputs, downstream('silver.rejects')]);
    expect(calls).toEqual([{ outputs: ['silver.facts', 'silver.rejects'], partitions: keys }]);
    for (const k of keys) {
      expect(status[`silver.facts[${k}]`]).toBe('SUCCESS');
      expect(status[`silver.rejects[${k}]`]).toBe('SUCCESS');
      expect(materializations.get('silver.rejects')!.get(k)).toMatchObject({
        data_version: `rejects-${k}`,
        metadata: { table: { type: 'text', value: 'rejects' } },
      });
      expect(materializations.get('silver.facts')!.get(k)!.data_version).toBe(`facts-${k}`);
    }
    expect(status['gold.from_rejects']).toBe('SUCCESS');
    const started = events.filter((e) => e.type === 'STEP_STARTED' && e.partition_key === 'day=d1');
    expect(started.map((e) => (e as { asset_key: string }).asset_key).sort()).toEqual([
      'bronze.files',
      'silver.facts',
      'silver.rejects',
    ]);
  });

  it('a failed partition fails in every output, is retried alone, and skips only its own downstream', async () => {
    const { calls, outputs } = job({ fail: (k) => (k === 'day=d2' ? 'bad file in d2' : undefined) });
    const partitioned = asset({
      key: 'gold.daily',
      deps: ['silver.rejects'],
      partitions: parts,
      codeVersion: 'cv',
      materialize: () => ({}),
    });
    const { status, result } = await execute([source, ...outputs, partitioned]);
    expect(calls.map((c) => c.partitions)).toEqual([keys, ['day=d2']]);
    expect(status['silver.facts[day=d2]']).toBe('FAILURE');
    expect(status['silver.rejects[day=d2]']).toBe('FAILURE');
    expect(result.outcomes.get('silver.rejects[day=d2]')!.reason).toBe('bad file in d2');
    expect(status['gold.daily[day=d2]']).toBe('SKIPPED');
    expect(status['gold.daily[day=d1]']).toBe('SUCCESS');
    expect(status['silver.rejects[day=d3]']).toBe('SUCCESS');
  });

  it('an output the materializer leaves out fails with a message naming it; the others are recorded', async () => {
    const { outputs } = job({ leaveOut: 'silver.rejects' });
    const { status, result } = await execute([source, ...outputs]);
    expect(status['silver.facts[day=d1]']).toBe('SUCCESS');
    expect(status['silver.rejects[day=d1]']).toBe('FAILURE');
    expect(result.outcomes.get('silver.rejects[day=d1]')!.reason).toBe(
      "the multi-asset 'clean_job' reported no result for silver.rejects",
    );
  });

  it("a failed blocking check of one output holds back the downstream of every output (one job's data)", async () => {
    const { outputs } = job();
    const gated = outputs.map((o) =>
      o.key === 'silver.facts'
        ? {
            ...o,
            checks: [
              {
                name: 'no_duplicates',
                scope: 'asset' as const,
                blocking: true,
                severity: 'error' as const,
                evaluate: () => ({ passed: false, failures: 3 }),
              },
            ],
          }
        : o,
    );
    const { status, result } = await execute([source, ...gated, downstream('silver.rejects')]);
    expect(status['silver.rejects[day=d1]']).toBe('SUCCESS');
    expect(status['silver.facts#checks']).toBe('SUCCESS');
    expect(status['gold.from_rejects']).toBe('SKIPPED');
    expect(result.outcomes.get('gold.from_rejects')!.reason).toContain('silver.facts#checks');
  });

  it('--stale-only on one output knows the staleness of the others: nothing to do once all are fresh', async () => {
    const { calls, outputs } = job();
    const defs = defineAssets({ assets: [source, ...outputs] });
    const store = openStore(':memory:');
    const ctx = { stateDir, store, defs, graph: buildGraph(defs), log: pino({ level: 'silent' }) };
    try {
      // static partitions: all three are known; the first run writes them, the second finds nothing stale
      const first = await launchRun(ctx, { selection: 'silver.facts' });
      expect(first.summary.status).toBe('SUCCESS');
      expect(calls).toHaveLength(1);
      const again = await launchRun(ctx, { selection: 'silver.facts', staleOnly: true });
      expect(again.summary.steps).toEqual([]);
      expect(calls).toHaveLength(1);
    } finally {
      store.close();
    }
  });

  describe('a subsettable multi-asset with outputs that depend on each other (dbt models)', () => {
    const x = asset({ key: 'silver.x', codeVersion: 'cv', materialize: () => ({ dataVersion: 'x1' }) });
    const y = asset({ key: 'silver.y', codeVersion: 'cv', materialize: () => ({ dataVersion: 'y1' }) });
    function models(fail: Set<string> = new Set()) {
      const calls: (readonly string[])[] = [];
      const defs = multiAsset({
        name: 'dbt_models',
        canSubset: true,
        outputs: [
          { key: 'gold.a', deps: [x], codeVersion: 'a' },
          { key: 'gold.b', deps: [y], codeVersion: 'b' },
          { key: 'gold.c', deps: ['gold.a', 'gold.b'], codeVersion: 'c' },
        ],
        materialize: (ctx) => {
          calls.push(ctx.outputs);
          return {
            outputs: Object.fromEntries(
              ctx.outputs.map((o) => [
                o,
                fail.has(o) ? { partitions: { '': { error: `${o} broke` } } } : { dataVersion: `${o}-v` },
              ]),
            ),
          };
        },
      });
      return { calls, defs };
    }

    it('plans only the selected outputs, with their own upstream and the outputs they read in the step', () => {
      const { defs } = models();
      const graph = buildGraph(defineAssets({ assets: [x, y, ...defs] }));
      const one = buildPlan({ graph, selected: ['gold.b'], partitions: new Map() });
      expect(one.alsoWritten).toBeUndefined();
      expect(one.steps.map((s) => s.outputs)).toEqual([['gold.b']]);
      const all = buildPlan({ graph, selected: graph.keys(), partitions: new Map() });
      const step = all.steps.find((s) => s.outputs.length > 1)!;
      expect(step.outputs).toEqual(['gold.a', 'gold.b', 'gold.c']);
      expect(step.after.sort()).toEqual(['silver.x', 'silver.y']);
      expect(step.partitions[0]!.outputs).toEqual({
        'gold.a': ['silver.x'],
        'gold.b': ['silver.y'],
        'gold.c': ['gold.a', 'gold.b'],
      });
    });

    it('an output whose upstream failed is skipped with what reads it; the others run in one call', async () => {
      const failing = asset({
        key: 'silver.x',
        codeVersion: 'cv',
        materialize: () => {
          throw new Error('x is broken');
        },
      });
      const { calls, defs } = models();
      const { status, result } = await execute([failing, y, ...defs]);
      expect(calls).toEqual([['gold.b']]);
      expect(status).toMatchObject({ 'gold.a': 'SKIPPED', 'gold.b': 'SUCCESS', 'gold.c': 'SKIPPED' });
      expect(result.outcomes.get('gold.c')!.reason).toContain('silver.x failed');
    });

    it("records an output's inputs as written in the same step: a model reading another sees its new version", async () => {
      const { calls, defs } = models(new Set(['gold.b']));
      const { status, materializations } = await execute([x, y, ...defs]);
      expect(calls).toEqual([['gold.a', 'gold.b', 'gold.c']]);
      expect(status).toMatchObject({ 'gold.a': 'SUCCESS', 'gold.b': 'FAILURE', 'gold.c': 'SUCCESS' });
      expect(materializations.get('gold.c')!.get('')!.input_versions).toMatchObject({ 'gold.a': 'gold.a-v' });
    });

    it('a materializer that throws fails every output, also those reading another output (not skipped)', async () => {
      const broken = multiAsset({
        name: 'dbt_models',
        canSubset: true,
        outputs: [
          { key: 'gold.a', deps: [x], codeVersion: 'a' },
          { key: 'gold.c', deps: ['gold.a'], codeVersion: 'c' },
        ],
        materialize: () => {
          throw new Error('dbt is not installed');
        },
      });
      const { status, result } = await execute([x, y, ...broken]);
      expect(status).toMatchObject({ 'gold.a': 'FAILURE', 'gold.c': 'FAILURE' });
      expect(result.outcomes.get('gold.c')!.reason).toContain('dbt is not installed');
    });
  });
});
