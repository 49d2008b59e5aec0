import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AssetCheckSpec,
  type AssetChecksContext,
  type AssetDefinition,
  asset,
  type BatchMaterializeResult,
  type CheckResult,
  isPartitionFailure,
  type MaterializeResult,
  md,
  type PartitionFailure,
  type StepPartition,
} from '../framework/definitions/index.ts';
import { type PipesProcessResult, reportedChecks, runPipesProcess } from '../framework/pipes/index.ts';
import { sparkEnv, sparkJars } from './lib/config.ts';
import type { Lakehouse } from './lib/lakehouse.ts';

export interface SilverChecks {
  checks: AssetCheckSpec[];
  evaluateAssetChecks: (ctx: AssetChecksContext) => Promise<CheckResult[]>;
}

const sparkDir = (root: string) => join(root, 'spark');

/** The Spark job's source files: part of Silver's code version. */
function silverCodeFiles(root: string): string[] {
  const dir = sparkDir(root);
  const pkg = join(dir, 'silver');
  return [
    join(dir, 'silver_job.py'),
    join(dir, 'session.py'),
    join(dir, 'pipes.py'),
    ...readdirSync(pkg)
      .filter((f) => f.endsWith('.py'))
      .sort()
      .map((f) => join(pkg, f)),
    join(root, 'config', 'courses.json'),
  ];
}

/** One Bronze partition as the Silver job's manifest lists it (spark/silver_job.py `--manifest`). */
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

/**
 * Each partition's outcome from the job's pipes messages: its materialization (with its own checks), its
 * own error, or the job's error when the job failed as a whole.
 */
export function silverResults(
  partitions: readonly StepPartition[],
  result: PipesProcessResult,
  runId: string,
  assetKey: string,
): Record<string, MaterializeResult | PartitionFailure> {
  const single = partitions.length === 1 ? partitions[0]!.key : undefined;
  const errors = result.messages.flatMap((m) => (m.type === 'error' ? [m] : []));
  const materializations = result.messages.flatMap((m) => (m.type === 'materialization' ? [m] : []));
  const jobError = errors.find((m) => m.partition_key === undefined);
  const logs = `See the step's compute log (fairway logs ${runId} --step ${assetKey}).`;
  const out: Record<string, MaterializeResult | PartitionFailure> = {};
  for (const p of partitions) {
    const mat = materializations.findLast((m) => (m.partition_key ?? single) === p.key);
    const ownError = errors.find((m) => m.partition_key === p.key);
    if (mat && !ownError) {
      out[p.key] = {
        ...(mat.data_version ? { dataVersion: mat.data_version } : {}),
        metadata: { ...mat.metadata, malformed_messages: md.int(result.malformed.length) },
        checks: reportedChecks(result.messages, single ? undefined : p.key),
      };
      continue;
    }
    const error = ownError ?? jobError;
    const why = error
      ? error.message
      : result.exitCode !== 0
        ? `exit code ${result.exitCode}`
        : 'the job exited without reporting a materialization for it';
    out[p.key] = { error: `The Silver Spark job failed for ${p.key}: ${why}. ${logs}` };
  }
  return out;
}

/**
 * `silver.fact_telemetry_event`: the Spark + Sedona job over a batch of Bronze partitions (one Spark
 * application, one Iceberg commit per table), writing Iceberg (plus `silver.fact_device_health` and
 * the quarantine table). Data version per partition = the commit's snapshot id and the partition's content.
 */
