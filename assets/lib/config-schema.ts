import type { z } from 'zod';
import { lazySchema, type Zod } from '../../framework/validation/index.ts';

// The schema of a profile's settings (config/<profile>.env over the environment): every FAIRWAY_* key, its
// type and default, and the checks across keys. `loadConfig` (config.ts) validates with it and nests the result.
// Built on first use (framework/validation's lazySchema): a command whose profile validated before does not load zod.

/** The module's URL: its text is part of what a kept validation of a profile depends on (config.ts). */
export const CONFIG_SCHEMA_MODULE = import.meta.url;

/**
 * Every `FAIRWAY_*` key a profile file may hold, as plain data: which environment variables a profile reads is
 * known without building the schema (`fields` has exactly these, the compiler checks).
 */
export const KNOWN_KEYS = [
  'FAIRWAY_PROFILE',
  'FAIRWAY_STATE_DIR',
  'FAIRWAY_STORAGE_KIND',
  'FAIRWAY_STORAGE_ROOT',
  'FAIRWAY_S3_ENDPOINT',
  'FAIRWAY_S3_REGION',
  'FAIRWAY_S3_PATH_STYLE',
  'FAIRWAY_S3_CREDENTIALS',
  'FAIRWAY_BUCKET_LANDING',
  'FAIRWAY_BUCKET_SILVER',
  'FAIRWAY_BUCKET_GOLD',
  'FAIRWAY_BUCKET_QUARANTINE',
  'FAIRWAY_BUCKET_OBSERVABILITY',
  'FAIRWAY_PREFIX_LANDING',
  'FAIRWAY_PREFIX_QUARANTINE',
  'FAIRWAY_PREFIX_OBSERVABILITY',
  'FAIRWAY_CATALOG_TYPE',
  'FAIRWAY_CATALOG_NAME',
  'FAIRWAY_CATALOG_URI',
  'FAIRWAY_WAREHOUSE_SILVER',
  'FAIRWAY_WAREHOUSE_GOLD',
  'FAIRWAY_NAMESPACE_SILVER',
  'FAIRWAY_NAMESPACE_GOLD',
  'FAIRWAY_TABLE_TELEMETRY_EVENT',
  'FAIRWAY_TABLE_FACILITY_TOPOLOGY',
  'FAIRWAY_SPARK_MASTER',
  'FAIRWAY_SPARK_DRIVER_MEMORY',
  'FAIRWAY_SPARK_EXECUTOR_CORES',
  'FAIRWAY_SPARK_EXECUTOR_MEMORY',
  'FAIRWAY_SPARK_DYNAMIC_ALLOCATION',
  'FAIRWAY_SPARK_JARS_ON_WORKERS',
  'FAIRWAY_SPARK_DRIVER_HOST',
  'FAIRWAY_SPARK_EXECUTOR_WAIT_SECONDS',
  'FAIRWAY_SPARK_SHUFFLE_PARTITIONS',
  'FAIRWAY_SPARK_SLOTS',
  'FAIRWAY_SILVER_BATCH_PARTITIONS',
  'FAIRWAY_AUDIT_BRANCH_RETENTION_DAYS',
  'FAIRWAY_COORD_MIN_LON',
  'FAIRWAY_COORD_MAX_LON',
  'FAIRWAY_COORD_MIN_LAT',
  'FAIRWAY_COORD_MAX_LAT',
  'FAIRWAY_INBOX_DIR',
  'FAIRWAY_BRONZE_SETTLE_SECONDS',
  'FAIRWAY_COURSES_FILE',
  'FAIRWAY_QUERY_ENGINE',
  'FAIRWAY_STACK_SERVICES',
  'FAIRWAY_STACK_SPARK_MASTER',
  'FAIRWAY_STACK_SPARK_UI_PORT',
  'FAIRWAY_STACK_SPARK_WORKER_CORES',
  'FAIRWAY_STACK_SPARK_WORKER_MEMORY',
  'FAIRWAY_TRINO_URL',
  'FAIRWAY_ATHENA_WORKGROUP',
  'FAIRWAY_AWS_ENDPOINT',
  'FAIRWAY_SPARK_LAUNCHER',
  'FAIRWAY_EMR_APPLICATION_ID',
  'FAIRWAY_EMR_EXECUTION_ROLE_ARN',
  'FAIRWAY_EMR_TIMEOUT_MINUTES',
  'FAIRWAY_EMR_ARCHITECTURE',
] as const;
export type KnownKey = (typeof KNOWN_KEYS)[number];

