import { type AssetKey, type KeyList, keyArray } from '../definitions/index.ts';
import type { KnownKeyCheck, MaterializedKeyChange, Store } from '../storage/index.ts';
import { KeysWithout } from './keys-without.ts';
import { knownListIdentity } from './known-list-identity.ts';
import { sortedIncludes } from './sparse-map.ts';

/** Known partitions compared with the store a block at a time. */
const BLOCK = 2048;

export interface KnownAndMaterialized {
  /** Known ∪ materialized, sorted, once each: `known` itself when every materialized partition is known. */
  union: KeyList;
  /** The known partitions never materialized, sorted. */
  missing: string[];
  /** The materialized partitions, sorted: `known` itself when they are the known ones. */
  materialized: KeyList;
}

/**
 * An asset's known partitions merged with its materialized ones. A large sorted known list is compared a
 * block at a time with the store's keys in the same range, as one joined string each
 * (`Store.materializedKeyRuns`): where they are equal, the block's own strings are the materialized keys,
 * and only a block that differs (new partitions, keys no longer listed) has its keys read one by one. At a
 * million partitions this reads ~500 strings instead of a million. A kept outcome is taken without making
 * the keys of a lazy `known` list (only its length and a few keys are read). `block` is for tests.
 */
export function knownAndMaterialized(store: Store, key: AssetKey, known: KeyList, block = BLOCK): KnownAndMaterialized {
  if (known.length < 4 * block) return mergeAll(store, key, keyArray(known));
  const identity = knownListIdentity(known);
  const check = identity === undefined ? undefined : store.knownKeyCheck(key);
  const kept = check?.kept;
  if (kept && kept.known === identity) {
    if (kept.generation === check.generation) return fromKept(known, kept);
    // new partitions since: the kept outcome brought up to date from the logged changes, not compared again
    const updated = check.changes && replayChanges(known, kept, check.changes);
    if (updated && updated.missing.length + updated.extra.length <= KEPT_LIMIT) {
      store.keepKnownKeyCheck(key, { ...updated, generation: check.generation });
      return fromKept(known, updated);
    }
  }
  const list = keyArray(known);
  const byBlocks = compareByBlocks(store, key, list, block);
  if (!byBlocks) return mergeAll(store, key, list);
  // kept for the next command while no partition of the asset is materialized for the first time (a new
  // asset's million missing keys are not worth storing)
  const extra = byBlocks.union === list ? [] : notIn(keyArray(byBlocks.union), list);
  if (check && byBlocks.missing.length + extra.length <= KEPT_LIMIT) {
    store.keepKnownKeyCheck(key, { generation: check.generation, known: identity!, missing: byBlocks.missing, extra });
  }
  return byBlocks;
}

/** At most this many missing and unknown keys are kept with a check. */
const KEPT_LIMIT = 10_000;

/**
 * A kept check of sorted `known` after `changes` (in generation order): a partition materialized leaves the
 * missing ones if known, else joins the unknown ones; one no longer materialized does the reverse.
 */
function replayChanges(known: KeyList, kept: KnownKeyCheck, changes: readonly MaterializedKeyChange[]): KnownKeyCheck {
  const missing = new Set(kept.missing);
  const extra = new Set(kept.extra);
  for (const { partition, added } of changes) {
    const isKnown = sortedIncludes(known, partition);
    if (added && isKnown) missing.delete(partition);
    else if (added) extra.add(partition);
    else if (isKnown) missing.add(partition);
    else extra.delete(partition);
  }
  return { ...kept, missing: [...missing].sort(), extra: [...extra].sort() };
}

function mergeAll(store: Store, key: AssetKey, known: readonly string[]): KnownAndMaterialized {
  const materialized = store.materializedPartitionKeys(key);
  return { ...mergeKnown(known, materialized), materialized };
}

/**
 * The outcome of an earlier comparison of the same known list (sorted, as compared by blocks) at the same
 * materialized key generation: the stored keys are the known ones but the missing, plus the unknown ones.
 * Without unknown ones no key is made: the union is `known` itself, the stored keys a view of it.
 */
