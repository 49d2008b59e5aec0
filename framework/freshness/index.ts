// Freshness: each asset's policy (a cron or a maximum lag, in its time zone), the windows it sets and whether
// the stored materializations meet them, with what data is pending. Read by `status`, the UI and the daemon,
// which acts on it (framework/scheduling); a folder of its own so `status` loads nothing of the daemon.
export {
  evaluateFreshness,
  type FreshnessInput,
  type FreshnessResult,
  type FreshnessState,
  NEVER,
  type PartitionFreshness,
  type PendingData,
  pendingData,
  worstFreshness,
} from './evaluate-freshness.ts';
export {
  dayDimension,
  describePolicy,
  nextCronTick,
  type PolicyWindows,
  partitionDay,
  policyWindows,
  validateFreshnessPolicy,
  validateScheduling,
} from './freshness-policy.ts';
export { type FreshnessSources, freshnessFrom, loadFreshness, type SchedulingState } from './load-freshness.ts';
export {
  arrivalTimes,
  PENDING_CURSOR,
  parseSourceArrivals,
  SOURCE_ARRIVALS_CURSOR,
  type SourceArrival,
  type SourceArrivals,
  settlingSources,
  trackSourceArrivals,
} from './source-arrivals.ts';
export { endOfDay, startOfDay, utcOffsetMs } from './zoned-day.ts';
