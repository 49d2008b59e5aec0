import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { closest, distance } from 'fastest-levenshtein';
import { z } from 'zod';
import { FrameworkError } from '../../framework/errors/index.ts';

/** A config file or environment value that does not validate. `file` and `key` name the culprit. */
export class ConfigError extends FrameworkError {
  constructor(message: string, details: { file?: string; key?: string; profile?: string } = {}) {
    super('CONFIG_INVALID', message, { details });
    this.name = 'ConfigError';
  }
}

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

/**
 * Every `FAIRWAY_*` key a profile file may hold, with the form it must take.
 * Credentials are deliberately absent: they come from the environment only.
 */
const RawSchema = z.strictObject({
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
});

type RawConfig = z.infer<typeof RawSchema>;
const KNOWN_KEYS = Object.keys(RawSchema.shape) as (keyof RawConfig)[];

/** Keys whose presence depends on another key's value. */
const CheckedSchema = RawSchema.superRefine((c, ctx) => {
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
});

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

/** The validated, nested configuration of one profile. Paths are absolute. */
export interface LakehouseConfig {
  profile: string;
  /** The file the profile came from (absolute). */
  file: string;
  projectRoot: string;
  stateDir: string;
  storage: { kind: 'local' | 's3'; root?: string };
  s3: {
    endpoint?: string;
    region: string;
    pathStyle: boolean;
    /** undefined = let the AWS SDK's default chain find credentials (aws profile). */
    credentials?: { accessKeyId: string; secretAccessKey: string };
  };
  buckets: { landing: string; silver: string; gold: string; quarantine: string; observability: string };
  prefixes: { landing: string; quarantine: string; observability: string };
  catalog: {
    type: 'jdbc' | 'rest' | 'glue';
    name: string;
    uri?: string;
    warehouse: { silver: string; gold: string };
    namespaces: { silver: string; gold: string };
    tables: { telemetryEvent: string; facilityTopology: string };
  };
  spark: {
    master: string;
    driverMemory: string;
    shufflePartitions: number;
    slots: number;
    /** Executors on a cluster master (ignored in local mode). */
    executor: { cores?: number; memory: string; dynamicAllocation: boolean; waitSeconds: number };
    /** Executors find Fairway's jars at the driver's paths: the driver ships none. */
    jarsOnWorkers: boolean;
    driverHost: string;
  };
  /** Bronze partitions per Silver Spark application. */
  silverBatchPartitions: number;
  /** Days an unpublished Silver audit branch is kept (write-audit-publish). */
  auditBranchRetentionDays: number;
  coordinateBounds: { minLon: number; maxLon: number; minLat: number; maxLat: number };
  inboxDir: string;
  /** Seconds an inbox file must stay unchanged before Bronze lands it (0: at once). */
  bronzeSettleSeconds: number;
  coursesFile: string;
  query: { engine: 'spark' | 'trino' | 'athena'; trinoUrl?: string; athenaWorkgroup?: string };
  /** AWS APIs other than S3: an emulator's endpoint (none: the SDK's regional endpoints). */
  aws: { endpoint?: string };
  /** Where the Silver job's Spark application runs; `emr` is set for `emr-serverless`. */
  launcher: {
    kind: 'local' | 'emr-serverless';
    emr?: { applicationId: string; executionRoleArn: string; timeoutMinutes: number };
  };
  /** The native local stack (`fairway stack`): which services, and its Spark cluster. */
  stack: {
    services: ('s3' | 'rest' | 'trino' | 'spark')[];
    spark: { masterUrl: string; uiPort: number; workerCores: number; workerMemory: string };
  };
}

export const MINIO_DEV_CREDENTIALS = { accessKeyId: 'minioadmin', secretAccessKey: 'minioadmin' } as const;

/** Profiles available under `<projectRoot>/config` (the `<name>.env` files). */
export function listProfiles(projectRoot: string): string[] {
  const dir = join(projectRoot, 'config');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.env'))
    .map((f) => f.slice(0, -'.env'.length))
    .sort();
}

/** Keys assigned more than once in a dotenv text, each with its line numbers. */
export function duplicateKeys(text: string): [string, number[]][] {
  const lines = new Map<string, number[]>();
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    const key = /^\s*(?:export\s+)?([\w.-]+)\s*=/.exec(line)?.[1];
    if (key) lines.set(key, [...(lines.get(key) ?? []), i + 1]);
  }
  return [...lines].filter(([, at]) => at.length > 1);
}

