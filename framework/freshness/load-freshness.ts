import type { AssetKey } from '../definitions/index.ts';
import type { RunContext } from '../execution/index.ts';
import { loadJudgedState } from '../judging/index.ts';
import { computeStaleness, exceptionsOf, type StalenessResult } from '../staleness/index.ts';
import type { MaterializationRecord, StepAttemptRecord } from '../storage/index.ts';
import { evaluateFreshness, type FreshnessResult, type PendingData } from './evaluate-freshness.ts';
import {
  arrivalTimes,
  PENDING_CURSOR,
  parsePendingMemory,
  parseSourceArrivals,
  SOURCE_ARRIVALS_CURSOR,
  type SourceArrivals,
  trackSourceArrivals,
} from './source-arrivals.ts';

export interface SchedulingState {
  partitions: Map<AssetKey, string[]>;
  materializations: Map<AssetKey, ReadonlyMap<string, MaterializationRecord>>;
  attempts: Map<AssetKey, ReadonlyMap<string, StepAttemptRecord>>;
  /** Without `running`: what each partition is behind on, even while a run catches it up. */
  staleness: StalenessResult;
  /** Source arrivals updated with this evaluation's observations (the daemon persists them). */
  arrivals: SourceArrivals;
  /** Pending data of the policy partitions (the daemon persists it as `remembered`). */
  pending: Record<string, PendingData>;
  freshness: FreshnessResult;
}

/**
 * What freshness is evaluated from: stored records and source observations of `keys`, closed under
 * upstream. `loadStatus` loads exactly this, so a caller that has a status need not observe twice.
 */
export interface FreshnessSources {
  keys: AssetKey[];
  partitions: Map<AssetKey, string[]>;
  materializations: Map<AssetKey, ReadonlyMap<string, MaterializationRecord>>;
  attempts: Map<AssetKey, ReadonlyMap<string, StepAttemptRecord>>;
  observations: Map<AssetKey, Map<string, string>>;
  /** Staleness of `keys` without RUNNING, when already judged (else judged here from the records). */
  settled?: StalenessResult;
}

/**
 * Loads everything freshness needs from the store and the sources (a handful of batch queries plus
 * `observe` calls), and evaluates it at `now`. Read-only: the daemon persists `arrivals` and `pending`.
 */
export async function loadFreshness(ctx: RunContext, now: Date): Promise<SchedulingState> {
  const keys = ctx.graph.keys();
  const { partitions, observations, judged } = await loadJudgedState(ctx, keys, keys);
  const { materializations, attempts, settled } = judged;
  return freshnessFrom(ctx, { keys, partitions, materializations, attempts, observations, settled }, now);
}

/**
 * Freshness at `now` of the assets with a policy among `sources.keys`, from records and observations
 * already loaded plus the daemon's cursors (arrival times, remembered pending data). Read-only; no I/O
 * beyond two cursor reads. `fairway status`, `why` and the UI use it through `loadStatus`.
 */
export function freshnessFrom(
  ctx: Pick<RunContext, 'store' | 'graph'>,
  sources: FreshnessSources,
  now: Date,
): SchedulingState {
  const { store, graph } = ctx;
  const { keys, partitions, materializations, attempts, observations } = sources;
  const staleness =
    sources.settled ?? computeStaleness({ graph, partitions, materializations, attempts, observations, keys });
  const arrivals = trackSourceArrivals(
    parseSourceArrivals(store.getCursor(SOURCE_ARRIVALS_CURSOR)),
    observations,
    staleness,
    materializations,
    now,
  );
  const freshness = evaluateFreshness({
    graph,
    partitions,
    staleness,
    materializations,
    observations,
    sourceArrivals: arrivalTimes(arrivals),
    remembered: parsePendingMemory(store.getCursor(PENDING_CURSOR)),
    now,
    keys,
  });
  const pending: Record<string, PendingData> = {};
  for (const [key, byPartition] of freshness)
    for (const [p, f] of exceptionsOf(byPartition, (x) => !x.pending)) pending[`${key}|${p}`] = f.pending!;
  return { partitions, materializations, attempts, staleness, arrivals, pending, freshness };
}
