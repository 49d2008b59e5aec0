import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openStore } from './index.ts';
import type { StalenessCandidateSpec, StepStatus, Store } from './types.ts';

const PARTITIONS = ['p=1', 'p=2', 'p=3', 'p=4'];

type Op =
  | { kind: 'materialize'; partition: number; code: string; deps: string[]; input: string | null }
  | { kind: 'attempt'; partition: number; status: StepStatus; finished: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('materialize' as const),
    partition: fc.nat(3),
    code: fc.constantFrom('c1', 'c2', ''),
    deps: fc.constantFrom<string[]>([], ['x.up'], ['x.up', 'x.other']),
    input: fc.constantFrom('u1', 'u2', null),
  }),
  fc.record({
    kind: fc.constant('attempt' as const),
    partition: fc.nat(3),
    status: fc.constantFrom<StepStatus>('RUNNING', 'SUCCESS', 'FAILURE', 'CANCELED', 'SKIPPED'),
    finished: fc.boolean(),
  }),
);

function apply(store: Store, ops: Op[]): void {
  for (const [i, o] of ops.entries()) {
    const ts = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
    const partition_key = PARTITIONS[o.partition]!;
    if (o.kind === 'materialize') {
      store.recordMaterialization({
        asset_key: 'x.a',
        partition_key,
        run_id: 'r',
        ts,
        data_version: `v${i}`,
        code_version: o.code,
        input_versions: o.input === null ? {} : { 'x.up': o.input },
        deps: o.deps,
        metadata: {},
      });
    } else {
      store.recordStepAttempt({
        asset_key: 'x.a',
        partition_key,
        run_id: `r${i}`,
        status: o.status,
        started_at: ts,
        finished_at: o.finished ? ts : null,
        duration_ms: 1,
        attempts: 1,
        reason: null,
      });
    }
  }
}

/** The candidates by their definition, from the latest records read whole. */
function expected(store: Store, spec: StalenessCandidateSpec): string[] {
  const heads = store.latestMaterializationHeads(['x.a']).get('x.a') ?? new Map();
  const attempts = store.latestStepAttempts(['x.a']).get('x.a') ?? new Map();
  return [...heads]
    .filter(([p, h]) => {
      const a = attempts.get(p);
      return (
        a?.status === 'RUNNING' ||
        ((a?.status === 'FAILURE' || a?.status === 'CANCELED') && (a.finished_at ?? '') > h.ts) ||
        h.code_version !== spec.codeVersion ||
        JSON.stringify(h.deps) !== spec.depsJson ||
        spec.fixedDeps.some((d) => (h.input_versions[d.key] ?? null) !== d.dataVersion)
      );
    })
    .map(([p]) => p)
    .sort();
}

describe('stalenessCandidates', () => {
  it('are the materialized partitions of another code version or deps, running or failed since', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 30 }),
        fc.constantFrom('c1', 'c2'),
        fc.constantFrom<string[]>([], ['x.up']),
        fc.constantFrom('u1', null),
        fc.boolean(),
        (ops, codeVersion, deps, upstream, fixed) => {
          const store = openStore(':memory:');
          try {
            apply(store, ops);
            // without upstreams the conditions are index ranges; with a fixed upstream, one scan of the rows
            const spec: StalenessCandidateSpec = {
              codeVersion,
              depsJson: JSON.stringify(deps),
              identityDeps: [],
              fixedDeps: fixed ? deps.map((key) => ({ key, dataVersion: upstream })) : [],
            };
            expect(store.stalenessCandidates('x.a', spec)).toEqual(expected(store, spec));
          } finally {
            store.close();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
