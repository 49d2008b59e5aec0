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
