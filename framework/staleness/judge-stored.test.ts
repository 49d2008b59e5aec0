import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { asset, defineAssets, staticPartitions } from '../definitions/index.ts';
import { buildGraph } from '../graph/index.ts';
import { openStore, type StepStatus, type Store } from '../storage/index.ts';
import {
  combinedVersion,
  computeStaleness,
  judgeStored,
  SparseMap,
  type StalenessResult,
  StoredRecords,
  statusCounts,
} from './index.ts';

const noop = () => undefined;
const parts = staticPartitions(
  'p',
  ['p=1', 'p=2', 'p=3'].map((p) => p.slice(2)),
);
const PARTITIONS = ['p=1', 'p=2', 'p=3'];

/**
 * root (unpartitioned) · a (partitioned) → b (partitioned, also reads root) → c (partitioned; its deps and b's
 * code version vary) · all (unpartitioned, reads every partition of a) · d (partitioned, reads `all`).
 */
function graphOf(variant: { bCode: string; cDeps: string[] }) {
  return buildGraph(
    defineAssets({
      assets: [
        asset({ key: 'x.root', codeVersion: 'r1', materialize: noop }),
        asset({ key: 'x.a', partitions: parts, codeVersion: 'a1', materialize: noop }),
        asset({
          key: 'x.b',
          partitions: parts,
          deps: ['x.a', 'x.root'],
          codeVersion: variant.bCode,
          materialize: noop,
        }),
        asset({ key: 'x.c', partitions: parts, deps: variant.cDeps, codeVersion: 'c1', materialize: noop }),
        asset({ key: 'x.all', deps: ['x.a'], codeVersion: 'x1', materialize: noop }),
        asset({ key: 'x.d', partitions: parts, deps: ['x.all'], codeVersion: 'd1', materialize: noop }),
      ],
    }),
  );
}

type Action =
  | { kind: 'materialize'; asset: string; partition: string; version: string; code: string; stale: boolean }
  | { kind: 'attempt'; asset: string; partition: string; status: StepStatus; attempts: number };

const ASSET_KEYS = ['x.root', 'x.a', 'x.b', 'x.c', 'x.all', 'x.d'];
const partitionOf = (key: string, i: number) => (key === 'x.root' || key === 'x.all' ? '' : PARTITIONS[i % 3]!);

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant('materialize' as const),
    asset: fc.constantFrom(...ASSET_KEYS),
    partition: fc.nat(2).map(String),
    version: fc.constantFrom('v1', 'v2', 'v3'),
    code: fc.constantFrom('current', 'old'),
    stale: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('attempt' as const),
    asset: fc.constantFrom(...ASSET_KEYS),
    partition: fc.nat(2).map(String),
    status: fc.constantFrom<StepStatus>('RUNNING', 'SUCCESS', 'FAILURE', 'CANCELED'),
    attempts: fc.nat(1),
  }),
);

/** Records the actions as runs would: inputs are the current versions of the deps unless `stale`. */
function record(store: Store, graph: ReturnType<typeof graphOf>, actions: Action[]): void {
  store.createRun({
    run_id: 'r',
    selection: '*',
    partition: null,
    stale_only: false,
    status: 'STARTED',
    reason: null,
    pid: 1,
    hostname: 'h',
    created_at: 'x',
    started_at: null,
    finished_at: null,
    heartbeat_at: 'x',
    plan: [],
    tags: {},
  });
  let clock = 0;
  const ts = () => new Date(Date.UTC(2026, 0, 1, 0, 0, clock++)).toISOString();
  for (const [i, a] of actions.entries()) {
    const def = graph.definition(a.asset);
    const partition = partitionOf(a.asset, Number(a.partition));
    if (a.kind === 'attempt') {
      store.recordStepAttempt({
        asset_key: a.asset,
        partition_key: partition,
        run_id: `r${i}`,
        status: a.status,
        started_at: ts(),
        finished_at: a.status === 'RUNNING' ? null : ts(),
        duration_ms: 1,
        attempts: a.attempts,
        reason: a.status === 'FAILURE' ? 'boom' : null,
      });
      continue;
    }
    const heads = store.latestMaterializationHeads([...def.deps]);
    const inputs: Record<string, string> = {};
    for (const dep of def.deps) {
      const records = heads.get(dep) ?? new Map();
      const dp = graph.definition(dep).partitions ? (def.partitions ? [partition] : [...records.keys()].sort()) : [''];
      inputs[dep] = a.stale ? 'old' : dp.map((p) => records.get(p)?.data_version ?? '').join('+');
    }
    store.recordMaterialization({
      asset_key: a.asset,
      partition_key: partition,
      run_id: 'r',
      ts: ts(),
      data_version: `${a.version}-${i}`,
      code_version: a.code === 'current' ? def.codeVersion : 'old',
      input_versions: inputs,
      deps: a.stale ? [...def.deps].reverse() : [...def.deps],
      metadata: {},
    });
  }
}

