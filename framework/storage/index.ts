import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openSqliteStore } from './sqlite-store.ts';
import type { Store } from './types.ts';

export type { RetentionResult } from './retention.ts';
export type {
  CheckEvaluationRecord,
  ChildProcessRecord,
  ComputeLogRecord,
  EventRecord,
  MaterializationRecord,
  PartitionLock,
  RunRecord,
  SchedulerDecisionRecord,
  SchedulerTickRecord,
  StepAttemptRecord,
} from './rows.ts';
export { openSqliteStore } from './sqlite-store.ts';
export { StoreError } from './store-error.ts';
export type {
  KeyRange,
  KnownKeyCheck,
  MaterializedKeyChange,
  MaterializedKeyRun,
  Page,
  PartitionScope,
  RunStatus,
  StalenessCandidateSpec,
  StepStatus,
  Store,
} from './types.ts';

const isMemoryPath = (path: string): boolean => path === ':memory:' || path === '';

/**
 * Opens (creating if needed) the Fairway database at `path`, applying pending migrations.
 * `':memory:'` gives a private in-memory database, which is what tests use.
 *
 * @example const store = openStore(defaultStorePath('.fairway'));
 */
export function openStore(path: string): Store {
  if (!isMemoryPath(path)) mkdirSync(dirname(path), { recursive: true });
  return openSqliteStore(path);
}

/** Where the database lives inside a state directory. */
export function defaultStorePath(stateDir: string): string {
  return join(stateDir, 'fairway.db');
}
