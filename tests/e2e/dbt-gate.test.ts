/**
 * The dbt quality gate for real: the Silver Spark job writes one sample partition into a temp
 * Iceberg warehouse, dbt (dbt-spark, session mode) tests the Silver sources and builds Gold, bad
 * rows injected into Silver close the gate, and re-running the Silver job opens it again. The gate
 * also runs `dbt source freshness`, recorded as checks (fresh, then stale as a warning).
 * Spark-heavy (about fifteen JVM starts): one course partition only.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGoldAssets } from '../../assets/gold.ts';
import { type LakehouseConfig, loadConfig } from '../../assets/lib/config.ts';
import { loadCourses } from '../../assets/lib/courses.ts';
import { sparkEnv, sparkJars } from '../../assets/lib/spark-env.ts';
import { sparkModule } from '../../assets/lib/spark-python.ts';
import { type AssetDefinition, asset, defineAssets } from '../../framework/definitions/index.ts';
import { launchRun, type RunContext } from '../../framework/execution/index.ts';
import { buildGraph } from '../../framework/graph/index.ts';
import { parseSourcesJson } from '../../framework/integrations/dbt/index.ts';
import { ensureSparkRuntime, type SparkRuntime } from '../../framework/integrations/spark/index.ts';
import { computeStaleness } from '../../framework/staleness/index.ts';
import { openStore, type Store } from '../../framework/storage/index.ts';
import { repoRoot } from './helpers.ts';

const COURSE = 'erinhills';
/** Ingested today (UTC), as Bronze does by default: source freshness (warn after 36 h) passes. */
const INGEST_DATE = new Date().toISOString().slice(0, 10);
/** Unit names configured for the course (a temp copy of config/courses.json). */
const UNITS = ['Outward nine', 'Inward nine'];
const sampleDir = join(repoRoot, '..', 'shared', 'data', 'sample', COURSE);
const GATED = ['silver_round_id_not_null', 'silver_swapped_coordinates', 'silver_duplicate_fix_rate'];
const FRESHNESS = ['silver_fact_device_health_freshness', 'silver_fact_telemetry_event_freshness'];
const GATE_DIRS = {
  test: 'test-fact_device_health-fact_telemetry_event',
  freshness: 'freshness-fact_device_health-fact_telemetry_event',
};

/** Runs SQL (or the bad-row injection) in one Spark session on the test's warehouse. */
const SPARK_HELPER = `
import json, sys
from fairway_spark.session import build_session
from pyspark.sql import functions as F
spark, _ = build_session("fairway-e2e-dbt")
mode, arg = sys.argv[1], sys.argv[2]
if mode == "query":
    out = [[r.asDict() for r in spark.sql(q).collect()] for q in json.loads(arg)]
else:
    t = "silver.fact_telemetry_event"
    df = spark.table(t).where(F.col("course_id") == arg)
    total = df.count()
    null_ids = df.limit(3).withColumn("round_id", F.lit(None).cast("string"))
    swapped = (df.where("latitude is not null and longitude is not null").limit(20)
        .withColumn("lat_was", F.col("latitude")).withColumn("latitude", F.col("longitude"))
        .withColumn("longitude", F.col("lat_was")).drop("lat_was")
        .withColumn("fix_timestamp", F.col("fix_timestamp") + F.expr("INTERVAL 1 SECOND")))
    dups = df.where("fix_timestamp is not null").limit(total // 20 + 1)
    null_ids.unionByName(swapped).unionByName(dups).writeTo(t).append()
    out = {"total": total, "null_ids": 3, "swapped": 20, "duplicates": total // 20 + 1}
print("RESULT " + json.dumps(out, default=str))
`;

let root: string;
let cfg: LakehouseConfig;
let runtime: SparkRuntime;
let store: Store;
let silverAssets: AssetDefinition[];
let ctx: RunContext;
const job = sparkModule(repoRoot, 'silver_job');