/**
 * Loads `config/<profile>.env`, applies `FAIRWAY_*` environment overrides and validates the result.
 * Profile: `opts.profile` ?? `env.FAIRWAY_PROFILE` ?? `embedded`.
 * @example const config = loadConfig({ projectRoot: process.cwd() }); config.buckets.landing
 */
export function loadConfig(opts: { projectRoot: string; profile?: string; env?: NodeJS.ProcessEnv }): LakehouseConfig {
  const env = opts.env ?? process.env;
  const projectRoot = resolve(opts.projectRoot);
  const profile = opts.profile ?? env.FAIRWAY_PROFILE ?? 'embedded';
  const available = listProfiles(projectRoot);
  if (!/^[A-Za-z0-9_-]+$/.test(profile) || !available.includes(profile)) {
    throw new ConfigError(
      `Unknown config profile '${profile}'. Available profiles: ${available.join(', ') || '(none found)'} ` +
        `(files config/<profile>.env under ${projectRoot}). Choose one with FAIRWAY_PROFILE=<profile>.`,
      { profile },
    );
  }
  const relFile = `config/${profile}.env`;
  const file = join(projectRoot, relFile);
  const text = readFileSync(file, 'utf8');
  const twice = duplicateKeys(text);
  if (twice.length > 0) {
    throw new ConfigError(
      `${relFile}: ${twice.map(([k, lines]) => `key '${k}' is set on lines ${lines.join(' and ')}`).join('; ')}. Keep one: which one wins would be a silent guess.`,
      { file: relFile, key: twice[0]![0], profile },
    );
  }
  const fromFile = parseDotenv(text);

  for (const key of Object.keys(fromFile)) {
    if (!key.startsWith('FAIRWAY_')) {
      const hint = /SECRET|ACCESS_KEY|PASSWORD|TOKEN/i.test(key)
        ? ' Credentials must come from the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), never from a config file.'
        : ' Config files hold only FAIRWAY_* keys.';
      throw new ConfigError(`${relFile}: key '${key}' is not allowed here.${hint}`, { file: relFile, key, profile });
    }
  }

  // Environment wins for known FAIRWAY_* keys; unknown FAIRWAY_* env vars belong to other parts (e.g. LOG_LEVEL).
  const merged: Record<string, string> = { ...fromFile };
  const fromEnv = new Set<string>();
  for (const key of KNOWN_KEYS) {
    const v = env[key];
    if (v !== undefined && key !== 'FAIRWAY_PROFILE') {
      merged[key] = v;
      fromEnv.add(key);
    }
  }
  // Empty values mean "not set" so optional keys can be blanked from the environment.
  for (const [k, v] of Object.entries(merged))
    if (v.trim() === '' && !k.startsWith('FAIRWAY_PREFIX_')) delete merged[k];

  const parsed = CheckedSchema.safeParse(merged);
  if (!parsed.success) {
    // Unknown keys first: a misspelled key usually also shows up as a missing one.
    const issues = parsed.error.issues;
    const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
    throw describeIssue(issue, relFile, profile, fromEnv, merged);
  }
  return toConfig(parsed.data, { profile, file, projectRoot, env });
}

function describeIssue(
  issue: z.core.$ZodIssue,
  relFile: string,
  profile: string,
  fromEnv: Set<string>,
  merged: Record<string, string>,
): ConfigError {
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const best = closest(key, KNOWN_KEYS as string[]);
    const hint = distance(key, best) <= Math.max(3, Math.floor(key.length / 3)) ? ` Did you mean '${best}'?` : '';
    return new ConfigError(`${relFile}: unknown key '${key}'.${hint} Known keys: ${KNOWN_KEYS.join(', ')}.`, {
      file: relFile,
      key,
      profile,
    });
  }
  const key = String(issue.path[0] ?? '');
  const where = fromEnv.has(key) ? `environment variable ${key} (overriding ${relFile})` : `${relFile}: key ${key}`;
  if (merged[key] === undefined) {
    const why = issue.code === 'custom' ? ` (${issue.message})` : '';
    return new ConfigError(`${relFile}: required key ${key} is missing${why}. Add '${key}=…' to ${relFile}.`, {
      file: relFile,
      key,
      profile,
    });
  }
  const expected =
    issue.code === 'invalid_value'
      ? `one of ${issue.values.map(String).join('|')}`
      : issue.message.replace(/^Invalid input: /, '');
  return new ConfigError(`${where} has invalid value '${merged[key]}': expected ${expected}.`, {
    file: relFile,
    key,
    profile,
  });
}

