import type { RunStatus } from '../states/index.ts';
import type { RetentionResult } from './retention.ts';
import type {
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

export type { RunStatus, StepStatus } from '../states/index.ts';

/** Restricts a latest-state read to these partitions (all partitions of the assets when absent). */
export interface PartitionScope {
  partitions?: readonly string[];
}

/** What a partition's latest materialization must match to be certainly FRESH (else it is a candidate). */
export interface StalenessCandidateSpec {
  codeVersion: string;
  /** The asset's deps as recorded (`JSON.stringify` of the list). */
  depsJson: string;
  /** Partitioned upstreams read 1:1 (identity): the input version must equal that partition's data version. */
  identityDeps: readonly string[];
  /** Unpartitioned upstreams and their current data version (null when never materialized). */
  fixedDeps: readonly { key: string; dataVersion: string | null }[];
}

/** Partition keys from `from` (inclusive) to `before` (exclusive); an absent bound is open. */
export interface KeyRange {
  from?: string;
  before?: string;
}

/** The materialized partitions of one key range: how many, and their keys joined by a newline in key order. */
export interface MaterializedKeyRun {
  count: number;
  joined: string;
}

/**
 * The outcome of comparing an asset's known partitions with its materialized ones, kept with the materialized
 * key generation it was made at: while the generation and the known list are the same, it is the outcome.
 */
export interface KnownKeyCheck {
  /** The asset's materialized key generation when the comparison read the keys. */
  generation: number;
  /** What identifies the known list compared (its definition and resolved inputs). */
  known: string;
  /** Known partitions not materialized, sorted. */
  missing: string[];
  /** Materialized partitions not known, sorted. */
  extra: string[];
}

/** One logged change of an asset's set of materialized partitions (one generation). */
export interface MaterializedKeyChange {
  partition: string;
  /** Whether the partition became materialized (else it stopped being: its state row was deleted). */
  added: boolean;
}

export interface Page<T> {
  items: T[];
  /** Pass as `before` to get the next page; null when there is none. */
  next: number | string | null;
}

/** Runs and what belongs to a run while it lives: cancel requests, partition locks, child processes, compute logs. */
export interface RunStorage {
  createRun(run: RunRecord): void;
  updateRun(runId: string, patch: Partial<Omit<RunRecord, 'run_id'>>): void;
  getRun(runId: string): RunRecord | undefined;
  /** How many runs are in each status (for metrics). */
  runCountsByStatus(): Partial<Record<RunStatus, number>>;
  /** Newest first. */
  listRuns(opts: { status?: RunStatus; limit: number; before?: string }): Page<RunRecord>;
  /** Runs in QUEUED or STARTED state. */
  activeRuns(): RunRecord[];
  heartbeat(runId: string, ts: string): void;
  /**
   * Asks the process running `runId` to cancel it (it polls `cancelRequest`). Returns false when the run is
   * not QUEUED or STARTED. A second request keeps the first.
   */
  requestCancel(runId: string, reason: string, now: string): boolean;
  cancelRequest(runId: string): { requested_at: string; reason: string } | undefined;
  /**
   * Atomically claims asset partitions for a run. Returns the locks held by other runs that conflict
   * (nothing is claimed then), or [] on success.
   */
  claimPartitions(runId: string, targets: { asset_key: string; partition_key: string }[]): PartitionLock[];
  releasePartitions(runId: string): void;
  /** Records a step's child process group while it runs (a second record of the same group replaces it). */
  recordChildProcess(child: ChildProcessRecord): void;
  /** Forgets one child group of a run (it exited), or all of the run's when `pgid` is absent. */
  forgetChildProcesses(runId: string, pgid?: number): void;
  /** Recorded child groups of these runs (of every run when absent), by run then pgid. */
  childProcesses(runIds?: readonly string[]): ChildProcessRecord[];
  recordComputeLog(log: ComputeLogRecord): void;
  computeLogs(runId: string): ComputeLogRecord[];
}

/** The history, as runs record it: events, materializations, step attempts, check evaluations. */
export interface EventLogStorage {
  appendEvents(events: EventRecord[]): number[];
  /** Events of a run after `afterId`, oldest first. */
  getEvents(runId: string, opts?: { afterId?: number; limit?: number }): EventRecord[];
  recordMaterialization(m: MaterializationRecord): number;
  /** The materializations recorded by one run, in order (its summary: cost in proportion to the run). */
  materializationsOfRun(runId: string): MaterializationRecord[];
  /** Newest first. `before` is a materialization id. */
  materializationHistory(
    key: string,
    opts: { partition?: string; limit: number; before?: number },
  ): Page<MaterializationRecord>;
  recordStepAttempt(a: StepAttemptRecord): void;
  stepAttemptsOfRun(runId: string): StepAttemptRecord[];
  /** Durations of recent successful attempts, newest first, for scheduling estimates. */
  recentDurations(keys: string[], limitPerKey: number): Map<string, number[]>;
  recordCheckEvaluations(evals: CheckEvaluationRecord[]): void;
  checkEvaluationsOfRun(runId: string): CheckEvaluationRecord[];
}

/** The per-partition state kept beside the history in the same transaction (latest materialization, attempt and
 * check results of each asset partition), and the reads status, staleness, planning and the daemon make of it. */
export interface PartitionStateStorage {
  /** Latest materialization per (asset, partition) for the given assets. */
  latestMaterializations(keys: string[], opts?: PartitionScope): Map<string, Map<string, MaterializationRecord>>;
  /**
   * The same records with only the metadata staleness needs (`source_version`): what status, planning and
   * the daemon read. Full metadata is for the few records shown (the asset page, history).
   */
  latestMaterializationHeads(keys: string[], opts?: PartitionScope): Map<string, Map<string, MaterializationRecord>>;
  /** Latest attempt per (asset, partition). */
  latestStepAttempts(keys: string[], opts?: PartitionScope): Map<string, Map<string, StepAttemptRecord>>;
  /** Latest evaluation per (asset, partition, check). */
  latestCheckEvaluations(keys: string[], opts?: PartitionScope): CheckEvaluationRecord[];
  /** The partitions of `key` that have a materialization, sorted (keys only: cheap at a million), or those in `range`. */
  materializedPartitionKeys(key: string, range?: KeyRange): string[];
  /**
   * The materialized partitions of `key` in consecutive ranges, `[bounds[i], bounds[i + 1])` and the last one
   * open: one string per range rather than one per key, to compare with known keys at a million partitions.
   */
  materializedKeyRuns(key: string, bounds: readonly string[]): MaterializedKeyRun[];
  /**
   * The current materialized key generation of `key` (it moves whenever the set of its materialized partitions
   * changes; 0 before any) and the known key check kept for it, read together; with `changes`, in generation
   * order, when the check is older and the change log still holds every change since it was made.
   */
  knownKeyCheck(key: string): {
    generation: number;
    kept: KnownKeyCheck | undefined;
    changes?: MaterializedKeyChange[];
  };
  /** Keeps the outcome of a comparison (replacing the one kept before; the changes logged up to it are dropped). */
  keepKnownKeyCheck(key: string, check: KnownKeyCheck): void;
  /** Partition → data version of every materialized partition of `key` (no other column: cheap at a million). */
  materializedVersions(key: string): Map<string, string>;
  /**
   * The materialized partitions of one asset that may not be FRESH, judged in SQLite (see
   * `StalenessCandidateSpec`): a superset of the stale, failed and running ones among them. Status at a
   * million partitions judges only these in JavaScript.
   */
  stalenessCandidates(key: string, spec: StalenessCandidateSpec): string[];
  /**
   * Rebuilds the per-partition state (latest materialization, attempt and check evaluations, kept in the
   * same transaction as each record) from the history tables, and returns how many rows it holds.
   */
  rebuildPartitionState(): { partitions: number; checks: number };
}

/** The daemon's state: leases, cursors, ticks and their decisions. */
export interface ScheduleStorage {
  /**
   * Lease for singletons such as the daemon. True when `holder` holds it afterwards. `replacing` takes
   * it over from that holder before it expires (the caller knows that holder is dead).
   */
  acquireLease(name: string, holder: string, ttlMs: number, now: Date, replacing?: string): boolean;
  /** Who holds the lease now (expired or not), if anyone. */
  leaseHolder(name: string): string | undefined;
  releaseLease(name: string, holder: string): void;
  /** Key-value cursors for sensors and the daemon. */
  getCursor(name: string): string | undefined;
  setCursor(name: string, value: string): void;
  /** Adds an integer to a cursor holding one (0 when absent), in one statement: concurrent adds never lose one. */
  addToCursor(name: string, n: number): void;
  /** Inserts the tick unless one with its id exists; returns the stored tick and whether it is new. */
  beginTick(tick: SchedulerTickRecord): { tick: SchedulerTickRecord; created: boolean };
  finishTick(
    tickId: number,
    patch: Pick<SchedulerTickRecord, 'status' | 'finished_at' | 'error'> & { evaluated?: Record<string, unknown> },
  ): void;
  /** Newest first. `before` is a tick id. */
  listTicks(opts: { limit: number; before?: number }): Page<SchedulerTickRecord>;
  /** Inserts decisions; one already recorded for the same (tick, asset, partition) is kept, not replaced. */
  recordDecisions(decisions: SchedulerDecisionRecord[]): void;
  /** Decisions of these ticks, in insertion order. */
  tickDecisions(tickIds: number[]): SchedulerDecisionRecord[];
  /** The decisions that launched this run (a daemon's launch; none for a run started by hand). */
  decisionsOfRun(runId: string): SchedulerDecisionRecord[];
  /** `launch` decisions for these assets created after `since` (ISO), oldest first. */
  launchDecisionsSince(keys: string[], since: string): SchedulerDecisionRecord[];
}

/**
 * Everything Fairway persists, split as its data is (runs, the event log, the partition state, schedules).
 * Batch-first: every read takes many keys at once. Implementations must make concurrent use by several
 * processes safe.
 */
export interface Store extends RunStorage, EventLogStorage, PartitionStateStorage, ScheduleStorage {
  readonly path: string;
  close(): void;
  /**
   * A value that changes whenever what the store holds may have changed: a commit by another connection
   * or process, or a write through this one. Equal stamps mean equal contents, so a long-lived reader
   * (the UI) can keep what it derived from them.
   */
  changeStamp(): string;
  /**
   * Deletes the history of runs finished before `before` (ISO), keeping every record the partition state
   * points at, so staleness and status answer the same (`retention.ts`). `dryRun` counts without deleting.
   */
  collectGarbage(before: string, opts?: { dryRun?: boolean }): RetentionResult;
  /** Rewrites the database file without its free pages (`VACUUM`); returns the file's bytes before and after. */
  vacuum(): { before: number; after: number };
}
