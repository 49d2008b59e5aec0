import type { AssetKey, Definitions } from '../definitions/index.ts';
import type { AssetGraph } from '../graph/index.ts';
import type { StoredStaleness } from '../staleness/index.ts';
import type { Store } from '../storage/index.ts';
import { observeSources, type PartitionListMemo } from './known-partitions.ts';
import { judgeState, loadPartitionScope, type PartitionScopeResult } from './partition-scope.ts';
import { reapDeadRuns } from './reap-dead-runs.ts';

type Observations = Map<AssetKey, Map<string, string>>;

/**
 * What a long-lived reader keeps between calls (the UI's `StatusCache`): whole partition lists, and the
 * judgements made from store contents that have not changed since (`stamp`: `Store.changeStamp()`).
 */
export interface JudgementMemo {
  partitionLists: PartitionListMemo;
  prior(
    stamp: string,
    keys: readonly AssetKey[],
    partitions: ReadonlyMap<AssetKey, readonly string[]>,
    observations: Observations,
  ): StoredStaleness | undefined;
  keep(
    stamp: string,
    keys: readonly AssetKey[],
    partitions: ReadonlyMap<AssetKey, readonly string[]>,
    observations: Observations,
    state: StoredStaleness,
  ): void;
}

export interface JudgedState {
  scope: PartitionScopeResult;
  /** Known partitions per asset (cut to the scope for scoped assets). */
  partitions: Map<AssetKey, string[]>;
  observations: Observations;
  judged: StoredStaleness;
}

/**
 * The status-loading chain, in one place: runs whose process died are recorded as such, the partitions in
 * scope are listed, the sources observed (`observe: false` skips it: planning without `--stale-only`), and
 * the stored state of `keys` (the `selected` assets closed under what they read) judged. `loadStatus` shows
 * it, `launchRun` plans from it and the daemon evaluates freshness from it.
 */
export async function loadJudgedState(
  ctx: { store: Store; defs: Definitions<unknown>; graph: AssetGraph },
  selected: readonly AssetKey[],
  keys: AssetKey[],
  opts: { partition?: string | undefined; observe?: boolean; memo?: JudgementMemo | undefined } = {},
): Promise<JudgedState> {
  const { store, defs, graph } = ctx;
  reapDeadRuns(store);
  // read before anything it stands for: a commit while judging moves it, and the next call judges again
  const stamp = opts.memo ? store.changeStamp() : '';
  const scope = await loadPartitionScope(defs, graph, selected, keys, opts.partition, opts.memo?.partitionLists);
  const { partitions } = scope;
  const observations = opts.observe === false ? new Map() : await observeSources(defs, partitions, keys);
  const prior = opts.memo?.prior(stamp, keys, partitions, observations);
  const judged = judgeState(store, graph, keys, scope, observations, prior);
  opts.memo?.keep(stamp, keys, partitions, observations, judged);
  return { scope, partitions, observations, judged };
}