/** Placeholder in path values that expands to the resolved state dir. */
export const STATE_DIR_TOKEN = '$' + '{FAIRWAY_STATE_DIR}';

function toConfig(
  c: RawConfig,
  ctx: { profile: string; file: string; projectRoot: string; env: NodeJS.ProcessEnv },
): LakehouseConfig {
  const stateDir = isAbsolute(c.FAIRWAY_STATE_DIR)
    ? c.FAIRWAY_STATE_DIR
    : resolve(ctx.projectRoot, c.FAIRWAY_STATE_DIR);
  // `${FAIRWAY_STATE_DIR}` in a path follows the state dir (the CLI's --state-dir overrides it).
  const abs = (raw: string) => {
    const p = raw.replaceAll(STATE_DIR_TOKEN, stateDir);
    return isAbsolute(p) ? p : resolve(ctx.projectRoot, p);
  };
  // A value without a scheme is a path: resolve it and make it a file:// URI.
  const warehouse = (v: string | undefined, fallback: string) => {
    if (v === undefined) return `file://${fallback}`;
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v.replaceAll(STATE_DIR_TOKEN, stateDir) : `file://${abs(v)}`;
  };
  let uri = c.FAIRWAY_CATALOG_URI;
  if (c.FAIRWAY_CATALOG_TYPE === 'jdbc') {
    const m = uri?.match(/^jdbc:sqlite:file:(.+)$/);
    if (uri === undefined) uri = jdbcSqliteUri(stateDir);
    else if (m) uri = `jdbc:sqlite:file:${abs(m[1]!)}`;
  }
  const accessKeyId = ctx.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = ctx.env.AWS_SECRET_ACCESS_KEY;
  let credentials: LakehouseConfig['s3']['credentials'];
  if (accessKeyId && secretAccessKey) credentials = { accessKeyId, secretAccessKey };
  else if (c.FAIRWAY_S3_CREDENTIALS === 'env-or-minio-default') credentials = { ...MINIO_DEV_CREDENTIALS };

  return {
    profile: ctx.profile,
    file: ctx.file,
    projectRoot: ctx.projectRoot,
    stateDir,
    storage: {
      kind: c.FAIRWAY_STORAGE_KIND,
      ...(c.FAIRWAY_STORAGE_ROOT ? { root: abs(c.FAIRWAY_STORAGE_ROOT) } : {}),
    },
    s3: {
      ...(c.FAIRWAY_S3_ENDPOINT ? { endpoint: c.FAIRWAY_S3_ENDPOINT } : {}),
      region: c.FAIRWAY_S3_REGION,
      pathStyle: c.FAIRWAY_S3_PATH_STYLE,
      ...(credentials ? { credentials } : {}),
    },
    buckets: {
      landing: c.FAIRWAY_BUCKET_LANDING,
      silver: c.FAIRWAY_BUCKET_SILVER,
      gold: c.FAIRWAY_BUCKET_GOLD,
      quarantine: c.FAIRWAY_BUCKET_QUARANTINE,
      observability: c.FAIRWAY_BUCKET_OBSERVABILITY,
    },
    prefixes: {
      landing: c.FAIRWAY_PREFIX_LANDING,
      quarantine: c.FAIRWAY_PREFIX_QUARANTINE,
      observability: c.FAIRWAY_PREFIX_OBSERVABILITY,
    },
    catalog: {
      type: c.FAIRWAY_CATALOG_TYPE,
      name: c.FAIRWAY_CATALOG_NAME,
      ...(uri ? { uri } : {}),
      warehouse: {
        silver: warehouse(c.FAIRWAY_WAREHOUSE_SILVER, join(stateDir, 'warehouse')),
        gold: warehouse(c.FAIRWAY_WAREHOUSE_GOLD, join(stateDir, 'warehouse')),
      },
      namespaces: { silver: c.FAIRWAY_NAMESPACE_SILVER, gold: c.FAIRWAY_NAMESPACE_GOLD },
      tables: { telemetryEvent: c.FAIRWAY_TABLE_TELEMETRY_EVENT, facilityTopology: c.FAIRWAY_TABLE_FACILITY_TOPOLOGY },
    },
    spark: {
      master: c.FAIRWAY_SPARK_MASTER,
      driverMemory: c.FAIRWAY_SPARK_DRIVER_MEMORY,
      shufflePartitions: c.FAIRWAY_SPARK_SHUFFLE_PARTITIONS,
      slots: c.FAIRWAY_SPARK_SLOTS,
      executor: {
        ...(c.FAIRWAY_SPARK_EXECUTOR_CORES ? { cores: c.FAIRWAY_SPARK_EXECUTOR_CORES } : {}),
        memory: c.FAIRWAY_SPARK_EXECUTOR_MEMORY,
        dynamicAllocation: c.FAIRWAY_SPARK_DYNAMIC_ALLOCATION,
        waitSeconds: c.FAIRWAY_SPARK_EXECUTOR_WAIT_SECONDS,
      },
      // the stack's own workers have the jars on their classpath (stack/services.ts)
      jarsOnWorkers:
        c.FAIRWAY_SPARK_JARS_ON_WORKERS ??
        (sameSparkMaster(c.FAIRWAY_SPARK_MASTER, c.FAIRWAY_STACK_SPARK_MASTER) &&
          c.FAIRWAY_STACK_SERVICES.includes('spark')),
      driverHost: c.FAIRWAY_SPARK_DRIVER_HOST,
    },
    silverBatchPartitions: c.FAIRWAY_SILVER_BATCH_PARTITIONS,
    auditBranchRetentionDays: c.FAIRWAY_AUDIT_BRANCH_RETENTION_DAYS,
    coordinateBounds: {
      minLon: c.FAIRWAY_COORD_MIN_LON,
      maxLon: c.FAIRWAY_COORD_MAX_LON,
      minLat: c.FAIRWAY_COORD_MIN_LAT,
      maxLat: c.FAIRWAY_COORD_MAX_LAT,
    },
    inboxDir: abs(c.FAIRWAY_INBOX_DIR),
    bronzeSettleSeconds: c.FAIRWAY_BRONZE_SETTLE_SECONDS,
    coursesFile: abs(c.FAIRWAY_COURSES_FILE),
    query: {
      engine: c.FAIRWAY_QUERY_ENGINE,
      ...(c.FAIRWAY_TRINO_URL ? { trinoUrl: c.FAIRWAY_TRINO_URL } : {}),
      ...(c.FAIRWAY_ATHENA_WORKGROUP ? { athenaWorkgroup: c.FAIRWAY_ATHENA_WORKGROUP } : {}),
    },
    aws: c.FAIRWAY_AWS_ENDPOINT ? { endpoint: c.FAIRWAY_AWS_ENDPOINT } : {},
    launcher: {
      kind: c.FAIRWAY_SPARK_LAUNCHER,
      ...(c.FAIRWAY_EMR_APPLICATION_ID && c.FAIRWAY_EMR_EXECUTION_ROLE_ARN
        ? {
            emr: {
              applicationId: c.FAIRWAY_EMR_APPLICATION_ID,
              executionRoleArn: c.FAIRWAY_EMR_EXECUTION_ROLE_ARN,
              timeoutMinutes: c.FAIRWAY_EMR_TIMEOUT_MINUTES,
            },
          }
        : {}),
    },
    stack: {
      services: c.FAIRWAY_STACK_SERVICES,
      spark: {
        masterUrl: c.FAIRWAY_STACK_SPARK_MASTER,
        uiPort: c.FAIRWAY_STACK_SPARK_UI_PORT,
        workerCores: c.FAIRWAY_STACK_SPARK_WORKER_CORES,
        workerMemory: c.FAIRWAY_STACK_SPARK_WORKER_MEMORY,
      },
    },
  };
}

