import { isKeyArrayOf, type KeyList, LazyKeyList } from '../definitions/index.ts';

/**
 * A partition → value map that holds only its exceptions: every other partition of a sorted key list has
 * a default value, made when asked for. At a million partitions nearly all are FRESH; holding a status
 * object for each cost seconds and gigabytes, while commands only look at the few that are not.
 */
export class SparseMap<V> implements ReadonlyMap<string, V> {
  readonly #keys: KeyList;
  readonly #exceptions: ReadonlyMap<string, V>;
  readonly #defaultOf: (partition: string) => V;

  /** `keys` sorted and without duplicates; `exceptions` a subset of them, in key order. */
  constructor(keys: KeyList, exceptions: ReadonlyMap<string, V>, defaultOf: (partition: string) => V) {
    this.#keys = keys;
    this.#exceptions = exceptions;
    this.#defaultOf = defaultOf;
  }

  /** The partitions whose value is not the default, in key order. */
  get exceptions(): ReadonlyMap<string, V> {
    return this.#exceptions;
  }

  /** A map over the same partitions with other exceptions and default. */
  withExceptions<W>(exceptions: ReadonlyMap<string, W>, defaultOf: (partition: string) => W): SparseMap<W> {
    return new SparseMap(this.#keys, exceptions, defaultOf);
  }

  /** The partitions, sorted: the key list the map was made with. */
  get keyList(): KeyList {
    return this.#keys;
  }

  /** Whether `keys` is this map's own key list (the same array): then it holds exactly those partitions, sorted. */
  isKeyList(keys: readonly string[]): boolean {
    return isKeyArrayOf(this.#keys, keys);
  }

  get size(): number {
    return this.#keys.length;
  }

  has(partition: string): boolean {
    return this.#exceptions.has(partition) || sortedIncludes(this.#keys, partition);
  }

  get(partition: string): V | undefined {
    const v = this.#exceptions.get(partition);
    if (v !== undefined) return v;
    return sortedIncludes(this.#keys, partition) ? this.#defaultOf(partition) : undefined;
  }

  *entries(): MapIterator<[string, V]> {
    for (const p of this.keys()) yield [p, this.#exceptions.get(p) ?? this.#defaultOf(p)];
  }

  keys(): MapIterator<string> {
    // by position from a lazy list: asking for the first partition does not make a million keys
    const keys = this.#keys;
    return keys instanceof LazyKeyList && !keys.made ? byPosition(keys) : keys[Symbol.iterator]();
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  forEach(fn: (value: V, key: string, map: ReadonlyMap<string, V>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }
}

/**
 * The entries of `map` that may differ from `isDefault`: a sparse map's exceptions, or every entry of a
 * plain map that is not the default. Loops that skip FRESH partitions go through this.
 */
export function* exceptionsOf<V>(
  map: ReadonlyMap<string, V> | undefined,
  isDefault: (v: V) => boolean,
): Iterable<[string, V]> {
  if (!map) return;
  const entries = map instanceof SparseMap ? (map.exceptions as ReadonlyMap<string, V>) : map;
  for (const entry of entries) if (!isDefault(entry[1])) yield entry;
}

function* byPosition(keys: KeyList): MapIterator<string> {
  for (let i = 0; i < keys.length; i++) yield keys.at(i)!;
}

/** Binary search in a sorted list. */
export function sortedIncludes(sorted: KeyList, value: string): boolean {
  const array = Array.isArray(sorted) ? (sorted as readonly string[]) : undefined;
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = array ? array[mid]! : sorted.at(mid)!;
    if (v === value) return true;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
