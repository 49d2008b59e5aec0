import { type KeyList, keyArray, LazyKeyList } from '../definitions/index.ts';

/**
 * A sorted key list but some of its keys (the known partitions but the missing: the materialized ones), read
 * by position through the list without making a million strings; made whole only when walked.
 */
export class KeysWithout extends LazyKeyList {
  readonly #keys: KeyList;
  /** The positions in `keys` of the keys left out, ascending. */
  readonly #gone: number[];

  /** `without`: sorted keys of `keys` (sorted), each once. */
  constructor(keys: KeyList, without: readonly string[]) {
    super();
    this.#keys = keys;
    this.#gone = without.map((k) => sortedIndex(keys, k));
  }

  get length(): number {
    return this.#keys.length - this.#gone.length;
  }

  protected keyAt(index: number): string {
    // the first left-out position g[j] with g[j] - j > index: the key is `index` plus the j positions before it
    const gone = this.#gone;
    let lo = 0;
    let hi = gone.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (gone[mid]! - mid > index) hi = mid;
      else lo = mid + 1;
    }
    return this.#keys.at(index + lo)!;
  }

  protected make(): string[] {
    const all = keyArray(this.#keys);
    const pieces: (readonly string[])[] = [];
    let from = 0;
    for (const at of this.#gone) {
      pieces.push(all.slice(from, at));
      from = at + 1;
    }
    pieces.push(all.slice(from));
    return ([] as string[]).concat(...pieces);
  }
}

/** The index of `value` in a sorted list that holds it. */
export function sortedIndex(sorted: KeyList, value: string): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted.at(mid)! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
