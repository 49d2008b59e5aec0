import { isGroupAlive } from '../judging/index.ts';
import { signalGroup } from '../pipes/index.ts';
import type { EventSink } from './events.ts';

/**
 * The `onChildProcess` of a step's context: records the child's process group now (CHILD_PROCESS_STARTED,
 * persisted by the run recorder) and forgets it when the returned function is called (once is enough;
 * later calls do nothing). A run that dies with groups still recorded keeps its locks until they are gone
 * (`reapDeadRuns`).
 */
export function trackChildProcess(
  emit: EventSink,
  runId: string,
  assetKey: string,
  partitionKey: string,
): (pgid: number) => () => void {
  return (pgid) => {
    const where = { run_id: runId, asset_key: assetKey, partition_key: partitionKey, pgid };
    emit({ type: 'CHILD_PROCESS_STARTED', ...where, started_at: new Date().toISOString() });
    let exited = false;
    return () => {
      if (exited) return;
      exited = true;
      emit({ type: 'CHILD_PROCESS_EXITED', ...where });
    };
  };
}

/**
 * Follows the child process groups a run's steps report (started and not yet exited), for `stopLeftoverGroups`.
 * Wraps the run's event sink.
 */
export function followChildGroups(emit: EventSink): { emit: EventSink; live: () => number[] } {
  const live = new Set<number>();
  return {
    emit: (e) => {
      if (e.type === 'CHILD_PROCESS_STARTED') live.add(e.pgid);
      else if (e.type === 'CHILD_PROCESS_EXITED') live.delete(e.pgid);
      emit(e);
    },
    live: () => [...live],
  };
}

/** Seconds between SIGTERM and SIGKILL for a child group (FAIRWAY_CHILD_STOP_GRACE_S, as the pipes watchdog). */
function childStopGraceMs(env: NodeJS.ProcessEnv = process.env): number {
  const s = Number(env.FAIRWAY_CHILD_STOP_GRACE_S ?? 5);
  return Number.isFinite(s) && s >= 0 && s <= 50 ? s * 1000 : 5000;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops the groups still running when a run ends (a canceled or timed-out step's child that has not exited
 * yet): SIGTERM, up to `graceMs`, then SIGKILL and up to 2 s more. The run keeps its partition locks until
 * then, so a re-run never writes beside a child of this one. Returns the groups that had to be stopped.
 */
export async function stopLeftoverGroups(pgids: readonly number[], graceMs = childStopGraceMs()): Promise<number[]> {
  const leftover = pgids.filter(isGroupAlive);
  if (leftover.length === 0) return [];
  for (const g of leftover) signalGroup(g, 'SIGTERM');
  const waitUntilGone = async (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end && leftover.some(isGroupAlive)) await sleep(100);
  };
  await waitUntilGone(graceMs);
  for (const g of leftover.filter(isGroupAlive)) signalGroup(g, 'SIGKILL');
  await waitUntilGone(2_000);
  return leftover;
}
