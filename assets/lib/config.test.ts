import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, maskSecrets } from './config.ts';
import { KNOWN_KEYS, rawSchema } from './config-schema.ts';
import { courseUnits, findCourse, loadCourses, requireCourse } from './courses.ts';
import { icebergUsesS3, sparkEnv, sparkJars } from './spark-env.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
/** The aws profile's account-specific keys (its Silver job runs on EMR Serverless). */
const EMR = {
  FAIRWAY_EMR_APPLICATION_ID: '00fabc1234567890',
  FAIRWAY_EMR_EXECUTION_ROLE_ARN: 'arn:aws:iam::123456789012:role/fairway-silver-job',
};

/** A throwaway project root holding a copy of config/ that a test may edit. */
function scratchRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'fairway-config-'));
  cpSync(join(repoRoot, 'config'), join(root, 'config'), { recursive: true });
  return root;
}

function errorOf(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected an error');
}

describe('loadConfig', () => {
  it('parses the default embedded profile into absolute paths under the state dir', () => {
    const c = loadConfig({ projectRoot: repoRoot, env: {} });
    expect(c.profile).toBe('embedded');
    expect(c.storage).toEqual({ kind: 'local', root: join(repoRoot, '.fairway/storage') });
    expect(c.catalog.type).toBe('jdbc');
    expect(c.catalog.uri).toBe(`jdbc:sqlite:file:${repoRoot}/.fairway/warehouse/catalog.db`);
    expect(c.catalog.warehouse.silver).toBe(`file://${repoRoot}/.fairway/warehouse`);
    expect(c.spark.shufflePartitions).toBe(4);
    expect(c.coordinateBounds).toEqual({ minLon: -180, maxLon: 180, minLat: -90, maxLat: 90 });
    expect(c.query.engine).toBe('spark');
    expect(c.inboxDir).toBe(join(repoRoot, '.fairway/inbox'));
    const moved = loadConfig({ projectRoot: repoRoot, env: { FAIRWAY_STATE_DIR: '/tmp/st' } });
    expect([moved.storage.root, moved.inboxDir, moved.catalog.uri]).toEqual([
      '/tmp/st/storage',
      '/tmp/st/inbox',
      'jdbc:sqlite:file:/tmp/st/warehouse/catalog.db',
    ]);
    expect(c.s3.credentials).toBeUndefined();
  });

  it('parses local (MinIO dev defaults) and aws (credentials from env only)', () => {
    const local = loadConfig({ projectRoot: repoRoot, profile: 'local', env: {} });
    expect(local.s3).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      pathStyle: true,
      credentials: { accessKeyId: 'minioadmin', secretAccessKey: 'minioadmin' },
    });
    expect(local.catalog).toMatchObject({ type: 'rest', uri: 'http://127.0.0.1:8181' });
    expect(local.query).toEqual({ engine: 'trino', trinoUrl: 'http://127.0.0.1:8080' });
    const aws = loadConfig({ projectRoot: repoRoot, env: { FAIRWAY_PROFILE: 'aws', ...EMR } });
    expect(aws.catalog.type).toBe('glue');
    expect(aws.s3.endpoint).toBeUndefined();
    expect(aws.s3.credentials).toBeUndefined();
    const withKeys = loadConfig({
      projectRoot: repoRoot,
      profile: 'aws',
      env: { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE12', AWS_SECRET_ACCESS_KEY: 'secretvalue99', ...EMR },
    });
    expect(withKeys.s3.credentials?.accessKeyId).toBe('AKIAEXAMPLE12');
  });

  it('lets the environment override FAIRWAY_* keys', () => {
    const c = loadConfig({
      projectRoot: repoRoot,
      profile: 'local',
      env: { FAIRWAY_BUCKET_LANDING: 'my-landing', FAIRWAY_SPARK_SHUFFLE_PARTITIONS: '16', FAIRWAY_LOG_LEVEL: 'debug' },
    });
    expect(c.buckets.landing).toBe('my-landing');
    expect(c.spark.shufflePartitions).toBe(16);
  });

  it('names the file, the key and a suggestion for a misspelled key', () => {
    const root = scratchRoot();
    writeFileSync(join(root, 'config/embedded.env'), '\nFAIRWAY_BUCKET_LANDNG=x\n', { flag: 'a' });
    const e = errorOf(() => loadConfig({ projectRoot: root, env: {} }));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain('config/embedded.env');
    expect(e.message).toContain('FAIRWAY_BUCKET_LANDNG');
    expect(e.message).toContain("Did you mean 'FAIRWAY_BUCKET_LANDING'?");
  });

  it('names file, key and expected form for a bad number; env-sourced values say so', () => {
    const root = scratchRoot();
    const file = join(root, 'config/embedded.env');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        /^FAIRWAY_SPARK_SHUFFLE_PARTITIONS=.*$/m,
        'FAIRWAY_SPARK_SHUFFLE_PARTITIONS=four',
      ),
    );
    const e = errorOf(() => loadConfig({ projectRoot: root, env: {} }));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toBe(
      "config/embedded.env: key FAIRWAY_SPARK_SHUFFLE_PARTITIONS has invalid value 'four': expected a positive integer.",
    );
    const fromEnv = errorOf(() => loadConfig({ projectRoot: repoRoot, env: { FAIRWAY_COORD_MAX_LAT: '91' } }));
    expect(fromEnv.message).toContain('environment variable FAIRWAY_COORD_MAX_LAT (overriding config/embedded.env)');
    const badEnum = errorOf(() => loadConfig({ projectRoot: repoRoot, env: { FAIRWAY_STORAGE_KIND: 'gcs' } }));
    expect(badEnum.message).toContain('expected one of local|s3');
  });

  it('names the file and key when a required key is missing, and rejects credentials in files', () => {
    const root = scratchRoot();
    writeFileSync(join(root, 'config/bare.env'), 'FAIRWAY_PROFILE=bare\nFAIRWAY_STORAGE_KIND=local\n');
    const e = errorOf(() => loadConfig({ projectRoot: root, profile: 'bare', env: {} }));
    expect(e.message).toMatch(/^config\/bare\.env: required key FAIRWAY_BUCKET_LANDING is missing/);
    const embedded = readFileSync(join(root, 'config/embedded.env'), 'utf8');
    writeFileSync(join(root, 'config/noroot.env'), embedded.replace(/^FAIRWAY_STORAGE_ROOT=.*$/m, ''));
    const cond = errorOf(() => loadConfig({ projectRoot: root, profile: 'noroot', env: {} }));
    expect(cond.message).toContain(
      'config/noroot.env: required key FAIRWAY_STORAGE_ROOT is missing (required when FAIRWAY_STORAGE_KIND=local)',
    );
    writeFileSync(join(root, 'config/leaky.env'), 'AWS_SECRET_ACCESS_KEY=abc\n');
    const leak = errorOf(() => loadConfig({ projectRoot: root, profile: 'leaky', env: {} }));
    expect(leak.message).toContain('config/leaky.env');
    expect(leak.message).toContain('Credentials must come from the environment');
  });

  it('lists the available profiles for an unknown one', () => {
    const e = errorOf(() => loadConfig({ projectRoot: repoRoot, profile: 'prod', env: {} }));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain("Unknown config profile 'prod'. Available profiles: aws, embedded, local");
    expect(e.message).toContain('Choose one with FAIRWAY_PROFILE=<profile>.');
    expect(e.message).not.toContain('--profile');
  });

  it('refuses a key set twice in a profile file, naming both lines', () => {
    const root = scratchRoot();
    writeFileSync(join(root, 'config/twice.env'), 'FAIRWAY_STORAGE_KIND=local\n# a comment\nFAIRWAY_STORAGE_KIND=s3\n');
    const e = errorOf(() => loadConfig({ projectRoot: root, profile: 'twice', env: {} }));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toBe(
      "config/twice.env: key 'FAIRWAY_STORAGE_KIND' is set on lines 1 and 3. Keep one: which one wins would be a silent guess.",
    );
  });

  it('reads FAIRWAY_BRONZE_SETTLE_SECONDS: 2 by default, 0 disables, anything else but 0-300 seconds names key and form', () => {
    const root = scratchRoot();
    const file = join(root, 'config/embedded.env');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^FAIRWAY_BRONZE_SETTLE_SECONDS=.*$/m, ''));
    expect(loadConfig({ projectRoot: root, env: {} }).bronzeSettleSeconds).toBe(2);
    expect(loadConfig({ projectRoot: repoRoot, env: {} }).bronzeSettleSeconds).toBe(2);
    const set = (v: string) => loadConfig({ projectRoot: repoRoot, env: { FAIRWAY_BRONZE_SETTLE_SECONDS: v } });
    expect(set('0').bronzeSettleSeconds).toBe(0);
    expect(set(' 0.5 ').bronzeSettleSeconds).toBe(0.5);
    for (const bad of ['-1', 'soon', '2s', '301']) {
      const e = errorOf(() => set(bad));
      expect(e.code).toBe('CONFIG_INVALID');
      expect(e.message).toBe(
        `environment variable FAIRWAY_BRONZE_SETTLE_SECONDS (overriding config/embedded.env) has invalid value '${bad}': ` +
          'expected a number of seconds from 0 to 300 (0 disables).',
      );
    }
  });
});

