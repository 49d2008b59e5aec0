import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { openStore, type Store } from '../storage/index.ts';
import { knownAndMaterialized } from './known-materialized.ts';

// keys with a newline in them may join into the same text as other keys: the comparison must not be fooled
const UNIVERSE = ['a', 'a\nb', 'b', 'b\nc', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n'];

function record(store: Store, asset: string, partition: string): void {
  store.recordMaterialization({
    asset_key: asset,
    partition_key: partition,
    run_id: 'r',
    ts: '2026-01-01T00:00:00.000Z',
    data_version: 'v',
    code_version: 'c',
    input_versions: {},
    deps: [],
    metadata: {},
  });
}

function materialize(store: Store, partitions: readonly string[]): void {
  for (const p of partitions) record(store, 'x.a', p);
  // another asset's partitions share the key ranges and must not count
  record(store, 'x.b', 'c');
}

describe('knownAndMaterialized', () => {
  it('compared a block at a time, answers as the merge of every key does', () => {
    const keys = fc.subarray(UNIVERSE);
    fc.assert(
      fc.property(keys, keys, fc.boolean(), fc.integer({ min: 1, max: 3 }), (known, stored, shuffle, block) => {
        const store = openStore(':memory:');
        try {
          materialize(store, stored);
          const list = shuffle ? [...known].reverse() : known;
          const whole = knownAndMaterialized(store, 'x.a', list, 1_000);
          expect(knownAndMaterialized(store, 'x.a', list, block)).toEqual(whole);
          const sorted = [...new Set([...known, ...stored])].sort();
          expect(whole).toEqual({
            union: sorted,
            missing: [...known].sort().filter((k) => !stored.includes(k)),
            materialized: [...stored].sort(),
          });
        } finally {
          store.close();
        }
      }),
      { numRuns: 400 },
    );
  });

  it('is not fooled by keys that join into the same text', () => {
    const store = openStore(':memory:');
    materialize(store, ['a\nb', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
    const known = ['a', 'b\nc', 'd', 'e', 'f', 'g', 'h', 'i'];
    expect(knownAndMaterialized(store, 'x.a', known, 2)).toEqual({
      union: ['a', 'a\nb', 'b\nc', 'c', 'd', 'e', 'f', 'g', 'h', 'i'],
      missing: ['a', 'b\nc'],
      materialized: ['a\nb', 'c', 'd', 'e', 'f', 'g', 'h', 'i'],
    });
    store.close();
  });

  it('reads keys one by one only in the blocks that differ', () => {
    const known = Array.from({ length: 40 }, (_, i) => `p=${String(i).padStart(2, '0')}`);
    const store = openStore(':memory:');
    materialize(store, known.slice(0, 38));
    const reads = vi.spyOn(store, 'materializedPartitionKeys');
    const result = knownAndMaterialized(store, 'x.a', known, 8);
    expect(result.missing).toEqual(['p=38', 'p=39']);
    expect(result.union).toEqual(known);
    expect(result.materialized).toEqual(known.slice(0, 38));
    // the keys before the first block, then the last block's range only
    expect(reads.mock.calls.map(([, range]) => range)).toEqual([{ before: 'p=00' }, { from: 'p=32' }]);
    store.close();
  });
});
