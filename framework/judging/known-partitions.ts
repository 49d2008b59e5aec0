import { createHash } from 'node:crypto';
import type {
  AssetKey,
  Definitions,
  DimensionFilter,
  KeyList,
  PartitionInputs,
  PartitionsDefinition,
} from '../definitions/index.ts';
import {
  dimensionNames,
  listResolvedKeyList,
  PartitionLists,
  resolvePartitionInputs,
  samePartitionInputs,
} from '../definitions/index.ts';
import { FrameworkError } from '../errors/index.ts';
import { identifyKnownList } from '../staleness/index.ts';

/**
 * Whole lists kept between calls by a long-lived process (the UI), each with the inputs it was listed from:
 * discovery still runs on every call, and a list is made again only when what it returned (or today, for
 * an open day range) differs. The lists are shared: callers never change them.
 */
export type PartitionListMemo = Map<PartitionsDefinition, { inputs: PartitionInputs; keys: KeyList }>;

/**
 * Lists the partitions of every partitioned asset, running each discovery function once even when
 * several assets share one partitions definition. `narrow` lists only the partitions passing a filter
 * for the assets it names (without enumerating the rest where the definition allows). A two-dimensional list
 * is made into strings only when `get` asks for it (`PartitionLists.list` reads it as it is).
 */
export async function knownPartitions(
  defs: Definitions<unknown>,
  keys?: Iterable<AssetKey>,
  narrow?: { filter: Readonly<Record<string, DimensionFilter>>; assets: ReadonlySet<AssetKey> },
  memo?: PartitionListMemo,
): Promise<PartitionLists> {
  const caches = {
    whole: new Map<PartitionsDefinition, Promise<KeyList>>(),
    narrowed: new Map<PartitionsDefinition, Promise<KeyList>>(),
  };
  const out = new PartitionLists();
  const wanted = keys ? [...keys] : [...defs.assets.keys()];
  for (const key of wanted) {
    const def = defs.assets.get(key)?.partitions;
    if (!def) continue;
    const filter = narrow?.assets.has(key) ? narrow.filter : undefined;
    const cache = filter ? caches.narrowed : caches.whole;
    let p = cache.get(def);
    if (!p) {
      p = listKeys(def, filter, memo).catch((e: unknown) => {
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
    out.setList(key, await p);
  }
  return out;
}

async function listKeys(
  def: PartitionsDefinition,
  filter: Readonly<Record<string, DimensionFilter>> | undefined,
  memo: PartitionListMemo | undefined,
): Promise<KeyList> {
  const inputs = await resolvePartitionInputs(def);
  if (filter || !memo) return identified(def, inputs, filter);
  const kept = memo.get(def);
  if (kept && samePartitionInputs(kept.inputs, inputs)) return kept.keys;
  const listed = identified(def, inputs, undefined);
  memo.set(def, { inputs, keys: listed });
  return listed;
}

/**
 * The keys listed from `inputs`, identified by what they are listed from (the definition's kind and
 * dimension names, the inputs, the filter): equal identities list equal keys in the same order.
 */
function identified(
  def: PartitionsDefinition,
  inputs: PartitionInputs,
  filter: Readonly<Record<string, DimensionFilter>> | undefined,
): KeyList {
  const listed = listResolvedKeyList(def, inputs, filter);
  const source = JSON.stringify({ kind: def.kind, names: dimensionNames(def), inputs, filter: filter ?? {} });
  identifyKnownList(listed, createHash('sha256').update(source).digest('hex'));
  return listed;
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
