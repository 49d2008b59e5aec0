import { UsageError } from '../framework/errors/index.ts';
import { reapDeadRuns } from '../framework/judging/index.ts';
import type { Project } from '../framework/project/index.ts';
import { ACTIVE_RUN_STATUSES } from '../framework/states/index.ts';
import type { RunRecord } from '../framework/storage/index.ts';
import { colorStatus, printJson } from './output.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `fairway cancel <run-id>`: asks the process running the run (a CLI, the daemon or the UI, on this
 * machine or another sharing the state) to stop it, then waits until it has. Exit 0 once CANCELED.
 */
export async function cancelCommand(
  project: Project,
  runId: string,
  flags: { wait?: string; json?: boolean },
): Promise<number> {
  const waitS = Number(flags.wait ?? 60);
  if (!Number.isFinite(waitS) || waitS < 0) {
    throw new UsageError(`--wait must be a number of seconds ≥ 0; got '${flags.wait}'.`);
  }
  const { store } = project;
  reapDeadRuns(store);
  const before = store.getRun(runId);
  if (!before) throw new UsageError(`No run '${runId}'. 'fairway runs' lists the runs.`);
  const report = (run: RunRecord, message: string, code: number) => {
    if (flags.json) printJson({ run_id: run.run_id, status: run.status, reason: run.reason, message });
    else process.stderr.write(`${message}\n`);
    return code;
  };
  const reason = `canceled by 'fairway cancel' (pid ${process.pid})`;
  if (!store.requestCancel(runId, reason, new Date().toISOString())) {
    return report(before, `Run ${runId} already finished (${before.status}); nothing to cancel.`, 1);
  }
  if (waitS === 0)
    return report(before, `Cancel requested for run ${runId}; its process stops it within a second or two.`, 0);
  if (!flags.json) process.stderr.write(`Cancel requested for run ${runId}; waiting for its steps to stop…\n`);
  const deadline = Date.now() + waitS * 1000;
  for (;;) {
    reapDeadRuns(store);
    const run = store.getRun(runId)!;
    if (!ACTIVE_RUN_STATUSES.includes(run.status)) {
      const text = `Run ${runId} ${flags.json ? run.status : colorStatus(run.status)}${run.reason ? `: ${run.reason}` : ''}`;
      return report(run, text, run.status === 'CANCELED' ? 0 : 1);
    }
    if (Date.now() >= deadline) {
      return report(
        run,
        `Run ${runId} is still ${run.status} after ${waitS} s; the cancel stays requested and its process stops it at its next check ('fairway runs' shows when).`,
        1,
      );
    }
    await sleep(250);
  }
}
