import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FrameworkError } from '../framework/errors/index.ts';
import type { StackInstall } from './install.ts';
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

export interface SparkClusterConfig {
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
  /** Put on every executor's classpath (`SPARK_DIST_CLASSPATH`): Iceberg, Sedona, hadoop-aws… */
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
function portOf(raw: string): number {
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

const timeout = (ms: number) => AbortSignal.timeout(ms);
const why = (e: unknown) => {
  const err = e as { cause?: { code?: string }; code?: string; name?: string; message?: string };
  return err.cause?.code ?? err.code ?? err.name ?? err.message ?? String(e);
};

export function s3Health(cfg: StackConfig): () => Promise<Health> {
  return async () => {
    // the S3 SDK loads when a probe runs, not with the stack module (loaded by every command)
    const { ListBucketsCommand, S3Client } = await import('@aws-sdk/client-s3');
    const client = new S3Client({
      region: cfg.s3.region,
      endpoint: cfg.s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: cfg.s3.accessKeyId, secretAccessKey: cfg.s3.secretAccessKey },
      maxAttempts: 1,
    });
    try {
      const res = await client.send(new ListBucketsCommand({}), { abortSignal: timeout(3000) });
      return { healthy: true, detail: `${res.Buckets?.length ?? 0} buckets` };
    } catch (e) {
      return { healthy: false, detail: `ListBuckets failed: ${why(e)}` };
    } finally {
      client.destroy();
    }
  };
}

export function restHealth(cfg: StackConfig): () => Promise<Health> {
  return async () => {
    try {
      const res = await fetch(new URL('/v1/config', cfg.catalog.uri), { signal: timeout(3000) });
      if (!res.ok) return { healthy: false, detail: `GET /v1/config: HTTP ${res.status}` };
      const body = (await res.json()) as { defaults?: unknown };
      return body.defaults !== undefined
        ? { healthy: true, detail: 'GET /v1/config ok' }
        : { healthy: false, detail: 'GET /v1/config: not an Iceberg REST catalog response' };
    } catch (e) {
      return { healthy: false, detail: `GET /v1/config failed: ${why(e)}` };
    }
  };
}

export function trinoHealth(cfg: StackConfig): () => Promise<Health> {
  return async () => {
    try {
      const res = await fetch(new URL('/v1/info', cfg.trinoUrl), { signal: timeout(3000) });
      if (!res.ok) return { healthy: false, detail: `GET /v1/info: HTTP ${res.status}` };
      const info = (await res.json()) as { starting?: boolean; nodeVersion?: { version?: string } };
      return info.starting === false
        ? { healthy: true, detail: `Trino ${info.nodeVersion?.version ?? '?'} ready` }
        : { healthy: false, detail: 'starting' };
    } catch (e) {
      return { healthy: false, detail: `GET /v1/info failed: ${why(e)}` };
    }
  };
}

interface MasterStatus {
  status?: string;
  workers?: { id: string; state: string; cores: number; coresused: number; memory: number }[];
  activeapps?: { id: string; name: string; cores: number; state: string }[];
}

/** The master's `/json/` status (its web UI). */
export async function masterStatus(cfg: StackConfig): Promise<MasterStatus> {
  const res = await fetch(new URL('/json/', cfg.spark.masterUiUrl), { signal: timeout(3000) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return (await res.json()) as MasterStatus;
}

export function sparkMasterHealth(cfg: StackConfig): () => Promise<Health> {
  return async () => {
    try {
      const s = await masterStatus(cfg);
      if (s.status !== 'ALIVE') return { healthy: false, detail: `master status ${s.status ?? '?'}` };
      const alive = (s.workers ?? []).filter((w) => w.state === 'ALIVE');
      return {
        healthy: true,
        detail: `${alive.length} alive worker${alive.length === 1 ? '' : 's'}, ${(s.activeapps ?? []).length} running application(s); UI ${cfg.spark.masterUiUrl}`,
      };
    } catch (e) {
      return { healthy: false, detail: `GET /json/ failed: ${why(e)}` };
    }
  };
}

/** Healthy once the worker answers and the master lists it ALIVE (registered, taking executors). */
export function sparkWorkerHealth(cfg: StackConfig): () => Promise<Health> {
  return async () => {
    let id: string;
    let cores: number;
    try {
      const res = await fetch(new URL('/json/', cfg.spark.workerUiUrl), { signal: timeout(3000) });
      if (!res.ok) return { healthy: false, detail: `GET /json/: HTTP ${res.status}` };
      ({ id, cores } = (await res.json()) as { id: string; cores: number });
    } catch (e) {
      return { healthy: false, detail: `GET /json/ failed: ${why(e)}` };
    }
    try {
      const w = (await masterStatus(cfg)).workers?.find((x) => x.id === id);
      return w?.state === 'ALIVE'
        ? { healthy: true, detail: `${id}: ${w.coresused}/${cores} cores in use; UI ${cfg.spark.workerUiUrl}` }
        : { healthy: false, detail: `${id} not registered with the master (${w?.state ?? 'unknown to it'})` };
    } catch (e) {
      return { healthy: false, detail: `${id} answers, the master does not (${why(e)})` };
    }
  };
}

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

/** A minimal environment for the servers: no inherited credentials beyond what each needs. */
function baseEnv(): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'TZ'];
  return Object.fromEntries(keep.flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])));
}

