import { join } from 'node:path';
import type { Logger } from 'pino';
import { ulid } from 'ulid';
import type { PipesContext, PipesMessage } from '../../../framework/pipes/index.ts';
import type { LakehouseConfig } from '../config.ts';
import type { ObjectStore } from '../object-key.ts';
import { sparkEnv } from '../spark-env.ts';
import { sparkPackageRoot } from '../spark-python.ts';
import { awsLocations, parseS3Uri } from './aws-clients.ts';
import { ensureDepsArchive } from './deps-archive.ts';
import { emrPythonTarget, pythonDepsLaunch } from './emr-python.ts';
import { type BundleDeps, buildJobBundle, uploadJobBundle } from './job-bundle.ts';
import { type RemotePipesJobResult, runRemotePipesJob } from './remote-pipes-job.ts';
import type { SparkLauncher } from './spark-launcher.ts';

/** What a driver on the service needs of `sparkEnv`: the catalog, the warehouse, S3, the emulator endpoint. */
const REMOTE_ENV =
  /^(FAIRWAY_CATALOG_|FAIRWAY_WAREHOUSE$|FAIRWAY_S3_|FAIRWAY_AWS_ENDPOINT$|FAIRWAY_SPARK_SHUFFLE_PARTITIONS$|AWS_REGION$)/;

/**
 * The driver's environment on the service: the profile's catalog and S3 settings (no empty ones), the master
 * left to the service, and no credentials (the job runs as its execution role) nor local driver settings.
 */
export function remoteSparkEnv(config: LakehouseConfig): Record<string, string> {
  const env = Object.entries(sparkEnv(config)).filter(([k, v]) => REMOTE_ENV.test(k) && v !== '');
  // no executor watch (fairway_spark.session): the service scales executors, its execution timeout bounds the job
  return { ...Object.fromEntries(env), FAIRWAY_SPARK_MASTER: 'managed', FAIRWAY_SPARK_EXECUTOR_WAIT_SECONDS: '0' };
}

/**
 * The Silver job's Python dependencies for the profile's EMR Serverless application: `spark/requirements-emr.txt`
 * as wheels for EMR's CPython and the application's architecture, built once into the cache.
 */
export async function jobBundleDeps(
  config: LakehouseConfig,
  projectRoot: string,
  python: string,
  opts: { signal?: AbortSignal; onProgress?: (message: string) => void } = {},
): Promise<BundleDeps> {
  const pinsFile = join(sparkPackageRoot(projectRoot), 'requirements-emr.txt');
  const target = emrPythonTarget(config.launcher.emr?.architecture ?? 'X86_64');
  return { archive: await ensureDepsArchive({ python, pinsFile, target, ...opts }), pinsFile, target };
}

interface RemoteSilverOptions {
  config: LakehouseConfig;
  store: ObjectStore;
  launcher: SparkLauncher;
  projectRoot: string;
  /** The runtime's jars (the bundle ships the Iceberg and Sedona ones). */
  jars: readonly string[];
  /** The venv's python: its pip downloads the job's dependency wheels. */
  python: string;
  /** The manifest the local job would read, as JSON text: uploaded beside the step's messages. */
  manifest: string;
  /** The Silver job's arguments after `--manifest FILE`. */
  args: string[];
  runId: string;
  stepKey: string;
  context: PipesContext;
  signal?: AbortSignal;
  log: Logger;
  onOutput?: (line: string) => void;
  onMessage?: (message: PipesMessage) => void;
}

/**
 * The Silver job on EMR Serverless: packages and uploads the bundle (content-addressed: a no-op when it is
 * there), uploads the manifest, runs the job with its messages and logs under `jobs/<run>/<step>/<attempt>/`.
 */
export async function runSilverRemote(opts: RemoteSilverOptions): Promise<RemotePipesJobResult> {
  const where = awsLocations(opts.config);
  const deps = await jobBundleDeps(opts.config, opts.projectRoot, opts.python, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onOutput ? { onProgress: opts.onOutput } : {}),
  });
  const built = await buildJobBundle(opts.projectRoot, opts.jars, deps);
  const bundle = await uploadJobBundle(opts.store, where.bundles, built);
  opts.onOutput?.(
    `[bundle] ${bundle.manifestUri}${bundle.uploaded.length ? ` (uploaded ${bundle.uploaded.join(', ')})` : ''}`,
  );
  // one prefix per attempt: a retried step must not read the messages of the attempt before it
  const jobUri = `${where.job(opts.runId, opts.stepKey)}${ulid()}/`;
  const manifest = parseS3Uri(`${jobUri}silver-manifest.json`);
  await opts.store.put(manifest.bucket, manifest.key, opts.manifest, { contentType: 'application/json' });
  const emr = opts.config.launcher.emr;
  const python = pythonDepsLaunch(bundle.archives[0]!);
  return runRemotePipesJob({
    launcher: opts.launcher,
    store: opts.store,
    stepUri: jobUri,
    context: opts.context,
    ...(opts.signal ? { signal: opts.signal } : {}),
    log: opts.log,
    ...(opts.onOutput ? { onOutput: opts.onOutput } : {}),
    ...(opts.onMessage ? { onMessage: opts.onMessage } : {}),
    job: {
      name: `fairway-${opts.runId}-${opts.stepKey}`,
      entryPoint: bundle.entryPoint,
      args: ['--manifest', `s3://${manifest.bucket}/${manifest.key}`, ...opts.args],
      pyFiles: bundle.pyFiles,
      archives: python.archives,
      jars: bundle.jars,
      env: { ...remoteSparkEnv(opts.config), ...python.env, FAIRWAY_BUNDLE: bundle.manifestUri },
      sparkConf: { 'spark.sql.shuffle.partitions': String(opts.config.spark.shufflePartitions), ...python.sparkConf },
      logUri: `${jobUri}logs/`,
      timeoutMinutes: emr?.timeoutMinutes ?? 60,
    },
  });
}
