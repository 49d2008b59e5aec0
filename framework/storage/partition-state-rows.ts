import { SOURCE_VERSION_KEY } from '../definitions/index.ts';
import type { MaterializationRecord, StepAttemptRecord } from './rows.ts';
import { StoreError } from './store-error.ts';
import type { StepStatus } from './types.ts';

/**
 * Lean decoding of the per-partition state, read for every partition by status, planning and the daemon:
 * one object per record built straight from SQLite's row arrays, cheap type checks instead of a schema pass,
 * and the JSON texts most partitions share (`[]`, `{}`, the same deps) parsed once. At a million partitions
 * the schema pass and its intermediate objects doubled the time and the memory of a status.
 */
export const HEAD_COLUMNS =
  'materialization_id, asset_key, partition_key, run_id, ts, data_version, code_version, input_versions, deps, source_version';
export const ATTEMPT_COLUMNS =
  'attempt_id, asset_key, partition_key, attempt_run_id, attempt_status, attempt_started_at, attempt_finished_at, attempt_duration_ms, attempt_attempts, attempt_reason';

const STATUSES = new Set<StepStatus>(['PENDING', 'RUNNING', 'SUCCESS', 'FAILURE', 'SKIPPED', 'CANCELED']);
const MAX_SHARED = 10_000;

function invalid(row: unknown[], column: string, problem: string): StoreError {
  return new StoreError(
    'STORE_ROW_INVALID',
    `The state of ${String(row[1])} [${String(row[2])}] in table 'asset_partitions' has an invalid '${column}': ${problem}. ` +
      "The database was changed outside Fairway; 'fairway store rebuild' rebuilds this table from the history.",
    { table: 'asset_partitions', asset_key: row[1], partition_key: row[2], column },
  );
}

/** Parses JSON texts, sharing the result for texts seen before (callers never mutate records). */
class SharedJson {
  readonly #seen = new Map<string, unknown>();
  parse(text: unknown, row: unknown[], column: string): unknown {
    if (typeof text !== 'string') throw invalid(row, column, 'expected JSON text');
    const hit = this.#seen.get(text);
    if (hit !== undefined) return hit;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw invalid(row, column, `not valid JSON: ${text.slice(0, 80)}`);
    }
    if (this.#seen.size < MAX_SHARED) this.#seen.set(text, value);
    return value;
  }
}

const text = (row: unknown[], i: number, column: string): string => {
  const v = row[i];
  if (typeof v !== 'string') throw invalid(row, column, `expected text, got ${v === null ? 'null' : typeof v}`);
  return v;
};
const textOrNull = (row: unknown[], i: number, column: string): string | null =>
  row[i] === null ? null : text(row, i, column);
const intOrNull = (row: unknown[], i: number, column: string): number | null => {
  const v = row[i];
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalid(row, column, 'expected an integer');
  return v;
};

function add<T>(out: Map<string, Map<string, T>>, key: string, partition: string, record: T): void {
  let partitions = out.get(key);
  if (!partitions) {
    partitions = new Map();
    out.set(key, partitions);
  }
  partitions.set(partition, record);
}

/** Rows of `HEAD_COLUMNS` → asset → partition → latest materialization (metadata: `source_version` only). */
export function decodeHeads(rows: unknown[][]): Map<string, Map<string, MaterializationRecord>> {
  const out = new Map<string, Map<string, MaterializationRecord>>();
  const shared = new SharedJson();
  for (const row of rows) {
    const inputs = shared.parse(row[7], row, 'input_versions');
    if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs))
      throw invalid(row, 'input_versions', 'expected an object');
    const deps = shared.parse(row[8], row, 'deps');
    if (!Array.isArray(deps)) throw invalid(row, 'deps', 'expected an array');
    const source = row[9] === null ? undefined : shared.parse(row[9], row, 'source_version');
    if (source !== undefined && (typeof source !== 'object' || source === null))
      throw invalid(row, 'source_version', 'expected a metadata entry');
    const record: MaterializationRecord = {
      id: intOrNull(row, 0, 'materialization_id') ?? 0,
      asset_key: text(row, 1, 'asset_key'),
      partition_key: text(row, 2, 'partition_key'),
      run_id: text(row, 3, 'run_id'),
      ts: text(row, 4, 'ts'),
      data_version: text(row, 5, 'data_version'),
      code_version: text(row, 6, 'code_version'),
      input_versions: inputs as Record<string, string>,
      deps: deps as string[],
      metadata: source === undefined ? {} : ({ [SOURCE_VERSION_KEY]: source } as MaterializationRecord['metadata']),
    };
    add(out, record.asset_key, record.partition_key, record);
  }
  return out;
}

/** Rows of `ATTEMPT_COLUMNS` → asset → partition → latest step attempt. */
export function decodeAttempts(rows: unknown[][]): Map<string, Map<string, StepAttemptRecord>> {
  const out = new Map<string, Map<string, StepAttemptRecord>>();
  for (const row of rows) {
    const status = text(row, 4, 'attempt_status') as StepStatus;
    if (!STATUSES.has(status)) throw invalid(row, 'attempt_status', `unknown status '${status}'`);
    const record: StepAttemptRecord = {
      asset_key: text(row, 1, 'asset_key'),
      partition_key: text(row, 2, 'partition_key'),
      run_id: text(row, 3, 'attempt_run_id'),
      status,
      started_at: textOrNull(row, 5, 'attempt_started_at'),
      finished_at: textOrNull(row, 6, 'attempt_finished_at'),
      duration_ms: intOrNull(row, 7, 'attempt_duration_ms'),
      attempts: intOrNull(row, 8, 'attempt_attempts') ?? 0,
      reason: textOrNull(row, 9, 'attempt_reason'),
    };
    add(out, record.asset_key, record.partition_key, record);
  }
  return out;
}