export interface Launch {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Part of the command line that identifies this server (pid-reuse guard). */
  marker: string;
}

/**
 * `weed mini`: master, volume, filer and S3 gateway in one process. Its internal ports follow the
 * S3 port (9000 → master 9333, volume 9340, filer 9888, gRPC +10000) so a second stack on other
 * ports does not collide; its own Iceberg catalog, WebDAV and admin UI are off.
 */
export function s3Launch(cfg: StackConfig, install: StackInstall, port: number): Launch {
  if (port > 55_000) {
    throw new FrameworkError(
      'STACK_CONFIG_INVALID',
      `${SERVICE_LABELS.s3}: port ${port} is too high (its gRPC ports are +10000); use a port below 55000.`,
    );
  }
  const dir = join(cfg.dir, 's3');
  mkdirSync(join(dir, 'data'), { recursive: true });
  const identities = join(dir, 'identities.json');
  const identity = {
    identities: [
      {
        name: 'fairway',
        credentials: [{ accessKey: cfg.s3.accessKeyId, secretKey: cfg.s3.secretAccessKey }],
        actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
      },
    ],
  };
  writeFileSync(identities, `${JSON.stringify(identity, null, 2)}\n`, { mode: 0o600 });
  chmodSync(identities, 0o600);
  return {
    command: install.weed,
    args: [
      'mini',
      `-dir=${join(dir, 'data')}`,
      '-ip=127.0.0.1',
      '-ip.bind=127.0.0.1',
      `-s3.port=${port}`,
      `-master.port=${port + 333}`,
      `-volume.port=${port + 340}`,
      `-filer.port=${port + 888}`,
      '-s3.port.iceberg=0',
      '-s3.port.lance=0',
      '-webdav=false',
      '-admin.ui=false',
      `-s3.config=${identities}`,
      `-filer.localSocket=${join(dir, 'filer.sock')}`,
      `-s3.localSocket=${join(dir, 's3.sock')}`,
    ],
    env: baseEnv(),
    cwd: dir,
    marker: `-dir=${join(dir, 'data')}`,
  };
}

/** Iceberg's REST catalog: JDBC catalog on a SQLite file under the state dir, S3FileIO on the S3 server. */
export function restLaunch(cfg: StackConfig, install: StackInstall, javaHome: string, port: number): Launch {
  const dir = join(cfg.dir, 'rest');
  mkdirSync(dir, { recursive: true });
  const db = join(dir, 'catalog.db');
  return {
    command: join(javaHome, 'bin', 'java'),
    args: [
      '-Xmx512m',
      '--enable-native-access=ALL-UNNAMED',
      `-Dfairway.stack=${dir}`,
      '-cp',
      install.restClasspath.join(':'),
      ICEBERG_REST.mainClass,
    ],
    env: {
      ...baseEnv(),
      AWS_REGION: cfg.s3.region,
      CATALOG_CATALOG__IMPL: 'org.apache.iceberg.jdbc.JdbcCatalog',
      CATALOG_URI: `jdbc:sqlite:file:${db}`,
      CATALOG_JDBC_SCHEMA__VERSION: 'V1',
      CATALOG_WAREHOUSE: cfg.catalog.warehouse,
      CATALOG_IO__IMPL: 'org.apache.iceberg.aws.s3.S3FileIO',
      CATALOG_S3_ENDPOINT: cfg.s3.endpoint,
      CATALOG_S3_PATH__STYLE__ACCESS: 'true',
      CATALOG_S3_ACCESS__KEY__ID: cfg.s3.accessKeyId,
      CATALOG_S3_SECRET__ACCESS__KEY: cfg.s3.secretAccessKey,
      CATALOG_CLIENT_REGION: cfg.s3.region,
      CATALOG_REST_HOST: '127.0.0.1',
      CATALOG_REST_PORT: String(port),
    },
    cwd: dir,
    marker: `-Dfairway.stack=${dir}`,
  };
}