function fromKept(known: KeyList, kept: KnownKeyCheck): KnownAndMaterialized {
  if (kept.missing.length === 0 && kept.extra.length === 0) return { union: known, missing: [], materialized: known };
  const stored = new KeysWithout(known, kept.missing);
  if (kept.extra.length === 0) return { union: known, missing: kept.missing, materialized: stored };
  return {
    union: mergeKnown(keyArray(known), kept.extra).union,
    missing: kept.missing,
    materialized: mergeKnown(stored.array(), kept.extra).union,
  };
}

/** The keys of sorted `all` that are not in sorted `some`. */
function notIn(all: readonly string[], some: readonly string[]): string[] {
  const out: string[] = [];
  let j = 0;
  for (const k of all) {
    while (j < some.length && some[j]! < k) j++;
    if (some[j] !== k) out.push(k);
  }
  return out;
}

/** Undefined when the known list is not sorted (the whole merge sorts it). */
function compareByBlocks(
  store: Store,
  key: AssetKey,
  known: readonly string[],
  block: number,
): KnownAndMaterialized | undefined {
  const bounds: string[] = [];
  for (let i = 0; i < known.length; i += block) {
    if (i > 0 && !(known[i - block]! < known[i]!)) return undefined;
    bounds.push(known[i]!);
  }
  // materialized keys before the first known one, then one range per block; the result is put together from
  // slices of `known` (its strings are the keys) and the merged blocks that differ
  const before = store.materializedPartitionKeys(key, { before: bounds[0]! });
  const unions: (readonly string[])[] = [before];
  const materials: (readonly string[])[] = [before];
  const missing: string[] = [];
  /** Whether every stored key is a known one: then known ∪ materialized is `known` itself. */
  let storedKnown = before.length === 0;
  let same = 0; // the start of the blocks that matched since the last one that differed
  const runs = store.materializedKeyRuns(key, bounds);
  for (const [r, run] of runs.entries()) {
    const start = r * block;
    const end = Math.min(start + block, known.length);
    const keys = known.slice(start, end);
    if (run.count === keys.length && sameKeys(keys, run.joined)) continue;
    // this block differs: its range's keys are read and merged with it, if it lies within its range
    const next = bounds[r + 1];
    if (!isSorted(keys) || (next !== undefined && !(keys[keys.length - 1]! < next))) return undefined;
    const stored = store.materializedPartitionKeys(key, {
      from: bounds[r]!,
      ...(next === undefined ? {} : { before: next }),
    });
    const merged = mergeKnown(keys, stored);
    if (merged.union.length !== keys.length) storedKnown = false;
    const matched = known.slice(same, start);
    unions.push(matched, merged.union);
    materials.push(matched, stored);
    for (const k of merged.missing) missing.push(k);
    same = end;
  }
  const rest = known.slice(same);
  const joined = (pieces: (readonly string[])[]) => ([] as string[]).concat(...pieces, rest);
  // at a million keys the union is not copied when it is the known list (only known partitions are missing)
  return { union: storedKnown ? known : joined(unions), missing, materialized: joined(materials) };
}

/**
 * Whether `joined` (sorted keys joined by newlines, as many as `keys`) lists exactly `keys`. Exact when no
 * key holds a newline itself, which the count of newlines in the joined block tells. (Joining and comparing
 * whole texts is ~4x faster here than reading `joined` in place key by key.)
 */
function sameKeys(keys: readonly string[], joined: string): boolean {
  const text = keys.join('\n');
  if (text !== joined) return false;
  let newlines = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) newlines++;
  return newlines === keys.length - 1;
}

/** Known ∪ materialized (sorted, once each), and the known partitions that are not materialized: one merge. */
function mergeKnown(known: readonly string[], materialized: readonly string[]): { union: string[]; missing: string[] } {
  const a = isSorted(known) ? known : [...new Set(known)].sort();
  const union: string[] = [];
  const missing: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < materialized.length) {
    const x = a[i];
    const y = materialized[j];
    let next: string;
    if (y === undefined || (x !== undefined && x < y)) {
      next = a[i++]!;
      if (union[union.length - 1] !== next) missing.push(next);
    } else {
      next = materialized[j++]!;
      if (x === y) i++;
    }
    if (union[union.length - 1] !== next) union.push(next);
  }
  return { union, missing };
}

function isSorted(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! >= keys[i]!) return false;
  return true;
}
