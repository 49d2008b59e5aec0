import type { z } from 'zod';
import { metadataSchema } from '../definitions/index.ts';
import { RUN_STATUSES, STEP_STATUSES } from '../states/index.ts';
import { lazySchema, type Zod } from '../validation/index.ts';
import { StoreError } from './store-error.ts';

const flag = (z: Zod) => z.number().transform((v) => v !== 0);
const nullableText = (z: Zod) => z.string().nullable();
const stringMap = (z: Zod) => z.record(z.string(), z.string());

/**
 * How to read one table: plain columns, and TEXT columns holding JSON with the schema of their
 * parsed value (`columns` builds both, on the first read). Rows are validated a whole result set at a
 * time — one zod call per column instead of one per row, which matters for 10k-row latest-per-key reads.
 */
function codec<S extends z.ZodRawShape, J extends Record<string, z.ZodType>>(
  table: string,
  idColumn: string,
  columns: (z: Zod) => { scalars: S; json: J },
) {
  const schemas = lazySchema((z) => {
    const { scalars, json } = columns(z);
    return {
      scalarRows: z.array(z.object(scalars)),
      jsonValues: Object.entries(json).map(([column, schema]) => [column, z.array(schema)] as const),
    };
  });
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
    // no row, nothing to check: a read that finds none (a fresh state's `status`) does not load zod
    if (rows.length === 0) return [];
    const { scalarRows, jsonValues } = schemas();
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

const decodeRunRows = codec('runs', 'run_id', (z) => ({
  scalars: {
    run_id: z.string(),
    selection: z.string(),
    /** Partition filter the run was launched with, or null. */
    partition: nullableText(z),
    stale_only: flag(z),
    status: z.enum(RUN_STATUSES),
    /** Why the run failed or was canceled, in plain words. */
    reason: nullableText(z),
    pid: z.number().int().nullable(),
    hostname: nullableText(z),
    created_at: z.string(),
    started_at: nullableText(z),
    finished_at: nullableText(z),
    heartbeat_at: nullableText(z),
  },
  json: {
    /** Steps planned: `[{ asset_key, partition_key }]`. */
    plan: z.array(z.object({ asset_key: z.string(), partition_key: z.string() })),
    tags: stringMap(z),
  },
}));

const decodeEventRows = codec('events', 'event_id', (z) => ({
  scalars: {
    /** Assigned by the store (monotonic). */
    event_id: z.number().int(),
    run_id: z.string(),
    /** ISO timestamp. */
    ts: z.string(),
    type: z.string(),
    asset_key: nullableText(z),
    partition_key: nullableText(z),
    level: z.enum(['debug', 'info', 'warn', 'error']),
    message: z.string(),
  },
  json: { data: z.record(z.string(), z.unknown()) },
}));

const decodeMaterializationRows = codec('materializations', 'id', (z) => ({
  scalars: {
    id: z.number().int(),
    asset_key: z.string(),
    partition_key: z.string(),
    run_id: z.string(),
    ts: z.string(),
    data_version: z.string(),
    code_version: z.string(),
  },
  json: {
    /** Upstream key → combined data version consumed. */
    input_versions: stringMap(z),
    /** The dependency set at materialization time (detects a changed dep set). */
    deps: z.array(z.string()),
    metadata: metadataSchema(),
  },
}));

const decodeStepAttemptRows = codec('step_attempts', 'id', (z) => ({
  scalars: {
    asset_key: z.string(),
    partition_key: z.string(),
    run_id: z.string(),
    status: z.enum(STEP_STATUSES),
    started_at: nullableText(z),
    finished_at: nullableText(z),
    duration_ms: z.number().nullable(),
    attempts: z.number().int(),
    reason: nullableText(z),
  },
  json: {},
}));

const decodeCheckEvaluationRows = codec('check_evaluations', 'id', (z) => ({
  scalars: {
    id: z.number().int(),
    asset_key: z.string(),
    partition_key: z.string(),
    check_name: z.string(),
    run_id: z.string(),
    ts: z.string(),
    passed: flag(z),
    severity: z.enum(['warn', 'error']),
    blocking: flag(z),
    failures: z.number().nullable(),
    description: nullableText(z),
  },
  json: { metadata: metadataSchema() },
}));

const decodeComputeLogRows = codec('compute_logs', 'id', (z) => ({
  scalars: {
    run_id: z.string(),
    asset_key: z.string(),
    partition_key: z.string(),
    /** Path relative to the state directory. */
    path: z.string(),
    stream: z.string(),
    bytes: z.number().int(),
  },
  json: {},
}));

const decodePartitionLockRows = codec('partition_locks', 'asset_key', (z) => ({
  scalars: { asset_key: z.string(), partition_key: z.string(), run_id: z.string() },
  json: {},
}));

const decodeChildProcessRows = codec('run_child_processes', 'pgid', (z) => ({
  scalars: {
    run_id: z.string(),
    pgid: z.number().int(),
    asset_key: z.string(),
    partition_key: z.string(),
    /** ISO timestamp, taken just after the child was spawned. */
    started_at: z.string(),
  },
  json: {},
}));

const decodeSchedulerTickRows = codec('scheduler_ticks', 'tick_id', (z) => ({
  scalars: {
    tick_id: z.number().int(),
    holder: z.string(),
    status: z.enum(['STARTED', 'SUCCESS', 'FAILURE']),
    started_at: z.string(),
    finished_at: nullableText(z),
    error: nullableText(z),
  },
  json: {
    /** What was evaluated: counts per freshness state and the partitions not FRESH. */
    evaluated: z.record(z.string(), z.unknown()),
  },
}));

const decodeSchedulerDecisionRows = codec('scheduler_decisions', 'id', (z) => ({
  scalars: {
    id: z.number().int(),
    tick_id: z.number().int(),
    asset_key: z.string(),
    partition_key: z.string(),
    action: z.enum(['launch', 'wait', 'defer']),
    reason: z.string(),
    due_at: nullableText(z),
    expected_ms: z.number().nullable(),
    run_id: nullableText(z),
    /** Selection and partition filter of the run (launch only). */
    selection: nullableText(z),
    run_partition: nullableText(z),
    created_at: z.string(),
  },
  json: {},
}));

type RowOf<D extends (rows: unknown[]) => unknown[]> = ReturnType<D>[number];
/** A record as written: the id the store assigns is absent until it is read back. */
type Unsaved<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

// The record types are the codecs' rows: what is read back is exactly what the types say.
export type RunRecord = RowOf<typeof decodeRunRows>;
/** One append-only event. */
export type EventRecord = Unsaved<RowOf<typeof decodeEventRows>, 'event_id'>;
export type MaterializationRecord = Unsaved<RowOf<typeof decodeMaterializationRows>, 'id'>;
/** Outcome of the latest attempt of an asset partition (success or failure). */
export type StepAttemptRecord = RowOf<typeof decodeStepAttemptRows>;
export type CheckEvaluationRecord = Unsaved<RowOf<typeof decodeCheckEvaluationRows>, 'id'>;
export type ComputeLogRecord = RowOf<typeof decodeComputeLogRows>;
export type PartitionLock = RowOf<typeof decodePartitionLockRows>;
/**
 * A process group a step started (a child spawned with `detached: true`: a Spark job, dbt), recorded while
 * it runs. `pgid` is the child's pid, which is its group's id.
 */
export type ChildProcessRecord = RowOf<typeof decodeChildProcessRows>;
/** One daemon tick. `tick_id` is the tick's start in epoch ms, floored to the daemon interval. */
export type SchedulerTickRecord = RowOf<typeof decodeSchedulerTickRows>;
/**
 * One decision of a tick about an asset partition (or `schedule:<name>`), unique per tick.
 * `launch` rows carry the run id chosen before launching, so a restarted tick never launches twice.
 */
export type SchedulerDecisionRecord = Unsaved<RowOf<typeof decodeSchedulerDecisionRows>, 'id'>;

export const decodeSchedulerTicks = decodeSchedulerTickRows;
export const decodeSchedulerDecisions = decodeSchedulerDecisionRows;
export const decodeRuns = decodeRunRows;
export const decodeEvents = decodeEventRows;
export const decodeMaterializations = decodeMaterializationRows;
export const decodeStepAttempts = decodeStepAttemptRows;
export const decodeCheckEvaluations = decodeCheckEvaluationRows;
export const decodeComputeLogs = decodeComputeLogRows;
export const decodePartitionLocks = decodePartitionLockRows;
export const decodeChildProcesses = decodeChildProcessRows;

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
