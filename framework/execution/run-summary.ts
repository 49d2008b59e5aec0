import type { RunSummary } from '../definitions/index.ts';
import type { RunRecord, Store } from '../storage/index.ts';

/** Builds the compact JSON summary of a finished run from the store: its own records only, so its cost
 * follows the run's size, not the history of the assets it touched. */
export function buildRunSummary(store: Store, run: RunRecord): RunSummary {
  const attempts = store.stepAttemptsOfRun(run.run_id);
  const latest = new Map(attempts.map((a) => [`${a.asset_key}|${a.partition_key}`, a]));
  const mats = new Map(store.materializationsOfRun(run.run_id).map((m) => [`${m.asset_key}|${m.partition_key}`, m]));
  const checks = store.checkEvaluationsOfRun(run.run_id);
  const started = run.started_at ?? run.created_at;
  const finished = run.finished_at ?? new Date().toISOString();
  const planned = new Set(run.plan.map((s) => `${s.asset_key}|${s.partition_key}`));
  return {
    run_id: run.run_id,
    selection: run.selection,
    status: run.status,
    reason: run.reason,
    started_at: started,
    finished_at: finished,
    duration_ms: Date.parse(finished) - Date.parse(started),
    steps: run.plan.map(({ asset_key, partition_key }) => {
      const a = latest.get(`${asset_key}|${partition_key}`);
      const mine = mats.get(`${asset_key}|${partition_key}`);
      const rows = mine?.metadata.row_count ?? mine?.metadata.rows_written;
      return {
        asset_key,
        partition_key,
        status: a?.status ?? 'NOT_STARTED',
        duration_ms: a?.duration_ms ?? null,
        attempts: a?.attempts ?? 0,
        row_count: rows && (rows.type === 'row_count' || rows.type === 'int') ? rows.value : null,
        data_version: mine?.data_version ?? null,
        reason: a?.reason ?? null,
        checks: checks
          .filter((c) => c.asset_key === asset_key && c.partition_key === partition_key)
          .map((c) => ({ name: c.check_name, passed: c.passed, severity: c.severity, failures: c.failures })),
      };
    }),
    asset_checks: checks
      .filter((c) => !planned.has(`${c.asset_key}|${c.partition_key}`))
      .map((c) => ({
        asset_key: c.asset_key,
        name: c.check_name,
        passed: c.passed,
        severity: c.severity,
        blocking: c.blocking,
        failures: c.failures,
        description: c.description,
      })),
  };
}