/**
 * Every `FAIRWAY_*` key a profile file may hold, with the form it must take.
 * Credentials are deliberately absent: they come from the environment only.
 */
export const rawSchema = lazySchema((z) => z.strictObject(fields(z)));

/** The fields of `rawSchema`, built with zod when a profile is validated (not by importing this module). */
function fields(z: Zod) {
  const str = z.string().trim().min(1, 'a non-empty string');
  const optionalStr = z.string().trim().optional();
  const bucket = z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3-63 chars, a-z 0-9 . -)');
  const prefix = z
    .string()
    .trim()
    .regex(/^([A-Za-z0-9._=-]+\/)*$/, "empty, or path segments ending in '/' (e.g. 'fairway/')")
    .default('');
  const ident = z
    .string()
    .trim()
    .regex(/^[a-z_][a-z0-9_]*$/, 'a lowercase SQL identifier (a-z 0-9 _)');
  const bool = z.enum(['true', 'false']).transform((v) => v === 'true');
  const posInt = z.string().trim().regex(/^\d+$/, 'a positive integer').transform(Number).pipe(z.number().int().min(1));
  const seconds = (max: number) => {
    const expected = `a number of seconds from 0 to ${max} (0 disables)`;
    return z
      .string()
      .trim()
      .regex(/^\d+(\.\d+)?$/, expected)
      .transform(Number)
      .pipe(z.number().max(max, expected));
  };
  const coord = (min: number, max: number) =>
    z
      .string()
      .trim()
      .regex(/^-?\d+(\.\d+)?$/, `a decimal number in [${min}, ${max}]`)
      .transform(Number)
      .pipe(z.number().min(min).max(max));
  const memory = z
    .string()
    .trim()
    .regex(/^\d+[kmgt]$/i, 'a JVM memory size such as 2g or 512m');
  const url = z.url({ protocol: /^https?$/, error: 'an http(s) URL such as http://127.0.0.1:9000' });
  return {
    FAIRWAY_PROFILE: str,
    FAIRWAY_STATE_DIR: str.default('.fairway'),
    FAIRWAY_STORAGE_KIND: z.enum(['local', 's3']),
    FAIRWAY_STORAGE_ROOT: optionalStr,
    FAIRWAY_S3_ENDPOINT: url.optional(),
    FAIRWAY_S3_REGION: str.default('us-east-1'),
    FAIRWAY_S3_PATH_STYLE: bool.default(false),
    FAIRWAY_S3_CREDENTIALS: z.enum(['env', 'env-or-minio-default']).default('env'),
    FAIRWAY_BUCKET_LANDING: bucket,
    FAIRWAY_BUCKET_SILVER: bucket,
    FAIRWAY_BUCKET_GOLD: bucket,
    FAIRWAY_BUCKET_QUARANTINE: bucket,
    FAIRWAY_BUCKET_OBSERVABILITY: bucket,
    FAIRWAY_PREFIX_LANDING: prefix,
    FAIRWAY_PREFIX_QUARANTINE: prefix,
    FAIRWAY_PREFIX_OBSERVABILITY: prefix,
    FAIRWAY_CATALOG_TYPE: z.enum(['jdbc', 'rest', 'glue']),
    FAIRWAY_CATALOG_NAME: ident.default('lakehouse'),
    FAIRWAY_CATALOG_URI: optionalStr,
    FAIRWAY_WAREHOUSE_SILVER: optionalStr,
    FAIRWAY_WAREHOUSE_GOLD: optionalStr,
    FAIRWAY_NAMESPACE_SILVER: ident.default('silver'),
    FAIRWAY_NAMESPACE_GOLD: ident.default('gold'),
    FAIRWAY_TABLE_TELEMETRY_EVENT: ident.default('fact_telemetry_event'),
    FAIRWAY_TABLE_FACILITY_TOPOLOGY: ident.default('dim_facility_topology'),
    FAIRWAY_SPARK_MASTER: str.regex(
      /^(local(\[(\d+|\*)\])?|spark:\/\/.+|yarn|k8s:\/\/.+)$/,
      'local[N], spark://host:port, yarn or k8s://…',
    ),
    FAIRWAY_SPARK_DRIVER_MEMORY: memory,
    /** Executors (on a cluster master; local mode has none): cores and heap of each, dynamic allocation. */
    FAIRWAY_SPARK_EXECUTOR_CORES: posInt.optional(),
    FAIRWAY_SPARK_EXECUTOR_MEMORY: memory.default('1g'),
    FAIRWAY_SPARK_DYNAMIC_ALLOCATION: bool.default(false),
    /** Workers have Fairway's jars at the driver's paths (default: true on the stack's own cluster). */
    FAIRWAY_SPARK_JARS_ON_WORKERS: bool.optional(),
    /** The address executors reach the driver at (a container name under docker compose). */
    FAIRWAY_SPARK_DRIVER_HOST: str.default('127.0.0.1'),
    /** A cluster job with no executor for this long fails, naming the master (workers down or full). */
    FAIRWAY_SPARK_EXECUTOR_WAIT_SECONDS: seconds(3600).default(120),
    FAIRWAY_SPARK_SHUFFLE_PARTITIONS: posInt,
    /** Spark applications Fairway runs at once (the `spark` pool): 1 on a small machine. */
    FAIRWAY_SPARK_SLOTS: posInt.default(1),
    /** Bronze partitions one Silver Spark application takes. */
    FAIRWAY_SILVER_BATCH_PARTITIONS: posInt.default(500),
    /** Days an unpublished audit branch (a run whose gate failed) is kept for inspection before it is dropped. */
    FAIRWAY_AUDIT_BRANCH_RETENTION_DAYS: posInt.default(7),
    FAIRWAY_COORD_MIN_LON: coord(-180, 180),
    FAIRWAY_COORD_MAX_LON: coord(-180, 180),
    FAIRWAY_COORD_MIN_LAT: coord(-90, 90),
    FAIRWAY_COORD_MAX_LAT: coord(-90, 90),
    FAIRWAY_INBOX_DIR: str,
    /** Bronze lands an inbox file only once it has not changed for this long: it may still be being written. */
    FAIRWAY_BRONZE_SETTLE_SECONDS: seconds(300).default(2),
    FAIRWAY_COURSES_FILE: str,
    FAIRWAY_QUERY_ENGINE: z.enum(['spark', 'trino', 'athena']),
    /** What `fairway stack up` starts: s3, rest, trino, spark (a standalone master and one worker). */
    FAIRWAY_STACK_SERVICES: z
      .string()
      .trim()
      .regex(/^(s3|rest|trino|spark)(,(s3|rest|trino|spark))*$/, 'a comma-separated list of s3, rest, trino, spark')
      .default('s3,rest,trino,spark')
      .transform((v) => [...new Set(v.split(','))] as ('s3' | 'rest' | 'trino' | 'spark')[]),
    FAIRWAY_STACK_SPARK_MASTER: z
      .string()
      .trim()
      .regex(/^spark:\/\/[\w.-]+:\d+$/, 'a spark://host:port URL such as spark://127.0.0.1:7077')
      .default('spark://127.0.0.1:7077'),
    /** The stack master's web UI port; its worker's UI is on the next one. */
    FAIRWAY_STACK_SPARK_UI_PORT: posInt
      .pipe(z.number().max(65_534, 'a port from 1 to 65534 (the worker UI uses the next one)'))
      .default(8090),
    FAIRWAY_STACK_SPARK_WORKER_CORES: posInt.default(2),
    FAIRWAY_STACK_SPARK_WORKER_MEMORY: memory.default('4g'),
    FAIRWAY_TRINO_URL: url.optional(),
    FAIRWAY_ATHENA_WORKGROUP: optionalStr,
    /** One endpoint for every AWS API Fairway calls besides S3 (Glue, EMR Serverless, Athena): an emulator such as moto. */
    FAIRWAY_AWS_ENDPOINT: url.optional(),
    /** Where the Silver Spark job runs: `local` (a driver in Fairway's process tree) or `emr-serverless`. */
    FAIRWAY_SPARK_LAUNCHER: z.enum(['local', 'emr-serverless']).default('local'),
    FAIRWAY_EMR_APPLICATION_ID: z
      .string()
      .trim()
      .regex(/^[0-9a-z]{1,64}$/, 'an EMR Serverless application id such as 00fabc1234567890')
      .optional(),
    FAIRWAY_EMR_EXECUTION_ROLE_ARN: z
      .string()
      .trim()
      .regex(
        /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/,
        'an IAM role ARN such as arn:aws:iam::123456789012:role/fairway-job',
      )
      .optional(),
    /** The longest a remote Spark job may take before Fairway cancels it. */
    FAIRWAY_EMR_TIMEOUT_MINUTES: posInt.default(60),
    /** The EMR Serverless application's architecture: which platform's wheels the job's Python dependencies are. */
    FAIRWAY_EMR_ARCHITECTURE: z.enum(['X86_64', 'ARM64']).default('X86_64'),
  } satisfies Record<KnownKey, z.ZodType>;
}

