import type { AssetDefinition } from '../framework/definitions/index.ts';
import {
  dayDimension,
  describePolicy,
  type FreshnessState,
  type PartitionFreshness,
  worstFreshness,
} from '../framework/freshness/index.ts';
import { exceptionsOf } from '../framework/staleness/index.ts';
import type { FreshnessDetail, FreshnessSummary, PartitionFreshnessView } from './api-schemas.ts';

export function partitionFreshnessView(partition: string, f: PartitionFreshness): PartitionFreshnessView {
  return {
    partition_key: partition,
    state: f.state,
    text: f.text,
    warn_at: f.warnAt,
    due_at: f.dueAt,
    pending_since: f.pending?.since ?? null,
    day: f.day ? { dimension: f.day.dimension, value: f.day.value, ends_at: f.day.endsAt } : null,
  };
}

/**
 * The summary of an asset's evaluated freshness, or null when it has no policy. A policy asset with no
 * partition known yet is FRESH: nothing has arrived that it could lag behind.
 */
export function freshnessSummary(
  def: AssetDefinition<string, unknown>,
  byPartition: ReadonlyMap<string, PartitionFreshness> | undefined,
): FreshnessSummary | null {
  if (!def.freshness) return null;
  const counts: Record<FreshnessState, number> = { FRESH: 0, WARN: 0, OVERDUE: 0 };
  // partitions with nothing pending (all but a few, at scale) are FRESH: counted, not walked
  let walked = 0;
  for (const [, f] of exceptionsOf(byPartition, (x) => x.state === 'FRESH')) {
    counts[f.state]++;
    walked++;
  }
  counts.FRESH = (byPartition?.size ?? 0) - walked;
  const worst = worstFreshness(byPartition);
  return {
    policy: describePolicy(def.freshness, def.freshness.deadline ? dayDimension(def.partitions) : null),
    partition_key: worst?.partition ?? '',
    state: worst?.freshness.state ?? 'FRESH',
    text: worst?.freshness.text ?? 'no partition known yet',
    warn_at: worst?.freshness.warnAt ?? null,
    due_at: worst?.freshness.dueAt ?? null,
    counts,
  };
}

const PENDING_LISTED = 500;

export function freshnessDetail(
  def: AssetDefinition<string, unknown>,
  byPartition: ReadonlyMap<string, PartitionFreshness> | undefined,
): FreshnessDetail | null {
  const summary = freshnessSummary(def, byPartition);
  if (!summary) return null;
  // Partitions with something pending (a warn or due time), most urgent first; the rest are only counted,
  // so a page over a million fresh partitions stays small.
  const pending = [...exceptionsOf(byPartition, (f) => f.dueAt === null)]
    .sort(([, a], [, b]) => ((a.dueAt ?? '') < (b.dueAt ?? '') ? -1 : 1))
    .slice(0, PENDING_LISTED);
  return { ...summary, partitions: pending.map(([p, f]) => partitionFreshnessView(p, f)) };
}
