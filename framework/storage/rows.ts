import { z } from 'zod';
import { MetadataSchema } from '../definitions/index.ts';
import { StoreError } from './store-error.ts';
import {
  type CheckEvaluationRecord,
  type ChildProcessRecord,
  type ComputeLogRecord,
  type EventRecord,
  type MaterializationRecord,
  type PartitionLock,
  RUN_STATUSES,
  type RunRecord,
  type SchedulerDecisionRecord,
  type SchedulerTickRecord,
  STEP_STATUSES,
  type StepAttemptRecord,
} from './types.ts';

const flag = z.number().transform((v) => v !== 0);
const nullableText = z.string().nullable();
const stringMap = z.record(z.string(), z.string());

/**
 * How to read one table: plain columns, and TEXT columns holding JSON with the schema of their
 * parsed value. Rows are validated a whole result set at a time — one zod call per column instead
 * of one per row, which matters for 10k-row latest-per-key reads.
 */
function codec<S extends z.ZodRawShape, J extends Record<string, z.ZodType>>(
  table: string,
  idColumn: string,
  scalars: S,
  jsonColumns: J,
) {
  const scalarRows = z.array(z.object(scalars));
  const jsonValues = Object.entries(jsonColumns).map(([column, schema]) => [column, z.array(schema)] as const);
  type Row = z.output<z.ZodObject<S>> & { [K in keyof J]: z.output<J[K]> };

  const invalid = (rows: unknown[], index: number, column: string, problem: string, cause?: unknown) => {
    const id = (rows[index] as Record<string, unknown> | undefined)?.[idColumn];
    return new StoreError(
      'STORE_ROW_INVALID',
      `Row ${idColumn}=${String(id)} of table '${table}' has an invalid '${column}' column: ${problem}. ` +
        'The database was changed outside Fairway or by an incompatible version; fix or delete that row.',
      { table, id, column },
      cause,
    );
  };
  const fromIssue = (rows: unknown[], error: z.ZodError, column?: string) => {
    const [index, ...rest] = error.issues[0]?.path ?? [];
    const path = [column, ...rest].filter((p) => p !== undefined).join('.');
    return invalid(rows, Number(index), path || '(row)', error.issues[0]?.message ?? 'invalid', error);
  };

  return (rows: unknown[]): Row[] => {
    const parsed = scalarRows.safeParse(rows);
    if (!parsed.success) throw fromIssue(rows, parsed.error);
    const out = parsed.data as Record<string, unknown>[];
    for (const [column, schema] of jsonValues) {
      // Read the text from the raw rows: the scalar pass strips columns it does not know.
      const values = rows.map((row, index) => {
        const text = (row as Record<string, unknown>)[column];
        if (typeof text !== 'string') throw invalid(rows, index, column, 'expected JSON text');
        try {
          return JSON.parse(text) as unknown;
        } catch (e) {
          throw invalid(rows, index, column, `not valid JSON: ${text.slice(0, 80)}`, e);
        }
      });
      const checked = schema.safeParse(values);
      if (!checked.success) throw fromIssue(rows, checked.error, column);
      for (const [index, value] of checked.data.entries()) out[index]![column] = value;
    }
    return out as Row[];
  };
}

const decodeRunRows = codec(
  'runs',
  'run_id',
  {
    run_id: z.string(),
    selection: z.string(),
    partition: nullableText,
    stale_only: flag,
    status: z.enum(RUN_STATUSES),
    reason: nullableText,
    pid: z.number().int().nullable(),
    hostname: nullableText,
    created_at: z.string(),
    started_at: nullableText,
    finished_at: nullableText,
    heartbeat_at: nullableText,
  },
  { plan: z.array(z.object({ asset_key: z.string(), partition_key: z.string() })), tags: stringMap },
);

const decodeEventRows = codec(
  'events',
  'event_id',
  {
    event_id: z.number().int(),
    run_id: z.string(),
    ts: z.string(),
    type: z.string(),
    asset_key: nullableText,
    partition_key: nullableText,
    level: z.enum(['debug', 'info', 'warn', 'error']),
    message: z.string(),
  },
  { data: z.record(z.string(), z.unknown()) },
);

const decodeMaterializationRows = codec(
  'materializations',
  'id',
  {
    id: z.number().int(),
    asset_key: z.string(),
    partition_key: z.string(),
    run_id: z.string(),
    ts: z.string(),
    data_version: z.string(),
    code_version: z.string(),
  },
  { input_versions: stringMap, deps: z.array(z.string()), metadata: MetadataSchema },
);

const decodeStepAttemptRows = codec(
  'step_attempts',
  'id',
  {
    asset_key: z.string(),
    partition_key: z.string(),
    run_id: z.string(),
    status: z.enum(STEP_STATUSES),
    started_at: nullableText,
    finished_at: nullableText,
    duration_ms: z.number().nullable(),
    attempts: z.number().int(),
    reason: nullableText,
  },
  {},
);

