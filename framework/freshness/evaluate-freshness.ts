import type { AssetKey } from '../definitions/index.ts';
import { SparseMap, type StalenessGraph, type StalenessResult, upstreamPartitionsOf } from '../staleness/index.ts';
import type { FreshnessState } from '../states/index.ts';
import type { MaterializationRecord } from '../storage/index.ts';
import { dayDimension, describePolicy, partitionDay, policyWindows } from './freshness-policy.ts';

export type { FreshnessState };

/** Data a partition does not reflect yet: when the earliest of it arrived, and what it is. */
export interface PendingData {
  since: string;
  what: string;
}

export interface PartitionFreshness {
  state: FreshnessState;
  pending: PendingData | null;
  /** When the partition turns WARN unless materialized; null when nothing is pending. */
  warnAt: string | null;
  /** When the partition turns OVERDUE unless materialized; null when nothing is pending. */
  dueAt: string | null;
  /** The partition's own day a deadline is keyed on, and when it ends in the deadline's zone (ISO). */
  day: { dimension: string; value: string; endsAt: string } | null;
  /** One line in plain words, for `fairway status`, `why` and the UI. */
  text: string;
}

/** Asset → partition ("" when unpartitioned) → freshness, for assets with a policy only. */
export type FreshnessResult = Map<AssetKey, ReadonlyMap<string, PartitionFreshness>>;

export interface FreshnessInput {
  graph: StalenessGraph;
  partitions: ReadonlyMap<AssetKey, readonly string[]>;
  /** Computed without `running`, so a running partition still shows what it is catching up on. */
  staleness: StalenessResult;
  materializations: ReadonlyMap<AssetKey, ReadonlyMap<string, MaterializationRecord>>;
  /** Observed source versions (assets with `observe`), to tell a new source partition from an empty one. */
  observations?: ReadonlyMap<AssetKey, ReadonlyMap<string, string>>;
  /** When the pending source version of each observed partition was first seen; unknown ones count from `now`. */
  sourceArrivals?: ReadonlyMap<AssetKey, ReadonlyMap<string, string>>;
  /**
   * What the daemon found pending on earlier ticks (`asset|partition` → pending). Kept while the
   * partition has not been materialized since, so a lag clock is not reset when an upstream catches
   * up (or fails) while the partition itself still lags.
   */
  remembered?: ReadonlyMap<string, PendingData>;
  now: Date;
  /** Only these assets (default: all with a policy). */
  keys?: Iterable<AssetKey>;
}

/** Pending since the beginning of time: a root that was never materialized and has no arrival to count from. */
export const NEVER = '1970-01-01T00:00:00.000Z';

const label = (k: string, p: string) => (p === '' ? `'${k}'` : `'${k}' [${p}]`);
const minute = (iso: string) => `${iso.slice(0, 16)}Z`;

/**
 * What each asset partition is behind on: the earliest arrival of data it does not reflect, following
 * pending upstream data through the lineage. A pure function; memoized over the whole graph.
 */
export function pendingData(input: FreshnessInput): (key: AssetKey, partition: string) => PendingData | null {
  const memo = new Map<string, PendingData | null>();
  const nowIso = input.now.toISOString();
  const earliest = (list: (PendingData | null)[]) =>
    list.reduce<PendingData | null>((best, c) => (c && (!best || c.since < best.since) ? c : best), null);

  const visit = (key: AssetKey, partition: string): PendingData | null => {
    const id = `${key}|${partition}`;
    if (memo.has(id)) return memo.get(id)!;
    memo.set(id, null); // the graph is a DAG; this only guards against bad input
    const status = input.staleness.get(key)?.get(partition);
    let result: PendingData | null = null;
    if (status && status.status !== 'FRESH' && status.status !== 'RUNNING') {
      const asset = input.graph.definition(key);
      const latest = input.materializations.get(key)?.get(partition);
      const candidates: (PendingData | null)[] = [];
      const observed = input.observations?.get(key)?.get(partition);
      const arrival = input.sourceArrivals?.get(key)?.get(partition) ?? nowIso;
      const sourceChanged = status.causes.some((c) => c.kind === 'source_changed');
      if (sourceChanged || (!latest && observed !== undefined)) {
        candidates.push({
          since: arrival,
          what: `source data of ${label(key, partition)} arrived at ${minute(arrival)}`,
        });
      }
      if (!latest && asset.deps.length === 0 && !asset.observe) {
        candidates.push({ since: NEVER, what: `${label(key, partition)} has never been materialized` });
      }
      const changed = new Set(
        status.causes.flatMap((c) =>
          c.kind === 'upstream_data_changed' || c.kind === 'upstream_partitions_changed' ? [c.upstream] : [],
        ),
      );
      for (const depKey of asset.deps) {
        const dep = input.graph.definition(depKey);
        const records = input.materializations.get(depKey);
        for (const q of upstreamPartitionsOf(asset, dep, partition, input.partitions.get(depKey) ?? [])) {
          candidates.push(visit(depKey, q));
          const ts = records?.get(q)?.ts;
          if (ts && (!latest || (changed.has(depKey) && ts > latest.ts))) {
            candidates.push({ since: ts, what: `upstream ${label(depKey, q)} was materialized at ${minute(ts)}` });
          }
        }
      }
      result = earliest(candidates);
      const earlier = input.remembered?.get(id);
      if (result && earlier && earlier.since < result.since && (!latest || earlier.since > latest.ts)) result = earlier;
    }
    memo.set(id, result);
    return result;
  };
  return visit;
}

