import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AssetCheckSpec,
  type AssetChecksContext,
  type AssetDefinition,
  type BatchMaterializeResult,
  type CheckResult,
  isPartitionFailure,
  type MaterializeResult,
  type Metadata,
  type MultiMaterializeResult,
  md,
  multiAsset,
  type PartitionFailure,
  type StepPartition,
} from '../framework/definitions/index.ts';
import {
  type PipesMessage,
  type PipesProcessResult,
  reportedChecks,
  runPipesProcess,
} from '../framework/pipes/index.ts';
import { sparkLauncherOf } from './lib/aws/launcher-of.ts';
import type { runSilverRemote as RunSilverRemote } from './lib/aws/silver-remote.ts';
import type { Lakehouse } from './lib/lakehouse.ts';
import { sparkEnv, sparkJars } from './lib/spark-env.ts';
import { sparkModule, sparkPackageRoot } from './lib/spark-python.ts';
import { auditBranchOf, auditedChecks, auditSnapshots, publishAuditBranch } from './lib/wap.ts';

/**
 * The Silver job on EMR Serverless (assets/lib/aws/silver-remote.ts), imported when a step runs there: its job
 * bundle, ulid and fflate are not needed to load the definitions.
 */
const runSilverRemote = async (opts: Parameters<typeof RunSilverRemote>[0]) =>
  (await import('./lib/aws/silver-remote.ts')).runSilverRemote(opts);

interface SilverChecks {
  checks: AssetCheckSpec[];
  evaluateAssetChecks: (ctx: AssetChecksContext) => Promise<CheckResult[]>;
}

/** The Spark job's source files: part of Silver's code version. */
function silverCodeFiles(root: string): string[] {
  const dir = join(sparkPackageRoot(root), 'fairway_spark');
  const pythonFiles = (sub: string) =>
    readdirSync(sub)
      .filter((f) => f.endsWith('.py'))
      .sort()
      .map((f) => join(sub, f));
  return [
    join(dir, 'silver_job.py'),
    join(dir, 'session.py'),
    ...pythonFiles(join(sparkPackageRoot(root), 'fairway_pipes')),
    ...pythonFiles(join(dir, 'silver')),
    join(root, 'config', 'courses.json'),
  ];
}

/** One Bronze partition as the Silver job's manifest lists it (`fairway_spark.silver_job --manifest`). */
function silverManifest(lake: Lakehouse, partitions: readonly StepPartition[]) {
  return {
    partitions: partitions.map((p) => {
      const courseId = p.values.course_id!;
      const ingestDate = p.values.ingest_date!;
      const course = lake.courses[courseId];
      return {
        partition_key: p.key,
        course_id: courseId,
        ingest_date: ingestDate,
        bronze_path: lake.bronzeSparkPath(courseId, ingestDate),
        course_centre: course ? course.centre : null,
        course_timezone: course ? course.timezone : null,
      };
    }),
  };
}

/** The Silver job's tables (spark/fairway_spark/silver/tables.py), as assets: `<silver namespace>.<table>`. */
export interface SilverKeys {
  telemetry: string;
  deviceHealth: string;
  quarantine: string;
}

/**
 * The results of the job's three tables from one partition's materialization (the job reports one, for
 * the fact table, with the other tables' snapshot ids): each table's data version is its own commit's
 * snapshot id and the partition's content hash; its metadata the entries about it.
 */
function tableResults(keys: SilverKeys, fact: MaterializeResult): Record<keyof SilverKeys, MaterializeResult> {
  const metadata = fact.metadata ?? {};
  const hash = fact.dataVersion?.split(':')[1];
  const table = (name: string, rowsFrom: string, own: readonly string[]): MaterializeResult => {
    const snapshot = metadata[`${name}_snapshot_id`];
    const rows = metadata[rowsFrom];
    const out: Metadata = {};
    if (rows && (rows.type === 'int' || rows.type === 'row_count')) out.row_count = md.rowCount(rows.value);
    if (snapshot) out.snapshot_id = snapshot;
    for (const k of [...own, 'run_id', 'batch_size']) if (metadata[k]) out[k] = metadata[k]!;
    out.written_with = md.text(keys.telemetry);
    const version = snapshot?.type === 'text' && hash ? { dataVersion: `${snapshot.value}:${hash}` } : {};
    return { ...version, metadata: out };
  };
  return {
    telemetry: fact,
    deviceHealth: table('fact_device_health', 'row_count', ['replaced_rows']),
    quarantine: table('quarantine_telemetry_event', 'quarantined_rows', [
      'quarantined_by_reason',
      'replaced_quarantined_rows',
    ]),
  };
}

/**
 * Each partition's outcome for each of the job's tables from its pipes messages: the materialization (the
 * fact table's with its own checks), the partition's own error, or the job's error when the job failed as
 * a whole (then every table fails alike).
 */