/** The Spark jobs' environment, with the Spark side's package importable (`job.env`: its PYTHONPATH). */
function sparkProcessEnv(): Record<string, string> {
  return {
    ...sparkEnv(cfg),
    ...job.env,
    FAIRWAY_SPARK_JARS: sparkJars(cfg, runtime.jars).join(','),
    JAVA_HOME: runtime.javaHome,
  };
}

async function runSilverJob(bronze: string): Promise<void> {
  const centre = loadCourses(cfg.coursesFile)[COURSE]!.centre;
  const r = await execa(
    runtime.python,
    [
      ...job.args,
      '--bronze-path',
      bronze,
      '--course-id',
      COURSE,
      '--ingest-date',
      INGEST_DATE,
      `--course-centre=${centre.join(',')}`,
    ],
    { env: sparkProcessEnv(), reject: false, all: true },
  );
  expect(r.exitCode, String(r.all).slice(-3000)).toBe(0);
}

async function spark(mode: 'query' | 'inject', arg: string): Promise<unknown> {
  const script = join(root, 'spark_helper.py');
  writeFileSync(script, SPARK_HELPER);
  const r = await execa(runtime.python, [script, mode, arg], {
    env: sparkProcessEnv(),
    reject: false,
    all: true,
  });
  const line = String(r.stdout)
    .split('\n')
    .find((l) => l.startsWith('RESULT '));
  expect(line, String(r.all).slice(-3000)).toBeDefined();
  return JSON.parse(line!.slice('RESULT '.length));
}

/** Check evaluations of a run (the Silver stand-ins are unpartitioned, so not in `asset_checks`). */
const checksOf = (runId: string, key: string) => store.checkEvaluationsOfRun(runId).filter((c) => c.asset_key === key);

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fairway-dbt-gate-'));
  const courses = JSON.parse(readFileSync(join(repoRoot, 'config', 'courses.json'), 'utf8'));
  courses[COURSE].units = UNITS;
  writeFileSync(join(root, 'courses.json'), JSON.stringify(courses));
  cfg = loadConfig({
    projectRoot: repoRoot,
    profile: 'embedded',
    env: {
      ...process.env,
      FAIRWAY_STATE_DIR: join(root, 'state'),
      FAIRWAY_COURSES_FILE: join(root, 'courses.json'),
      FAIRWAY_SPARK_DRIVER_MEMORY: '1g',
      FAIRWAY_SPARK_SHUFFLE_PARTITIONS: '2',
    },
  });
  runtime = await ensureSparkRuntime({
    requirementsFile: join(repoRoot, 'spark', 'requirements.txt'),
    pomFile: join(repoRoot, 'spark', 'jars', 'pom.xml'),
  });
  const bronze = join(root, 'bronze', `course_id=${COURSE}`, `ingest_date=${INGEST_DATE}`);
  mkdirSync(bronze, { recursive: true });
  cpSync(join(sampleDir, `${COURSE}.rounds.1.csv`), join(bronze, `${COURSE}.rounds.1.csv`));
  await runSilverJob(bronze);

  // Stand-ins for assets/silver.ts (the job above wrote both tables; the gate is what is under test):
  // the job's asset carries the whole Silver gate, device health follows it.
  silverAssets = [
    asset({ key: 'silver.fact_telemetry_event', codeVersion: 'v1', materialize: () => ({}) }),
    asset({
      key: 'silver.fact_device_health',
      deps: ['silver.fact_telemetry_event'],
      codeVersion: 'v1',
      materialize: () => ({}),
    }),
  ];
  store = openStore(':memory:');
});

afterAll(() => {
  store?.close();
  // FAIRWAY_E2E_KEEP=1 keeps the warehouse, dbt target dirs and compute logs for a look afterwards.
  if (root && !process.env.FAIRWAY_E2E_KEEP) rmSync(root, { recursive: true, force: true });
});

