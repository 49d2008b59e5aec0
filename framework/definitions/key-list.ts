import type { AssetKey } from './asset.ts';

/**
 * Partition keys by position: a `string[]`, or a list that makes its strings only when a caller needs them
 * all (`LazyKeyList`). At a million partitions making the strings (and collecting them) costs ~0.3 s, while
 * a judgement from a kept comparison needs only the list's length and a few keys.
 */
export interface KeyList {
  readonly length: number;
  at(index: number): string | undefined;
  [Symbol.iterator](): ArrayIterator<string>;
}

/** Keys read one at a time before the whole list is made (each read makes a string). */
const SINGLE_READS = 4096;

/** A key list that holds no strings until a caller walks it or asks for it as an array; made once. */
export abstract class LazyKeyList implements KeyList {
  #array: string[] | undefined;
  #reads = 0;

  abstract get length(): number;
  /** The key at `index` (within the list), made on its own. */
  protected abstract keyAt(index: number): string;
  /** Every key, in order. */
  protected abstract make(): string[];

  at(index: number): string | undefined {
    if (this.#array) return this.#array[index];
    if (index < 0 || index >= this.length) return undefined;
    if (++this.#reads > SINGLE_READS) return this.array()[index];
    return this.keyAt(index);
  }

  /** The keys as an array (the same one every time). */
  array(): string[] {
    this.#array ??= this.make();
    return this.#array;
  }

  /** The array, if it was made. */
  get made(): string[] | undefined {
    return this.#array;
  }

  [Symbol.iterator](): ArrayIterator<string> {
    return this.array()[Symbol.iterator]();
  }
}

/** `list` as an array: itself, or a lazy list's keys made now. */
export function keyArray(list: KeyList): readonly string[] {
  return list instanceof LazyKeyList ? list.array() : (list as readonly string[]);
}

/** Whether `array` is `list` itself or the array a lazy `list` made. */
export function isKeyArrayOf(list: KeyList, array: readonly string[]): boolean {
  return list === array || (list instanceof LazyKeyList && list.made === array);
}

/** A two-dimensional key list as listed: every value of the first dimension with every one of the second. */
export interface KeyGrid {
  dimensions: readonly [string, string];
  first: readonly string[];
  second: readonly string[];
}

const grids = new WeakMap<KeyList, KeyGrid>();

/**
 * The grid a key list was listed from (`first[i]` with each of `second`, in that order), so a summary can
 * count per value without reading a million keys. Undefined for any other list.
 */
export function keyGridOf(keys: KeyList): KeyGrid | undefined {
  return grids.get(keys);
}

/**
 * The keys `a=x,b=y` of a grid: `first` × `second` in that order. `keyAt` makes one key from the two values;
 * the whole list cuts each first value's keys from one text (no value holds a newline): the keys share its
 * characters, where a key made by `+` is copied whole the first time it is compared (sorting checks,
 * merges), ~90 MB at a million keys against ~70 MB for these.
 */
export class GridKeys extends LazyKeyList {
  readonly #grid: KeyGrid;

  constructor(grid: KeyGrid) {
    super();
    this.#grid = grid;
    grids.set(this, grid);
  }

  get length(): number {
    return this.#grid.first.length * this.#grid.second.length;
  }

  protected keyAt(index: number): string {
    const { dimensions, first, second } = this.#grid;
    const n = second.length;
    return `${dimensions[0]}=${first[Math.floor(index / n)]},${dimensions[1]}=${second[index % n]}`;
  }

  protected make(): string[] {
    const { dimensions, first, second } = this.#grid;
    const out: string[] = new Array(first.length * second.length);
    const cut = second.length > 0 && !second.some((y) => y.includes('\n'));
    let i = 0;
    for (const x of first) {
      const prefix = `${dimensions[0]}=${x},${dimensions[1]}=`;
      if (cut && !x.includes('\n'))
        for (const key of `${prefix}${second.join(`\n${prefix}`)}`.split('\n')) out[i++] = key;
      else for (const y of second) out[i++] = prefix + y;
    }
    grids.set(out, this.#grid);
    return out;
  }
}

/**
 * Known partitions per asset, as `Map<AssetKey, string[]>` (`get` makes a lazy list's keys), with the lists
 * as listed (`list`) for readers that need only their length or a few keys.
 */
export class PartitionLists extends Map<AssetKey, string[]> {
  readonly #lazy = new Map<AssetKey, LazyKeyList>();

  /** Sets `key`'s list as it is: a lazy one is made only when `get` asks for it. */
  setList(key: AssetKey, list: KeyList): this {
    if (!(list instanceof LazyKeyList)) return this.set(key, list as string[]);
    super.set(key, []);
    this.#lazy.set(key, list);
    return this;
  }

  /** `key`'s list as set: no keys are made. */
  list(key: AssetKey): KeyList | undefined {
    return this.#lazy.get(key) ?? super.get(key);
  }

  override get(key: AssetKey): string[] | undefined {
    return this.#lazy.get(key)?.array() ?? super.get(key);
  }

  override set(key: AssetKey, keys: string[]): this {
    this.#lazy.delete(key);
    return super.set(key, keys);
  }

  override delete(key: AssetKey): boolean {
    this.#lazy.delete(key);
    return super.delete(key);
  }

  override clear(): void {
    this.#lazy.clear();
    super.clear();
  }

  override *entries(): MapIterator<[AssetKey, string[]]> {
    for (const key of super.keys()) yield [key, this.get(key)!];
  }

  override *values(): MapIterator<string[]> {
    for (const key of super.keys()) yield this.get(key)!;
  }

  override forEach(fn: (value: string[], key: AssetKey, map: Map<AssetKey, string[]>) => void): void {
    for (const [key, value] of this.entries()) fn(value, key, this);
  }

  override [Symbol.iterator](): MapIterator<[AssetKey, string[]]> {
    return this.entries();
  }
}

/** The list of `key` in `partitions` without making a lazy list's keys. */
export function listOf(partitions: ReadonlyMap<AssetKey, readonly string[]>, key: AssetKey): KeyList | undefined {
  return partitions instanceof PartitionLists ? partitions.list(key) : partitions.get(key);
}