/** Trino, single node (coordinator schedules on itself), the `lakehouse` catalog on the REST catalog. */
export function trinoLaunch(cfg: StackConfig, install: StackInstall, javaHome: string, port: number): Launch {
  const dir = join(cfg.dir, 'trino');
  const etc = join(dir, 'etc');
  mkdirSync(join(etc, 'catalog'), { recursive: true });
  const here = import.meta.dirname;
  writeFileSync(
    join(etc, 'config.properties'),
    [
      'coordinator=true',
      'node-scheduler.include-coordinator=true',
      `http-server.http.port=${port}`,
      `discovery.uri=http://127.0.0.1:${port}`,
      'node.environment=fairway_local',
      'node.id=fairway-local',
      'node.bind-ip=127.0.0.1',
      'node.internal-address=127.0.0.1',
      `plugin.dir=${join(install.trinoHome, 'plugin')}`,
      `catalog.config-dir=${join(etc, 'catalog')}`,
      'query.max-memory=1GB',
      'query.max-memory-per-node=1GB',
      '',
    ].join('\n'),
  );
  writeFileSync(join(etc, 'log.properties'), 'io.trino=INFO\n');
  copyFileSync(
    join(here, 'trino', 'catalog', 'lakehouse.properties'),
    join(etc, 'catalog', `${cfg.catalog.name}.properties`),
  );
  const jvm = readFileSync(join(here, 'trino', 'jvm.config'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  return {
    command: join(javaHome, 'bin', 'java'),
    args: [
      ...jvm,
      `-Dconfig=${join(etc, 'config.properties')}`,
      `-Dlog.levels-file=${join(etc, 'log.properties')}`,
      '-cp',
      `${join(install.trinoHome, 'lib')}/*`,
      'io.trino.server.TrinoServer',
    ],
    env: {
      ...baseEnv(),
      FAIRWAY_CATALOG_URI: cfg.catalog.uri,
      FAIRWAY_S3_ENDPOINT: cfg.s3.endpoint,
      FAIRWAY_S3_REGION: cfg.s3.region,
      AWS_ACCESS_KEY_ID: cfg.s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: cfg.s3.secretAccessKey,
    },
    cwd: dir,
    marker: `-Dconfig=${join(etc, 'config.properties')}`,
  };
}

/** A Spark daemon (master or worker) as `bin/spark-class` would start it, without the shell scripts. */
function sparkDaemon(
  rt: SparkClusterRuntime,
  mainClass: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  dir: string,
  jvm: string[] = [],
): Launch {
  return {
    command: join(rt.javaHome, 'bin', 'java'),
    args: ['-Xmx512m', ...jvm, `-Dfairway.stack=${dir}`, '-cp', `${join(rt.sparkHome, 'jars')}/*`, mainClass, ...args],
    env: {
      ...baseEnv(),
      ...env,
      JAVA_HOME: rt.javaHome,
      SPARK_HOME: rt.sparkHome,
      // what spark-class's load-spark-env.sh sets: the worker's executor command builder needs it
      SPARK_SCALA_VERSION: '2.12',
      SPARK_LOCAL_IP: '127.0.0.1',
    },
    cwd: dir,
    marker: `-Dfairway.stack=${dir}`,
  };
}

/** The standalone master on 127.0.0.1: RPC on the `spark://` URL's port, web UI (and `/json/`) on its own. */
export function sparkMasterLaunch(cfg: StackConfig, rt: SparkClusterRuntime): Launch {
  const dir = join(cfg.dir, 'spark-master');
  mkdirSync(dir, { recursive: true });
  return sparkDaemon(
    rt,
    'org.apache.spark.deploy.master.Master',
    [
      '--host',
      '127.0.0.1',
      '--port',
      String(portOf(cfg.spark.masterUrl)),
      '--webui-port',
      String(portOf(cfg.spark.masterUiUrl)),
    ],
    {},
    dir,
  );
}

/**
 * One worker offering `workerCores` and `workerMemory` to executors. Executors are its child processes
 * (in its process group: `stack down` stops them with it); their logs are under `<stack>/spark-worker/work/
 * <application id>/<executor id>/`. Fairway's jars are on every executor's classpath
 * (`SPARK_DIST_CLASSPATH`), as in a cluster image that has them in `$SPARK_HOME/jars`: the driver ships
 * none (they are ~500 MB).
 */
export function sparkWorkerLaunch(cfg: StackConfig, rt: SparkClusterRuntime): Launch {
  const dir = join(cfg.dir, 'spark-worker');
  const work = join(dir, 'work');
  mkdirSync(work, { recursive: true });
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  return sparkDaemon(
    rt,
    'org.apache.spark.deploy.worker.Worker',
    [
      cfg.spark.masterUrl,
      '--host',
      '127.0.0.1',
      '--cores',
      String(cfg.spark.workerCores),
      '--memory',
      cfg.spark.workerMemory,
      '--webui-port',
      String(portOf(cfg.spark.workerUiUrl)),
      '--work-dir',
      work,
    ],
    {
      SPARK_DIST_CLASSPATH: rt.jars.join(':'),
      SPARK_LOCAL_DIRS: join(dir, 'tmp'),
    },
    dir,
    // finished applications' directories (executor logs, fetched files) go after a week, checked hourly
    ['-Dspark.worker.cleanup.enabled=true', '-Dspark.worker.cleanup.appDataTtl=604800'],
  );
}
