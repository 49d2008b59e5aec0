/**
 * Write-audit-publish for the Silver tables: the Silver job writes a run's rows to an Iceberg branch of each
 * table (`audit_<run id>`), the dbt gate tests that branch, and publishing (`fairway_spark.wap`, pyiceberg: no JVM)
 * moves `main` to it — so readers (Trino, Athena, the UI, Gold) never see rows the gate has not passed.
 */
import type { z } from 'zod';
import type {
  AssetChecksContext,
  AssetKey,
  CheckResult,
  PublishContext,
  PublishResult,
} from '../../framework/definitions/index.ts';
import { FrameworkError } from '../../framework/errors/index.ts';
import type { DbtSourceChecks } from '../../framework/integrations/dbt/index.ts';
import { runPipesProcess } from '../../framework/pipes/index.ts';
import { lazySchema, type Zod } from '../../framework/validation/index.ts';
import type { Lakehouse } from './lakehouse.ts';
import { sparkEnv } from './spark-env.ts';
import { sparkModule } from './spark-python.ts';

/** The run's audit branch: `audit_` + the run id in lower case (Iceberg ref names are case-sensitive). */
export const auditBranchOf = (runId: string) => `audit_${runId.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`;

/** How to read a run's unpublished rows, for messages. */
const howToQueryBranch = (table: AssetKey, branch: string) =>
  `query it with: fairway query "SELECT count(*) FROM ${table} VERSION AS OF '${branch}'"`;

/**
 * The dbt gate on the run's audit branch (FAIRWAY_AUDIT_BRANCH, read by dbt/macros/audit_branch.sql): a
 * failing check says that nothing was published and how to look at the rows it failed on. `snapshots`: the
 * branch head of each table (FAIRWAY_AUDIT_SNAPSHOTS), for engines whose time travel takes snapshot ids only
 * (Athena).
 */
export function auditedChecks(
  checks: DbtSourceChecks,
  table: AssetKey,
  snapshots?: (ctx: AssetChecksContext, branch: string) => Promise<Record<string, string>>,
): DbtSourceChecks {
  return {
    checks: checks.checks,
    evaluateAssetChecks: async (ctx: AssetChecksContext): Promise<CheckResult[]> => {
      const branch = auditBranchOf(ctx.runId);
      const env: Record<string, string> = { FAIRWAY_AUDIT_BRANCH: branch };
      if (snapshots) env.FAIRWAY_AUDIT_SNAPSHOTS = JSON.stringify(await snapshots(ctx, branch));
      const results = await checks.evaluateAssetChecks(ctx, { env });
      return results.map((r) =>
        r.passed
          ? r
          : {
              ...r,
              description: `${r.description ? `${r.description} ` : ''}(tested on unpublished branch ${branch}; main unchanged: ${howToQueryBranch(table, branch)})`,
            },
      );
    },
  };
}

const TableResult = (z: Zod) =>
  z.object({
    table: z.string(),
    status: z.enum(['published', 'no_branch', 'no_table']),
    mode: z.enum(['fast_forward', 'rebase']).optional(),
    snapshot_id: z.string().nullable().optional(),
    audited_snapshot_id: z.string().optional(),
  });
const WapError = (z: Zod) =>
  z.object({ error: z.string(), code: z.string(), tables: z.array(TableResult(z)).optional() });
const PublishOutput = lazySchema((z) =>
  z.union([
    z.object({ tables: z.array(TableResult(z)), expired: z.record(z.string(), z.array(z.string())) }),
    WapError(z),
  ]),
);
const DescribeOutput = lazySchema((z) =>
  z.union([
    z.object({
      tables: z.array(
        z.object({
          table: z.string(),
          exists: z.boolean(),
          audit_branches: z.record(z.string(), z.string()).optional(),
        }),
      ),
    }),
    WapError(z),
  ]),
);

type WapContext = Pick<
  PublishContext,
  'runId' | 'assetKey' | 'log' | 'signal' | 'stepDir' | 'computeLog' | 'onChildProcess'
>;