export type RawConfig = z.infer<ReturnType<typeof rawSchema>>;

/** Keys whose presence depends on another key's value. */
export const checkedSchema = lazySchema(() =>
  rawSchema().superRefine((c, ctx) => {
    const need = (key: keyof RawConfig, why: string) => {
      if (!c[key]) ctx.addIssue({ code: 'custom', path: [key], message: `required when ${why}` });
    };
    if (c.FAIRWAY_STORAGE_KIND === 'local') need('FAIRWAY_STORAGE_ROOT', 'FAIRWAY_STORAGE_KIND=local');
    if (c.FAIRWAY_CATALOG_TYPE === 'rest') need('FAIRWAY_CATALOG_URI', 'FAIRWAY_CATALOG_TYPE=rest');
    if (c.FAIRWAY_CATALOG_TYPE !== 'jdbc') {
      need('FAIRWAY_WAREHOUSE_SILVER', `FAIRWAY_CATALOG_TYPE=${c.FAIRWAY_CATALOG_TYPE}`);
      need('FAIRWAY_WAREHOUSE_GOLD', `FAIRWAY_CATALOG_TYPE=${c.FAIRWAY_CATALOG_TYPE}`);
    }
    if (c.FAIRWAY_QUERY_ENGINE === 'trino') need('FAIRWAY_TRINO_URL', 'FAIRWAY_QUERY_ENGINE=trino');
    if (c.FAIRWAY_SPARK_LAUNCHER === 'emr-serverless') {
      need('FAIRWAY_EMR_APPLICATION_ID', 'FAIRWAY_SPARK_LAUNCHER=emr-serverless');
      need('FAIRWAY_EMR_EXECUTION_ROLE_ARN', 'FAIRWAY_SPARK_LAUNCHER=emr-serverless');
      if (c.FAIRWAY_STORAGE_KIND !== 's3' || c.FAIRWAY_CATALOG_TYPE === 'jdbc') {
        ctx.addIssue({
          code: 'custom',
          path: ['FAIRWAY_SPARK_LAUNCHER'],
          message: 'local: a remote Spark job reads Bronze from S3 and writes through a shared catalog (glue or rest)',
        });
      }
    }
    if (c.FAIRWAY_COORD_MIN_LON >= c.FAIRWAY_COORD_MAX_LON) {
      ctx.addIssue({ code: 'custom', path: ['FAIRWAY_COORD_MIN_LON'], message: 'must be below FAIRWAY_COORD_MAX_LON' });
    }
    if (c.FAIRWAY_COORD_MIN_LAT >= c.FAIRWAY_COORD_MAX_LAT) {
      ctx.addIssue({ code: 'custom', path: ['FAIRWAY_COORD_MIN_LAT'], message: 'must be below FAIRWAY_COORD_MAX_LAT' });
    }
    checkStackCluster(c, (key, message) => ctx.addIssue({ code: 'custom', path: [key], message }));
  }),
);

