export { Daemon, type DaemonOptions, RETENTION_CURSOR } from './daemon.ts';
export { type DueSchedule, dueSchedules, scheduleCursor } from './due-schedules.ts';
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