export function silverResults(
  partitions: readonly StepPartition[],
  result: PipesProcessResult,
  runId: string,
  keys: SilverKeys,
): MultiMaterializeResult {
  const single = partitions.length === 1 ? partitions[0]!.key : undefined;
  const errors = result.messages.flatMap((m) => (m.type === 'error' ? [m] : []));
  const materializations = result.messages.flatMap((m) => (m.type === 'materialization' ? [m] : []));
  const jobError = errors.find((m) => m.partition_key === undefined);
  const logs = `See the step's compute log (fairway logs ${runId} --step ${keys.telemetry}).`;
  const out = { telemetry: {}, deviceHealth: {}, quarantine: {} } as Record<
    keyof SilverKeys,
    Record<string, MaterializeResult | PartitionFailure>
  >;
  for (const p of partitions) {
    const mat = materializations.findLast((m) => (m.partition_key ?? single) === p.key);
    const ownError = errors.find((m) => m.partition_key === p.key);
    if (mat && !ownError) {
      const fact: MaterializeResult = {
        ...(mat.data_version ? { dataVersion: mat.data_version } : {}),
        metadata: { ...mat.metadata, malformed_messages: md.int(result.malformed.length) },
        checks: reportedChecks(result.messages, single ? undefined : p.key),
      };
      for (const [table, r] of Object.entries(tableResults(keys, fact))) out[table as keyof SilverKeys][p.key] = r;
      continue;
    }
    const error = ownError ?? jobError;
    const why = error
      ? error.message
      : result.exitCode !== 0
        ? `exit code ${result.exitCode}`
        : 'the job exited without reporting a materialization for it';
    const failure = { error: `The Silver Spark job failed for ${p.key}: ${why}. ${logs}` };
    for (const table of Object.values(out)) table[p.key] = failure;
  }
  return {
    outputs: {
      [keys.telemetry]: { partitions: out.telemetry },
      [keys.deviceHealth]: { partitions: out.deviceHealth },
      [keys.quarantine]: { partitions: out.quarantine },
    },
  };
}

/**
 * The Silver job as a multi-asset: one Spark + Sedona application over a batch of Bronze partitions writes
 * `silver.fact_telemetry_event`, `silver.fact_device_health` and `silver.quarantine_telemetry_event`, one
 * Iceberg commit per table. Data version per partition and table = the table's commit snapshot id and the
 * partition's content hash. The dbt gate (`sourceChecks`) sits on the fact table and holds back the
 * downstream of all three.
 */
