// What the store says, judged: runs whose process died are failed first, then the partitions in scope are
// found, the sources observed and every asset judged (staleness). Read by `status`, a run's launch and the
// daemon's tick; a folder of its own so `status` loads none of execution or scheduling.
export { observeSources, type PartitionListMemo } from './known-partitions.ts';
export { type JudgementMemo, loadJudgedState } from './load-judged-state.ts';
export { matchesPartitionFilter, type PartitionFilter, parsePartitionFilter } from './partition-filter.ts';
export {
  CHILD_GROUP_GRACE_MS,
  describeGroup,
  failRun,
  HEARTBEAT_STALE_MS,
  isGroupAlive,
  isProcessAlive,
  liveChildGroups,
  reapDeadRuns,
  releaseWhenChildrenGone,
} from './reap-dead-runs.ts';
