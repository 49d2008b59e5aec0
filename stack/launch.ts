import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrameworkError } from '../framework/errors/index.ts';
import type { StackInstall } from './install.ts';
import { ICEBERG_REST } from './pins.ts';
import { portOf, SERVICE_LABELS, type SparkClusterRuntime, type StackConfig } from './services.ts';

/**
 * How each stack server is started: its command line, environment and files, from the installed binaries.
 */
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
  const here = fileURLToPath(new URL('.', import.meta.url));
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
 * none (they are ~240 MB).
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