/** Every partition's status as plain data, in key order. */
function flat(result: StalenessResult) {
  return Object.fromEntries(
    [...result].map(([k, m]) => [k, [...m].map(([p, s]) => [p, s.status, s.causes, s.dataVersion, s.materializedAt])]),
  );
}

describe('judgeStored', () => {
  it('judges every partition as computeStaleness does, from any history', () => {
    fc.assert(
      fc.property(
        fc.array(action, { maxLength: 40 }),
        fc.constantFrom('b1', 'b2'),
        fc.constantFrom<string[]>(['x.b'], ['x.b', 'x.a'], []),
        fc.subarray([...PARTITIONS], { minLength: 0 }),
        fc.nat(6),
        (actions, bCode, cDeps, known, cut) => {
          const graph = graphOf({ bCode: 'b1', cDeps: ['x.b'] });
          const store = openStore(':memory:');
          try {
            record(store, graph, actions);
            const now = graphOf({ bCode, cDeps });
            const partitions = new Map(['x.a', 'x.b', 'x.c', 'x.d'].map((k) => [k, known]));
            const keys = now.keys();
            const materializations = store.latestMaterializationHeads(keys);
            const attempts = store.latestStepAttempts(keys);
            const running = new Set<string>();
            for (const [k, m] of attempts) for (const [p, a] of m) if (a.status === 'RUNNING') running.add(`${k}|${p}`);
            const input = { graph: now, partitions, materializations, attempts };
            const judged = judgeStored({ store, graph: now, keys, partitions });
            expect(flat(judged.staleness)).toEqual(flat(computeStaleness({ ...input, running })));
            expect(flat(judged.settled)).toEqual(flat(computeStaleness(input)));
            for (const [k, m] of judged.staleness) {
              const eager = computeStaleness({ ...input, running }).get(k)!;
              expect(statusCounts(m)).toEqual(statusCounts(eager));
            }
            // what a long-lived process kept from judging the first assets (closed under upstream) is reused
            const prior = judgeStored({ store, graph: now, keys: now.topologicalOrder().slice(0, cut), partitions });
            const again = judgeStored({ store, graph: now, keys, partitions, prior });
            expect(flat(again.staleness)).toEqual(flat(judged.staleness));
            expect(flat(again.settled)).toEqual(flat(judged.settled));
            // garbage collection of the finished run's history keeps every answer (`fairway gc`)
            store.updateRun('r', { status: 'SUCCESS', finished_at: '2026-01-02T00:00:00.000Z' });
            const latest = store.latestMaterializations(keys);
            const checks = store.latestCheckEvaluations(keys);
            const gc = store.collectGarbage('2027-01-01T00:00:00.000Z');
            expect(store.latestMaterializations(keys)).toEqual(latest); // with their metadata
            expect(store.latestCheckEvaluations(keys)).toEqual(checks);
            expect(gc.run_ids).toEqual(['r']);
            const kept = judgeStored({ store, graph: now, keys, partitions });
            expect(flat(kept.staleness)).toEqual(flat(judged.staleness));
            expect(flat(kept.settled)).toEqual(flat(judged.settled));
          } finally {
            store.close();
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads only the partitions that may not be fresh, and the rest when asked for', () => {
    const graph = graphOf({ bCode: 'b1', cDeps: ['x.b'] });
    const store = openStore(':memory:');
    const actions: Action[] = PARTITIONS.flatMap((_, i) =>
      ['x.a', 'x.b', 'x.c'].map((asset) => ({
        kind: 'materialize' as const,
        asset,
        partition: String(i),
        version: 'v1',
        code: 'current',
        stale: false,
      })),
    );
    record(store, graph, [
      { kind: 'materialize', asset: 'x.root', partition: '0', version: 'v1', code: 'current', stale: false },
      ...actions,
      { kind: 'materialize', asset: 'x.a', partition: '1', version: 'v2', code: 'current', stale: false },
    ]);
    const partitions = new Map(['x.a', 'x.b', 'x.c', 'x.d'].map((k) => [k, [...PARTITIONS, 'p=4']]));
    const judged = judgeStored({ store, graph, keys: graph.keys(), partitions });
    const b = judged.staleness.get('x.b')!;
    expect(b).toBeInstanceOf(SparseMap);
    // p=2 of a changed: b [p=2] is stale, c [p=2] is stale through it, p=4 is missing everywhere
    expect([...(b as SparseMap<unknown>).exceptions.keys()]).toEqual(['p=2', 'p=4']);
    expect([...(judged.staleness.get('x.c') as SparseMap<unknown>).exceptions.keys()]).toEqual(['p=2', 'p=4']);
    expect(statusCounts(b).counts).toEqual({ FRESH: 2, STALE: 1, MISSING: 1 });
    const records = judged.materializations.get('x.b')!;
    expect(records).toBeInstanceOf(StoredRecords);
    expect(records.size).toBe(3);
    expect(b.get('p=1')).toMatchObject({ status: 'FRESH', dataVersion: 'v1-2' });
    expect([...records.keys()]).toEqual(PARTITIONS);
    expect([...records.values()].map((r) => r.data_version)).toEqual(['v1-2', 'v1-5', 'v1-8']);
    store.close();
  });
});

describe('an all-mapped reader of a large asset', () => {
  it('combines every upstream version from one column read, as computeStaleness does', () => {
    const many = Array.from({ length: 300 }, (_, i) => `k${String(i).padStart(3, '0')}`);
    const keys = many.map((k) => `k=${k}`);
    const graph = buildGraph(
      defineAssets({
        assets: [
          asset({ key: 'x.many', partitions: staticPartitions('k', many), codeVersion: 'm1', materialize: noop }),
          asset({ key: 'x.sum', deps: ['x.many'], codeVersion: 's1', materialize: noop }),
        ],
      }),
    );
    const store = openStore(':memory:');
    record(store, graph, []);
    const write = (asset: string, partition: string, version: string, inputs: Record<string, string> = {}) =>
      store.recordMaterialization({
        asset_key: asset,
        partition_key: partition,
        run_id: 'r',
        ts: new Date().toISOString(),
        data_version: version,
        code_version: asset === 'x.sum' ? 's1' : 'm1',
        input_versions: inputs,
        deps: asset === 'x.sum' ? ['x.many'] : [],
        metadata: {},
      });
    for (const [i, p] of keys.entries()) write('x.many', p, `v-${i}`);
    const partitions = new Map([['x.many', keys]]);
    const heads = () => store.latestMaterializationHeads(graph.keys());
    write('x.sum', '', 's', { 'x.many': combinedVersion(heads().get('x.many')!, keys)! });
    const versions = vi.spyOn(store, 'materializedVersions');
    for (const [change, expected] of [
      [false, 'FRESH'],
      [true, 'STALE'],
    ] as const) {
      if (change) write('x.many', keys[7]!, 'v-new');
      const eager = computeStaleness({ graph, partitions, materializations: heads(), attempts: new Map() });
      const judged = judgeStored({ store, graph, keys: graph.keys(), partitions });
      expect(judged.staleness.get('x.sum')!.get('')!.status).toBe(expected);
      expect(flat(judged.staleness)).toEqual(flat(eager));
    }
    // past 256 single reads, the versions were read as one column (once per judgement), not record by record
    expect(versions).toHaveBeenCalledTimes(2);
    store.close();
  });
});
