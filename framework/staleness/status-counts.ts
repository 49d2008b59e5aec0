import type { PartitionStatus, StatusKind } from './causes.ts';
import { SparseMap } from './sparse-map.ts';

export interface StatusCounts {
  counts: Partial<Record<StatusKind, number>>;
  /** The first partition (in key order) that is not FRESH. */
  firstNotFresh: [string, PartitionStatus] | undefined;
  /** The first partition (in key order) with a cause. */
  firstWithCause: [string, PartitionStatus] | undefined;
}

const ORDER: StatusKind[] = ['FRESH', 'STALE', 'MISSING', 'FAILED', 'RUNNING'];

/** Partitions per status and the first not FRESH; of a sparse map only the exceptions are walked. */
export function statusCounts(parts: ReadonlyMap<string, PartitionStatus> | undefined): StatusCounts {
  const counts: Partial<Record<StatusKind, number>> = {};
  let firstNotFresh: [string, PartitionStatus] | undefined;
  let firstWithCause: [string, PartitionStatus] | undefined;
  const sparse = parts instanceof SparseMap ? (parts as SparseMap<PartitionStatus>) : undefined;
  for (const entry of sparse ? sparse.exceptions : (parts ?? [])) {
    const s = entry[1].status;
    counts[s] = (counts[s] ?? 0) + 1;
    if (!firstNotFresh && s !== 'FRESH') firstNotFresh = entry;
    if (!firstWithCause && entry[1].causes.length > 0) firstWithCause = entry;
  }
  if (sparse) counts.FRESH = sparse.size - sparse.exceptions.size + (counts.FRESH ?? 0);
  // in one order whatever the partitions' order: "3 fresh, 1 stale"
  const ordered: Partial<Record<StatusKind, number>> = {};
  for (const s of ORDER) if (counts[s]) ordered[s] = counts[s];
  return { counts: ordered, firstNotFresh, firstWithCause };
}