describe('dbt quality gate on real Spark + Iceberg', () => {
  it('passes the Silver source tests and builds Gold with row counts derived from Silver', async () => {
    const gold = await loadGoldAssets(cfg, { runtime: async () => runtime });
    expect(gold.goldAssets.map((a) => a.key)).toEqual([
      'gold.device_health_errors',
      'gold.dim_facility_topology',
      'gold.fact_round_hole_performance',
      'gold.fact_rounds',
      'gold.pace_summary_by_round',
      'gold.signal_quality_rounds',
    ]);
    const [telemetry, deviceHealth] = silverAssets as [AssetDefinition, AssetDefinition];
    const defs = defineAssets({ assets: [{ ...telemetry, ...gold.silverGate }, deviceHealth, ...gold.goldAssets] });
    ctx = { stateDir: cfg.stateDir, store, defs, graph: buildGraph(defs), log: pino({ level: 'silent' }) };

    const { summary, run } = await launchRun(ctx, { selection: '*' });
    const failed = store.checkEvaluationsOfRun(run.run_id).filter((c) => !c.passed);
    expect(failed, JSON.stringify(failed, null, 2)).toEqual([]);
    expect(summary.status, JSON.stringify(summary.steps.filter((s) => s.status !== 'SUCCESS'))).toBe('SUCCESS');
    expect(checksOf(run.run_id, 'silver.fact_telemetry_event').map((c) => c.check_name)).toContain(
      'silver_round_id_not_null',
    );
    expect(checksOf(run.run_id, 'silver.fact_telemetry_event').map((c) => c.check_name)).toContain(
      'silver_device_health_round_id_not_null',
    );

    const [rounds, lowBattery, holes, topology, units] = (await spark(
      'query',
      JSON.stringify([
        'select count(distinct round_id) as n from silver.fact_telemetry_event where round_id is not null',
        'select count(*) as n from silver.fact_device_health where battery_percentage < 20 and round_id is not null',
        `select count(*) as n from (select distinct course_id, round_id, nine_number, hole_number
           from silver.fact_telemetry_event where round_id is not null and hole_number is not null)`,
        'select * from gold.dim_facility_topology order by course_id, nine_number',
        `select nine_number, course_unit, count(*) as n from gold.fact_round_hole_performance
           group by nine_number, course_unit order by nine_number, course_unit`,
      ]),
    )) as [{ n: number }[], { n: number }[], { n: number }[], Record<string, unknown>[], Record<string, unknown>[]];
    const rowsOf = (key: string) => summary.steps.find((s) => s.asset_key === key)?.row_count;
    expect(rounds![0]!.n).toBeGreaterThan(0);
    expect(rowsOf('gold.fact_rounds')).toBe(rounds![0]!.n);
    expect(rowsOf('gold.pace_summary_by_round')).toBe(rounds![0]!.n);
    expect(rowsOf('gold.signal_quality_rounds')).toBe(rounds![0]!.n);
    expect(rowsOf('gold.device_health_errors')).toBe(lowBattery![0]!.n);
    expect(rowsOf('gold.fact_round_hole_performance')).toBe(holes![0]!.n);
    // The course's units as configured, each over its own band of sections, named on every hole row.
    expect(topology.map((r) => [r.course_id, r.nine_number, r.unit_name])).toEqual([
      [COURSE, 1, UNITS[0]],
      [COURSE, 2, UNITS[1]],
    ]);
    const [front, back] = topology as { section_start: number; section_end: number }[];
    expect(front!.section_start).toBeLessThanOrEqual(front!.section_end);
    expect(front!.section_end).toBeLessThan(back!.section_start);
    expect(units.map((r) => [r.nine_number, r.course_unit])).toEqual([
      [1, UNITS[0]],
      [2, UNITS[1]],
    ]);
    expect(units.reduce((n, r) => n + Number(r.n), 0)).toBe(holes![0]!.n);
    const topologyStep = summary.steps.find((s) => s.asset_key === 'gold.dim_facility_topology')!;
    expect(topologyStep.row_count).toBe(2);
    expect(topologyStep.checks.map((c) => [c.name, c.passed])).toContainEqual([
      'gold_dim_facility_topology_grain',
      true,
    ]);
    // Gold tests became the models' checks, and they passed.
    const roundsStep = summary.steps.find((s) => s.asset_key === 'gold.fact_rounds')!;
    expect(roundsStep.checks.map((c) => c.name)).toContain('gold_fact_rounds_grain');
    expect(roundsStep.checks.every((c) => c.passed)).toBe(true);
    // One dbt build for the whole run, its artifacts kept per run.
    const artifacts = join(cfg.stateDir, 'observability', 'dbt_artifacts', run.run_id);
    expect(existsSync(join(artifacts, 'build-1', 'run_results.json'))).toBe(true);
    expect(existsSync(join(artifacts, 'build-2'))).toBe(false);
    expect(existsSync(join(artifacts, GATE_DIRS.test, 'run_results.json'))).toBe(true);
    // Source freshness: dbt's sources.json kept with the run, one passed check per Silver table.
    const sourcesJson = join(artifacts, GATE_DIRS.freshness, 'sources.json');
    const measured = parseSourcesJson(JSON.parse(readFileSync(sourcesJson, 'utf8')));
    expect(measured.results.map((r) => [r.unique_id, r.status]).sort()).toEqual([
      ['source.fairway.silver.fact_device_health', 'pass'],
      ['source.fairway.silver.fact_telemetry_event', 'pass'],
    ]);
    const freshness = checksOf(run.run_id, 'silver.fact_telemetry_event').filter((c) =>
      FRESHNESS.includes(c.check_name),
    );
    expect(freshness.map((c) => [c.check_name, c.passed, c.severity, c.blocking]).sort()).toEqual([
      [FRESHNESS[0], true, 'warn', false],
      [FRESHNESS[1], true, 'warn', false],
    ]);
    const telemetryFreshness = freshness.find((c) => c.check_name === FRESHNESS[1])!.metadata;
    expect(telemetryFreshness.max_loaded_at?.value).toMatch(new RegExp(`^${INGEST_DATE}[T ]00:00:00`));
    expect(telemetryFreshness.age_seconds?.value).toBeLessThan(36 * 3600);
    expect(telemetryFreshness.criteria?.value).toMatchObject({
      warn_after: { count: 36, period: 'hour' },
      error_after: { count: 72, period: 'hour' },
    });
  });

  it('fails the gate naming the tests when bad rows reach Silver, and skips Gold', async () => {
    await spark('inject', COURSE);
    const { summary, run } = await launchRun(ctx, { selection: 'silver.fact_telemetry_event gold.fact_rounds' });
    expect(summary.status).toBe('FAILURE');
    const checks = checksOf(run.run_id, 'silver.fact_telemetry_event');
    const failedErrors = checks.filter((c) => !c.passed && c.severity === 'error').map((c) => c.check_name);
    expect(failedErrors.sort()).toEqual([...GATED].sort());
    const unique = checks.find((c) => c.check_name === 'silver_unique_round_fix_timestamp')!;
    expect(unique).toMatchObject({ passed: false, severity: 'warn', blocking: false });
    const notNull = checks.find((c) => c.check_name === 'silver_round_id_not_null')!;
    expect(notNull.failures).toBe(3);
    expect(notNull.description).toMatch(/compiled.*silver_round_id_not_null\.sql/);
    const goldStep = summary.steps.find((s) => s.asset_key === 'gold.fact_rounds')!;
    expect(goldStep.status).toBe('SKIPPED');
    expect(goldStep.reason).toMatch(/blocking check/);
  });

  it('opens the gate again once the Silver job has replaced the partition', async () => {
    await runSilverJob(join(root, 'bronze', `course_id=${COURSE}`, `ingest_date=${INGEST_DATE}`));
    const { summary, run } = await launchRun(ctx, { selection: 'silver.fact_telemetry_event gold.fact_rounds' });
    expect(checksOf(run.run_id, 'silver.fact_telemetry_event').filter((c) => !c.passed)).toEqual([]);
    expect(summary.status).toBe('SUCCESS');
    expect(summary.steps.find((s) => s.asset_key === 'gold.fact_rounds')?.status).toBe('SUCCESS');
  });

  it("editing a model's SQL changes only its code version and makes its downstream stale", async () => {
    const before = new Map([...ctx.defs.assets.values()].map((a) => [a.key, a.codeVersion]));
    const projectDir = join(root, 'dbt-copy');
    cpSync(join(repoRoot, 'dbt'), projectDir, {
      recursive: true,
      filter: (src) => !/\/(target|logs)$/.test(src),
    });
    const sql = join(projectDir, 'models', 'gold', 'fact_rounds.sql');
    writeFileSync(sql, `${readFileSync(sql, 'utf8')}\n-- edited\n`);
    const edited = await loadGoldAssets(cfg, { projectDir, runtime: async () => runtime });
    const changed = edited.goldAssets.filter((a) => a.codeVersion !== before.get(a.key)).map((a) => a.key);
    expect(changed).toEqual(['gold.fact_rounds']);

    const [telemetry, deviceHealth] = silverAssets as [AssetDefinition, AssetDefinition];
    const defs = defineAssets({ assets: [{ ...telemetry, ...edited.silverGate }, deviceHealth, ...edited.goldAssets] });
    const graph = buildGraph(defs);
    const keys = graph.keys();
    const staleness = computeStaleness({
      graph,
      partitions: new Map(),
      materializations: store.latestMaterializations(keys),
      attempts: store.latestStepAttempts(keys),
    });
    const status = (k: string) => staleness.get(k)?.get('')?.status;
    expect(status('gold.fact_rounds')).toBe('STALE');
    expect(
      staleness
        .get('gold.fact_rounds')
        ?.get('')
        ?.causes.map((c) => c.kind),
    ).toContain('code_version_changed');
    expect(status('gold.pace_summary_by_round')).toBe('STALE');
    expect(status('gold.signal_quality_rounds')).toBe('STALE');
    expect(status('gold.device_health_errors')).toBe('FRESH');
    expect(status('gold.fact_round_hole_performance')).toBe('FRESH');
    expect(status('gold.dim_facility_topology')).toBe('FRESH');
  });

  it('records a stale Silver table as a freshness warning and still builds Gold', async () => {
    // ingest_date is a day: keep the whole run on one side of midnight UTC, so the age stays in [48 h, 72 h).
    const toMidnight = 86_400_000 - (Date.now() % 86_400_000);
    if (toMidnight < 5 * 60_000) await new Promise((r) => setTimeout(r, toMidnight + 1000));
    // As if nothing had been ingested for two days (device health stays fresh).
    await spark(
      'query',
      JSON.stringify(['update silver.fact_telemetry_event set ingest_date = date_sub(current_date(), 2)']),
    );
    const { summary, run } = await launchRun(ctx, { selection: 'silver.fact_telemetry_event gold.fact_rounds' });
    expect(summary.status).toBe('SUCCESS');
    expect(summary.steps.find((s) => s.asset_key === 'gold.fact_rounds')?.status).toBe('SUCCESS');
    const checks = checksOf(run.run_id, 'silver.fact_telemetry_event');
    expect(checks.filter((c) => !c.passed).map((c) => c.check_name)).toEqual([FRESHNESS[1]]);
    const stale = checks.find((c) => c.check_name === FRESHNESS[1])!;
    expect(stale).toMatchObject({ passed: false, severity: 'warn', blocking: false });
    expect(stale.metadata.dbt_status?.value).toBe('warn');
    expect(stale.metadata.age_seconds?.value).toBeGreaterThanOrEqual(48 * 3600);
    expect(stale.description).toMatch(
      /silver\.fact_telemetry_event is stale: newest row loaded \d+ h ago .*past warn_after 36 hours/,
    );
    const sourcesJson = join(
      cfg.stateDir,
      'observability',
      'dbt_artifacts',
      run.run_id,
      GATE_DIRS.freshness,
      'sources.json',
    );
    const statuses = parseSourcesJson(JSON.parse(readFileSync(sourcesJson, 'utf8'))).results.map((r) => r.status);
    expect(statuses.sort()).toEqual(['pass', 'warn']);
  });
});
