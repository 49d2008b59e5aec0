import { UsageError } from '../framework/errors/index.ts';
import { forgetRunsBefore } from '../framework/execution/index.ts';
import { reapDeadRuns } from '../framework/judging/index.ts';
import type { Project } from '../framework/project/index.ts';
import type { RetentionResult } from '../framework/storage/index.ts';
import { printJson, textTable } from './output.ts';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;

/** `30d`, `12h`, `90m`, `0s` → milliseconds. */
export function parseRetention(raw: string, flag = '--older-than'): number {
  const m = /^(\d+)(d|h|m|s)$/.exec(raw.trim());
  if (!m) {
    throw new UsageError(`${flag} takes a whole number and a unit (d, h, m or s), such as 30d or 12h; got '${raw}'.`);
  }
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

export interface GcReport extends Omit<RetentionResult, 'run_ids'> {
  dry_run: boolean;
  older_than: string;
  before: string;
  /** Runs whose history went (their folders under `<state dir>/runs/` too). */
  runs_collected: number;
  run_folder_bytes: number;
  database_bytes: { before: number; after: number } | null;
}

/**
 * `fairway gc --older-than 30d`: forgets the history of runs that finished before the window (events,
 * compute logs, run folders, replaced materializations, attempts and check results, scheduler ticks) and
 * compacts the database. The latest materialization and check result of every asset partition stay, so
 * `status` answers the same before and after.
 */
export function gcCommand(
  project: Project,
  flags: { olderThan: string; dryRun?: boolean; vacuum?: boolean; json?: boolean },
): number {
  const windowMs = parseRetention(flags.olderThan);
  reapDeadRuns(project.store); // a dead run counts as finished (FAILURE), not as running forever
  const before = new Date(Date.now() - windowMs).toISOString();
  const dryRun = flags.dryRun === true;
  const { run_ids, run_folder_bytes, ...counts } = forgetRunsBefore(project.store, project.stateDir, before, {
    dryRun,
  });
  const vacuum = !dryRun && flags.vacuum !== false && run_ids.length + counts.scheduler_ticks > 0;
  const report: GcReport = {
    dry_run: dryRun,
    older_than: flags.olderThan,
    before,
    runs_collected: run_ids.length,
    ...counts,
    run_folder_bytes,
    database_bytes: vacuum ? project.store.vacuum() : null,
  };
  if (flags.json) printJson(report);
  else printReport(report);
  return 0;
}

const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;

function printReport(r: GcReport): void {
  const verb = r.dry_run ? 'would remove' : 'removed';
  process.stdout.write(
    `${r.dry_run ? 'dry run: ' : ''}runs finished before ${r.before} (older than ${r.older_than}): ${r.runs_collected}\n`,
  );
  const rows = [
    ['events', r.events],
    ['compute log entries', r.compute_logs],
    ['replaced materializations', r.materializations],
    ['replaced step attempts', r.step_attempts],
    ['replaced check results', r.check_evaluations],
    ['run records', r.runs],
    ['scheduler ticks', r.scheduler_ticks],
    ['scheduler decisions', r.scheduler_decisions],
  ].map(([what, n]) => [String(what), String(n)]);
  process.stdout.write(`${textTable([['WHAT', verb.toUpperCase()], ...rows])}\n`);
  process.stdout.write(`run folders: ${mb(r.run_folder_bytes)} ${r.dry_run ? 'to free' : 'freed'}\n`);
  if (r.database_bytes) {
    process.stdout.write(`database: ${mb(r.database_bytes.before)} → ${mb(r.database_bytes.after)} (VACUUM)\n`);
  }
  process.stdout.write(
    'kept: the latest materialization and check result of every asset partition (status is unchanged)\n',
  );
}
