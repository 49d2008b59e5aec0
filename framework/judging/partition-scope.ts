import type { AssetKey, Definitions } from '../definitions/index.ts';
import { normalizePartitionKey, partitionMappingOf, writtenTogether } from '../definitions/index.ts';
import type { AssetGraph } from '../graph/index.ts';
import { computeStaleness, judgeStored, type StoredStaleness } from '../staleness/index.ts';
import type { MaterializationRecord, StepAttemptRecord, Store } from '../storage/index.ts';
import { knownPartitions, type PartitionListMemo } from './known-partitions.ts';
import { matchesPartitionFilter, parsePartitionFilter } from './partition-filter.ts';

/**
 * Which partitions a command must look at. With a `--partition` filter only the matching partitions of
 * the selected assets matter, and of their upstreams the same partitions (identity mapping): reading and
 * judging just those keeps a new partition's run as cheap at a million partitions as at a hundred. An
 * upstream read through an `all` mapping (and everything above it) is needed whole.
 */
export interface PartitionScopeResult {
  /** Known partitions per asset, cut to the scope for scoped assets. */
  partitions: Map<AssetKey, string[]>;
  /** Assets read only for `scopeKeys`. */
  scoped: Set<AssetKey>;
  /** The partition keys the scoped assets are read for. */
  scopeKeys: string[];
}

/**
 * The assets a filter scopes: the partitioned ones whose every relevant reader reads them 1:1 (identity
 * mapping) and is scoped itself; a selected asset (or one written with it) nothing relevant reads is scoped. An asset read whole
 * (an `all` mapping, e.g. Gold over every Silver partition) is not: its reader's staleness needs it all.
 */
function scopedAssets(graph: AssetGraph, selected: Iterable<AssetKey>, relevant: AssetKey[]): Set<AssetKey> {
  const wanted = new Set(relevant);
  // the outputs written with a selected asset are planned through the same filter
  const chosen = new Set([...selected].flatMap((k) => [k, ...writtenTogether(graph.definition(k))]));
  const scoped = new Set<AssetKey>();
  // downstream first, so an asset's readers are decided before it
  for (const key of graph.topologicalOrder(relevant).reverse()) {
    if (!graph.definition(key).partitions) continue;
    const readers = graph.children(key).filter((c) => wanted.has(c));
    const oneToOne = readers.every(
      (c) => scoped.has(c) && partitionMappingOf(graph.definition(c), graph.definition(key)) === 'identity',
    );
    if (oneToOne && (readers.length > 0 || chosen.has(key))) scoped.add(key);
  }
  return scoped;
}

/**
 * Known partitions of `relevant` and, with a filter, the scope of the reads (see `PartitionScopeResult`).
 * `memo` keeps whole lists between calls of a long-lived process.
 */
export async function loadPartitionScope(
  defs: Definitions<unknown>,
  graph: AssetGraph,
  selected: Iterable<AssetKey>,
  relevant: AssetKey[],
  filterText: string | undefined,
  memo?: PartitionListMemo,
): Promise<PartitionScopeResult> {
  if (!filterText) {
    return { partitions: await knownPartitions(defs, relevant, undefined, memo), scoped: new Set(), scopeKeys: [] };
  }
  const filter = parsePartitionFilter(filterText);
  const scoped = scopedAssets(graph, selected, relevant);
  // scoped assets are listed through the filter: a day of seven years of days costs that day only
  const partitions = await knownPartitions(defs, relevant, { filter: filter.dims, assets: scoped });
  const scopeKeys = new Set<string>();
  for (const key of scoped) {
    const matched = (partitions.get(key) ?? []).filter((p) => matchesPartitionFilter(p, filter));
    partitions.set(key, matched);
    for (const p of matched) scopeKeys.add(p);
    // a partition named in full is read even when discovery does not list it (any more, or yet)
    if (filter.exact) {
      try {
        scopeKeys.add(normalizePartitionKey(graph.definition(key).partitions!, filterText, key));
      } catch {
        // not a whole partition of this asset: the matched ones are the scope
      }
    }
  }
  return { partitions, scoped, scopeKeys: [...scopeKeys].sort() };
}

/** Latest heads and attempts of `keys`, the scoped assets read for their scope only. */
function readLatestState(
  store: Store,
  keys: AssetKey[],
  scope: PartitionScopeResult,
): {
  materializations: Map<AssetKey, Map<string, MaterializationRecord>>;
  attempts: Map<AssetKey, Map<string, StepAttemptRecord>>;
} {
  const whole = keys.filter((k) => !scope.scoped.has(k));
  const part = keys.filter((k) => scope.scoped.has(k));
  const opts = { partitions: scope.scopeKeys };
  return {
    materializations: new Map([
      ...store.latestMaterializationHeads(whole),
      ...store.latestMaterializationHeads(part, opts),
    ]) as Map<AssetKey, Map<string, MaterializationRecord>>,
    attempts: new Map([...store.latestStepAttempts(whole), ...store.latestStepAttempts(part, opts)]) as Map<
      AssetKey,
      Map<string, StepAttemptRecord>
    >,
  };
}

/**
 * Staleness of `keys` (closed under upstream) with the records it was judged from. Unfiltered, it is
 * judged from the store (`judgeStored`: cost in proportion to what is not fresh; assets in `prior`, judged
 * before from the same contents, are taken as they are); with a `--partition` filter the scoped state is
 * small, read whole and judged by `computeStaleness`.
 */
export function judgeState(
  store: Store,
  graph: AssetGraph,
  keys: AssetKey[],
  scope: PartitionScopeResult,
  observations: ReadonlyMap<AssetKey, ReadonlyMap<string, string>>,
  prior?: StoredStaleness,
): StoredStaleness {
  if (scope.scoped.size === 0) {
    return judgeStored({ store, graph, keys, partitions: scope.partitions, observations, ...(prior ? { prior } : {}) });
  }
  const { materializations, attempts } = readLatestState(store, keys, scope);
  const running = new Set<string>();
  for (const [key, byPartition] of attempts) {
    for (const [p, a] of byPartition) if (a.status === 'RUNNING') running.add(`${key}|${p}`);
  }
  const input = { graph, partitions: scope.partitions, observations, materializations, attempts };
  return {
    materializations,
    attempts,
    staleness: computeStaleness({ ...input, running }),
    settled: computeStaleness(input),
  };
}
