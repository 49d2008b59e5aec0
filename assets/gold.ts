/**
 * Gold layer: the dbt project in `dbt/` as Fairway assets (`gold.<model>`), and its tests on the
 * Silver sources as the blocking quality gate of the Silver assets.
 */

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AssetDefinition, AssetKey } from '../framework/definitions/index.ts';
import { FrameworkError } from '../framework/errors/index.ts';
import {
  type DbtEnvironment,
  type DbtProject,
  type DbtSourceChecks,
  dbtAssets,
  loadDbtProject,
  type PersistDbtArtifacts,
} from '../framework/integrations/dbt/index.ts';
import { ensureSparkRuntime, type SparkRuntime } from '../framework/integrations/spark/index.ts';
import { awsLocations } from './lib/aws/aws-clients.ts';
import type { LakehouseConfig } from './lib/config.ts';
import { type Courses, courseUnits, loadCourses } from './lib/courses.ts';
import type { ObjectStore } from './lib/object-store.ts';
import { sparkEnv, sparkJars } from './lib/spark-env.ts';
import { sparkModule } from './lib/spark-python.ts';

interface GoldAssetsOptions {
  /** The state dir of this process (the CLI's --state-dir); default `cfg.stateDir`. */
  stateDir?: string;
  /** dbt project directory; default `<projectRoot>/dbt`. */
  projectDir?: string;
  /** profiles.yml target; default the config's query engine (`spark`, `trino`, `athena`). */
  target?: 'spark' | 'trino' | 'athena';
  /** dbt vars over the defaults (thresholds, severities: see dbt/dbt_project.yml). */
  vars?: Record<string, unknown>;
  /** Where dbt artifacts go (`dbt_artifacts/<run_id>/…` in the observability bucket); default the state dir. */
  objectStore?: ObjectStore;
  /** The Python venv (dbt, PySpark) and jars; default `ensureSparkRuntime` on first use. */
  runtime?: () => Promise<SparkRuntime>;
  onProgress?: (message: string) => void;
  /** The course reference, already loaded (`Lakehouse.courses`); default read from `cfg.coursesFile`. */
  courses?: Courses;
}

interface GoldAssets {
  /** One asset per dbt model (`gold.fact_rounds`, …), deps on `silver.*` and each other. */
  goldAssets: AssetDefinition[];
  /** Per Silver asset key: spread into its `asset({...})` to gate Gold on the dbt source tests. */
  silverChecks: Record<AssetKey, DbtSourceChecks>;
  /**
   * Every Silver table's tests as ONE asset's checks, evaluated by one `dbt test`: attach to the asset
   * whose job writes all Silver tables (`silver.fact_telemetry_event`) instead of `silverChecks`.
   */
  silverGate: DbtSourceChecks;
  project: DbtProject;
}

/**
 * Loads the dbt project as Gold assets. The manifest is cached by a checksum of the project, vars
 * and target, so a repeated load runs no dbt and no Python.
 *
 * @example
 * const { goldAssets, silverChecks } = await loadGoldAssets(cfg);
 * const telemetry = asset({ key: 'silver.fact_telemetry_event', ...silverChecks['silver.fact_telemetry_event'], … });
 */
