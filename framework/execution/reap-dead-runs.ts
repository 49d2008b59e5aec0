import { hostname } from 'node:os';
import type { RunRecord, Store } from '../storage/index.ts';

/** A run whose heartbeat is older than this is considered dead even if its pid is reused. */
export const HEARTBEAT_STALE_MS = 60_000;

/** Whether process `pid` on this host exists (signal 0; EPERM means it exists under another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function deathReason(run: RunRecord, now: Date): string | null {
  const beat = Date.parse(run.heartbeat_at ?? run.started_at ?? run.created_at);
  const age = now.getTime() - beat;
  if (run.hostname === hostname() && run.pid !== null && !isProcessAlive(run.pid)) {
    return `the process running it (pid ${run.pid}) died without finishing (last heartbeat ${run.heartbeat_at ?? 'never'}); it was probably killed (kill -9, OOM or a crash)`;
  }
  if (age > HEARTBEAT_STALE_MS) {
    return `no heartbeat for ${Math.round(age / 1000)} s (last ${run.heartbeat_at ?? 'never'}); its process is gone`;
  }
  return null;
}

/**
 * Marks runs whose process died (kill -9, crash) as FAILURE with a clear reason, fails their running
 * steps and releases their partition locks. Called at the start of every command that reads status.
 */
export function reapDeadRuns(store: Store, now = new Date()): RunRecord[] {
  const reaped: RunRecord[] = [];
  for (const run of store.activeRuns()) {
    if (run.pid === process.pid && run.hostname === hostname()) continue;
    const reason = deathReason(run, now);
    if (!reason) continue;
    const ts = now.toISOString();
    for (const a of store.stepAttemptsOfRun(run.run_id)) {
      if (a.status !== 'RUNNING') continue;
      store.recordStepAttempt({
        ...a,
        status: 'FAILURE',
        finished_at: ts,
        reason: `the run's process died: ${reason}`,
      });
    }
    store.updateRun(run.run_id, { status: 'FAILURE', reason, finished_at: ts });
    store.appendEvents([
      {
        run_id: run.run_id,
        ts,
        type: 'RUN_FINISHED',
        asset_key: null,
        partition_key: null,
        level: 'error',
        message: `run marked FAILURE: ${reason}`,
        data: { status: 'FAILURE', reason },
      },
    ]);
    store.releasePartitions(run.run_id);
    reaped.push({ ...run, status: 'FAILURE', reason });
  }
  return reaped;
}
