export { type ComputeLogLines, ComputeLogTail } from './compute-log-tail.ts';
export type { EventSink, ExecutionEvent } from './events.ts';
export { type ExecuteOptions, type ExecuteResult, executePlan, type StepOutcome, stepDirName } from './execute-plan.ts';
export { type ForgottenRuns, forgetRunsBefore } from './forget-runs.ts';
export { type LaunchOptions, type LaunchResult, launchRun, PartitionBusyError, type RunContext } from './launch-run.ts';
export {
  buildPlan,
  type ExecutionPlan,
  memberIds,
  type PlanGraph,
  type PlanInput,
  type PlannedPartition,
  type PlannedStep,
  plannedTargets,
  stepId,
} from './plan.ts';
export { recordEventsTo } from './record-events.ts';
export { rowTotals } from './row-counters.ts';
export { computeLogPath, openComputeLog, runFolder, runSummaryPath, stepFolder } from './run-folder.ts';
export { runPlanForTest, type TestRun, type TestRunOptions } from './run-plan-for-test.ts';
export { buildRunSummary } from './run-summary.ts';