export function silverAssets(
  lake: Lakehouse,
  bronze: AssetDefinition<string, unknown>,
  projectRoot: string,
  sourceChecks?: SilverChecks,
): AssetDefinition<string, unknown>[] {
  const cfg = lake.config;
  const telemetry = asset({
    key: `${cfg.catalog.namespaces.silver}.${cfg.catalog.tables.telemetryEvent}`,
    description:
      'One row per real GPS fix of a round (padding slots excluded), with derived time, geometry and quality ' +
      'columns; deduplicated on (round_id, fix_timestamp) preferring cached fixes. Invalid coordinates go to ' +
      'the quarantine table with a reason. Iceberg, partitioned by course_id and event_date.',
    group: 'silver',
    kinds: ['spark', 'sedona', 'iceberg'],
    owners: ['data-eng'],
    tags: { layer: 'silver' },
    deps: [bronze],
    ...(bronze.partitions ? { partitions: bronze.partitions } : {}),
    codeFiles: silverCodeFiles(projectRoot),
    retry: { maxRetries: 1, backoffMs: 2_000 },
    freshness: { maxLag: { warnAfterMinutes: 20, failAfterMinutes: 30 } }, // reflects Bronze within 30 min of arrival
    timeoutMs: 30 * 60_000,
    ...(sourceChecks ? { checks: sourceChecks.checks, evaluateAssetChecks: sourceChecks.evaluateAssetChecks } : {}),
    batch: { maxPartitions: cfg.silverBatchPartitions },
    pool: 'spark',
    materialize: async (ctx): Promise<BatchMaterializeResult> => {
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
      const args = [
        join(sparkDir(projectRoot), 'silver_job.py'),
        '--manifest',
        manifestPath,
        '--namespace',
        cfg.catalog.namespaces.silver,
        // `=` form: a negative longitude would otherwise look like an option to argparse.
        `--min-lon=${b.minLon}`,
        `--max-lon=${b.maxLon}`,
        `--min-lat=${b.minLat}`,
        `--max-lat=${b.maxLat}`,
      ];
      const log = ctx.log.child({ output_table: telemetry.key, partitions: ctx.partitions.length });
      const result = await runPipesProcess({
        command: runtime.python,
        args,
        context: {
          run_id: ctx.runId,
          asset_key: ctx.assetKey,
          partition_key: ctx.partitionKey,
          partition: ctx.partition,
          extras: { partitions: ctx.partitions.map((p) => p.key) },
        },
        stepDir: ctx.stepDir,
        cwd: projectRoot,
        env: {
          ...process.env,
          ...sparkEnv(cfg),
          FAIRWAY_SPARK_JARS: sparkJars(cfg, runtime.jars).join(','),
          JAVA_HOME: runtime.javaHome,
          PYSPARK_PYTHON: runtime.python,
        },
        signal: ctx.signal,
        log,
        onOutput: (line) => ctx.computeLog(line),
        onMessage: (m) => {
          if (m.type === 'log') log[m.level]({ ...m.fields }, m.message);
        },
      });
      const partitions = silverResults(ctx.partitions, result, ctx.runId, telemetry.key);
      const written = Object.values(partitions).filter((r) => !isPartitionFailure(r)).length;
      log.info(
        { written, failed: ctx.partitions.length - written, duration_ms: result.durationMs },
        'silver batch finished',
      );
      return { partitions };
    },
  });
  const deviceHealth = asset({
    key: `${cfg.catalog.namespaces.silver}.fact_device_health`,
    description:
      'Battery and device status per real fix (captureLogs kept as JSON text). Written by the same Spark job ' +
      'and Iceberg commit cycle as silver.fact_telemetry_event; this asset tracks that output separately so ' +
      'dbt sources and Gold models can depend on it.',
    group: 'silver',
    kinds: ['spark', 'iceberg'],
    tags: { layer: 'silver' },
    deps: [telemetry],
    ...(bronze.partitions ? { partitions: bronze.partitions } : {}),
    batch: { maxPartitions: cfg.silverBatchPartitions },
    materialize: (ctx) => ({
      partitions: Object.fromEntries(
        ctx.partitions.map((p) => {
          const upstream = p.upstream[telemetry.key];
          return [
            p.key,
            {
              ...(upstream?.dataVersion ? { dataVersion: `device_health:${upstream.dataVersion}` } : {}),
              metadata: { written_by: md.text(telemetry.key) },
            },
          ];
        }),
      ),
    }),
  });
  return [telemetry, deviceHealth];
}
