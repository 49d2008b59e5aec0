import type { AssetKey } from '../definitions/index.ts';
import type { Store } from '../storage/index.ts';

/** Known partitions compared with the store a block at a time. */
const BLOCK = 2048;

export interface KnownAndMaterialized {
  /** Known ∪ materialized, sorted, once each. */
  union: string[];
  /** The known partitions never materialized, sorted. */
  missing: string[];
  /** The materialized partitions, sorted. */
  materialized: string[];
}

/**
 * An asset's known partitions merged with its materialized ones. A large sorted known list is compared a
 * block at a time with the store's keys in the same range, as one joined string each
 * (`Store.materializedKeyRuns`): where they are equal, the block's own strings are the materialized keys,
 * and only a block that differs (new partitions, keys no longer listed) has its keys read one by one. At a
 * million partitions this reads ~500 strings instead of a million. `block` is for tests.
 */
export function knownAndMaterialized(
  store: Store,
  key: AssetKey,
  known: readonly string[],
  block = BLOCK,
): KnownAndMaterialized {
  const byBlocks = known.length >= 4 * block ? compareByBlocks(store, key, known, block) : undefined;
  if (byBlocks) return byBlocks;
  const materialized = store.materializedPartitionKeys(key);
  return { ...mergeKnown(known, materialized), materialized };
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
  let same = 0; // the start of the blocks that matched since the last one that differed
  const runs = store.materializedKeyRuns(key, bounds);
  for (const [r, run] of runs.entries()) {
    const start = r * block;
    const keys = known.slice(start, start + block);
    if (run.count === keys.length && sameKeys(keys, run.joined)) continue;
    // this block differs: its range's keys are read and merged with it, if it lies within its range
    const next = bounds[r + 1];
    if (!isSorted(keys) || (next !== undefined && !(keys[keys.length - 1]! < next))) return undefined;
    const stored = store.materializedPartitionKeys(key, {
      from: bounds[r]!,
      ...(next === undefined ? {} : { before: next }),
    });
    const merged = mergeKnown(keys, stored);
    const matched = known.slice(same, start);
    unions.push(matched, merged.union);
    materials.push(matched, stored);
    for (const k of merged.missing) missing.push(k);
    same = start + block;
  }
  const rest = known.slice(same);
  const joined = (pieces: (readonly string[])[]) => ([] as string[]).concat(...pieces, rest);
  return { union: joined(unions), missing, materialized: joined(materials) };
}

/**
 * Whether `joined` (sorted keys joined by newlines, as many as `keys`) lists exactly `keys`. Exact when no
 * key holds a newline itself, which the count of newlines in the joined block tells.
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