const decodeCheckEvaluationRows = codec(
  'check_evaluations',
  'id',
  {
    id: z.number().int(),
    asset_key: z.string(),
    partition_key: z.string(),
    check_name: z.string(),
    run_id: z.string(),
    ts: z.string(),
    passed: flag,
    severity: z.enum(['warn', 'error']),
    blocking: flag,
    failures: z.number().nullable(),
    description: nullableText,
  },
  { metadata: MetadataSchema },
);

const decodeComputeLogRows = codec(
  'compute_logs',
  'id',
  {
    run_id: z.string(),
    asset_key: z.string(),
    partition_key: z.string(),
    path: z.string(),
    stream: z.string(),
    bytes: z.number().int(),
  },
  {},
);

const decodePartitionLockRows = codec(
  'partition_locks',
  'asset_key',
  { asset_key: z.string(), partition_key: z.string(), run_id: z.string() },
  {},
);

const decodeChildProcessRows = codec(
  'run_child_processes',
  'pgid',
  {
    run_id: z.string(),
    pgid: z.number().int(),
    asset_key: z.string(),
    partition_key: z.string(),
    started_at: z.string(),
  },
  {},
);

// The annotations check that each table decodes to exactly its record type.
const decodeSchedulerTickRows = codec(
  'scheduler_ticks',
  'tick_id',
  {
    tick_id: z.number().int(),
    holder: z.string(),
    status: z.enum(['STARTED', 'SUCCESS', 'FAILURE']),
    started_at: z.string(),
    finished_at: nullableText,
    error: nullableText,
  },
  { evaluated: z.record(z.string(), z.unknown()) },
);

const decodeSchedulerDecisionRows = codec(
  'scheduler_decisions',
  'id',
  {
    id: z.number().int(),
    tick_id: z.number().int(),
    asset_key: z.string(),
    partition_key: z.string(),
    action: z.enum(['launch', 'wait', 'defer']),
    reason: z.string(),
    due_at: nullableText,
    expected_ms: z.number().nullable(),
    run_id: nullableText,
    selection: nullableText,
    run_partition: nullableText,
    created_at: z.string(),
  },
  {},
);

export const decodeSchedulerTicks: (rows: unknown[]) => SchedulerTickRecord[] = decodeSchedulerTickRows;
export const decodeSchedulerDecisions: (rows: unknown[]) => SchedulerDecisionRecord[] = decodeSchedulerDecisionRows;
export const decodeRuns: (rows: unknown[]) => RunRecord[] = decodeRunRows;
export const decodeEvents: (rows: unknown[]) => EventRecord[] = decodeEventRows;
export const decodeMaterializations: (rows: unknown[]) => MaterializationRecord[] = decodeMaterializationRows;
export const decodeStepAttempts: (rows: unknown[]) => StepAttemptRecord[] = decodeStepAttemptRows;
export const decodeCheckEvaluations: (rows: unknown[]) => CheckEvaluationRecord[] = decodeCheckEvaluationRows;
export const decodeComputeLogs: (rows: unknown[]) => ComputeLogRecord[] = decodeComputeLogRows;
export const decodePartitionLocks: (rows: unknown[]) => PartitionLock[] = decodePartitionLockRows;
export const decodeChildProcesses: (rows: unknown[]) => ChildProcessRecord[] = decodeChildProcessRows;

/** Encodes a value for a JSON TEXT column. */
export const json = (value: unknown): string => JSON.stringify(value);

/** SQLite has no boolean type. */
export const bit = (value: boolean): number => (value ? 1 : 0);

export type RunPatch = Partial<Omit<RunRecord, 'run_id'>>;

/** Columns `updateRun` may set. */
export const RUN_COLUMNS = [
  'selection',
  'partition',
  'stale_only',
  'status',
  'reason',
  'pid',
  'hostname',
  'created_at',
  'started_at',
  'finished_at',
  'heartbeat_at',
  'plan',
  'tags',
] as const satisfies readonly (keyof RunPatch)[];

/** Encodes one run field for its column. */
export function runColumnValue(column: keyof RunPatch, value: unknown): unknown {
  if (column === 'plan' || column === 'tags') return json(value);
  if (column === 'stale_only') return bit(value as boolean);
  return value;
}

/** Groups rows into key → partition → record. */
export function byKeyAndPartition<T extends { asset_key: string; partition_key: string }>(
  rows: T[],
): Map<string, Map<string, T>> {
  const out = new Map<string, Map<string, T>>();
  for (const row of rows) {
    let partitions = out.get(row.asset_key);
    if (!partitions) {
      partitions = new Map();
      out.set(row.asset_key, partitions);
    }
    partitions.set(row.partition_key, row);
  }
  return out;
}
