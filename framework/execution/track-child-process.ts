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