const jdbcSqliteUri = (stateDir: string) => `jdbc:sqlite:file:${join(stateDir, 'warehouse', 'catalog.db')}`;

const mask = (s: string) => `****${s.length > 4 ? s.slice(-2) : ''}`;

/** A deep copy safe to print (`fairway config`): credentials become `****` + their last 2 characters. */
export function maskSecrets(config: LakehouseConfig): LakehouseConfig {
  const copy = structuredClone(config);
  if (copy.s3.credentials) {
    copy.s3.credentials = {
      accessKeyId: mask(copy.s3.credentials.accessKeyId),
      secretAccessKey: mask(copy.s3.credentials.secretAccessKey),
    };
  }
  return copy;
}

/** Jars only S3 needs: s3a:// for Bronze reads, Iceberg's S3FileIO and the Glue catalog (~350 MB). */
const AWS_JAR = /^(hadoop-aws|aws-java-sdk-bundle|iceberg-aws-bundle)-[\d.]+\.jar$/;

/** Whether the profile's Spark jobs touch S3: Bronze in S3, an s3:// warehouse, or the Glue catalog. */
export function usesS3(config: LakehouseConfig): boolean {
  const { warehouse } = config.catalog;
  return (
    config.storage.kind === 's3' ||
    config.catalog.type === 'glue' ||
    [warehouse.silver, warehouse.gold].some((w) => /^s3a?:/.test(w))
  );
}

