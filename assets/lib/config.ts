import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import type { z } from 'zod';
import { didYouMean } from '../../framework/definitions/index.ts';
import { FrameworkError } from '../../framework/errors/index.ts';
import { CONFIG_SCHEMA_MODULE, checkedSchema, KNOWN_KEYS, type RawConfig, sameSparkMaster } from './config-schema.ts';
import { moduleTexts, validatedOnce } from './validated-once.ts';

/** dotenv, required when a profile is validated (not when its validation was kept). */
const parseDotenv = (text: string): Record<string, string> =>
  (createRequire(import.meta.url)('dotenv') as typeof import('dotenv')).parse(text);

/** A config file or environment value that does not validate. `file` and `key` name the culprit. */
export class ConfigError extends FrameworkError {
  constructor(message: string, details: { file?: string; key?: string; profile?: string } = {}) {
    super('CONFIG_INVALID', message, { details });
    this.name = 'ConfigError';
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
    emr?: { applicationId: string; executionRoleArn: string; timeoutMinutes: number; architecture: 'X86_64' | 'ARM64' };
  };
  /** The native local stack (`fairway stack`): which services, and its Spark cluster. */
  stack: {
    services: ('s3' | 'rest' | 'trino' | 'spark')[];
    spark: { masterUrl: string; uiPort: number; workerCores: number; workerMemory: string };
  };
}

const MINIO_DEV_CREDENTIALS = { accessKeyId: 'minioadmin', secretAccessKey: 'minioadmin' } as const;

/** Profiles available under `<projectRoot>/config` (the `<name>.env` files). */
function listProfiles(projectRoot: string): string[] {
  const dir = join(projectRoot, 'config');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.env'))
    .map((f) => f.slice(0, -'.env'.length))
    .sort();
}

/** Keys assigned more than once in a dotenv text, each with its line numbers. */
function duplicateKeys(text: string): [string, number[]][] {
  const lines = new Map<string, number[]>();
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    const key = /^\s*(?:export\s+)?([\w.-]+)\s*=/.exec(line)?.[1];
    if (key) lines.set(key, [...(lines.get(key) ?? []), i + 1]);
  }
  return [...lines].filter(([, at]) => at.length > 1);
}

/**
 * Loads `config/<profile>.env`, applies `FAIRWAY_*` environment overrides and validates the result.
 * Profile: `opts.profile` ?? `env.FAIRWAY_PROFILE` ?? `embedded`. With `cacheDir`, a validation is kept there
 * (`config-<profile>.json`) and used again while the profile's text, the environment of its keys and this code
 * are the same.
 * @example const config = loadConfig({ projectRoot: process.cwd() }); config.buckets.landing
 */
export function loadConfig(opts: {
  projectRoot: string;
  profile?: string;
  env?: NodeJS.ProcessEnv;
  cacheDir?: string;
}): LakehouseConfig {
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
  // everything the validation reads: the profile's text, the environment of its keys, the validating code (and
  // Node's, whose URL parser checks the URLs)
  const envValues = KNOWN_KEYS.map((key) => (key === 'FAIRWAY_PROFILE' ? null : (env[key] ?? null)));
  const inputs = [process.version, profile, text, JSON.stringify(envValues)];
  const cacheFile = opts.cacheDir === undefined ? undefined : join(opts.cacheDir, `config-${profile}.json`);
  const raw = validatedOnce(cacheFile, [...inputs, ...moduleTexts(import.meta.url, CONFIG_SCHEMA_MODULE)], () =>
    validateProfile(text, env, relFile, profile),
  );
  return toConfig(raw, { profile, file, projectRoot, env });
}

/** The profile's text over the environment, checked: its settings, or a ConfigError naming file and key. */
function validateProfile(text: string, env: NodeJS.ProcessEnv, relFile: string, profile: string): RawConfig {
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

  const parsed = checkedSchema().safeParse(merged);
  if (!parsed.success) {
    // Unknown keys first: a misspelled key usually also shows up as a missing one.
    const issues = parsed.error.issues;
    const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
    throw describeIssue(issue, relFile, profile, fromEnv, merged);
  }
  return parsed.data;
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
    return new ConfigError(
      `${relFile}: unknown key '${key}'.${didYouMean(key, KNOWN_KEYS)} Known keys: ${KNOWN_KEYS.join(', ')}.`,
      {
        file: relFile,
        key,
        profile,
      },
    );
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
              architecture: c.FAIRWAY_EMR_ARCHITECTURE,
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

export const jdbcSqliteUri = (stateDir: string) => `jdbc:sqlite:file:${join(stateDir, 'warehouse', 'catalog.db')}`;

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
