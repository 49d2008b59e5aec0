import { join } from 'node:path';
import { FrameworkError } from '../framework/errors/index.ts';
import { restHealth, s3Health, sparkMasterHealth, sparkWorkerHealth, trinoHealth } from './health.ts';
import { ICEBERG_REST, SEAWEEDFS, SPARK_VERSION, TRINO } from './pins.ts';

/** What the native stack serves, derived from the `local` profile's config. */
export interface StackConfig {
  /** `<stateDir>/stack`: pid files, logs, config and data of the servers. */
  dir: string;
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
  buckets: string[];
  catalog: {
    uri: string;
    /** Trino's catalog name (the file name of its catalog properties). */
    name: string;
    warehouse: string;
    /** Namespaces created after start-up, each with its location (e.g. gold under the gold bucket). */
    namespaces: { name: string; location: string }[];
  };
  trinoUrl: string;
  /** The Spark standalone cluster (a master and one worker); started only when `services` has `spark`. */
  spark: SparkClusterConfig;
  /** What `stack up` starts (`FAIRWAY_STACK_SERVICES`, `stack up --only`). `spark` is the master and the worker. */
  services: StackGroup[];
}

interface SparkClusterConfig {
  /** `spark://127.0.0.1:7077`: what the profile's `FAIRWAY_SPARK_MASTER` names to run on this cluster. */
  masterUrl: string;
  /** The master's web UI (and JSON status at `/json/`); the worker's is on the next port. */
  masterUiUrl: string;
  workerUiUrl: string;
  workerCores: number;
  /** What the worker offers its executors, e.g. `4g`. */
  workerMemory: string;
  /** The Spark distribution, a Java 17 home and the jars every executor loads: installed on first use. */
  runtime: () => Promise<SparkClusterRuntime>;
}

export interface SparkClusterRuntime {
  /** A Spark distribution with `jars/` (the venv's PySpark, the same version as the driver's). */
  sparkHome: string;
  javaHome: string;
  /** Put on every executor's classpath (`SPARK_DIST_CLASSPATH`): Iceberg, Sedona… */
  jars: string[];
}

export type ServiceName = 's3' | 'rest' | 'trino' | 'spark-master' | 'spark-worker';
export const SERVICE_NAMES: readonly ServiceName[] = ['s3', 'rest', 'trino', 'spark-master', 'spark-worker'];
/** What users switch on and off: `spark` is the master with its worker. */
export type StackGroup = 's3' | 'rest' | 'trino' | 'spark';
export const STACK_GROUPS: readonly StackGroup[] = ['s3', 'rest', 'trino', 'spark'];
export const groupOf = (name: ServiceName): StackGroup => (name.startsWith('spark-') ? 'spark' : (name as StackGroup));

export interface Health {
  healthy: boolean;
  detail: string;
}

export interface ServiceSpec {
  name: ServiceName;
  /** For messages: "the S3 server (SeaweedFS 4.48)". */
  label: string;
  url: string;
  port: number;
  /** Other ports it listens on (checked free before a start). */
  extraPorts: number[];
  pidFile: string;
  logFile: string;
  /** Start-up budget before `up` gives up. */
  startTimeoutMs: number;
  health: () => Promise<Health>;
}

export const SERVICE_LABELS: Record<ServiceName, string> = {
  s3: `S3 server (SeaweedFS ${SEAWEEDFS.version})`,
  rest: `Iceberg REST catalog (Iceberg ${ICEBERG_REST.icebergVersion})`,
  trino: `Trino ${TRINO.version}`,
  'spark-master': `Spark ${SPARK_VERSION} standalone master`,
  'spark-worker': `Spark ${SPARK_VERSION} worker`,
};

/** Port of an http(s) URL (80/443 when it has none). */
export function portOf(raw: string): number {
  const url = new URL(raw);
  return Number(url.port || (url.protocol === 'https:' ? 443 : 80));
}

/** A service the native stack starts must listen on 127.0.0.1 over http; anything else is a config error. */
export function assertLoopback(spec: ServiceSpec, key: string): void {
  const url = new URL(spec.url);
  const scheme = spec.name === 'spark-master' ? 'spark:' : 'http:';
  if (url.protocol !== scheme || !['127.0.0.1', 'localhost'].includes(url.hostname)) {
    throw new FrameworkError(
      'STACK_CONFIG_INVALID',
      `${spec.label}: ${key}=${spec.url} is not a ${scheme.slice(0, -1)} URL on 127.0.0.1; the native stack serves only 127.0.0.1. ` +
        `Use ${scheme}//127.0.0.1:<port> in config/local.env (or the environment).`,
      { details: { service: spec.name, key } },
    );
  }
}

export const SERVICE_KEYS: Record<ServiceName, string> = {
  s3: 'FAIRWAY_S3_ENDPOINT',
  rest: 'FAIRWAY_CATALOG_URI',
  trino: 'FAIRWAY_TRINO_URL',
  'spark-master': 'FAIRWAY_STACK_SPARK_MASTER',
  'spark-worker': 'FAIRWAY_STACK_SPARK_UI_PORT',
};

/** The services with their URLs, files and health probes (no installs, no processes). */
export function serviceSpecs(cfg: StackConfig): Record<ServiceName, ServiceSpec> {
  const spec = (
    name: ServiceName,
    url: string,
    startTimeoutMs: number,
    health: () => Promise<Health>,
    port = portOf(url),
    extraPorts: number[] = [],
  ) => ({
    name,
    label: SERVICE_LABELS[name],
    url,
    port,
    extraPorts,
    pidFile: join(cfg.dir, `${name}.pid`),
    logFile: join(cfg.dir, 'logs', `${name}.log`),
    startTimeoutMs,
    health,
  });
  return {
    s3: spec('s3', cfg.s3.endpoint, 60_000, s3Health(cfg)),
    rest: spec('rest', cfg.catalog.uri, 120_000, restHealth(cfg)),
    trino: spec('trino', cfg.trinoUrl, 420_000, trinoHealth(cfg)),
    'spark-master': spec('spark-master', cfg.spark.masterUrl, 120_000, sparkMasterHealth(cfg), undefined, [
      portOf(cfg.spark.masterUiUrl),
    ]),
    'spark-worker': spec('spark-worker', cfg.spark.workerUiUrl, 120_000, sparkWorkerHealth(cfg)),
  };
}