/** A JVM memory size (`512m`, `2g`) in MiB. */
const mebibytes = (size: string) => {
  const n = Number(size.slice(0, -1));
  return n * { k: 1 / 1024, m: 1, g: 1024, t: 1024 * 1024 }[size.slice(-1).toLowerCase() as 'k' | 'm' | 'g' | 't'];
};

/** `spark://localhost:7077` and `spark://127.0.0.1:7077` are the same master. */
export const sameSparkMaster = (a: string, b: string) =>
  a.replace('//localhost:', '//127.0.0.1:') === b.replace('//localhost:', '//127.0.0.1:');

/**
 * The stack's Spark cluster and the profile agree: a profile that runs Spark on it must start it, and ask for
 * executors its worker can give (else a job waits for an executor that never comes); its ports are its own.
 */
function checkStackCluster(c: RawConfig, issue: (key: keyof RawConfig, message: string) => void): void {
  const masterPort = Number(/:(\d+)$/.exec(c.FAIRWAY_STACK_SPARK_MASTER)?.[1]);
  if (masterPort > 65_535) issue('FAIRWAY_STACK_SPARK_MASTER', 'a port from 1 to 65535');
  const ui = c.FAIRWAY_STACK_SPARK_UI_PORT;
  const taken = [
    [masterPort, 'the master (FAIRWAY_STACK_SPARK_MASTER)'],
    ...[c.FAIRWAY_S3_ENDPOINT, c.FAIRWAY_CATALOG_URI, c.FAIRWAY_TRINO_URL].flatMap((u) =>
      u ? [[Number(new URL(u).port || 80), u] as const] : [],
    ),
  ] as const;
  for (const [port, what] of taken) {
    if (port === ui || port === ui + 1) {
      issue(
        'FAIRWAY_STACK_SPARK_UI_PORT',
        `a port other than ${port} (taken by ${what}); the worker's UI uses the next one`,
      );
    }
  }
  if (!sameSparkMaster(c.FAIRWAY_SPARK_MASTER, c.FAIRWAY_STACK_SPARK_MASTER)) return;
  if (!c.FAIRWAY_STACK_SERVICES.includes('spark')) {
    issue(
      'FAIRWAY_STACK_SERVICES',
      `a list with spark: FAIRWAY_SPARK_MASTER=${c.FAIRWAY_SPARK_MASTER} is the stack's own cluster ` +
        '(or set FAIRWAY_SPARK_MASTER=local[2] to run Spark in the driver)',
    );
  }
  const cores = c.FAIRWAY_SPARK_EXECUTOR_CORES;
  if (cores !== undefined && cores > c.FAIRWAY_STACK_SPARK_WORKER_CORES) {
    issue(
      'FAIRWAY_SPARK_EXECUTOR_CORES',
      `at most FAIRWAY_STACK_SPARK_WORKER_CORES (${c.FAIRWAY_STACK_SPARK_WORKER_CORES}): the stack's worker could never start such an executor`,
    );
  }
  if (mebibytes(c.FAIRWAY_SPARK_EXECUTOR_MEMORY) > mebibytes(c.FAIRWAY_STACK_SPARK_WORKER_MEMORY)) {
    issue(
      'FAIRWAY_SPARK_EXECUTOR_MEMORY',
      `at most FAIRWAY_STACK_SPARK_WORKER_MEMORY (${c.FAIRWAY_STACK_SPARK_WORKER_MEMORY}): the stack's worker could never start such an executor`,
    );
  }
}
