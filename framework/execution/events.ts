import type { CheckEvaluationRecord, MaterializationRecord } from '../storage/index.ts';

/** What the executor emits. The run recorder persists these; the CLI and UI render them. */
export type ExecutionEvent =
  | { type: 'RUN_STARTED'; run_id: string; steps: number }
  | { type: 'RUN_FINISHED'; run_id: string; status: 'SUCCESS' | 'FAILURE' | 'CANCELED'; reason: string | null }
  | {
      type: 'STEP_STARTED';
      run_id: string;
      asset_key: string;
      partition_key: string;
      attempt: number;
      /** Absent for materialize steps. */
      kind?: 'checks';
    }
  | {
      type: 'STEP_RETRY';
      run_id: string;
      asset_key: string;
      partition_key: string;
      attempt: number;
      delay_ms: number;
      error: string;
    }
  | {
      type: 'STEP_FINISHED';
      run_id: string;
      kind?: 'checks';
      asset_key: string;
      partition_key: string;
      status: 'SUCCESS' | 'FAILURE' | 'SKIPPED' | 'CANCELED';
      attempts: number;
      started_at: string | null;
      duration_ms: number | null;
      reason: string | null;
    }
  | { type: 'MATERIALIZATION'; run_id: string; record: MaterializationRecord }
  | { type: 'CHECK_EVALUATION'; run_id: string; record: CheckEvaluationRecord }
  | {
      type: 'LOG';
      run_id: string;
      asset_key: string | null;
      partition_key: string | null;
      level: 'debug' | 'info' | 'warn' | 'error';
      message: string;
      data?: Record<string, unknown>;
    }
  | { type: 'COMPUTE_LOG'; run_id: string; asset_key: string; partition_key: string; path: string; bytes: number }
  /** A step started a child in its own process group (`ctx.onChildProcess`): recorded until it exits. */
  | {
      type: 'CHILD_PROCESS_STARTED';
      run_id: string;
      asset_key: string;
      partition_key: string;
      pgid: number;
      started_at: string;
    }
  | { type: 'CHILD_PROCESS_EXITED'; run_id: string; asset_key: string; partition_key: string; pgid: number };

export type EventSink = (event: ExecutionEvent) => void;
