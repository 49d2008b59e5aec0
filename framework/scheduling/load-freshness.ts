import type { AssetKey } from '../definitions/index.ts';
import { knownPartitions, observeSources, type RunContext, reapDeadRuns } from '../execution/index.ts';
import { computeStaleness, type StalenessResult } from '../staleness/index.ts';
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
  materializations: Map<AssetKey, Map<string, MaterializationRecord>>;
  attempts: Map<AssetKey, Map<string, StepAttemptRecord>>;
  /** Without `running`: what each partition is behind on, even while a run catches it up. */
  staleness: StalenessResult;
  /** Source arrivals updated with this evaluation's observations (the daemon persists them). */
  arrivals: SourceArrivals;
  /** Pending data of the policy partitions (the daemon persists it as `remembered`). */
  pending: Record<string, PendingData>;
  freshness: FreshnessResult;
}

/**
 * Loads everything freshness needs from the store and the sources (a handful of batch queries plus
 * `observe` calls), and evaluates it at `now`. Read-only: `fairway status`, `why` and the UI use it
 * as is; the daemon persists `arrivals`.
 */
export async function loadFreshness(ctx: RunContext, now: Date): Promise<SchedulingState> {
  const { store, defs, graph } = ctx;
  reapDeadRuns(store);
  const keys = graph.keys();
  const partitions = await knownPartitions(defs, keys);
  const materializations = store.latestMaterializations(keys);
  const attempts = store.latestStepAttempts(keys);
  const observations = await observeSources(defs, partitions, keys);
  const staleness = computeStaleness({ graph, partitions, materializations, attempts, observations });
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
  });
  const pending: Record<string, PendingData> = {};
  for (const [key, byPartition] of freshness)
    for (const [p, f] of byPartition) if (f.pending) pending[`${key}|${p}`] = f.pending;
  return { partitions, materializations, attempts, staleness, arrivals, pending, freshness };
}
