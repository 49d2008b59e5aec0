import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AssetCheckSpec,
  type AssetChecksContext,
  type AssetDefinition,
  asset,
  type CheckResult,
  type MaterializeResult,
  md,
} from '../framework/definitions/index.ts';
import { FrameworkError } from '../framework/errors/index.ts';
import { reportedChecks, runPipesProcess } from '../framework/pipes/index.ts';
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

/**
 * `silver.fact_telemetry_event`: the Spark + Sedona job over one Bronze partition, writing Iceberg
 * (plus `silver.fact_device_health` and the quarantine table). Data version = Iceberg snapshot id.
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
    materialize: async (ctx): Promise<MaterializeResult> => {
      const courseId = ctx.partition.course_id!;
      const ingestDate = ctx.partition.ingest_date!;
      const runtime = await lake.sparkRuntime((m) => ctx.computeLog(`[bootstrap] ${m}`));
      const course = lake.courses[courseId];
      const b = cfg.coordinateBounds;
      const args = [
        join(sparkDir(projectRoot), 'silver_job.py'),
        '--bronze-path',
        lake.bronzeSparkPath(courseId, ingestDate),
        '--course-id',
        courseId,
        '--ingest-date',
        ingestDate,
        '--namespace',
        cfg.catalog.namespaces.silver,
        `--min-lon=${b.minLon}`,
        `--max-lon=${b.maxLon}`,
        `--min-lat=${b.minLat}`,
        `--max-lat=${b.maxLat}`,
        // `=` form: a negative longitude would otherwise look like an option to argparse.
        ...(course ? [`--course-centre=${course.centre.join(',')}`, '--course-timezone', course.timezone] : []),
      ];
      if (!course)
        ctx.log.warn(
          { course_id: courseId },
          'course not in the course reference: centre derived from the data, time zone UTC',
        );
      const log = ctx.log.child({ course_id: courseId, ingest_date: ingestDate, output_table: telemetry.key });
      const result = await runPipesProcess({
        command: runtime.python,
        args,
        context: {
          run_id: ctx.runId,
          asset_key: ctx.assetKey,
          partition_key: ctx.partitionKey,
          partition: ctx.partition,
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
      const error = result.messages.find((m) => m.type === 'error');
      if (result.exitCode !== 0 || error) {
        const why = error?.type === 'error' ? error.message : `exit code ${result.exitCode}`;
        throw new FrameworkError(
          'SILVER_JOB_FAILED',
          `The Silver Spark job failed for course_id=${courseId}, ingest_date=${ingestDate}: ${why}. ` +
            `See the step's compute log (fairway logs ${ctx.runId} --step ${telemetry.key}).`,
        );
      }
      const mat = result.messages.findLast((m) => m.type === 'materialization');
      if (mat?.type !== 'materialization') {
        throw new FrameworkError(
          'SILVER_JOB_NO_RESULT',
          'The Silver Spark job exited without reporting a materialization.',
        );
      }
      const rows = mat.metadata.row_count;
      log.info(
        {
          row_count: rows?.type === 'row_count' ? rows.value : undefined,
          duration_ms: result.durationMs,
          status: 'SUCCESS',
        },
        'silver partition written',
      );
      return {
        ...(mat.data_version ? { dataVersion: mat.data_version } : {}),
        metadata: { ...mat.metadata, malformed_messages: md.int(result.malformed.length) },
        checks: reportedChecks(result.messages),
      };
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
    materialize: (ctx) => {
      const upstream = ctx.upstream[telemetry.key];
      return {
        ...(upstream?.dataVersion ? { dataVersion: `device_health:${upstream.dataVersion}` } : {}),
        metadata: { written_by: md.text(telemetry.key) },
      };
    },
  });
  return [telemetry, deviceHealth];
}
