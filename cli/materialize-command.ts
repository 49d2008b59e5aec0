import { UsageError } from '../framework/errors/index.ts';
import { launchRun } from '../framework/execution/index.ts';
import type { Project } from '../framework/project/index.ts';
import { colorStatus, formatDuration, printJson, textTable } from './output.ts';
import { RunProgress } from './progress.ts';

interface MaterializeFlags {
  partition?: string;
  staleOnly?: boolean;
  concurrency?: string;
  lockWait?: string;
  json?: boolean;
}

/** `fairway materialize`: returns the exit code (0 ok, 1 run failed or canceled). */
export async function materializeCommand(
  project: Project,
  selection: string,
  flags: MaterializeFlags,
): Promise<number> {
  const concurrency = flags.concurrency === undefined ? undefined : Number(flags.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
    throw new UsageError(`--concurrency must be a positive integer, got '${flags.concurrency}'.`);
  }
  const lockWait = flags.lockWait === undefined ? undefined : Number(flags.lockWait);
  if (lockWait !== undefined && (flags.lockWait!.trim() === '' || !Number.isFinite(lockWait) || lockWait < 0)) {
    throw new UsageError(`--lock-wait must be a number of seconds ≥ 0, got '${flags.lockWait}'.`);
  }
  const progress = new RunProgress(Boolean(process.stderr.isTTY) && !flags.json);
  const controller = new AbortController();
  const cancel = (signal: string) => {
    if (controller.signal.aborted) return;
    process.stderr.write(`\n${signal}: canceling the run (running steps are stopped)…\n`);
    controller.abort(new Error(`canceled by ${signal}`));
  };
  const onInt = () => cancel('SIGINT');
  const onTerm = () => cancel('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const { result, summary, plan, summaryPath } = await launchRun(project, {
      selection,
      ...(flags.partition ? { partition: flags.partition } : {}),
      staleOnly: flags.staleOnly ?? false,
      ...(concurrency ? { concurrency } : {}),
      ...(lockWait !== undefined ? { lockWaitMs: lockWait * 1000 } : {}),
      signal: controller.signal,
      onPlan: (p, run) => progress.start(p, run.run_id),
      onEvent: progress.onEvent,
    });
    progress.stop();
    if (flags.json) printJson(summary);
    else {
      if (plan.steps.length === 0) process.stdout.write('Nothing to do: every selected asset is fresh.\n');
      else {
        process.stdout.write(
          `${textTable([
            ['STEP', 'STATUS', 'DURATION', 'ROWS', 'NOTE'],
            ...summary.steps.map((s) => [
              s.partition_key ? `${s.asset_key} [${s.partition_key}]` : s.asset_key,
              colorStatus(s.status),
              formatDuration(s.duration_ms),
              s.row_count === null ? '-' : String(s.row_count),
              s.reason ??
                s.checks
                  .filter((c) => !c.passed)
                  .map((c) => `check ${c.name} failed`)
                  .join(', '),
            ]),
          ])}\n`,
        );
      }
      process.stdout.write(
        `\nrun ${summary.run_id} ${colorStatus(result.status)}${result.reason ? `: ${result.reason}` : ''}\nsummary: ${summaryPath}\n`,
      );
    }
    return result.status === 'SUCCESS' ? 0 : 1;
  } finally {
    progress.stop();
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