/**
 * The jars the profile's Spark processes load: the runtime's, without the AWS ones when nothing is in
 * S3. On the embedded profile that saves ~3 s of Spark start-up and ~8 CPU-s per job (bench/README.md).
 */
export function sparkJars(config: LakehouseConfig, jars: string[]): string[] {
  return usesS3(config) ? jars : jars.filter((jar) => !AWS_JAR.test(basename(jar)));
}

/**
 * Environment for the Spark job (read by spark/pipes.py). With a jdbc catalog whose URI was not set
 * explicitly, the catalog and warehouse live under `stateDir`.
 */
export function sparkEnv(config: LakehouseConfig, stateDir: string = config.stateDir): Record<string, string> {
  const isStateDirCatalog = config.catalog.type === 'jdbc' && config.catalog.uri === jdbcSqliteUri(config.stateDir);
  const absState = resolve(stateDir);
  const uri = isStateDirCatalog ? jdbcSqliteUri(absState) : (config.catalog.uri ?? '');
  const warehouse =
    isStateDirCatalog && config.catalog.warehouse.silver === `file://${join(config.stateDir, 'warehouse')}`
      ? `file://${join(absState, 'warehouse')}`
      : config.catalog.warehouse.silver;
  const env: Record<string, string> = {
    FAIRWAY_SPARK_MASTER: config.spark.master,
    FAIRWAY_SPARK_DRIVER_MEMORY: config.spark.driverMemory,
    FAIRWAY_SPARK_SHUFFLE_PARTITIONS: String(config.spark.shufflePartitions),
    FAIRWAY_SPARK_EXECUTOR_MEMORY: config.spark.executor.memory,
    FAIRWAY_SPARK_EXECUTOR_CORES: config.spark.executor.cores === undefined ? '' : String(config.spark.executor.cores),
    FAIRWAY_SPARK_DYNAMIC_ALLOCATION: String(config.spark.executor.dynamicAllocation),
    FAIRWAY_SPARK_EXECUTOR_WAIT_SECONDS: String(config.spark.executor.waitSeconds),
    FAIRWAY_SPARK_JARS_ON_WORKERS: String(config.spark.jarsOnWorkers),
    FAIRWAY_SPARK_DRIVER_HOST: config.spark.driverHost,
    FAIRWAY_CATALOG_NAME: config.catalog.name,
    FAIRWAY_CATALOG_TYPE: config.catalog.type,
    FAIRWAY_CATALOG_URI: uri,
    FAIRWAY_WAREHOUSE: warehouse,
    FAIRWAY_S3_ENDPOINT: config.s3.endpoint ?? '',
    FAIRWAY_S3_REGION: config.s3.region,
    FAIRWAY_S3_PATH_STYLE: String(config.s3.pathStyle),
    FAIRWAY_AWS_ENDPOINT: config.aws.endpoint ?? '',
    AWS_REGION: config.s3.region,
  };
  if (config.s3.credentials) {
    env.AWS_ACCESS_KEY_ID = config.s3.credentials.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY = config.s3.credentials.secretAccessKey;
  }
  return env;
}
