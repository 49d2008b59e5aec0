export { describeCause, type PartitionStatus, type StaleCause, type StatusKind } from './causes.ts';
export {
  combinedVersion,
  computeStaleness,
  type ResolvedInput,
  resolveInputs,
  type StalenessGraph,
  type StalenessInput,
  type StalenessResult,
  unionPartitions,
  upstreamPartitionsOf,
} from './compute-staleness.ts';
export { explainStatus, type WhyLine } from './explain.ts';
export { judgeStored, type StoredStaleness } from './judge-stored.ts';
export { identifyKnownList } from './known-list-identity.ts';
export { exceptionsOf, SparseMap, sortedIncludes } from './sparse-map.ts';
export { type StatusCounts, statusCounts } from './status-counts.ts';
export { type RecordMap, StoredRecords } from './stored-records.ts';
