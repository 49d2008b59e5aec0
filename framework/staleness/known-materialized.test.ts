import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { openStore, type Store } from '../storage/index.ts';
import { identifyKnownList } from './known-list-identity.ts';
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

/** The outcome with its key lists as arrays (a kept outcome's lists are views of the known list). */
function asArrays(r: ReturnType<typeof knownAndMaterialized>) {
  return { union: [...r.union], missing: r.missing, materialized: [...r.materialized] };
}

function attempt(store: Store, partition: string): void {
  store.recordStepAttempt({
    asset_key: 'x.a',
    partition_key: partition,
    run_id: 'r',
    status: 'FAILURE',
    started_at: null,
    finished_at: null,
    duration_ms: null,
    attempts: 1,
    reason: null,
  });
}

/** Copies of `lists`, each identified as `list <i>` (what a kept check is keyed by). */
function identifiedLists(lists: readonly (readonly string[])[]): string[][] {
  return lists.map((l, i) => {
    const list = [...l];
    identifyKnownList(list, `list ${i}`);
    return list;
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
    // every materialized key is known: the union is the known list itself, not a copy of a million keys
    expect(result.union).toBe(known);
    expect(result.materialized).toEqual(known.slice(0, 38));
    // the keys before the first block, then the last block's range only
    expect(reads.mock.calls.map(([, range]) => range)).toEqual([{ before: 'p=00' }, { from: 'p=32' }]);
    store.close();
  });

  it('keeps its outcome only while the materialized keys and the known list are the same', () => {
    // a history of first materializations (also of partitions that only had an attempt), rematerializations,
    // rebuilds and judgements of identified known lists: a kept outcome always equals a comparison made now
    const SMALL = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const lists = [SMALL.slice(0, 6), SMALL.slice(2), SMALL.filter((_, i) => i % 2 === 0).concat(['i', 'j'])];
    const step = fc.oneof(
      fc.record({ op: fc.constant('materialize' as const), p: fc.constantFrom(...SMALL, 'x', 'z') }),
      fc.record({ op: fc.constant('attempt' as const), p: fc.constantFrom(...SMALL, 'x', 'z') }),
      fc.record({ op: fc.constant('rebuild' as const) }),
      fc.record({ op: fc.constant('judge' as const), list: fc.integer({ min: 0, max: lists.length - 1 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const store = openStore(':memory:');
        try {
          const identified = identifiedLists(lists);
          for (const s of steps) {
            if (s.op === 'materialize') record(store, 'x.a', s.p);
            else if (s.op === 'attempt') attempt(store, s.p);
            else if (s.op === 'rebuild') store.rebuildPartitionState();
            else {
              const list = identified[s.list]!;
              // an unidentified copy is compared every time
              expect(asArrays(knownAndMaterialized(store, 'x.a', list, 1))).toEqual(
                knownAndMaterialized(store, 'x.a', [...list], 1),
              );
            }
          }
        } finally {
          store.close();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('takes a kept outcome without reading the keys', () => {
    const known = Array.from({ length: 40 }, (_, i) => `p=${String(i).padStart(2, '0')}`);
    identifyKnownList(known, 'forty');
    const store = openStore(':memory:');
    materialize(store, [...known.slice(0, 37), 'p=99']);
    const first = knownAndMaterialized(store, 'x.a', known, 8);
    const runs = vi.spyOn(store, 'materializedKeyRuns');
    const reads = vi.spyOn(store, 'materializedPartitionKeys');
    expect(asArrays(knownAndMaterialized(store, 'x.a', known, 8))).toEqual(first);
    expect(first.missing).toEqual(['p=37', 'p=38', 'p=39']);
    expect([runs.mock.calls.length, reads.mock.calls.length]).toEqual([0, 0]);
    // a partition materialized for the first time moves the generation: the outcome is brought up to date
    // from the logged change, still without reading the keys
    record(store, 'x.a', 'p=38');
    expect(knownAndMaterialized(store, 'x.a', known, 8).missing).toEqual(['p=37', 'p=39']);
    expect([runs.mock.calls.length, reads.mock.calls.length]).toEqual([0, 0]);
    // also one that had only a failed attempt (its state row existed without a materialization)
    store.recordStepAttempt({
      asset_key: 'x.a',
      partition_key: 'p=39',
      run_id: 'r',
      status: 'FAILURE',
      started_at: null,
      finished_at: null,
      duration_ms: null,
      attempts: 1,
      reason: null,
    });
    expect(knownAndMaterialized(store, 'x.a', known, 8).missing).toEqual(['p=37', 'p=39']);
    record(store, 'x.a', 'p=39');
    expect(knownAndMaterialized(store, 'x.a', known, 8).missing).toEqual(['p=37']);
    store.close();
  });

  it('brings a kept outcome up to date from the changes logged since, as a comparison from scratch answers', () => {
    // first materializations, attempts-only rows, partitions no longer materialized (a state row deleted or
    // its materialization cleared by hand), rebuilds, changes gone from the log (its window) and judgements:
    // every answer equals a comparison made now, and a judgement right after another takes no key
    const SMALL = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const lists = [SMALL.slice(0, 6), SMALL.slice(2), SMALL.filter((_, i) => i % 2 === 0).concat(['i', 'j'])];
    const partition = fc.constantFrom('a', 'c', 'e', 'g', 'i', 'x');
    const step = fc.oneof(
      { weight: 4, arbitrary: fc.record({ op: fc.constant('materialize' as const), p: partition }) },
      fc.record({ op: fc.constant('attempt' as const), p: partition }),
      fc.record({ op: fc.constant('delete' as const), p: partition }),
      fc.record({ op: fc.constant('clear' as const), p: partition }),
      fc.record({ op: fc.constant('rebuild' as const) }),
      fc.record({ op: fc.constant('forget' as const) }),
      { weight: 4, arbitrary: fc.record({ op: fc.constant('judge' as const), list: fc.integer({ min: 0, max: 2 }) }) },
    );
    const dir = mkdtempSync(join(tmpdir(), 'fairway-known-'));
    let n = 0;
    try {
      fc.assert(
        fc.property(fc.array(step, { minLength: 10, maxLength: 40 }), (steps) => {
          const path = join(dir, `${n++}.db`);
          const store = openStore(path);
          const raw = new Database(path);
          try {
            const identified = identifiedLists(lists);
            for (const s of steps) {
              if (s.op === 'materialize') record(store, 'x.a', s.p);
              else if (s.op === 'attempt') attempt(store, s.p);
              else if (s.op === 'delete') {
                raw.prepare("DELETE FROM asset_partitions WHERE asset_key = 'x.a' AND partition_key = ?").run(s.p);
              } else if (s.op === 'clear') {
                raw
                  .prepare(
                    `UPDATE asset_partitions SET materialization_id = NULL WHERE asset_key = 'x.a' AND partition_key = ?`,
                  )
                  .run(s.p);
              } else if (s.op === 'rebuild') store.rebuildPartitionState();
              else if (s.op === 'forget') {
                raw.exec(`DELETE FROM materialized_key_changes WHERE asset_key = 'x.a' AND generation =
                            (SELECT min(generation) FROM materialized_key_changes WHERE asset_key = 'x.a')`);
              } else {
                const list = identified[s.list]!;
                // an unidentified copy is compared from scratch every time
                const now = knownAndMaterialized(store, 'x.a', [...list], 1);
                expect(asArrays(knownAndMaterialized(store, 'x.a', list, 1))).toEqual(now);
                const runs = vi.spyOn(store, 'materializedKeyRuns');
                expect(asArrays(knownAndMaterialized(store, 'x.a', list, 1))).toEqual(now);
                expect(runs).not.toHaveBeenCalled();
                runs.mockRestore();
              }
            }
          } finally {
            raw.close();
            store.close();
          }
        }),
        { numRuns: 200 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replays the logged changes instead of comparing again, and drops them once replayed', () => {
    const known = Array.from({ length: 40 }, (_, i) => `p=${String(i).padStart(2, '0')}`);
    identifyKnownList(known, 'forty, logged');
    const dir = mkdtempSync(join(tmpdir(), 'fairway-known-'));
    const path = join(dir, 'fairway.db');
    const store = openStore(path);
    const raw = new Database(path);
    const logged = () => raw.prepare('SELECT count(*) FROM materialized_key_changes').pluck().get();
    try {
      materialize(store, known.slice(0, 36));
      knownAndMaterialized(store, 'x.a', known, 8);
      expect(logged()).toBe(1); // x.b's
      for (const p of ['p=36', 'p=38', 'p=77']) record(store, 'x.a', p);
      expect(logged()).toBe(4);
      const runs = vi.spyOn(store, 'materializedKeyRuns');
      const reads = vi.spyOn(store, 'materializedPartitionKeys');
      const result = knownAndMaterialized(store, 'x.a', known, 8);
      expect([runs.mock.calls.length, reads.mock.calls.length]).toEqual([0, 0]);
      expect(result.missing).toEqual(['p=37', 'p=39']);
      expect([...result.union]).toEqual([...known, 'p=77']);
      expect(logged()).toBe(1);
      // a gap in the log (changes fallen out of its window): compared again
      record(store, 'x.a', 'p=37');
      record(store, 'x.a', 'p=39');
      raw.exec("DELETE FROM materialized_key_changes WHERE asset_key = 'x.a' AND partition_key = 'p=37'");
      expect(knownAndMaterialized(store, 'x.a', known, 8).missing).toEqual([]);
      expect(runs).toHaveBeenCalledTimes(1);
    } finally {
      raw.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
