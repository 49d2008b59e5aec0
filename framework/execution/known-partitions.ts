import type { AssetKey, Definitions, DimensionFilter, PartitionsDefinition } from '../definitions/index.ts';
import { listPartitionKeys } from '../definitions/index.ts';
import { FrameworkError } from '../errors/index.ts';

/**
 * Lists the partitions of every partitioned asset, running each discovery function once even when
 * several assets share one partitions definition. `narrow` lists only the partitions passing a filter
 * for the assets it names (without enumerating the rest where the definition allows).
 */
export async function knownPartitions(
  defs: Definitions<unknown>,
  keys?: Iterable<AssetKey>,
  narrow?: { filter: Readonly<Record<string, DimensionFilter>>; assets: ReadonlySet<AssetKey> },
): Promise<Map<AssetKey, string[]>> {
  const caches = {
    whole: new Map<PartitionsDefinition, Promise<string[]>>(),
    narrowed: new Map<PartitionsDefinition, Promise<string[]>>(),
  };
  const out = new Map<AssetKey, string[]>();
  const wanted = keys ? [...keys] : [...defs.assets.keys()];
  for (const key of wanted) {
    const def = defs.assets.get(key)?.partitions;
    if (!def) continue;
    const filter = narrow?.assets.has(key) ? narrow.filter : undefined;
    const cache = filter ? caches.narrowed : caches.whole;
    let p = cache.get(def);
    if (!p) {
      p = listPartitionKeys(def, undefined, filter).catch((e: unknown) => {
        throw new FrameworkError(
          'PARTITIONS_DISCOVERY_FAILED',
          `Could not list the partitions of '${key}': ${(e as Error).message}`,
          {
            cause: e,
          },
        );
      });
      cache.set(def, p);
    }
    out.set(key, await p);
  }
  return out;
}

/** Calls `observe` of the given assets for each of their partitions ("" when unpartitioned), 8 at a time. */
export async function observeSources(
  defs: Definitions<unknown>,
  partitions: ReadonlyMap<AssetKey, readonly string[]>,
  keys: Iterable<AssetKey>,
): Promise<Map<AssetKey, Map<string, string>>> {
  const out = new Map<AssetKey, Map<string, string>>();
  const jobs: (() => Promise<void>)[] = [];
  for (const key of keys) {
    const asset = defs.assets.get(key);
    if (!asset?.observe) continue;
    const observe = asset.observe;
    const byPartition = new Map<string, string>();
    out.set(key, byPartition);
    for (const p of asset.partitions ? (partitions.get(key) ?? []) : ['']) {
      jobs.push(async () => {
        const partition = Object.fromEntries(
          p === '' ? [] : p.split(',').map((kv) => kv.split('=') as [string, string]),
        );
        const v = await observe({ assetKey: key, partitionKey: p, partition });
        if (v !== undefined) byPartition.set(p, v);
      });
    }
  }
  const next = async (): Promise<void> => {
    const job = jobs.shift();
    if (!job) return;
    await job();
    return next();
  };
  await Promise.all(Array.from({ length: 8 }, next));
  return out;
}
