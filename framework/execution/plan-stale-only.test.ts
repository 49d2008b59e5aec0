import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asset, defineAssets, staticPartitions } from '../definitions/index.ts';
import { buildGraph } from '../graph/index.ts';
import { type PartitionStatus, SparseMap, type StalenessResult, type StatusKind } from '../staleness/index.ts';
import { buildPlan, type PlanInput } from './index.ts';

const noop = () => undefined;
const UNIVERSE = ['k=p0', 'k=p1', 'k=p2', 'k=p3', 'k=p4', 'k=p5'];
const parts = staticPartitions('k', ['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);
const other = staticPartitions('x', ['x0', 'x1']);

/**
 * a (root) → b (identity) → d (identity, also reads the unpartitioned c) and → f (identity, batched by 2);
 * b → e (other dimension: an `all` mapping); b → g (explicitly `all`).
 */
const graph = buildGraph(
  defineAssets({
    assets: [
      asset({ key: 'x.a', partitions: parts, materialize: noop }),
      asset({ key: 'x.b', deps: ['x.a'], partitions: parts, materialize: noop }),
      asset({ key: 'x.c', materialize: noop }),
      asset({ key: 'x.d', deps: ['x.b', 'x.c'], partitions: parts, materialize: noop }),
      asset({ key: 'x.e', deps: ['x.b'], partitions: other, materialize: noop }),
      asset({ key: 'x.f', deps: ['x.a'], partitions: parts, batch: { maxPartitions: 2 }, materialize: noop }),
      asset({ key: 'x.g', deps: ['x.b'], partitions: parts, partitionMappings: { 'x.b': 'all' }, materialize: noop }),
    ],
  }),
);
const partitioned = ['x.a', 'x.b', 'x.d', 'x.f', 'x.g'];
const KINDS: StatusKind[] = ['FRESH', 'STALE', 'MISSING', 'FAILED', 'RUNNING'];
const status = (s: StatusKind): PartitionStatus => ({ status: s, causes: [], dataVersion: null, materializedAt: null });

const perAsset = fc.record({
  known: fc.subarray(UNIVERSE),
  shuffled: fc.boolean(),
  /** Held by the status map besides the known ones (materialized, no longer listed), or left out of it. */
  extra: fc.subarray(UNIVERSE),
  dropped: fc.subarray(UNIVERSE, { maxLength: 2 }),
  notFresh: fc.array(fc.tuple(fc.constantFrom(...UNIVERSE), fc.constantFrom(...KINDS)), { maxLength: 4 }),
  /** The known list is the status map's own key list (the same array), as judged from the store. */
  shared: fc.boolean(),
});

const scenario = fc.record({
  assets: fc.record(Object.fromEntries(partitioned.map((k) => [k, perAsset])) as Record<string, typeof perAsset>),
  e: fc.subarray(['x=x0', 'x=x1']),
  eStale: fc.boolean(),
  cStatus: fc.constantFrom<StatusKind>('FRESH', 'STALE', 'MISSING'),
  selected: fc.subarray(graph.keys(), { minLength: 1 }),
  filter: fc.option(fc.constantFrom('k=p1', 'k=p3', 'k=p9'), { nil: undefined }),
  restrict: fc.option(fc.subarray(UNIVERSE, { minLength: 1 }), { nil: undefined }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function inputOf(s: Scenario): { sparse: PlanInput; plain: PlanInput } {
  const partitions = new Map<string, readonly string[]>();
  const sparse: StalenessResult = new Map();
  for (const key of partitioned) {
    const a = s.assets[key]!;
    const held = [...new Set([...a.known, ...a.extra])].filter((p) => !a.dropped.includes(p)).sort();
    partitions.set(key, a.shared ? held : a.shuffled ? [...a.known].reverse() : a.known);
    const exceptions = new Map<string, PartitionStatus>();
    for (const [p, kind] of [...a.notFresh].sort())
      if (held.includes(p) && kind !== 'FRESH') exceptions.set(p, status(kind));
    const ordered = new Map([...exceptions].sort(([x], [y]) => (x < y ? -1 : 1)));
    sparse.set(key, new SparseMap(held, ordered, () => status('FRESH')));
  }
  partitions.set('x.e', s.e);
  sparse.set('x.e', new Map(s.e.map((p) => [p, status(s.eStale ? 'STALE' : 'FRESH')])));
  sparse.set('x.c', new Map([['', status(s.cStatus)]]));
  // the same statuses as plain maps: the planner walks every partition
  const plain: StalenessResult = new Map([...sparse].map(([k, m]) => [k, new Map(m)]));
  const base = {
    graph,
    selected: s.selected,
    partitions,
    staleOnly: true,
    ...(s.filter ? { partitionFilter: s.filter } : {}),
    ...(s.restrict ? { restrict: new Map(partitioned.map((k) => [k, new Set(s.restrict!)])) } : {}),
  };
  return { sparse: { ...base, staleness: sparse }, plain: { ...base, staleness: plain } };
}

const outcome = (input: PlanInput) => {
  try {
    return { plan: buildPlan(input) };
  } catch (e) {
    return { error: (e as Error).message };
  }
};

describe('buildPlan with stale-only over sparse status maps', () => {
  it('plans exactly what walking every partition plans', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { sparse, plain } = inputOf(s);
        expect(outcome(sparse)).toEqual(outcome(plain));
      }),
      { numRuns: 800 },
    );
  });

  it('plans the partitions not fresh and those below a planned upstream partition, skipping the rest', () => {
    const s: Scenario = {
      assets: Object.fromEntries(
        partitioned.map((k) => [
          k,
          { known: UNIVERSE, shuffled: false, extra: [], dropped: [], notFresh: [], shared: false },
        ]),
      ),
      e: [],
      eStale: false,
      cStatus: 'FRESH',
      selected: ['x.a', 'x.b', 'x.d'],
      filter: undefined,
      restrict: undefined,
    };
    s.assets['x.a']!.notFresh = [['k=p2', 'STALE']];
    s.assets['x.d']!.dropped = ['k=p5'];
    const { sparse, plain } = inputOf(s);
    const plan = buildPlan(sparse);
    expect(plan.steps.map((st) => st.id)).toEqual(['x.a[k=p2]', 'x.b[k=p2]', 'x.d[k=p2]', 'x.d[k=p5]']);
    expect(plan.skippedFresh).toBe(3 * 6 - 4);
    expect(plan).toEqual(buildPlan(plain));
  });
});
