import type { AssetKey, Definitions, PartitionsDefinition } from '../definitions/index.ts';
import { listPartitionKeys } from '../definitions/index.ts';
import { FrameworkError } from '../errors/index.ts';

/**
 * Lists the partitions of every partitioned asset, running each discovery function once even when
 * several assets share one partitions definition.
 */
export async function knownPartitions(
  defs: Definitions<unknown>,
  keys?: Iterable<AssetKey>,
): Promise<Map<AssetKey, string[]>> {
  const cache = new Map<PartitionsDefinition, Promise<string[]>>();
  const out = new Map<AssetKey, string[]>();
  const wanted = keys ? [...keys] : [...defs.assets.keys()];
  for (const key of wanted) {
    const def = defs.assets.get(key)?.partitions;
    if (!def) continue;
    let p = cache.get(def);
    if (!p) {
      p = listPartitionKeys(def).catch((e: unknown) => {
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
