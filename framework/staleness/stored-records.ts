import type { AssetKey, KeyList } from '../definitions/index.ts';
import type { MaterializationRecord, Store } from '../storage/index.ts';
import { sortedIncludes } from './sparse-map.ts';

/** A partition → latest materialization map the executor adds a run's records to. */
export type RecordMap = ReadonlyMap<string, MaterializationRecord> & {
  set(partition: string, record: MaterializationRecord): unknown;
};

/** Single-partition reads before one read of every partition is cheaper. */
const SINGLE_READS = 256;
/** Versions asked for one by one before the whole version column is read. */
const VERSION_READS = 16;

/**
 * The latest materialization heads of one asset, read from the store when asked for: the keys are known
 * up front (cheap), a record is read on `get`, and everything is read once when a caller walks the map or
 * asks for many partitions one by one (an `all`-mapped reader combining every upstream partition).
 */
export class StoredRecords implements RecordMap {
  readonly #store: Store;
  readonly #key: AssetKey;
  readonly #keys: KeyList;
  readonly #read = new Map<string, MaterializationRecord>();
  /** Records written since (a run's own materializations), over what the store held. */
  readonly #written = new Map<string, MaterializationRecord>();
  #singleReads = 0;
  #versionReads = 0;
  #versions: Map<string, string> | undefined;
  #whole: Map<string, MaterializationRecord> | undefined;

  /** `keys`: the asset's materialized partitions, sorted; `preloaded`: records already read. */
  constructor(
    store: Store,
    key: AssetKey,
    keys: KeyList,
    preloaded: ReadonlyMap<string, MaterializationRecord> = new Map(),
  ) {
    this.#store = store;
    this.#key = key;
    this.#keys = keys;
    for (const [p, r] of preloaded) this.#read.set(p, r);
  }

  get size(): number {
    let added = 0;
    for (const p of this.#written.keys()) if (!sortedIncludes(this.#keys, p)) added++;
    return this.#keys.length + added;
  }

  has(partition: string): boolean {
    return this.#written.has(partition) || this.#read.has(partition) || sortedIncludes(this.#keys, partition);
  }

  /**
   * A partition's data version. Reading every version of a large asset (an \`all\`-mapped reader combining
   * them) reads only that column, not every record.
   */
  dataVersionOf(partition: string): string | undefined {
    const written = this.#written.get(partition);
    if (written) return written.data_version;
    if (this.#whole) return this.#whole.get(partition)?.data_version;
    if (!this.#versions && ++this.#versionReads > VERSION_READS) {
      this.#versions = this.#store.materializedVersions(this.#key);
    }
    if (this.#versions) return this.#versions.get(partition);
    return this.get(partition)?.data_version;
  }

  /** Records a partition's new latest materialization (the executor, as steps finish). */
  set(partition: string, record: MaterializationRecord): this {
    this.#written.set(partition, record);
    this.#whole?.set(partition, record);
    return this;
  }

  get(partition: string): MaterializationRecord | undefined {
    const written = this.#written.get(partition);
    if (written) return written;
    if (this.#whole) return this.#whole.get(partition);
    const hit = this.#read.get(partition);
    if (hit || !sortedIncludes(this.#keys, partition)) return hit;
    if (++this.#singleReads > SINGLE_READS) return this.#all().get(partition);
    const record = this.#store.latestMaterializationHeads([this.#key], { partitions: [partition] }).get(this.#key);
    const r = record?.get(partition);
    if (r) this.#read.set(partition, r);
    return r;
  }

  #all(): ReadonlyMap<string, MaterializationRecord> {
    if (!this.#whole) {
      const stored = this.#store.latestMaterializationHeads([this.#key]).get(this.#key) ?? new Map();
      for (const [p, r] of this.#written) stored.set(p, r);
      // in key order, as the store returns them
      this.#whole = this.#written.size > 0 ? new Map([...stored].sort(([a], [b]) => (a < b ? -1 : 1))) : stored;
    }
    return this.#whole;
  }

  entries(): MapIterator<[string, MaterializationRecord]> {
    return this.#all().entries();
  }

  keys(): MapIterator<string> {
    return this.#written.size > 0 ? this.#all().keys() : this.#keys[Symbol.iterator]();
  }

  values(): MapIterator<MaterializationRecord> {
    return this.#all().values();
  }

  forEach(fn: (value: MaterializationRecord, key: string, map: ReadonlyMap<string, MaterializationRecord>) => void) {
    for (const [k, v] of this.#all()) fn(v, k, this);
  }

  [Symbol.iterator](): MapIterator<[string, MaterializationRecord]> {
    return this.entries();
  }
}
