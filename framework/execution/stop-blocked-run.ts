import { failRun, releaseWhenChildrenGone } from '../judging/index.ts';
import { signalGroup } from '../pipes/index.ts';
import { openStore } from '../storage/index.ts';

/** A step attempt whose deadline passed while the event loop stayed blocked (see `EventLoopWatchdog`). */
export interface BlockedStep {
  /** Its members, as recorded in step attempts. */
  members: { asset_key: string; partition_key: string }[];
  /** The reason recorded on its attempts, when it is the step that set the watchdog off. */
  stepReason: string;
  /**
   * The reason recorded on its attempts when another step set the watchdog off first: which one blocked the
   * event loop cannot be known, so this one is only said to have run out of time while it was blocked.
   */
  alsoLateReason: string;
  /** The reason recorded on the run. */
  runReason: string;
}

/**
 * Records, from the watchdog thread, what the blocked main thread of run `runId` cannot before the process
 * is stopped: the attempts of the steps past their deadline (`blocked`, first the one that set the watchdog
 * off) FAILURE with their reason, the run's other running attempts with "the run's process was stopped", the
 * run FAILURE, its child process groups SIGTERMed (their watchdog SIGKILLs them once this process is gone)
 * and its partition locks released, or left to the next command's reap while a group still runs
 * (`releaseWhenChildrenGone`). Returns the run's reason.
 */
export function stopBlockedRun(storePath: string, runId: string, blocked: readonly BlockedStep[]): string {
  const [first, ...alsoLate] = blocked;
  const reason = `${first!.runReason}${alsoLate.length > 0 ? ` (${alsoLate.length} more step(s) ran out of time meanwhile)` : ''}`;
  const stepReason = new Map([
    ...alsoLate.flatMap((b) => b.members.map((m) => [key(m), b.alsoLateReason] as const)),
    ...first!.members.map((m) => [key(m), first!.stepReason] as const),
  ]);
  const store = openStore(storePath);
  try {
    const now = new Date();
    const run = store.getRun(runId);
    if (!run || (run.status !== 'STARTED' && run.status !== 'QUEUED')) return reason; // already closed (reaped)
    // the process is alive until it is stopped, just below: its child groups are its own (`liveChildGroups`)
    store.heartbeat(runId, now.toISOString());
    failRun(store, run, reason, now, (a) => stepReason.get(key(a)) ?? `the run's process was stopped: ${reason}`);
    for (const c of store.childProcesses([runId])) signalGroup(c.pgid, 'SIGTERM');
    const others = new Set(store.activeRuns().map((r) => r.run_id));
    releaseWhenChildrenGone(
      store,
      [{ ...run, heartbeat_at: now.toISOString(), status: 'FAILURE', reason }],
      others,
      now,
    );
    return reason;
  } finally {
    store.close();
  }
}

const key = (m: { asset_key: string; partition_key: string }) => `${m.asset_key}\u0000${m.partition_key}`;
