import type { EventRecord, Store } from '../storage/index.ts';
import type { EventSink, ExecutionEvent } from './events.ts';
import { countRows } from './row-counters.ts';

function toEventRecord(e: ExecutionEvent): EventRecord {
  const ts = new Date().toISOString();
  const base = { run_id: e.run_id, ts, type: e.type, asset_key: null, partition_key: null, level: 'info' as const };
  switch (e.type) {
    case 'RUN_STARTED':
      return { ...base, message: `run started with ${e.steps} step(s)`, data: { steps: e.steps } };
    case 'RUN_FINISHED':
      return {
        ...base,
        level: e.status === 'SUCCESS' ? 'info' : 'error',
        message: `run finished: ${e.status}${e.reason ? ` (${e.reason})` : ''}`,
        data: { status: e.status, reason: e.reason },
      };
    case 'STEP_STARTED':
      return {
        ...base,
        asset_key: e.asset_key,
        partition_key: e.partition_key,
        message: e.kind === 'checks' ? 'asset checks started' : `step started (attempt ${e.attempt})`,
        data: { attempt: e.attempt },
      };
    case 'STEP_RETRY':
      return {
        ...base,
        level: 'warn',
        asset_key: e.asset_key,
        partition_key: e.partition_key,
        message: `attempt ${e.attempt} failed, retrying in ${e.delay_ms} ms: ${e.error}`,
        data: { attempt: e.attempt, delay_ms: e.delay_ms, error: e.error },
      };
    case 'STEP_FINISHED':
      return {
        ...base,
        level: e.status === 'SUCCESS' ? 'info' : e.status === 'SKIPPED' ? 'warn' : 'error',
        asset_key: e.asset_key,
        partition_key: e.partition_key,
        message: `${e.kind === 'checks' ? 'asset checks' : 'step'} ${e.status.toLowerCase()}${e.reason ? `: ${e.reason}` : ''}`,
        data: { status: e.status, duration_ms: e.duration_ms, attempts: e.attempts, reason: e.reason },
      };
    case 'MATERIALIZATION':
      return {
        ...base,
        asset_key: e.record.asset_key,
        partition_key: e.record.partition_key,
        message: `materialized (data version ${e.record.data_version})`,
        data: { data_version: e.record.data_version, code_version: e.record.code_version },
      };
    case 'CHECK_EVALUATION':
      return {
        ...base,
        level: e.record.passed ? 'info' : e.record.severity === 'error' ? 'error' : 'warn',
        asset_key: e.record.asset_key,
        partition_key: e.record.partition_key,
        message: `check ${e.record.check_name} ${e.record.passed ? 'passed' : 'failed'}${e.record.description ? `: ${e.record.description}` : ''}`,
        data: {
          check_name: e.record.check_name,
          passed: e.record.passed,
          severity: e.record.severity,
          failures: e.record.failures,
        },
      };
    case 'LOG':
      return {
        ...base,
        level: e.level,
        asset_key: e.asset_key,
        partition_key: e.partition_key,
        message: e.message,
        data: e.data ?? {},
      };
    case 'COMPUTE_LOG':
      return {
        ...base,
        level: 'debug',
        asset_key: e.asset_key,
        partition_key: e.partition_key,
        message: `compute log ${e.path}`,
        data: { path: e.path, bytes: e.bytes },
      };
    case 'CHILD_PROCESS_STARTED':
    case 'CHILD_PROCESS_EXITED':
      return {
        ...base,
        level: 'debug',
        asset_key: e.asset_key,
        partition_key: e.partition_key,
        message: `process group ${e.pgid} ${e.type === 'CHILD_PROCESS_STARTED' ? 'started' : 'exited'}`,
        data: { pgid: e.pgid },
      };
  }
}

/** Persists execution events through the Store API: the event log plus the derived records. */
export function recordEventsTo(store: Store, forward?: EventSink): EventSink {
  return (e) => {
    store.appendEvents([toEventRecord(e)]);
    switch (e.type) {
      case 'STEP_STARTED':
        if (e.kind === 'checks') break;
        store.recordStepAttempt({
          asset_key: e.asset_key,
          partition_key: e.partition_key,
          run_id: e.run_id,
          status: 'RUNNING',
          started_at: new Date().toISOString(),
          finished_at: null,
          duration_ms: null,
          attempts: e.attempt,
          reason: null,
        });
        break;
      case 'STEP_FINISHED':
        if (e.kind === 'checks') break;
        store.recordStepAttempt({
          asset_key: e.asset_key,
          partition_key: e.partition_key,
          run_id: e.run_id,
          status: e.status,
          started_at: e.started_at,
          finished_at: new Date().toISOString(),
          duration_ms: e.duration_ms,
          attempts: e.attempts,
          reason: e.reason,
        });
        break;
      case 'MATERIALIZATION':
        store.recordMaterialization(e.record);
        countRows(store, e.record);
        break;
      case 'CHECK_EVALUATION':
        store.recordCheckEvaluations([e.record]);
        break;
      case 'COMPUTE_LOG':
        store.recordComputeLog({
          run_id: e.run_id,
          asset_key: e.asset_key,
          partition_key: e.partition_key,
          path: e.path,
          stream: 'combined',
          bytes: e.bytes,
        });
        break;
      case 'CHILD_PROCESS_STARTED':
        store.recordChildProcess({
          run_id: e.run_id,
          pgid: e.pgid,
          asset_key: e.asset_key,
          partition_key: e.partition_key,
          started_at: e.started_at,
        });
        break;
      case 'CHILD_PROCESS_EXITED':
        store.forgetChildProcesses(e.run_id, e.pgid);
        break;
      default:
        break;
    }
    forward?.(e);
  };
}
