import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { withBusyRetry } from './busy-retry.ts';
import { applyMigrations, REBUILD_PARTITION_STATE } from './migrations.ts';
import { ATTEMPT_COLUMNS, decodeAttempts, decodeHeads, HEAD_COLUMNS } from './partition-state-rows.ts';
import { collectGarbage, type RetentionResult } from './retention.ts';
import {
  bit,
  byKeyAndPartition,
  decodeCheckEvaluations,
  decodeChildProcesses,
  decodeComputeLogs,
  decodeEvents,
  decodeMaterializations,
  decodePartitionLocks,
  decodeRuns,
  decodeSchedulerDecisions,
  decodeSchedulerTicks,
  decodeStepAttempts,
  json,
  RUN_COLUMNS,
  runColumnValue,
} from './rows.ts';
import { StoreError } from './store-error.ts';
import type {
  CheckEvaluationRecord,
  ChildProcessRecord,
  ComputeLogRecord,
  EventRecord,
  KeyRange,
  MaterializationRecord,
  MaterializedKeyRun,
  Page,
  PartitionLock,
  PartitionScope,
  RunRecord,
  RunStatus,
  SchedulerDecisionRecord,
  SchedulerTickRecord,
  StalenessCandidateSpec,
  StepAttemptRecord,
  Store,
} from './types.ts';

/**
 * The SQLite implementation of `Store`: one WAL-mode file shared by the CLI, the UI server and the
 * daemon. Every write is short, read-modify-writes use BEGIN IMMEDIATE, and all calls retry on
 * SQLITE_BUSY beyond the busy timeout.
 */
export class SqliteStore implements Store {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #queries = new Map<string, { stmt: Database.Statement; columns: string[] }>();
  readonly #plucked = new Map<string, Database.Statement>();

  constructor(path: string, opts: { busyTimeoutMs?: number } = {}) {
    this.path = path;
    this.#db = new Database(path);
    try {
      this.#db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
      withBusyRetry(() => this.#db.pragma('journal_mode = WAL'));
      this.#db.pragma('synchronous = NORMAL');
      this.#db.pragma('foreign_keys = ON');
      withBusyRetry(() => applyMigrations(this.#db, path));
    } catch (e) {
      this.#db.close();
      if (e instanceof StoreError) throw e;
      throw new StoreError(
        'STORE_OPEN_FAILED',
        `Could not open the Fairway database '${path}'. Check the path is writable and not used by an incompatible tool.`,
        { path },
        e,
      );
    }
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  changeStamp(): string {
    // data_version moves when another connection commits; total_changes() counts this connection's writes
    const version = withBusyRetry(() => this.#db.pragma('data_version', { simple: true }));
    const changes = this.#pluck('SELECT total_changes()').get();
    return `${version}:${changes}`;
  }

  /** Prepared statements are cached per SQL text. */
  #stmt(sql: string): Database.Statement {
    let stmt = this.#statements.get(sql);
    if (!stmt) {
      stmt = this.#db.prepare(sql);
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  /**
   * All rows of a read as plain objects. Fetching raw arrays and naming the columns here takes about
   * half the time of better-sqlite3's own row objects on 10k-row reads.
   */
  #all(sql: string, ...params: unknown[]): Record<string, unknown>[] {
    const columns = this.#rawQuery(sql).columns;
    return this.#raw(sql, ...params).map((values) => {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[i];
      return row;
    });
  }

  /** All rows of a read as arrays, in the order of the selected columns (for the lean decoders). */
  #raw(sql: string, ...params: unknown[]): unknown[][] {
    return this.#rawQuery(sql).stmt.all(...params) as unknown[][];
  }

  /** A statement returning its first column only, prepared once per SQL text. */
  #pluck(sql: string): Database.Statement {
    let stmt = this.#plucked.get(sql);
    if (!stmt) {
      stmt = this.#db.prepare(sql).pluck(true);
      this.#plucked.set(sql, stmt);
    }
    return stmt;
  }

  /** A raw-mode statement and its column names, prepared once per SQL text. */
  #rawQuery(sql: string): { stmt: Database.Statement; columns: string[] } {
    let query = this.#queries.get(sql);
    if (!query) {
      const stmt = this.#db.prepare(sql).raw(true);
      query = { stmt, columns: stmt.columns().map((c) => c.name) };
      this.#queries.set(sql, query);
    }
    return query;
  }

