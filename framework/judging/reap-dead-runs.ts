import { readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ChildProcessRecord, RunRecord, StepAttemptRecord, Store } from '../storage/index.ts';

/** A run whose heartbeat is older than this is considered dead even if its pid is reused. */
export const HEARTBEAT_STALE_MS = 60_000;

/**
 * How long after a dead run's last heartbeat a recorded process group of its steps may still be its own.
 * Its watchdog stops the group within ~5.5 s of the run's process dying; past this, a live group with that
 * id is taken for another process that got the recycled id (see `liveChildGroups`).
 */
export const CHILD_GROUP_GRACE_MS = 60_000;

/** Whether process `pid` on this host exists (signal 0; EPERM means it exists under another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether process group `pgid` on this host has a process that can still do something. A zombie cannot:
 * a child whose parent died waits as one until init reaps it, which in a container may be never (PID 1
 * is not always an init). On Linux, /proc tells zombies apart; elsewhere, or when /proc shows no member
 * (e.g. mounted with hidepid), any member counts.
 */
export function isGroupAlive(pgid: number): boolean {
  if (!isProcessAlive(-pgid)) return false;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return true;
  }
  let members = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // `pid (comm) state ppid pgrp …`: comm may hold spaces and parentheses, so read after the last one
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) !== pgid) continue;
    if (state !== 'Z') return true;
    members++;
  }
  return members === 0;
}

/**
 * The recorded child process groups of `run` (a Spark job, dbt: see `MaterializeContext.onChildProcess`)
 * that still run (`isGroupAlive`), i.e. may still be writing its tables although the run's own process is gone.
 *
 * A group id is its first process's pid, and pids are reused. A group of the run lives at most ~5.5 s after
 * the run's process died (its watchdog SIGTERMs it, then SIGKILLs it 5 s later), and pid reuse within
 * seconds is very unlikely, so a group is trusted only within CHILD_GROUP_GRACE_MS of the run's last
 * heartbeat. Past that it counts as gone: a recycled id cannot hold partitions locked for ever (the price
 * of a wrong guess inside the grace is a re-run refused for at most that long). Groups on another host
 * cannot be probed and count as gone; such a run is reaped only once its heartbeat is stale anyway.
 */
export function liveChildGroups(
  run: RunRecord,
  children: readonly ChildProcessRecord[],
  now = new Date(),
): ChildProcessRecord[] {
  if (run.hostname !== hostname()) return [];
  const lastSeen = Date.parse(run.heartbeat_at ?? run.started_at ?? run.created_at);
  if (now.getTime() - lastSeen > CHILD_GROUP_GRACE_MS) return [];
  return children.filter((c) => c.run_id === run.run_id && isGroupAlive(c.pgid));
}

/** `1234 (silver.clean_orders [store=north], started <iso>)`, for messages. */
export const describeGroup = (c: ChildProcessRecord): string =>
  `${c.pgid} (${c.asset_key}${c.partition_key ? ` [${c.partition_key}]` : ''}, started ${c.started_at})`;

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
 *
 * A dead run whose steps' child process groups are still alive keeps its locks (it is FAILURE all the
 * same): those groups may still be writing, so a re-run of the same partitions is refused until they
 * are gone. Each call also looks at such runs again and releases their locks once their groups are gone.
 */
export function reapDeadRuns(store: Store, now = new Date()): RunRecord[] {
  const reaped: RunRecord[] = [];
  const stillActive = new Set<string>();
  for (const run of store.activeRuns()) {
    stillActive.add(run.run_id);
    if (run.pid === process.pid && run.hostname === hostname()) continue;
    const reason = deathReason(run, now);
    if (!reason) continue;
    stillActive.delete(run.run_id);
    failRun(store, run, reason, now);
    reaped.push({ ...run, status: 'FAILURE', reason });
  }
  releaseWhenChildrenGone(store, reaped, stillActive, now);
  return reaped;
}

/**
 * Closes a run whose process is gone (or about to be stopped): the run FAILURE with `reason`, each of its
 * RUNNING step attempts FAILURE with `stepReason(attempt)`, and a RUN_FINISHED event. Locks are left to
 * `releaseWhenChildrenGone`.
 */
export function failRun(
  store: Store,
  run: RunRecord,
  reason: string,
  now: Date,
  stepReason: (attempt: StepAttemptRecord) => string = () => `the run's process died: ${reason}`,
): void {
  const ts = now.toISOString();
  for (const a of store.stepAttemptsOfRun(run.run_id)) {
    if (a.status !== 'RUNNING') continue;
    store.recordStepAttempt({ ...a, status: 'FAILURE', finished_at: ts, reason: stepReason(a) });
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
}

/**
 * Releases the locks of the runs just reaped and of runs reaped earlier whose child groups were alive
 * then, unless some of their recorded groups are still alive (a run still active keeps its records: its
 * process forgets each group as it exits).
 */
export function releaseWhenChildrenGone(
  store: Store,
  reaped: readonly RunRecord[],
  stillActive: ReadonlySet<string>,
  now: Date,
): void {
  const byRun = new Map<string, ChildProcessRecord[]>(reaped.map((r) => [r.run_id, []]));
  for (const c of store.childProcesses()) {
    if (stillActive.has(c.run_id)) continue;
    byRun.set(c.run_id, [...(byRun.get(c.run_id) ?? []), c]);
  }
  const justReaped = new Map(reaped.map((r) => [r.run_id, r]));
  for (const [runId, children] of byRun) {
    // a handful at most: runs that died within the last few seconds
    const run = justReaped.get(runId) ?? store.getRun(runId);
    const live = run ? liveChildGroups(run, children, now) : [];
    if (live.length === 0) {
      store.releasePartitions(runId);
      if (children.length > 0) store.forgetChildProcesses(runId);
      continue;
    }
    if (!justReaped.has(runId)) continue;
    const groups = live.map(describeGroup).join(', ');
    store.appendEvents([
      {
        run_id: runId,
        ts: now.toISOString(),
        type: 'LOG',
        asset_key: null,
        partition_key: null,
        level: 'warn',
        message: `partitions stay locked until the process group(s) its steps started are gone: ${groups}`,
        data: { pgids: live.map((c) => c.pgid) },
      },
    ]);
  }
}