export async function loadGoldAssets(cfg: LakehouseConfig, opts: GoldAssetsOptions = {}): Promise<GoldAssets> {
  const stateDir = opts.stateDir ?? cfg.stateDir;
  const dbtDir = join(stateDir, 'dbt');
  const projectDir = opts.projectDir ?? join(cfg.projectRoot, 'dbt');
  const target = opts.target ?? cfg.query.engine;
  const requirementsFile = join(cfg.projectRoot, 'spark', 'requirements.txt');
  const runtime =
    opts.runtime ??
    (() =>
      ensureSparkRuntime({
        requirementsFile,
        pomFile: join(cfg.projectRoot, 'spark', 'jars', 'pom.xml'),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      }));
  const courses = opts.courses ?? loadCourses(cfg.coursesFile);
  const vars = {
    silver_schema: cfg.catalog.namespaces.silver,
    gold_schema: cfg.catalog.namespaces.gold,
    course_centres: Object.fromEntries(Object.entries(courses).map(([id, c]) => [id, c.centre])),
    course_units: Object.fromEntries(Object.entries(courses).map(([id, c]) => [id, courseUnits(c)])),
    ...opts.vars,
  };
  const project = await loadDbtProject({
    projectDir,
    stateDir: dbtDir,
    target,
    vars,
    // The dbt version (and so the manifest) follows the pinned requirements.
    cacheKey: [createHash('sha256').update(readFileSync(requirementsFile)).digest('hex')],
    // Source `silver` is the Silver layer whatever its namespace is called.
    translate: { sourceAssetKey: (s) => `${s.sourceName}.${s.identifier}` },
    environment: async () => dbtEnvironment(cfg, stateDir, dbtDir, await runtime()),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  const { assets, sourceChecks, checksForSources } = dbtAssets(project, {
    group: 'gold',
    persistArtifacts: artifactPersister(cfg, stateDir, opts.objectStore),
  });
  const silverKeys = Object.keys(sourceChecks).filter((k) => k.startsWith('silver.'));
  return { goldAssets: assets, silverChecks: sourceChecks, silverGate: checksForSources(silverKeys), project };
}

/** Writes `<dbtDir>/profiles.yml` and returns how to run the venv's dbt against it. */
async function dbtEnvironment(
  cfg: LakehouseConfig,
  stateDir: string,
  dbtDir: string,
  rt: SparkRuntime,
): Promise<DbtEnvironment> {
  const env: Record<string, string> = {
    ...sparkEnv(cfg, stateDir),
    FAIRWAY_SPARK_JARS: sparkJars(cfg, rt.jars).join(','),
    JAVA_HOME: rt.javaHome,
    PYSPARK_PYTHON: rt.python,
    PYSPARK_DRIVER_PYTHON: rt.python,
  };
  const { execa } = await import('execa'); // loaded on use: loading the definitions starts no process
  const job = sparkModule(cfg.projectRoot, 'dbt_profile');
  const r = await execa(rt.python, job.args, { env: { ...env, ...job.env }, reject: false });
  if (r.exitCode !== 0) {
    const reason = r.stderr.trim() || r.shortMessage;
    throw new FrameworkError('DBT_PROFILE_FAILED', `python -m fairway_spark.dbt_profile failed: ${reason}`);
  }
  const sparkParams = hideSecrets(JSON.parse(r.stdout) as Record<string, string>, env);
  const profiles = { fairway: { target: cfg.query.engine, outputs: dbtOutputs(cfg, sparkParams) } };
  mkdirSync(dbtDir, { recursive: true });
  // JSON is YAML; written whole then renamed so a concurrent dbt never reads half a file.
  const tmp = join(dbtDir, `profiles.yml.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(profiles, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, join(dbtDir, 'profiles.yml'));
  // One dbt process per run: the gate, freshness and the Gold build share one Spark session (JVM).
  return { command: join(rt.venvDir, 'bin', 'dbt'), python: rt.python, env, profilesDir: dbtDir };
}

/** profiles.yml targets: spark (embedded, in-process session), trino (local stack), athena (aws). */
function dbtOutputs(cfg: LakehouseConfig, sparkParams: Record<string, string>): Record<string, unknown> {
  const trino = new URL(cfg.query.trinoUrl ?? 'http://127.0.0.1:8080');
  const schema = cfg.catalog.namespaces.gold;
  return {
    spark: {
      type: 'spark',
      method: 'session',
      host: 'localhost',
      schema,
      threads: 1,
      server_side_parameters: sparkParams,
    },
    trino: {
      type: 'trino',
      method: 'none',
      user: 'fairway',
      host: trino.hostname,
      port: Number(trino.port || (trino.protocol === 'https:' ? 443 : 80)),
      http_scheme: trino.protocol.replace(':', ''),
      database: cfg.catalog.name,
      schema,
      threads: 2,
    },
    athena: {
      type: 'athena',
      region_name: cfg.s3.region,
      database: 'awsdatacatalog',
      schema,
      s3_staging_dir: awsLocations(cfg).athenaResults,
      s3_data_dir: `${cfg.catalog.warehouse.gold.replace(/\/$/, '')}/`,
      work_group: cfg.query.athenaWorkgroup ?? 'primary',
      threads: 4,
    },
  };
}

/** Credentials never land in profiles.yml: dbt reads them from the environment when it renders it. */
function hideSecrets(params: Record<string, string>, env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    // By key name, not value: MinIO's development pair has the same id and secret.
    if (/secret/i.test(k) && v === env.AWS_SECRET_ACCESS_KEY) out[k] = "{{ env_var('AWS_SECRET_ACCESS_KEY') }}";
    else if (/access[.-]key(-id)?$/i.test(k) && v === env.AWS_ACCESS_KEY_ID)
      out[k] = "{{ env_var('AWS_ACCESS_KEY_ID') }}";
    else if (/secret|password|access[.-]key/i.test(k)) {
      throw new FrameworkError(
        'DBT_PROFILE_SECRET',
        `Spark setting '${k}' holds a credential not taken from the environment.`,
      );
    } else out[k] = v;
  }
  return out;
}

/** Copies artifacts to `<observability>/dbt_artifacts/<run_id>/<invocation>/`, or under the state dir. */
function artifactPersister(cfg: LakehouseConfig, stateDir: string, store?: ObjectStore): PersistDbtArtifacts {
  return async (runId, invocation, files) => {
    if (store) await store.ensureBucket(cfg.buckets.observability);
    for (const f of files) {
      if (store) {
        const key = `${cfg.prefixes.observability}dbt_artifacts/${runId}/${invocation}/${f.name}`;
        await store.putFile(cfg.buckets.observability, key, f.path, { contentType: 'application/json' });
      } else {
        const dir = join(stateDir, 'observability', 'dbt_artifacts', runId, invocation);
        await mkdir(dir, { recursive: true });
        await copyFile(f.path, join(dir, f.name));
      }
    }
  };
}