describe('the remote Spark launcher (aws profile)', () => {
  it('reads the EMR Serverless application, role and timeout, and an emulator endpoint', () => {
    const c = loadConfig({
      projectRoot: repoRoot,
      profile: 'aws',
      env: { ...EMR, FAIRWAY_AWS_ENDPOINT: 'http://127.0.0.1:5123' },
    });
    expect(c.launcher).toEqual({
      kind: 'emr-serverless',
      emr: {
        applicationId: '00fabc1234567890',
        executionRoleArn: EMR.FAIRWAY_EMR_EXECUTION_ROLE_ARN,
        timeoutMinutes: 60,
        architecture: 'X86_64',
      },
    });
    expect(c.aws.endpoint).toBe('http://127.0.0.1:5123');
    const arm = loadConfig({
      projectRoot: repoRoot,
      profile: 'aws',
      env: { ...EMR, FAIRWAY_EMR_ARCHITECTURE: 'ARM64' },
    });
    expect(arm.launcher.emr?.architecture).toBe('ARM64');
    expect(sparkEnv(c).FAIRWAY_AWS_ENDPOINT).toBe('http://127.0.0.1:5123');
  });

  it('names the missing application id and a malformed role ARN, with the fix', () => {
    expect(() => loadConfig({ projectRoot: repoRoot, profile: 'aws', env: {} })).toThrow(
      /required key FAIRWAY_EMR_APPLICATION_ID is missing \(required when FAIRWAY_SPARK_LAUNCHER=emr-serverless\)/,
    );
    expect(() =>
      loadConfig({
        projectRoot: repoRoot,
        profile: 'aws',
        env: { ...EMR, FAIRWAY_EMR_EXECUTION_ROLE_ARN: 'fairway-silver-job' },
      }),
    ).toThrow(/FAIRWAY_EMR_EXECUTION_ROLE_ARN .*invalid value 'fairway-silver-job': expected an IAM role ARN/);
    expect(() =>
      loadConfig({ projectRoot: repoRoot, profile: 'aws', env: { ...EMR, FAIRWAY_EMR_ARCHITECTURE: 'aarch64' } }),
    ).toThrow(/FAIRWAY_EMR_ARCHITECTURE/);
  });

  it('refuses a remote launcher with local Bronze or a local catalog', () => {
    expect(() =>
      loadConfig({
        projectRoot: repoRoot,
        profile: 'embedded',
        env: { ...EMR, FAIRWAY_SPARK_LAUNCHER: 'emr-serverless' },
      }),
    ).toThrow(/FAIRWAY_SPARK_LAUNCHER .*reads Bronze from S3 and writes through a shared catalog/);
  });

  it('masks credentials on the aws profile and keeps them out of the remote job', () => {
    const c = loadConfig({
      projectRoot: repoRoot,
      profile: 'aws',
      env: { ...EMR, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE12', AWS_SECRET_ACCESS_KEY: 'secretvalue99' },
    });
    const shown = JSON.stringify(maskSecrets(c));
    expect(shown).not.toContain('AKIAEXAMPLE12');
    expect(shown).not.toContain('secretvalue99');
    expect(maskSecrets(c).s3.credentials).toEqual({ accessKeyId: '****12', secretAccessKey: '****99' });
  });
});

describe('the stack cluster in the local profile', () => {
  const local = (env: Record<string, string>) => loadConfig({ projectRoot: repoRoot, profile: 'local', env });
  const problem = (env: Record<string, string>) => errorOf(() => local(env));

  it('refuses executors the stack worker could never start, naming the key and the limit', () => {
    expect(problem({ FAIRWAY_SPARK_EXECUTOR_CORES: '8' }).message).toContain(
      "FAIRWAY_SPARK_EXECUTOR_CORES (overriding config/local.env) has invalid value '8': expected at most FAIRWAY_STACK_SPARK_WORKER_CORES (2)",
    );
    expect(problem({ FAIRWAY_SPARK_EXECUTOR_MEMORY: '8g' }).message).toContain(
      'expected at most FAIRWAY_STACK_SPARK_WORKER_MEMORY (3g)',
    );
    // the same executor on a bigger worker, or on another cluster, is fine
    expect(
      local({ FAIRWAY_SPARK_EXECUTOR_CORES: '8', FAIRWAY_STACK_SPARK_WORKER_CORES: '8' }).spark.executor.cores,
    ).toBe(8);
    expect(
      local({ FAIRWAY_SPARK_EXECUTOR_MEMORY: '8g', FAIRWAY_SPARK_MASTER: 'spark://10.0.0.5:7077' }).spark.executor
        .memory,
    ).toBe('8g');
  });

  it('refuses running on the stack cluster without starting it, and UI ports another service has', () => {
    expect(problem({ FAIRWAY_STACK_SERVICES: 's3,rest,trino' }).message).toContain(
      "FAIRWAY_STACK_SERVICES (overriding config/local.env) has invalid value 's3,rest,trino': expected a list with spark",
    );
    expect(local({ FAIRWAY_STACK_SERVICES: 's3,rest,trino', FAIRWAY_SPARK_MASTER: 'local[2]' }).stack.services).toEqual(
      ['s3', 'rest', 'trino'],
    );
    expect(problem({ FAIRWAY_STACK_SPARK_UI_PORT: '8079' }).message).toContain('a port other than 8080');
    expect(problem({ FAIRWAY_STACK_SPARK_UI_PORT: '7077' }).message).toContain('taken by the master');
    expect(problem({ FAIRWAY_STACK_SPARK_MASTER: 'spark://127.0.0.1:99999' }).message).toContain(
      'a port from 1 to 65535',
    );
    // localhost is the same master as 127.0.0.1: still the stack's cluster, jars still on its workers
    expect(local({ FAIRWAY_SPARK_MASTER: 'spark://localhost:7077' }).spark.jarsOnWorkers).toBe(true);
  });
});

describe('maskSecrets and sparkEnv', () => {
  it('masks credentials to **** plus the last 2 chars without touching the original', () => {
    const c = loadConfig({
      projectRoot: repoRoot,
      profile: 'local',
      env: { AWS_ACCESS_KEY_ID: 'devkey1234', AWS_SECRET_ACCESS_KEY: 'devsecret5678' },
    });
    const masked = maskSecrets(c);
    expect(masked.s3.credentials).toEqual({ accessKeyId: '****34', secretAccessKey: '****78' });
    expect(c.s3.credentials?.secretAccessKey).toBe('devsecret5678');
    expect(JSON.stringify(masked)).not.toContain('devsecret5678');
  });

  it('derives the embedded catalog from the given state dir', () => {
    const c = loadConfig({ projectRoot: repoRoot, env: {} });
    const env = sparkEnv(c, '/tmp/state');
    expect(env).toMatchObject({
      FAIRWAY_CATALOG_NAME: 'lakehouse',
      FAIRWAY_CATALOG_TYPE: 'jdbc',
      FAIRWAY_CATALOG_URI: 'jdbc:sqlite:file:/tmp/state/warehouse/catalog.db',
      FAIRWAY_WAREHOUSE: 'file:///tmp/state/warehouse',
      FAIRWAY_SPARK_MASTER: 'local[2]',
      FAIRWAY_SPARK_SHUFFLE_PARTITIONS: '4',
    });
    const local = sparkEnv(loadConfig({ projectRoot: repoRoot, profile: 'local', env: {} }), '/tmp/state');
    expect(local).toMatchObject({
      FAIRWAY_CATALOG_TYPE: 'rest',
      FAIRWAY_CATALOG_URI: 'http://127.0.0.1:8181',
      FAIRWAY_WAREHOUSE: 's3://fairway-silver/warehouse',
      FAIRWAY_S3_ENDPOINT: 'http://127.0.0.1:9000',
      FAIRWAY_S3_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: 'minioadmin',
      AWS_REGION: 'us-east-1',
    });
  });
});

describe('courses', () => {
  const courses = loadCourses(join(repoRoot, 'config/courses.json'));
  it('loads the five sample courses and finds them by slug or name', () => {
    expect(Object.keys(courses).sort()).toEqual([
      'americanfalls',
      'bradshawfarmgc',
      'erinhills',
      'indiancreek',
      'pinehurst4',
    ]);
    expect(findCourse(courses, 'erinhills')?.name).toBe('Erin Hills');
    expect(findCourse(courses, 'Erin Hills')?.id).toBe('erinhills');
    expect(findCourse(courses, 'PINEHURST NO. 4')?.id).toBe('pinehurst4');
    expect(findCourse(courses, 'Augusta')).toBeUndefined();
    expect(() => requireCourse(courses, 'erinhils')).toThrow("Did you mean 'erinhills'?");
  });
  it('rejects a bad time zone with file and key', () => {
    const root = scratchRoot();
    const file = join(root, 'config/courses.json');
    writeFileSync(file, JSON.stringify({ x: { ...courses.erinhills, timezone: 'Mars/Olympus' } }));
    expect(() => loadCourses(file)).toThrow(`${file}: 'x.timezone' is invalid`);
  });
  it('accepts a time zone alias as well as a canonical name (UTC, US/Eastern)', () => {
    const root = scratchRoot();
    const file = join(root, 'config/courses.json');
    const zones = { a: 'America/Chicago', b: 'UTC', c: 'US/Eastern' };
    const entries = Object.entries(zones).map(([id, timezone]) => [id, { ...courses.erinhills, timezone }]);
    writeFileSync(file, JSON.stringify(Object.fromEntries(entries)));
    expect(Object.values(loadCourses(file)).map((c) => c.timezone)).toEqual(Object.values(zones));
  });
  it('names units as configured, else Front/Back nine on 18 holes and Nine <n> otherwise', () => {
    expect(courseUnits(courses.erinhills!)).toEqual(['Front nine', 'Back nine']);
    expect(courseUnits(courses.bradshawfarmgc!)).toEqual(['Nine 1', 'Nine 2', 'Nine 3']);
    expect(courseUnits(courses.americanfalls!)).toEqual(['Nine 1']);
    const root = scratchRoot();
    const file = join(root, 'config/courses.json');
    writeFileSync(file, JSON.stringify({ x: { ...courses.bradshawfarmgc, units: [' Lakes ', 'Woods', 'Creek'] } }));
    expect(courseUnits(loadCourses(file).x!)).toEqual(['Lakes', 'Woods', 'Creek']);
    writeFileSync(file, JSON.stringify({ x: { ...courses.erinhills, units: ['Out', ' '] } }));
    expect(() => loadCourses(file)).toThrow(`${file}: 'x.units.1' is invalid`);
    writeFileSync(file, JSON.stringify({ x: { ...courses.erinhills, units: ['A', 'B', 'C', 'D'] } }));
    expect(() => loadCourses(file)).toThrow(`${file}: 'x.units' is invalid`);
  });
});

describe('sparkJars', () => {
  const jars = [
    '/c/iceberg-aws-bundle-1.12.0.jar',
    '/c/iceberg-spark-runtime-3.5_2.12-1.12.0.jar',
    '/c/sedona-spark-shaded-3.5_2.12-1.8.0.jar',
    '/c/sqlite-jdbc-3.51.2.0.jar',
  ];
  const withoutAws = jars.slice(1);

  it('leaves the AWS jar out where Iceberg is not on S3 (embedded), Bronze in S3 or not', () => {
    const embedded = loadConfig({ projectRoot: repoRoot, env: {} });
    expect(icebergUsesS3(embedded)).toBe(false);
    expect(sparkJars(embedded, jars)).toEqual(withoutAws);
    // Bronze in S3 is read with pyarrow (spark/fairway_spark/silver/bronze_files.py): no jar for it
    const bronzeInS3 = loadConfig({ projectRoot: repoRoot, env: { FAIRWAY_STORAGE_KIND: 's3' } });
    expect(bronzeInS3.storage.kind).toBe('s3');
    expect(sparkJars(bronzeInS3, jars)).toEqual(withoutAws);
  });

  it('keeps every jar for an s3 warehouse or the Glue catalog', () => {
    for (const profile of ['local', 'aws']) {
      const c = loadConfig({ projectRoot: repoRoot, profile, env: EMR });
      expect(icebergUsesS3(c)).toBe(true);
      expect(sparkJars(c, jars)).toEqual(jars);
    }
    const s3Warehouse = loadConfig({
      projectRoot: repoRoot,
      env: { FAIRWAY_WAREHOUSE_SILVER: 's3://bucket/warehouse' },
    });
    expect(sparkJars(s3Warehouse, jars)).toEqual(jars);
  });
});

describe('kept validations (cacheDir)', () => {
  it('knows every key of the schema, in its order, without building it', () => {
    expect([...KNOWN_KEYS]).toEqual(Object.keys(rawSchema().shape));
  });

  it('gives the validated profile and courses again, and validates again when the text or the environment changes', () => {
    const root = scratchRoot();
    const cacheDir = join(root, 'cache');
    const env = { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE12', AWS_SECRET_ACCESS_KEY: 'secretvalue99' };
    const fresh = loadConfig({ projectRoot: root, profile: 'local', env });
    expect(loadConfig({ projectRoot: root, profile: 'local', env, cacheDir })).toEqual(fresh); // validated, kept
    expect(loadConfig({ projectRoot: root, profile: 'local', env, cacheDir })).toEqual(fresh); // from the kept one
    // credentials come from the environment on every load, never from the kept file
    expect(readFileSync(join(cacheDir, 'config-local.json'), 'utf8')).not.toContain('secretvalue99');
    expect(loadConfig({ projectRoot: root, profile: 'local', env: {}, cacheDir }).s3.credentials).toEqual(
      loadConfig({ projectRoot: root, profile: 'local', env: {} }).s3.credentials,
    );
    // a key's environment value is an input; another variable is not
    const slots = { ...env, FAIRWAY_SPARK_SLOTS: '3', FAIRWAY_LOG_LEVEL: 'debug' };
    expect(loadConfig({ projectRoot: root, profile: 'local', env: slots, cacheDir }).spark.slots).toBe(3);
    expect(
      errorOf(() => loadConfig({ projectRoot: root, profile: 'local', env: { FAIRWAY_SPARK_SLOTS: 'x' }, cacheDir }))
        .message,
    ).toMatch(/FAIRWAY_SPARK_SLOTS/);
    // an edited profile is validated again, and an invalid one fails every time (failures are never kept)
    const file = join(root, 'config', 'local.env');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\nFAIRWAY_SPARK_SLOTZ=2\n`);
    for (let i = 0; i < 2; i++) {
      expect(errorOf(() => loadConfig({ projectRoot: root, profile: 'local', env, cacheDir })).message).toMatch(
        /unknown key 'FAIRWAY_SPARK_SLOTZ'/,
      );
    }

    const coursesFile = join(root, 'config', 'courses.json');
    const keptCourses = join(cacheDir, 'courses.json');
    expect(loadCourses(coursesFile, keptCourses)).toEqual(loadCourses(coursesFile));
    expect(loadCourses(coursesFile, keptCourses)).toEqual(loadCourses(coursesFile));
    const courses = JSON.parse(readFileSync(coursesFile, 'utf8'));
    Object.values<{ timezone: string }>(courses)[0]!.timezone = 'Mars/Olympus_Mons';
    writeFileSync(coursesFile, JSON.stringify(courses));
    expect(errorOf(() => loadCourses(coursesFile, keptCourses)).message).toMatch(/timezone/);
  });

  it('validates again when the kept file is damaged', () => {
    const root = scratchRoot();
    const cacheDir = join(root, 'cache');
    const first = loadConfig({ projectRoot: root, env: {}, cacheDir });
    writeFileSync(join(cacheDir, 'config-embedded.json'), '{"key":');
    expect(loadConfig({ projectRoot: root, env: {}, cacheDir })).toEqual(first);
    expect(JSON.parse(readFileSync(join(cacheDir, 'config-embedded.json'), 'utf8')).value.FAIRWAY_PROFILE).toBe(
      'embedded',
    );
  });
});