export function silverAssets(
  lake: Lakehouse,
  bronze: AssetDefinition<string, unknown>,
  projectRoot: string,
  sourceChecks?: SilverChecks,
): AssetDefinition<string, unknown>[] {
  const cfg = lake.config;
  const ns = cfg.catalog.namespaces.silver;
  const keys: SilverKeys = {
    telemetry: `${ns}.${cfg.catalog.tables.telemetryEvent}`,
    deviceHealth: `${ns}.fact_device_health`,
    quarantine: `${ns}.quarantine_telemetry_event`,
  };
  const silver = { group: 'silver', tags: { layer: 'silver' }, owners: ['data-eng'] };
  const tableOf = (key: string) => key.slice(ns.length + 1);
  // Athena time-travels by snapshot id only: the gate looks up each table's branch head first
  const headsOnAthena =
    cfg.query.engine === 'athena'
      ? (ctx: AssetChecksContext, branch: string) =>
          auditSnapshots(lake, projectRoot, Object.values(keys).map(tableOf), branch, ctx)
      : undefined;
  const gate = sourceChecks ? auditedChecks(sourceChecks, keys.telemetry, headsOnAthena) : undefined;
  return multiAsset({
    name: 'silver_job',
    outputs: [
      {
        key: keys.telemetry,
        description:
          'One row per real GPS fix of a round (padding slots excluded), with derived time, geometry and quality ' +
          'columns; deduplicated on (round_id, fix_timestamp) preferring cached fixes; a round delivered twice is ' +
          'kept from its newest delivery. Iceberg, partitioned by course_id, event_date and ingest_date.',
        kinds: ['spark', 'sedona', 'iceberg'],
        ...silver,
        freshness: { maxLag: { warnAfterMinutes: 20, failAfterMinutes: 30 } }, // reflects Bronze within 30 min of arrival
        ...(gate ? { checks: gate.checks, evaluateAssetChecks: gate.evaluateAssetChecks } : {}),
      },
      {
        key: keys.deviceHealth,
        description:
          'Battery and device status per fix written to the fact table (captureLogs kept as JSON text). Iceberg, ' +
          'partitioned by course_id, month of event_date and ingest_date.',
        kinds: ['spark', 'iceberg'],
        ...silver,
      },
      {
        key: keys.quarantine,
        description:
          'Fixes kept out of the fact table, each with its quarantine_reason (nan, zero_coordinates, swapped, ' +
          'out_of_range) and the run that wrote it. Reviewed per Bronze partition: partitioned by course_id and ' +
          'ingest_date.',
        kinds: ['spark', 'iceberg'],
        ...silver,
      },
    ],
    deps: [bronze],
    ...(bronze.partitions ? { partitions: bronze.partitions } : {}),
    codeFiles: silverCodeFiles(projectRoot),
    retry: { maxRetries: 1, backoffMs: 2_000 },
    timeoutMs: 30 * 60_000,
    batch: { maxPartitions: cfg.silverBatchPartitions },
    pool: 'spark',
    ...(gate
      ? {
          publish: (ctx) =>
            publishAuditBranch(
              lake,
              projectRoot,
              Object.fromEntries(Object.values(keys).map((k) => [k, tableOf(k)])),
              ctx,
            ),
        }
      : {}),
    materialize: async (ctx): Promise<MultiMaterializeResult> => {
      const runtime = await lake.sparkRuntime((m) => ctx.computeLog(`[bootstrap] ${m}`));
      const unknown = [...new Set(ctx.partitions.map((p) => p.values.course_id!))].filter((c) => !lake.courses[c]);
      if (unknown.length > 0)
        ctx.log.warn(
          { course_ids: unknown.slice(0, 20), count: unknown.length },
          'courses not in the course reference: centre derived from the data, time zone UTC',
        );
      const manifestPath = join(ctx.stepDir, 'silver-manifest.json');
      writeFileSync(manifestPath, `${JSON.stringify(silverManifest(lake, ctx.partitions), null, 1)}\n`);
      const b = cfg.coordinateBounds;
      // after `--manifest FILE`: the same for a local and a remote run
      const options = [
        '--namespace',
        cfg.catalog.namespaces.silver,
        // `=` form: a negative longitude would otherwise look like an option to argparse.
        `--min-lon=${b.minLon}`,
        `--max-lon=${b.maxLon}`,
        `--min-lat=${b.minLat}`,
        `--max-lat=${b.maxLat}`,
        // audited: the run's branch of each table, published by the gate (assets/lib/wap.ts)
        ...(gate ? ['--branch', auditBranchOf(ctx.runId)] : []),
      ];
      const log = ctx.log.child({ output_table: keys.telemetry, partitions: ctx.partitions.length });
      const context = {
        run_id: ctx.runId,
        asset_key: ctx.assetKey,
        partition_key: ctx.partitionKey,
        partition: ctx.partition,
        extras: { partitions: ctx.partitions.map((p) => p.key) },
      };
      const onMessage = (m: PipesMessage) => {
        if (m.type === 'log') log[m.level]({ ...m.fields }, m.message);
      };
      // FAIRWAY_SPARK_LAUNCHER=emr-serverless: the same job and messages, on EMR Serverless (assets/lib/aws/)
      const launcher = sparkLauncherOf(cfg);
      const job = sparkModule(projectRoot, 'silver_job');
      const result = launcher
        ? await runSilverRemote({
            ...{ config: cfg, store: lake.store, launcher, projectRoot, jars: runtime.jars, python: runtime.python },
            ...{ context, log, onMessage },
            ...{ manifest: readFileSync(manifestPath, 'utf8'), args: options, runId: ctx.runId },
            ...{ stepKey: ctx.assetKey, signal: ctx.signal, onOutput: (line: string) => ctx.computeLog(line) },
          })
        : await runPipesProcess({
            command: runtime.python,
            args: [...job.args, '--manifest', manifestPath, ...options],
            context,
            stepDir: ctx.stepDir,
            cwd: projectRoot,
            env: {
              ...process.env,
              ...job.env,
              ...sparkEnv(cfg),
              FAIRWAY_SPARK_JARS: sparkJars(cfg, runtime.jars).join(','),
              JAVA_HOME: runtime.javaHome,
              PYSPARK_PYTHON: runtime.python,
            },
            signal: ctx.signal,
            log,
            onOutput: (line) => ctx.computeLog(line),
            onChildProcess: ctx.onChildProcess,
            onMessage,
          });
      const results = silverResults(ctx.partitions, result, ctx.runId, keys);
      const facts = (results.outputs[keys.telemetry] as BatchMaterializeResult).partitions;
      const written = Object.values(facts).filter((r) => !isPartitionFailure(r)).length;
      log.info(
        { written, failed: ctx.partitions.length - written, duration_ms: result.durationMs },
        'silver batch finished',
      );
      return results;
    },
  });
}