/**
 * FRESH / WARN / OVERDUE for every partition of every asset with a freshness policy, from stored
 * records and data arrivals. A pure function of its inputs; `now` is injected.
 */
export function evaluateFreshness(input: FreshnessInput): FreshnessResult {
  const pending = pendingData(input);
  const wanted = input.keys ? new Set(input.keys) : undefined;
  const now = input.now.getTime();
  const result: FreshnessResult = new Map();
  for (const key of input.graph.topologicalOrder()) {
    const asset = input.graph.definition(key);
    const policy = asset.freshness;
    if (!policy || (wanted && !wanted.has(key))) continue;
    const byPartition = new Map<string, PartitionFreshness>();
    const dimension = policy.deadline ? dayDimension(asset.partitions) : null;
    const described = describePolicy(policy, dimension);
    // of a sparse status map only the partitions not FRESH can have pending data; the rest are FRESH here too
    const statuses = input.staleness.get(key);
    const sparse = statuses instanceof SparseMap ? statuses : undefined;
    for (const partition of sparse ? sparse.exceptions.keys() : (statuses?.keys() ?? [])) {
      const p = pending(key, partition);
      if (!p) {
        if (!sparse) byPartition.set(partition, NOTHING_PENDING);
        continue;
      }
      const w = policyWindows(policy, new Date(p.since), dimension ? partitionDay(partition, dimension) : null);
      const state: FreshnessState = now >= w.dueAt ? 'OVERDUE' : now >= w.warnAt ? 'WARN' : 'FRESH';
      const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : null);
      const dueAt = iso(w.dueAt);
      const when = dueAt ? (state === 'OVERDUE' ? `overdue since ${minute(dueAt)}` : `due by ${minute(dueAt)}`) : '';
      const day = w.day && dimension ? { dimension, value: w.day.value, endsAt: iso(w.day.endsAt)! } : null;
      const dayWords = day
        ? `${day.dimension} ${day.value} ${now >= w.day!.endsAt ? 'ended' : 'ends'} at ${minute(day.endsAt)}; `
        : '';
      byPartition.set(partition, {
        state,
        pending: p,
        warnAt: iso(w.warnAt),
        dueAt,
        day,
        text: `${when} (${described}): ${dayWords}${p.what}`,
      });
    }
    result.set(key, sparse ? sparse.withExceptions(byPartition, () => NOTHING_PENDING) : byPartition);
  }
  return result;
}

/** A partition with nothing pending (shared: never mutated). */
const NOTHING_PENDING: PartitionFreshness = Object.freeze({
  state: 'FRESH',
  pending: null,
  warnAt: null,
  dueAt: null,
  day: null,
  text: 'reflects all data that has arrived upstream',
});

/** The worst state of an asset's partitions, with the partition it comes from (earliest due first). */
export function worstFreshness(byPartition: ReadonlyMap<string, PartitionFreshness> | undefined): {
  partition: string;
  freshness: PartitionFreshness;
} | null {
  const rank: Record<FreshnessState, number> = { OVERDUE: 2, WARN: 1, FRESH: 0 };
  let best: { partition: string; freshness: PartitionFreshness } | null = null;
  // a sparse map's default partitions are FRESH with nothing due: only its exceptions can be worse than the first
  const candidates: Iterable<[string, PartitionFreshness]> =
    byPartition instanceof SparseMap
      ? (byPartition.exceptions as ReadonlyMap<string, PartitionFreshness>)
      : (byPartition ?? []);
  for (const [partition, f] of candidates) {
    if (
      !best ||
      rank[f.state] > rank[best.freshness.state] ||
      (rank[f.state] === rank[best.freshness.state] && (f.dueAt ?? '~') < (best.freshness.dueAt ?? '~'))
    ) {
      best = { partition, freshness: f };
    }
  }
  if (
    byPartition instanceof SparseMap &&
    (!best || (best.freshness.state === 'FRESH' && best.freshness.dueAt === null))
  ) {
    const first = byPartition.entries().next();
    return first.done ? null : { partition: first.value[0], freshness: first.value[1] };
  }
  return best;
}