/** Runs `python -m fairway_spark.wap <action> …` with the profile's catalog settings; its one JSON answer, checked by `schema`. */
async function runWap<T>(
  lake: Lakehouse,
  projectRoot: string,
  args: readonly string[],
  schema: z.ZodType<T>,
  ctx: WapContext,
): Promise<T> {
  const runtime = await lake.sparkRuntime((m) => ctx.computeLog(`[bootstrap] ${m}`));
  const lines: string[] = [];
  const job = sparkModule(projectRoot, 'wap');
  const result = await runPipesProcess({
    command: runtime.python,
    args: [...job.args, ...args],
    context: { run_id: ctx.runId, asset_key: ctx.assetKey, partition_key: '', partition: {} },
    stepDir: ctx.stepDir,
    cwd: projectRoot,
    env: { ...process.env, ...job.env, ...sparkEnv(lake.config) },
    signal: ctx.signal,
    log: ctx.log,
    onOutput: (line) => {
      lines.push(line);
      ctx.computeLog(line);
    },
    ...(ctx.onChildProcess ? { onChildProcess: ctx.onChildProcess } : {}),
  });
  const last = lines.findLast((l) => l.startsWith('{'));
  const parsed = last ? schema.safeParse(safeJson(last)) : undefined;
  if (!parsed?.success) {
    throw new FrameworkError(
      'PUBLISH_FAILED',
      `fairway_spark.wap ${args[0]} exited ${result.exitCode} without a result: ${lines.slice(-3).join(' | ') || 'no output'}`,
    );
  }
  return parsed.data;
}

/** The head snapshot of `branch` in each Silver table that has it (for engines that time-travel by id). */
export async function auditSnapshots(
  lake: Lakehouse,
  projectRoot: string,
  tables: readonly string[],
  branch: string,
  ctx: WapContext,
): Promise<Record<string, string>> {
  const args = ['describe', '--namespace', lake.config.catalog.namespaces.silver, '--tables', tables.join(',')];
  const out = await runWap(lake, projectRoot, args, DescribeOutput(), ctx);
  if ('error' in out) throw new FrameworkError('PUBLISH_FAILED', `${out.error} (${out.code})`);
  return Object.fromEntries(
    out.tables.flatMap((t) => (t.audit_branches?.[branch] ? [[t.table, t.audit_branches[branch]]] : [])),
  );
}

/**
 * Publishes the run's audit branch of every Silver table (`fairway_spark.wap`). A rebased table (another run
 * published first) has a new snapshot: its partitions' data versions become `<that snapshot>:<content hash>`,
 * what readers of main see.
 */
export async function publishAuditBranch(
  lake: Lakehouse,
  projectRoot: string,
  tables: Readonly<Record<AssetKey, string>>,
  ctx: PublishContext,
): Promise<PublishResult> {
  const cfg = lake.config;
  const branch = auditBranchOf(ctx.runId);
  const args = [
    'publish',
    '--namespace',
    cfg.catalog.namespaces.silver,
    '--tables',
    Object.values(tables).join(','),
    '--branch',
    branch,
    '--run-id',
    ctx.runId,
    '--retain-days',
    String(cfg.auditBranchRetentionDays),
  ];
  const out = await runWap(lake, projectRoot, args, PublishOutput(), ctx);
  if ('error' in out) {
    // tables published before the error stay published (one catalog commit each): their rows are live, and as
    // nothing is recorded the next run writes the partitions again
    const done = (out.tables ?? []).filter((t) => t.status === 'published').map((t) => t.table);
    const partial = done.length > 0 ? `; already published: ${done.join(', ')}` : '';
    throw new FrameworkError('PUBLISH_FAILED', `${out.error} (${out.code}; audit branch ${branch} kept${partial})`);
  }
  const dataVersions: Record<AssetKey, Record<string, string>> = {};
  for (const [asset, table] of Object.entries(tables)) {
    const t = out.tables.find((x) => x.table === table);
    const held = Object.keys(ctx.pending[asset] ?? {}).length;
    if (held > 0 && t?.status !== 'published') {
      // the job wrote every table of every partition it reports: a missing branch means its rows are gone
      throw new FrameworkError(
        'PUBLISH_FAILED',
        `audit branch ${branch} of ${table} is missing (${t?.status ?? 'no answer'}), so ${held} written partition(s) cannot be published; materialize them again`,
      );
    }
    ctx.log.info({ table, status: t?.status, mode: t?.mode, snapshot_id: t?.snapshot_id }, 'audit branch published');
    if (t?.mode !== 'rebase' || !t.snapshot_id) continue;
    dataVersions[asset] = Object.fromEntries(
      Object.entries(ctx.pending[asset] ?? {}).map(([p, v]) => [p, `${t.snapshot_id}:${v.split(':')[1] ?? ''}`]),
    );
  }
  const expired = Object.values(out.expired).flat();
  if (expired.length > 0) ctx.computeLog(`[fairway] dropped ${expired.length} expired audit branch(es)`);
  return { dataVersions };
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
