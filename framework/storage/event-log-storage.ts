import { withBusyRetry } from './busy-retry.ts';
import type { CheckEvaluationRecord, EventRecord, MaterializationRecord, StepAttemptRecord } from './rows.ts';
import { bit, decodeCheckEvaluations, decodeEvents, decodeMaterializations, decodeStepAttempts, json } from './rows.ts';
import type { SqliteDb } from './sqlite-db.ts';
import type { EventLogStorage, Page } from './types.ts';

/**
 * The history: events, materializations, step attempts and check evaluations as runs record them (the
 * partition state beside it is kept by triggers in the same transaction: `partition-state-storage.ts`).
 */
export function sqliteEventLogStorage(db: SqliteDb): EventLogStorage {
  return {
    appendEvents(events: EventRecord[]): number[] {
      if (events.length === 0) return [];
      const insert = db.stmt(
        `INSERT INTO events (run_id, ts, type, asset_key, partition_key, level, message, data)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      return db.write(() =>
        events.map((e) =>
          Number(
            insert.run(e.run_id, e.ts, e.type, e.asset_key, e.partition_key, e.level, e.message, json(e.data))
              .lastInsertRowid,
          ),
        ),
      );
    },

    getEvents(runId: string, opts: { afterId?: number; limit?: number } = {}): EventRecord[] {
      const rows = withBusyRetry(() =>
        db.all(
          'SELECT * FROM events WHERE run_id = ? AND event_id > ? ORDER BY event_id LIMIT ?',
          runId,
          opts.afterId ?? 0,
          opts.limit ?? -1,
        ),
      );
      return decodeEvents(rows);
    },

    recordMaterialization(m: MaterializationRecord): number {
      const info = withBusyRetry(() =>
        db
          .stmt(
            `INSERT INTO materializations (asset_key, partition_key, run_id, ts, data_version, code_version,
             input_versions, deps, metadata)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
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
    },

    materializationsOfRun(runId: string): MaterializationRecord[] {
      const rows = withBusyRetry(() => db.all('SELECT * FROM materializations WHERE run_id = ? ORDER BY id', runId));
      return decodeMaterializations(rows);
    },

    materializationHistory(
      key: string,
      opts: { partition?: string; limit: number; before?: number },
    ): Page<MaterializationRecord> {
      const limit = Math.max(0, Math.floor(opts.limit));
      const rows = withBusyRetry(() =>
        db.all(
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
    },

    recordStepAttempt(a: StepAttemptRecord): void {
      // One row per (run, asset, partition): later writes in the same run update it in place.
      withBusyRetry(() =>
        db
          .stmt(
            `INSERT INTO step_attempts (asset_key, partition_key, run_id, status, started_at, finished_at, duration_ms,
             attempts, reason)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id, asset_key, partition_key) DO UPDATE SET
             status = excluded.status, started_at = excluded.started_at, finished_at = excluded.finished_at,
             duration_ms = excluded.duration_ms, attempts = excluded.attempts, reason = excluded.reason`,
          )
          .run(
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
    },

    stepAttemptsOfRun(runId: string): StepAttemptRecord[] {
      const rows = withBusyRetry(() => db.all('SELECT * FROM step_attempts WHERE run_id = ? ORDER BY id', runId));
      return decodeStepAttempts(rows);
    },

    recentDurations(keys: string[], limitPerKey: number): Map<string, number[]> {
      const out = new Map<string, number[]>();
      if (keys.length === 0 || limitPerKey <= 0) return out;
      // The newest few per asset through the partial index, one short range each: a window over every
      // success (a million at a million partitions) took 1.5 s of a daemon tick.
      const rows = withBusyRetry(() =>
        db.all(
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
    },

    recordCheckEvaluations(evals: CheckEvaluationRecord[]): void {
      if (evals.length === 0) return;
      const insert = db.stmt(
        `INSERT INTO check_evaluations (asset_key, partition_key, check_name, run_id, ts, passed, severity, blocking,
           failures, description, metadata)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      db.write(() => {
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
    },

    checkEvaluationsOfRun(runId: string): CheckEvaluationRecord[] {
      const rows = withBusyRetry(() => db.all('SELECT * FROM check_evaluations WHERE run_id = ? ORDER BY id', runId));
      return decodeCheckEvaluations(rows);
    },
  };
}
