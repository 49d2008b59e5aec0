export { Daemon, type DaemonOptions, RETENTION_CURSOR } from './daemon.ts';
export { type DueSchedule, dueSchedules, scheduleCursor } from './due-schedules.ts';
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
  backoffMs,
  DEFAULT_SCHEDULER_OPTIONS,
  formatMs,
  type PlannedDecision,
  type PlannedRun,
  planTick,
  type SchedulerOptions,
  type StepRef,
  type TickPlan,
  type TickPlanInput,
} from './plan-tick.ts';
export { DAEMON_LEASE, type LaunchRequest, runTick, type TickOptions, type TickOutcome, tickIdOf } from './run-tick.ts';
export {
  arrivalTimes,
  parseSourceArrivals,
  SOURCE_ARRIVALS_CURSOR,
  type SourceArrival,
  type SourceArrivals,
  settlingSources,
  trackSourceArrivals,
} from './source-arrivals.ts';
export { endOfDay, startOfDay, utcOffsetMs } from './zoned-day.ts';