  /** Runs `fn` in a BEGIN IMMEDIATE transaction, retried as a whole on SQLITE_BUSY. */
  #write<T>(fn: () => T): T {
    const tx = this.#db.transaction(fn);
    return withBusyRetry(() => tx.immediate());
  }

  // ---- runs -----------------------------------------------------------------------------------

  createRun(run: RunRecord): void {
    const insert = this.#stmt(
      `INSERT INTO runs (run_id, selection, partition, stale_only, status, reason, pid, hostname, created_at,
           started_at, finished_at, heartbeat_at, plan, tags)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const values = [
      run.run_id,
      run.selection,
      run.partition,
      bit(run.stale_only),
      run.status,
      run.reason,
      run.pid,
      run.hostname,
      run.created_at,
      run.started_at,
      run.finished_at,
      run.heartbeat_at,
      json(run.plan),
      json(run.tags),
    ];
    try {
      withBusyRetry(() => insert.run(...values));
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw e;
      throw new StoreError(
        'STORE_RUN_EXISTS',
        `Run '${run.run_id}' already exists; run ids must be unique (generate them with ulid()).`,
        { run_id: run.run_id },
        e,
      );
    }
  }

  updateRun(runId: string, patch: Partial<Omit<RunRecord, 'run_id'>>): void {
    const columns = RUN_COLUMNS.filter((c) => patch[c] !== undefined);
    if (columns.length === 0) {
      if (!this.getRun(runId)) this.#runNotFound(runId);
      return;
    }
    const sql = `UPDATE runs SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE run_id = ?`;
    const values = columns.map((c) => runColumnValue(c, patch[c]));
    const info = withBusyRetry(() => this.#stmt(sql).run(...values, runId));
    if (info.changes === 0) this.#runNotFound(runId);
  }

  getRun(runId: string): RunRecord | undefined {
    const row = withBusyRetry(() => this.#stmt('SELECT * FROM runs WHERE run_id = ?').get(runId));
    return row === undefined ? undefined : decodeRuns([row])[0];
  }

  listRuns(opts: { status?: RunStatus; limit: number; before?: string }): Page<RunRecord> {
    const limit = Math.max(0, Math.floor(opts.limit));
    const rows = withBusyRetry(() =>
      this.#all(
        `SELECT * FROM runs
         WHERE (@status IS NULL OR status = @status) AND (@before IS NULL OR run_id < @before)
         ORDER BY run_id DESC LIMIT @limit`,
        { status: opts.status ?? null, before: opts.before ?? null, limit: limit + 1 },
      ),
    );
    const items = decodeRuns(rows.slice(0, limit));
    const next = rows.length > limit ? (items.at(-1)?.run_id ?? null) : null;
    return { items, next };
  }

  activeRuns(): RunRecord[] {
    const rows = withBusyRetry(() =>
      this.#all(`SELECT * FROM runs WHERE status IN ('QUEUED', 'STARTED') ORDER BY run_id`),
    );
    return decodeRuns(rows);
  }

  heartbeat(runId: string, ts: string): void {
    const info = withBusyRetry(() => this.#stmt('UPDATE runs SET heartbeat_at = ? WHERE run_id = ?').run(ts, runId));
    if (info.changes === 0) this.#runNotFound(runId);
  }

  #runNotFound(runId: string): never {
    throw new StoreError('STORE_RUN_NOT_FOUND', `Run '${runId}' does not exist in ${this.path}.`, { run_id: runId });
  }

  // ---- events ---------------------------------------------------------------------------------

  requestCancel(runId: string, reason: string, now: string): boolean {
    const active = this.#stmt("SELECT 1 FROM runs WHERE run_id = ? AND status IN ('QUEUED', 'STARTED')");
    const insert = this.#stmt(
      `INSERT INTO run_cancel_requests (run_id, requested_at, reason) VALUES (?, ?, ?)
       ON CONFLICT (run_id) DO NOTHING`,
    );
    return this.#write(() => {
      if (!active.get(runId)) return false;
      insert.run(runId, now, reason);
      return true;
    });
  }

  cancelRequest(runId: string): { requested_at: string; reason: string } | undefined {
    return withBusyRetry(
      () =>
        this.#stmt('SELECT requested_at, reason FROM run_cancel_requests WHERE run_id = ?').get(runId) as
          | { requested_at: string; reason: string }
          | undefined,
    );
  }

  appendEvents(events: EventRecord[]): number[] {
    if (events.length === 0) return [];
    const insert = this.#stmt(
      `INSERT INTO events (run_id, ts, type, asset_key, partition_key, level, message, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    return this.#write(() =>
      events.map((e) =>
        Number(
          insert.run(e.run_id, e.ts, e.type, e.asset_key, e.partition_key, e.level, e.message, json(e.data))
            .lastInsertRowid,
        ),
      ),
    );
  }

  getEvents(runId: string, opts: { afterId?: number; limit?: number } = {}): EventRecord[] {
    const rows = withBusyRetry(() =>
      this.#all(
        'SELECT * FROM events WHERE run_id = ? AND event_id > ? ORDER BY event_id LIMIT ?',
        runId,
        opts.afterId ?? 0,
        opts.limit ?? -1,
      ),
    );
    return decodeEvents(rows);
  }

  // ---- materializations -----------------------------------------------------------------------

  recordMaterialization(m: MaterializationRecord): number {
    const info = withBusyRetry(() =>
      this.#stmt(
        `INSERT INTO materializations (asset_key, partition_key, run_id, ts, data_version, code_version,
           input_versions, deps, metadata)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        m.asset_key,
        m.partition_key,
        m.run_id,
        m.ts,
        m.data_version,
        m.code_version,
        json(m.input_versions),
        json(m.deps),
        json(m.metadata),
      ),
    );
    return Number(info.lastInsertRowid);
  }

  latestMaterializations(keys: string[], opts: PartitionScope = {}): Map<string, Map<string, MaterializationRecord>> {
    if (keys.length === 0) return new Map();
    const rows = withBusyRetry(() =>
      this.#all(
        `SELECT m.* FROM asset_partitions p JOIN materializations m ON m.id = p.materialization_id
         WHERE p.asset_key IN (SELECT value FROM json_each(?)) ${scopeFilter(opts, 'p.')}
         ORDER BY p.asset_key, p.partition_key`,
        ...scopeParams(keys, opts),
      ),
    );
    return byKeyAndPartition(decodeMaterializations(rows));
  }

  latestMaterializationHeads(
    keys: string[],
    opts: PartitionScope = {},
  ): Map<string, Map<string, MaterializationRecord>> {
    // The partition state holds each latest record's head: the metadata entry staleness reads is kept
    // apart, so no metadata JSON is read (decoding a Silver partition's ~4-6 KB per row dominated status).
    return decodeHeads(this.#partitionState(HEAD_COLUMNS, 'materialization_id', keys, opts));
  }

  materializationsOfRun(runId: string): MaterializationRecord[] {
    const rows = withBusyRetry(() => this.#all('SELECT * FROM materializations WHERE run_id = ? ORDER BY id', runId));
    return decodeMaterializations(rows);
  }

  materializationHistory(
    key: string,
    opts: { partition?: string; limit: number; before?: number },
  ): Page<MaterializationRecord> {
    const limit = Math.max(0, Math.floor(opts.limit));
    const rows = withBusyRetry(() =>
      this.#all(
        // one statement per shape, so each walks an index backwards instead of sorting the asset's history
        `SELECT * FROM materializations
         WHERE asset_key = @key ${opts.partition === undefined ? '' : 'AND partition_key = @partition'}
           ${opts.before === undefined ? '' : 'AND id < @before'}
         ORDER BY id DESC LIMIT @limit`,
        {
          key,
          limit: limit + 1,
          ...(opts.partition === undefined ? {} : { partition: opts.partition }),
          ...(opts.before === undefined ? {} : { before: opts.before }),
        },
      ),
    );
    const items = decodeMaterializations(rows.slice(0, limit));
    const next = rows.length > limit ? (items.at(-1)?.id ?? null) : null;
    return { items, next };
  }

  // ---- step attempts --------------------------------------------------------------------------

  recordStepAttempt(a: StepAttemptRecord): void {
    // One row per (run, asset, partition): later writes in the same run update it in place.
    withBusyRetry(() =>
      this.#stmt(
        `INSERT INTO step_attempts (asset_key, partition_key, run_id, status, started_at, finished_at, duration_ms,
           attempts, reason)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id, asset_key, partition_key) DO UPDATE SET
           status = excluded.status, started_at = excluded.started_at, finished_at = excluded.finished_at,
           duration_ms = excluded.duration_ms, attempts = excluded.attempts, reason = excluded.reason`,
      ).run(
        a.asset_key,
        a.partition_key,
        a.run_id,
        a.status,
        a.started_at,
        a.finished_at,
        a.duration_ms,
        a.attempts,
        a.reason,
      ),
    );
  }

  materializedPartitionKeys(key: string, range: KeyRange = {}): string[] {
    const conditions = ['asset_key = ?', 'materialization_id IS NOT NULL'];
    const params = [key];
    if (range.from !== undefined) {
      conditions.push('partition_key >= ?');
      params.push(range.from);
    }
    if (range.before !== undefined) {
      conditions.push('partition_key < ?');
      params.push(range.before);
    }
    const sql = `SELECT partition_key FROM asset_partitions INDEXED BY idx_asset_partitions_materialized
                 WHERE ${conditions.join(' AND ')} ORDER BY partition_key`;
    return withBusyRetry(() => this.#pluck(sql).all(...params) as string[]);
  }

  materializedKeyRuns(key: string, bounds: readonly string[]): MaterializedKeyRun[] {
    // one string per range: at a million partitions, making a JavaScript string per key costs most of the read
    const select = `SELECT count(*), coalesce(group_concat(partition_key, char(10)), '')
                    FROM asset_partitions INDEXED BY idx_asset_partitions_materialized
                    WHERE asset_key = ? AND materialization_id IS NOT NULL AND partition_key >= ?`;
    const closed = this.#rawQuery(`${select} AND partition_key < ?`).stmt;
    const open = this.#rawQuery(select).stmt;
    // one read transaction: every range from the same snapshot
    const read = this.#db.transaction(() =>
      bounds.map((from, i) => {
        const before = bounds[i + 1];
        const [count, joined] = (before === undefined ? open.get(key, from) : closed.get(key, from, before)) as [
          number,
          string,
        ];
        return { count, joined };
      }),
    );
    return withBusyRetry(() => read());
  }

  materializedVersions(key: string): Map<string, string> {
    const sql = `SELECT partition_key, data_version FROM asset_partitions
                 WHERE asset_key = ? AND materialization_id IS NOT NULL ORDER BY partition_key`;
    return new Map(withBusyRetry(() => this.#raw(sql, key)) as [string, string][]);
  }

  stalenessCandidates(key: string, spec: StalenessCandidateSpec): string[] {
    if (spec.identityDeps.length === 0 && spec.fixedDeps.length === 0) return this.#versionCandidates(key, spec);
    // One scan of the asset's rows (its primary-key range) joined 1:1 to each identity upstream's row.
    const joins = spec.identityDeps.map(
      (_, i) => `LEFT JOIN asset_partitions u${i} ON u${i}.asset_key = ? AND u${i}.partition_key = a.partition_key`,
    );
    const conditions = [
      "a.attempt_status = 'RUNNING'",
      "(a.attempt_status IN ('FAILURE', 'CANCELED') AND coalesce(a.attempt_finished_at, '') > a.ts)",
      'a.code_version IS NOT ?',
      'a.deps IS NOT ?',
      ...spec.identityDeps.map((_, i) => `json_extract(a.input_versions, ?) IS NOT u${i}.data_version`),
      ...spec.fixedDeps.map(() => 'json_extract(a.input_versions, ?) IS NOT ?'),
    ];
    const sql = `SELECT a.partition_key FROM asset_partitions a ${joins.join(' ')}
                 WHERE a.asset_key = ? AND a.materialization_id IS NOT NULL AND (${conditions.join(' OR ')})
                 ORDER BY a.partition_key`;
    const path = (dep: string) => `$.${JSON.stringify(dep)}`;
    const params = [
      ...spec.identityDeps,
      key,
      spec.codeVersion,
      spec.depsJson,
      ...spec.identityDeps.map(path),
      ...spec.fixedDeps.flatMap((d) => [path(d.key), d.dataVersion]),
    ];
    return withBusyRetry(() => this.#pluck(sql).all(...params) as string[]);
  }

  /**
   * The candidates of an asset without upstreams: the same conditions as the scan, each an index range, so
   * only the rows that match are read. `x IS NOT v` (v not null) is `x < v`, `x > v` or `x IS NULL`.
   */
  #versionCandidates(key: string, spec: StalenessCandidateSpec): string[] {
    const versions = `SELECT partition_key FROM asset_partitions INDEXED BY idx_asset_partitions_versions
                      WHERE asset_key = @key AND materialization_id IS NOT NULL AND`;
    const sql = [
      ...['code_version < @code', 'code_version > @code', 'code_version IS NULL'],
      ...['deps < @deps', 'deps > @deps', 'deps IS NULL'].map((d) => `code_version = @code AND ${d}`),
    ]
      .map((condition) => `${versions} ${condition}`)
      .concat(
        `SELECT partition_key FROM asset_partitions INDEXED BY idx_asset_partitions_attempts
         WHERE asset_key = @key AND attempt_status IN ('RUNNING', 'FAILURE', 'CANCELED')
           AND materialization_id IS NOT NULL
           AND (attempt_status = 'RUNNING' OR coalesce(attempt_finished_at, '') > ts)`,
      )
      .join(' UNION ALL ');
    const rows = withBusyRetry(
      () => this.#pluck(sql).all({ key, code: spec.codeVersion, deps: spec.depsJson }) as string[],
    );
    // a partition both of another version and with a newer failure is listed twice; the scan's order
    return [...new Set(rows)].sort();
  }

  latestStepAttempts(keys: string[], opts: PartitionScope = {}): Map<string, Map<string, StepAttemptRecord>> {
    return decodeAttempts(this.#partitionState(ATTEMPT_COLUMNS, 'attempt_id', keys, opts));
  }

  /** Rows of the partition state of `keys` that have a `present` record (a materialization or an attempt). */
  #partitionState(
    columns: string,
    present: 'materialization_id' | 'attempt_id',
    keys: string[],
    opts: PartitionScope,
  ): unknown[][] {
    if (keys.length === 0) return [];
    return withBusyRetry(() =>
      this.#raw(
        `SELECT ${columns} FROM asset_partitions
         WHERE asset_key IN (SELECT value FROM json_each(?)) AND ${present} IS NOT NULL ${scopeFilter(opts, '')}
         ORDER BY asset_key, partition_key`,
        ...scopeParams(keys, opts),
      ),
    );
  }

  stepAttemptsOfRun(runId: string): StepAttemptRecord[] {
    const rows = withBusyRetry(() => this.#all('SELECT * FROM step_attempts WHERE run_id = ? ORDER BY id', runId));
    return decodeStepAttempts(rows);
  }

  recentDurations(keys: string[], limitPerKey: number): Map<string, number[]> {
    const out = new Map<string, number[]>();
    if (keys.length === 0 || limitPerKey <= 0) return out;
    // The newest few per asset through the partial index, one short range each: a window over every
    // success (a million at a million partitions) took 1.5 s of a daemon tick.
    const rows = withBusyRetry(() =>
      this.#all(
        `SELECT k.value AS asset_key, s.duration_ms
         FROM (SELECT DISTINCT value FROM json_each(?)) k
         JOIN step_attempts s ON s.id IN (
           SELECT id FROM step_attempts
           WHERE asset_key = k.value AND status = 'SUCCESS' AND duration_ms IS NOT NULL
           ORDER BY id DESC LIMIT ?)
         ORDER BY k.value, s.id DESC`,
        json(keys),
        limitPerKey,
      ),
    ) as { asset_key: string; duration_ms: number }[];
    for (const row of rows) {
      const list = out.get(row.asset_key);
      if (list) list.push(row.duration_ms);
      else out.set(row.asset_key, [row.duration_ms]);
    }
    return out;
  }

  // ---- checks ---------------------------------------------------------------------------------

  recordCheckEvaluations(evals: CheckEvaluationRecord[]): void {
    if (evals.length === 0) return;
    const insert = this.#stmt(
      `INSERT INTO check_evaluations (asset_key, partition_key, check_name, run_id, ts, passed, severity, blocking,
         failures, description, metadata)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#write(() => {
      for (const e of evals) {
        insert.run(
          e.asset_key,
          e.partition_key,
          e.check_name,
          e.run_id,
          e.ts,
          bit(e.passed),
          e.severity,
          bit(e.blocking),
          e.failures,
          e.description,
          json(e.metadata),
        );
      }
    });
  }

  latestCheckEvaluations(keys: string[], opts: PartitionScope = {}): CheckEvaluationRecord[] {
    if (keys.length === 0) return [];
    const rows = withBusyRetry(() =>
      this.#all(
        `SELECT c.* FROM latest_check_evaluations l JOIN check_evaluations c ON c.id = l.evaluation_id
         WHERE l.asset_key IN (SELECT value FROM json_each(?)) ${scopeFilter(opts, 'l.')}
         ORDER BY l.asset_key, l.partition_key, l.check_name`,
        ...scopeParams(keys, opts),
      ),
    );
    return decodeCheckEvaluations(rows);
  }

  runCountsByStatus(): Partial<Record<RunStatus, number>> {
    const rows = withBusyRetry(() => this.#stmt('SELECT status, count(*) AS n FROM runs GROUP BY status').all()) as {
      status: RunStatus;
      n: number;
    }[];
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  collectGarbage(before: string, opts: { dryRun?: boolean } = {}): RetentionResult {
    return withBusyRetry(() => collectGarbage(this.#db, before, opts));
  }

  vacuum(): { before: number; after: number } {
    // the main file's size once the write-ahead log is folded into it
    const size = () => {
      withBusyRetry(() => this.#db.pragma('wal_checkpoint(TRUNCATE)'));
      return statSync(this.path).size;
    };
    const bytesBefore = size();
    withBusyRetry(() => this.#db.exec('VACUUM'));
    return { before: bytesBefore, after: size() };
  }

  rebuildPartitionState(): { partitions: number; checks: number } {
    return this.#write(() => {
      this.#db.exec(REBUILD_PARTITION_STATE);
      const count = (table: string) =>
        (this.#db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      return { partitions: count('asset_partitions'), checks: count('latest_check_evaluations') };
    });
  }

  checkEvaluationsOfRun(runId: string): CheckEvaluationRecord[] {
    const rows = withBusyRetry(() => this.#all('SELECT * FROM check_evaluations WHERE run_id = ? ORDER BY id', runId));
    return decodeCheckEvaluations(rows);
  }

  // ---- compute logs ---------------------------------------------------------------------------

  recordComputeLog(log: ComputeLogRecord): void {
    // A log file is identified by its path; recording it again updates its size.
    withBusyRetry(() =>
      this.#stmt(
        `INSERT INTO compute_logs (run_id, asset_key, partition_key, path, stream, bytes) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id, path) DO UPDATE SET
           asset_key = excluded.asset_key, partition_key = excluded.partition_key,
           stream = excluded.stream, bytes = excluded.bytes`,
      ).run(log.run_id, log.asset_key, log.partition_key, log.path, log.stream, log.bytes),
    );
  }

  computeLogs(runId: string): ComputeLogRecord[] {
    const rows = withBusyRetry(() => this.#all('SELECT * FROM compute_logs WHERE run_id = ? ORDER BY id', runId));
    return decodeComputeLogs(rows);
  }

  // ---- partition locks ------------------------------------------------------------------------

  claimPartitions(runId: string, targets: { asset_key: string; partition_key: string }[]): PartitionLock[] {
    if (targets.length === 0) return [];
    const list = json(targets.map((t) => [t.asset_key, t.partition_key]));
    const conflicts = this.#stmt(
      `SELECT l.asset_key, l.partition_key, l.run_id FROM partition_locks l
       JOIN json_each(@list) t ON l.asset_key = t.value ->> 0 AND l.partition_key = t.value ->> 1
       WHERE l.run_id <> @run_id
       ORDER BY l.asset_key, l.partition_key`,
    );
    const insert = this.#stmt(
      `INSERT INTO partition_locks (asset_key, partition_key, run_id, claimed_at)
       SELECT value ->> 0, value ->> 1, @run_id, @claimed_at FROM json_each(@list) WHERE true
       ON CONFLICT (asset_key, partition_key) DO NOTHING`,
    );
    return this.#write(() => {
      const held = decodePartitionLocks(conflicts.all({ list, run_id: runId }));
      if (held.length === 0) insert.run({ list, run_id: runId, claimed_at: new Date().toISOString() });
      return held;
    });
  }

  releasePartitions(runId: string): void {
    withBusyRetry(() => this.#stmt('DELETE FROM partition_locks WHERE run_id = ?').run(runId));
  }

  // ---- child processes of steps --------------------------------------------------------------

  recordChildProcess(child: ChildProcessRecord): void {
    withBusyRetry(() =>
      this.#stmt(
        `INSERT INTO run_child_processes (run_id, pgid, asset_key, partition_key, started_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (run_id, pgid) DO UPDATE SET
           asset_key = excluded.asset_key, partition_key = excluded.partition_key, started_at = excluded.started_at`,
      ).run(child.run_id, child.pgid, child.asset_key, child.partition_key, child.started_at),
    );
  }

  forgetChildProcesses(runId: string, pgid?: number): void {
    withBusyRetry(() =>
      this.#stmt('DELETE FROM run_child_processes WHERE run_id = ? AND (? IS NULL OR pgid = ?)').run(
        runId,
        pgid ?? null,
        pgid ?? null,
      ),
    );
  }

  childProcesses(runIds?: readonly string[]): ChildProcessRecord[] {
    const rows = withBusyRetry(() =>
      this.#all(
        `SELECT * FROM run_child_processes
         WHERE ? IS NULL OR run_id IN (SELECT value FROM json_each(?))
         ORDER BY run_id, pgid`,
        runIds ? json(runIds) : null,
        runIds ? json(runIds) : null,
      ),
    );
    return decodeChildProcesses(rows);
  }

  // ---- leases and cursors ---------------------------------------------------------------------

  acquireLease(name: string, holder: string, ttlMs: number, now: Date, replacing?: string): boolean {
    const nowMs = now.getTime();
    const upsert = this.#stmt(
      `INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @expires_at)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.holder = excluded.holder OR leases.expires_at <= @now OR leases.holder = @replacing`,
    );
    const current = this.#stmt('SELECT holder FROM leases WHERE name = ?');
    return this.#write(() => {
      upsert.run({ name, holder, expires_at: nowMs + ttlMs, now: nowMs, replacing: replacing ?? null });
      return (current.get(name) as { holder: string } | undefined)?.holder === holder;
    });
  }

  leaseHolder(name: string): string | undefined {
    const row = withBusyRetry(() => this.#stmt('SELECT holder FROM leases WHERE name = ?').get(name)) as
      | { holder: string }
      | undefined;
    return row?.holder;
  }

  releaseLease(name: string, holder: string): void {
    withBusyRetry(() => this.#stmt('DELETE FROM leases WHERE name = ? AND holder = ?').run(name, holder));
  }

  getCursor(name: string): string | undefined {
    const row = withBusyRetry(() => this.#stmt('SELECT value FROM cursors WHERE name = ?').get(name)) as
      | { value: string }
      | undefined;
    return row?.value;
  }

  setCursor(name: string, value: string): void {
    withBusyRetry(() =>
      this.#stmt(
        'INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
      ).run(name, value),
    );
  }

  addToCursor(name: string, n: number): void {
    withBusyRetry(() =>
      this.#stmt(
        'INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE ' +
          'SET value = CAST(CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER) AS TEXT)',
      ).run(name, String(Math.trunc(n))),
    );
  }

  // ---- scheduler ticks and decisions ----------------------------------------------------------

  beginTick(tick: SchedulerTickRecord): { tick: SchedulerTickRecord; created: boolean } {
    const insert = this.#stmt(
      `INSERT INTO scheduler_ticks (tick_id, holder, status, started_at, finished_at, evaluated, error)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tick_id) DO NOTHING`,
    );
    return this.#write(() => {
      const { changes } = insert.run(
        tick.tick_id,
        tick.holder,
        tick.status,
        tick.started_at,
        tick.finished_at,
        json(tick.evaluated),
        tick.error,
      );
      const stored = decodeSchedulerTicks(
        this.#all('SELECT * FROM scheduler_ticks WHERE tick_id = ?', tick.tick_id),
      )[0]!;
      return { tick: stored, created: changes === 1 };
    });
  }

  finishTick(
    tickId: number,
    patch: Pick<SchedulerTickRecord, 'status' | 'finished_at' | 'error'> & { evaluated?: Record<string, unknown> },
  ): void {
    withBusyRetry(() =>
      this.#stmt(
        `UPDATE scheduler_ticks SET status = ?, finished_at = ?, error = ?, evaluated = coalesce(?, evaluated)
         WHERE tick_id = ?`,
      ).run(patch.status, patch.finished_at, patch.error, patch.evaluated ? json(patch.evaluated) : null, tickId),
    );
  }

  listTicks(opts: { limit: number; before?: number }): Page<SchedulerTickRecord> {
    const rows = withBusyRetry(() =>
      this.#all(
        'SELECT * FROM scheduler_ticks WHERE tick_id < ? ORDER BY tick_id DESC LIMIT ?',
        opts.before ?? Number.MAX_SAFE_INTEGER,
        opts.limit + 1,
      ),
    );
    const items = decodeSchedulerTicks(rows.slice(0, opts.limit));
    return { items, next: rows.length > opts.limit ? (items.at(-1)?.tick_id ?? null) : null };
  }

  recordDecisions(decisions: SchedulerDecisionRecord[]): void {
    if (decisions.length === 0) return;
    const insert = this.#stmt(
      `INSERT INTO scheduler_decisions (tick_id, asset_key, partition_key, action, reason, due_at, expected_ms,
           run_id, selection, run_partition, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (tick_id, asset_key, partition_key) DO NOTHING`,
    );
    this.#write(() => {
      for (const d of decisions) {
        insert.run(
          d.tick_id,
          d.asset_key,
          d.partition_key,
          d.action,
          d.reason,
          d.due_at,
          d.expected_ms,
          d.run_id,
          d.selection,
          d.run_partition,
          d.created_at,
        );
      }
    });
  }

  decisionsOfRun(runId: string): SchedulerDecisionRecord[] {
    return decodeSchedulerDecisions(
      withBusyRetry(() => this.#all('SELECT * FROM scheduler_decisions WHERE run_id = ? ORDER BY id', runId)),
    );
  }

  tickDecisions(tickIds: number[]): SchedulerDecisionRecord[] {
    if (tickIds.length === 0) return [];
    const rows = withBusyRetry(() =>
      this.#all(
        'SELECT * FROM scheduler_decisions WHERE tick_id IN (SELECT value FROM json_each(?)) ORDER BY id',
        json(tickIds),
      ),
    );
    return decodeSchedulerDecisions(rows);
  }

  launchDecisionsSince(keys: string[], since: string): SchedulerDecisionRecord[] {
    if (keys.length === 0) return [];
    const rows = withBusyRetry(() =>
      this.#all(
        `SELECT * FROM scheduler_decisions
         WHERE action = 'launch' AND asset_key IN (SELECT value FROM json_each(?)) AND created_at > ?
         ORDER BY id`,
        json(keys),
        since,
      ),
    );
    return decodeSchedulerDecisions(rows);
  }
}

/** The partition condition of a scoped read (`prefix` is the table alias with its dot). */
function scopeFilter(opts: PartitionScope, prefix: string): string {
  return opts.partitions ? `AND ${prefix}partition_key IN (SELECT value FROM json_each(?))` : '';
}

/** Parameters of a read scoped to some assets and, optionally, some of their partitions. */
function scopeParams(keys: string[], opts: PartitionScope): string[] {
  return opts.partitions ? [json(keys), json(opts.partitions)] : [json(keys)];
}
