import type Database from 'better-sqlite3';

/** What a garbage collection removed (or, dry, would remove). `run_ids` are the runs whose history went. */
export interface RetentionResult {
  /** Finished runs older than the cut-off: their events, compute logs and run folders go. */
  run_ids: string[];
  /** Run records deleted (a run whose latest materialization, attempt or check is still current keeps its record). */
  runs: number;
  events: number;
  compute_logs: number;
  materializations: number;
  step_attempts: number;
  check_evaluations: number;
  scheduler_ticks: number;
  scheduler_decisions: number;
}

/** Thrown inside the transaction of a dry run, so that SQLite rolls it back. */
class DryRun extends Error {
  constructor(readonly result: RetentionResult) {
    super('dry run');
  }
}

const FINISHED_BEFORE = `
  SELECT run_id FROM runs
  WHERE status IN ('SUCCESS', 'FAILURE', 'CANCELED') AND coalesce(finished_at, created_at) < @before`;

/**
 * Deletes the history of runs that finished before `before` (ISO time): their events, compute-log index,
 * cancel requests, and the materializations, step attempts and check evaluations that a later one of the
 * same asset partition (or check) has replaced. What staleness, status and the planner read is kept: the
 * partition state (`asset_partitions`, `latest_check_evaluations`) and the records it points at, so every
 * answer is the same afterwards; a run record stays while one of those records belongs to it. Scheduler
 * ticks and decisions older than `before` go too. One transaction; with `dryRun` it is rolled back.
 */
export function collectGarbage(
  db: Database.Database,
  before: string,
  opts: { dryRun?: boolean } = {},
): RetentionResult {
  const run = db.transaction((): RetentionResult => {
    db.exec('DROP TABLE IF EXISTS temp.gc_runs');
    db.prepare(`CREATE TEMP TABLE gc_runs AS ${FINISHED_BEFORE}`).run({ before });
    const del = (sql: string, params: Record<string, unknown> = {}) => db.prepare(sql).run(params).changes;
    const gone = 'run_id IN (SELECT run_id FROM temp.gc_runs)';
    const result: RetentionResult = {
      run_ids: (db.prepare('SELECT run_id FROM temp.gc_runs ORDER BY run_id').all() as { run_id: string }[]).map(
        (r) => r.run_id,
      ),
      events: del(`DELETE FROM events WHERE ${gone}`),
      compute_logs: del(`DELETE FROM compute_logs WHERE ${gone}`),
      materializations: del(
        `DELETE FROM materializations WHERE ${gone} AND id NOT IN
           (SELECT materialization_id FROM asset_partitions WHERE materialization_id IS NOT NULL)`,
      ),
      step_attempts: del(
        `DELETE FROM step_attempts WHERE ${gone} AND id NOT IN
           (SELECT attempt_id FROM asset_partitions WHERE attempt_id IS NOT NULL)`,
      ),
      check_evaluations: del(
        `DELETE FROM check_evaluations WHERE ${gone} AND id NOT IN (SELECT evaluation_id FROM latest_check_evaluations)`,
      ),
      runs: 0,
      scheduler_decisions: del('DELETE FROM scheduler_decisions WHERE created_at < @before', { before }),
      scheduler_ticks: del(
        `DELETE FROM scheduler_ticks WHERE started_at < @before AND finished_at IS NOT NULL
           AND tick_id NOT IN (SELECT tick_id FROM scheduler_decisions)`,
        { before },
      ),
    };
    del(`DELETE FROM run_cancel_requests WHERE ${gone}`);
    result.runs = del(
      `DELETE FROM runs WHERE ${gone}
         AND run_id NOT IN (SELECT run_id FROM materializations)
         AND run_id NOT IN (SELECT run_id FROM step_attempts)
         AND run_id NOT IN (SELECT run_id FROM check_evaluations)`,
    );
    db.exec('DROP TABLE temp.gc_runs');
    if (opts.dryRun) throw new DryRun(result);
    return result;
  });
  try {
    return run.immediate();
  } catch (e) {
    if (e instanceof DryRun) return e.result;
    throw e;
  }
}
