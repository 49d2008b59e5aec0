import { withBusyRetry } from './busy-retry.ts';
import type { ChildProcessRecord, ComputeLogRecord, PartitionLock, RunRecord } from './rows.ts';
import {
  bit,
  decodeChildProcesses,
  decodeComputeLogs,
  decodePartitionLocks,
  decodeRuns,
  json,
  RUN_COLUMNS,
  runColumnValue,
} from './rows.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { StoreError } from './store-error.ts';
import type { Page, RunStatus, RunStorage } from './types.ts';

/** Runs and what belongs to a run while it lives: cancel requests, partition locks, child processes, compute logs. */
export function sqliteRunStorage(db: SqliteDb): RunStorage {
  function runNotFound(runId: string): never {
    throw new StoreError('STORE_RUN_NOT_FOUND', `Run '${runId}' does not exist in ${db.path}.`, { run_id: runId });
  }

  const getRun = (runId: string): RunRecord | undefined => {
    const row = withBusyRetry(() => db.stmt('SELECT * FROM runs WHERE run_id = ?').get(runId));
    return row === undefined ? undefined : decodeRuns([row])[0];
  };

  return {
    createRun(run: RunRecord): void {
      const insert = db.stmt(
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
    },

    updateRun(runId: string, patch: Partial<Omit<RunRecord, 'run_id'>>): void {
      const columns = RUN_COLUMNS.filter((c) => patch[c] !== undefined);
      if (columns.length === 0) {
        if (!getRun(runId)) runNotFound(runId);
        return;
      }
      const sql = `UPDATE runs SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE run_id = ?`;
      const values = columns.map((c) => runColumnValue(c, patch[c]));
      const info = withBusyRetry(() => db.stmt(sql).run(...values, runId));
      if (info.changes === 0) runNotFound(runId);
    },

    getRun,

    listRuns(opts: { status?: RunStatus; limit: number; before?: string }): Page<RunRecord> {
      const limit = Math.max(0, Math.floor(opts.limit));
      const rows = withBusyRetry(() =>
        db.all(
          `SELECT * FROM runs
           WHERE (@status IS NULL OR status = @status) AND (@before IS NULL OR run_id < @before)
           ORDER BY run_id DESC LIMIT @limit`,
          { status: opts.status ?? null, before: opts.before ?? null, limit: limit + 1 },
        ),
      );
      const items = decodeRuns(rows.slice(0, limit));
      const next = rows.length > limit ? (items.at(-1)?.run_id ?? null) : null;
      return { items, next };
    },

    activeRuns(): RunRecord[] {
      const rows = withBusyRetry(() =>
        db.all(`SELECT * FROM runs WHERE status IN ('QUEUED', 'STARTED') ORDER BY run_id`),
      );
      return decodeRuns(rows);
    },

    heartbeat(runId: string, ts: string): void {
      const info = withBusyRetry(() => db.stmt('UPDATE runs SET heartbeat_at = ? WHERE run_id = ?').run(ts, runId));
      if (info.changes === 0) runNotFound(runId);
    },

    runCountsByStatus(): Partial<Record<RunStatus, number>> {
      const rows = withBusyRetry(() => db.stmt('SELECT status, count(*) AS n FROM runs GROUP BY status').all()) as {
        status: RunStatus;
        n: number;
      }[];
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },

    requestCancel(runId: string, reason: string, now: string): boolean {
      const active = db.stmt("SELECT 1 FROM runs WHERE run_id = ? AND status IN ('QUEUED', 'STARTED')");
      const insert = db.stmt(
        `INSERT INTO run_cancel_requests (run_id, requested_at, reason) VALUES (?, ?, ?)
         ON CONFLICT (run_id) DO NOTHING`,
      );
      return db.write(() => {
        if (!active.get(runId)) return false;
        insert.run(runId, now, reason);
        return true;
      });
    },

    cancelRequest(runId: string): { requested_at: string; reason: string } | undefined {
      return withBusyRetry(
        () =>
          db.stmt('SELECT requested_at, reason FROM run_cancel_requests WHERE run_id = ?').get(runId) as
            | { requested_at: string; reason: string }
            | undefined,
      );
    },

    claimPartitions(runId: string, targets: { asset_key: string; partition_key: string }[]): PartitionLock[] {
      if (targets.length === 0) return [];
      const list = json(targets.map((t) => [t.asset_key, t.partition_key]));
      const conflicts = db.stmt(
        `SELECT l.asset_key, l.partition_key, l.run_id FROM partition_locks l
         JOIN json_each(@list) t ON l.asset_key = t.value ->> 0 AND l.partition_key = t.value ->> 1
         WHERE l.run_id <> @run_id
         ORDER BY l.asset_key, l.partition_key`,
      );
      const insert = db.stmt(
        `INSERT INTO partition_locks (asset_key, partition_key, run_id, claimed_at)
         SELECT value ->> 0, value ->> 1, @run_id, @claimed_at FROM json_each(@list) WHERE true
         ON CONFLICT (asset_key, partition_key) DO NOTHING`,
      );
      return db.write(() => {
        const held = decodePartitionLocks(conflicts.all({ list, run_id: runId }));
        if (held.length === 0) insert.run({ list, run_id: runId, claimed_at: new Date().toISOString() });
        return held;
      });
    },

    releasePartitions(runId: string): void {
      withBusyRetry(() => db.stmt('DELETE FROM partition_locks WHERE run_id = ?').run(runId));
    },

    recordChildProcess(child: ChildProcessRecord): void {
      withBusyRetry(() =>
        db
          .stmt(
            `INSERT INTO run_child_processes (run_id, pgid, asset_key, partition_key, started_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (run_id, pgid) DO UPDATE SET
             asset_key = excluded.asset_key, partition_key = excluded.partition_key, started_at = excluded.started_at`,
          )
          .run(child.run_id, child.pgid, child.asset_key, child.partition_key, child.started_at),
      );
    },

    forgetChildProcesses(runId: string, pgid?: number): void {
      withBusyRetry(() =>
        db
          .stmt('DELETE FROM run_child_processes WHERE run_id = ? AND (? IS NULL OR pgid = ?)')
          .run(runId, pgid ?? null, pgid ?? null),
      );
    },

    childProcesses(runIds?: readonly string[]): ChildProcessRecord[] {
      const rows = withBusyRetry(() =>
        db.all(
          `SELECT * FROM run_child_processes
           WHERE ? IS NULL OR run_id IN (SELECT value FROM json_each(?))
           ORDER BY run_id, pgid`,
          runIds ? json(runIds) : null,
          runIds ? json(runIds) : null,
        ),
      );
      return decodeChildProcesses(rows);
    },

    recordComputeLog(log: ComputeLogRecord): void {
      // A log file is identified by its path; recording it again updates its size.
      withBusyRetry(() =>
        db
          .stmt(
            `INSERT INTO compute_logs (run_id, asset_key, partition_key, path, stream, bytes) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id, path) DO UPDATE SET
             asset_key = excluded.asset_key, partition_key = excluded.partition_key,
             stream = excluded.stream, bytes = excluded.bytes`,
          )
          .run(log.run_id, log.asset_key, log.partition_key, log.path, log.stream, log.bytes),
      );
    },

    computeLogs(runId: string): ComputeLogRecord[] {
      const rows = withBusyRetry(() => db.all('SELECT * FROM compute_logs WHERE run_id = ? ORDER BY id', runId));
      return decodeComputeLogs(rows);
    },
  };
}
