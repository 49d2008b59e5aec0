/**
 * The `local` profile on the natively launched stack (SeaweedFS S3, Iceberg REST catalog, Trino, a Spark
 * standalone master and worker), through the real CLI: `fairway stack up` (installing into
 * ~/.cache/fairway/stack on first use), Bronze → Silver on two sample courses in one Spark application
 * whose tasks run on the worker's executors, Silver counts checked on Trino against the manifest
 * (the embedded profile's numbers), the dbt gate and Gold on dbt-trino with Gold aggregates equal to
 * the embedded profile's on the same course (Spark + dbt-spark, run here too), table metadata and
 * previews served by the UI through Trino (and once through Spark), a stopped S3 server failing the
 * Silver step and table reads with messages that name it, recovery after `stack up`, a worker killed
 * mid-job (the step fails naming it; restarted at once, Spark finishes the job on it), and `stack down`
 * at the end.
 *
 * A stack already answering on the profile's ports (started from another state dir) is reused and
 * left running; the stop-the-S3-server part then is skipped, since that server is not ours to stop.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCacheDir } from '../../framework/integrations/spark/index.ts';
import { findStackJava, SEAWEEDFS, SPARK_VERSION } from '../../stack/index.ts';
import {
  expectedSilverCounts,
  fairway,
  readSampleManifest,
  repoRoot,
  SAMPLE_DIR as SAMPLE,
  startUi as startUiIn,
} from './helpers.ts';

const COURSES = (process.env.FAIRWAY_E2E_LOCAL_COURSES ?? 'americanfalls,bradshawfarmgc').split(',');
const DAY = '2025-06-02';
const javaProblem = await findStackJava().then(
  () => undefined,
  (e: Error) => e.message,
);
if (javaProblem) console.warn(`local-stack e2e skipped: ${javaProblem}`);

interface Summary {
  status: string;
  steps: { asset_key: string; partition_key: string; status: string; reason: string | null; data_version?: string }[];
  asset_checks?: { asset_key: string; name: string; passed: boolean; blocking: boolean }[];
}
interface QueryAnswer {
  columns: string[];
  rows: unknown[][];
}
interface ServiceStatus {
  service: string;
  pid: number | null;
  enabled: boolean;
  running: boolean;
  healthy: boolean;
  detail: string;
  startup_ms?: number | null;
}

const partitionOf = (course: string) => `course_id=${course},ingest_date=${DAY}`;

/** `fairway query --json` in a profile's environment. */
async function queryOn(env: Record<string, string>, sql: string[]): Promise<QueryAnswer[]> {
  const r = await fairway(['query', '--json', ...sql], { cwd: repoRoot, env });
  expect(r.exitCode, String(r.stderr).slice(-2000)).toBe(0);
  return JSON.parse(String(r.stdout)) as QueryAnswer[];
}

/** `fairway ui --port 0` in a profile's environment, once it listens. */
const startUi = (env: Record<string, string>) => startUiIn([], { cwd: repoRoot, env });

/**
 * Aggregates of one Gold table for one course, in SQL that Spark and Trino both run: count(*), the sum
 * of every integer column, of every double (rounded to 6 places), the true count of booleans, distinct
 * counts of text, dates and timestamps, and the sum of the UTC hour and minute of timestamps (so a time
 * zone slip shows). Column types are Trino's (information_schema).
 */
function goldAggregates(table: string, columns: [string, string][], course: string) {
  const names = ['count(*)'];
  for (const [c, type] of columns) {
    if (/^(tinyint|smallint|integer|bigint)$/.test(type)) names.push(`sum(${c})`);
    else if (/^(real|double|decimal)/.test(type)) names.push(`round(sum(${c}), 6)`);
    else if (type === 'boolean') names.push(`sum(case when ${c} then 1 else 0 end)`);
    else if (type === 'date') names.push(`count(distinct ${c})`, `sum(extract(day from ${c}))`);
    else if (type.startsWith('timestamp'))
      names.push(`count(distinct ${c})`, `sum(extract(hour from ${c}) * 60 + extract(minute from ${c}))`);
    else if (type.startsWith('varchar')) names.push(`count(distinct ${c})`);
  }
  return { table, names, sql: `SELECT ${names.join(', ')} FROM gold.${table} WHERE course_id = '${course}'` };
}

describe.skipIf(!existsSync(SAMPLE) || javaProblem !== undefined)('local profile on the native stack', () => {
  const home = mkdtempSync(join(tmpdir(), 'fairway-local-stack-'));
  const env = { FAIRWAY_HOME: home, FAIRWAY_PROFILE: 'local', FAIRWAY_LOG_LEVEL: 'warn' };
  const cli = (args: string[]) => fairway(args, { cwd: repoRoot, env });
  const manifest = readSampleManifest();
  let reused = false;
  let ui: Awaited<ReturnType<typeof startUi>> | undefined;

  const expected = (course: string) => expectedSilverCounts(manifest.files, course);
  const workDir = join(home, 'stack', 'spark-worker', 'work');
  /** Lines of the executors' logs of one application on the stack's worker that say a task finished. */
  const tasksOnWorker = (appId: string) => {
    const dir = join(workDir, appId);
    if (!existsSync(dir)) return [];
    return readdirSync(dir).flatMap((executor) => {
      const log = join(dir, executor, 'stderr');
      return existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter((l) => l.includes('Finished task'))
        : [];
    });
  };
  /** The worker's applications (newest last). */
  const workerApps = () =>
    existsSync(workDir)
      ? readdirSync(workDir)
          .filter((d) => d.startsWith('app-'))
          .sort()
      : [];
  /** Waits until an application not in `before` has a task running on the worker; returns its id. */
  const newAppRunningTasks = async (before: string[]) => {
    for (let i = 0; i < 600; i++) {
      for (const app of workerApps().filter((a) => !before.includes(a))) {
        const running = readdirSync(join(workDir, app)).some((e) => {
          const log = join(workDir, app, e, 'stderr');
          return existsSync(log) && readFileSync(log, 'utf8').includes('Running task');
        });
        if (running) return app;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error('no new Spark application ran a task on the worker within 150 s');
  };
  /** SIGKILL to the worker's process group (the worker and its executors), as when its machine dies. */
  const killWorker = () => {
    const { pid } = JSON.parse(readFileSync(join(home, 'stack', 'spark-worker.pid'), 'utf8')) as { pid: number };
    process.kill(-pid, 'SIGKILL');
  };

  const status = async () => {
    const r = await cli(['stack', 'status', '--json']);
    return JSON.parse(String(r.stdout)) as ServiceStatus[];
  };
  const query = (...sql: string[]) => queryOn(env, sql);
  /** Silver counts of the courses under test, read through Trino. */
  const silverCounts = async () => {
    const list = COURSES.map((c) => `'${c}'`).join(', ');
    const [rows, quarantine, missing] = await query(
      `SELECT course_id, count(*) FROM silver.fact_telemetry_event WHERE course_id IN (${list}) GROUP BY course_id`,
      `SELECT course_id, quarantine_reason, count(*) FROM silver.quarantine_telemetry_event WHERE course_id IN (${list}) GROUP BY 1, 2`,
      `SELECT course_id, count(*) FROM silver.fact_telemetry_event WHERE is_timestamp_missing AND course_id IN (${list}) GROUP BY course_id`,
    );
    const out: Record<string, { silver: number; missingTs: number; quarantined: Record<string, number> }> = {};
    for (const c of COURSES) out[c] = { silver: 0, missingTs: 0, quarantined: {} };
    for (const [c, n] of rows!.rows) out[c as string]!.silver = Number(n);
    for (const [c, n] of missing!.rows) out[c as string]!.missingTs = Number(n);
    for (const [c, reason, n] of quarantine!.rows) out[c as string]!.quarantined[reason as string] = Number(n);
    return out;
  };

  beforeAll(async () => {
    for (const course of COURSES) {
      const target = join(home, 'inbox', course, DAY);
      mkdirSync(target, { recursive: true });
      cpSync(join(SAMPLE, course), target, { recursive: true });
    }
    const before = await status();
    reused = before.every((s) => s.healthy && !s.running);
    if (reused) console.warn('local-stack e2e: reusing the stack already answering on the local profile ports');
  });

  afterAll(async () => {
    await ui?.stop();
    if (reused) return;
    const r = await cli(['stack', 'down']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect((await status()).map((s) => s.running)).toEqual([false, false, false, false, false]);
  });

  it('stack up starts (installing on first use) S3, the REST catalog, Trino and the Spark cluster; a second up is a no-op', async () => {
    if (reused) return;
    const started = Date.now();
    const up = await cli(['stack', 'up', '--json']);
    expect(up.exitCode, String(up.stderr).slice(-3000)).toBe(0);
    const rows = JSON.parse(String(up.stdout)) as ServiceStatus[];
    console.info(
      `stack up: ${((Date.now() - started) / 1000).toFixed(1)} s; start-up ${rows
        .map((r) => `${r.service} ${((r.startup_ms ?? 0) / 1000).toFixed(1)} s`)
        .join(', ')}\n${String(up.stderr)}`,
    );
    expect(rows.map((r) => [r.service, r.running, r.healthy])).toEqual([
      ['s3', true, true],
      ['rest', true, true],
      ['trino', true, true],
      ['spark-master', true, true],
      ['spark-worker', true, true],
    ]);
    expect(rows.find((r) => r.service === 'spark-master')!.detail).toContain('1 alive worker');

    const again = await cli(['stack', 'up', '--json']);
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect((JSON.parse(String(again.stdout)) as ServiceStatus[]).map((r) => [r.pid, r.startup_ms])).toEqual(
      rows.map((r) => [r.pid, null]),
    );
    expect(String(again.stderr)).toContain('already running');
  });

  it('materializes Bronze (to S3) and Silver (Iceberg via the REST catalog, tasks on the cluster’s worker) with the embedded profile’s counts', async () => {
    const appsBefore = workerApps();
    const r = await cli(['materialize', 'silver.fact_telemetry_event', '--json']);
    expect(r.exitCode, String(r.stderr).slice(-3000)).toBe(0);
    const summary = JSON.parse(String(r.stdout)) as Summary;
    expect(summary.steps.map((s) => `${s.asset_key} ${s.partition_key} ${s.status}`).sort()).toEqual(
      COURSES.flatMap((c) => [
        `bronze.round_exports ${partitionOf(c)} SUCCESS`,
        // one Silver job writes its three tables
        `silver.fact_device_health ${partitionOf(c)} SUCCESS`,
        `silver.fact_telemetry_event ${partitionOf(c)} SUCCESS`,
        `silver.quarantine_telemetry_event ${partitionOf(c)} SUCCESS`,
      ]).sort(),
    );
    const counts = await silverCounts();
    for (const course of COURSES) expect({ course, ...counts[course] }).toEqual({ course, ...expected(course) });
    // One application on the standalone master for the whole batch; its tasks ran in the worker's executors.
    if (!reused) {
      const apps = workerApps().filter((a) => !appsBefore.includes(a));
      expect(apps).toHaveLength(1);
      expect(tasksOnWorker(apps[0]!).length).toBeGreaterThan(0);
      const master = (await (await fetch('http://127.0.0.1:8090/json/')).json()) as {
        completedapps: { id: string; name: string; state: string }[];
      };
      expect(master.completedapps.find((a) => a.id === apps[0])).toMatchObject({
        name: 'fairway-silver',
        state: 'FINISHED',
      });
    }
    // Write-audit-publish: the gate (dbt-trino, FOR VERSION AS OF the audit branch) passed and main was moved to
    // the branch, which is gone; the recorded data version is the snapshot Trino reads (64-bit: as text).
    const [refs] = await query('SELECT name, CAST(snapshot_id AS varchar) FROM silver."fact_telemetry_event$refs"');
    const silver = summary.steps.find((s) => s.asset_key === 'silver.fact_telemetry_event')!;
    expect(refs!.rows).toEqual([['main', silver.data_version!.split(':')[0]]]);
  });

  it('runs the dbt gate and builds Gold on dbt-trino', async () => {
    const r = await cli(['materialize', '*', '--stale-only', '--json']);
    expect(r.exitCode, String(r.stderr).slice(-3000)).toBe(0);
    const summary = JSON.parse(String(r.stdout)) as Summary;
    const gold = summary.steps.filter((s) => s.asset_key.startsWith('gold.'));
    expect(gold.length).toBeGreaterThanOrEqual(5);
    expect(gold.filter((s) => s.status !== 'SUCCESS')).toEqual([]);
    expect((summary.asset_checks ?? []).filter((c) => !c.passed && c.blocking)).toEqual([]);
    const list = COURSES.map((c) => `'${c}'`).join(', ');
    const [rounds, built] = await query(
      `SELECT count(*) FROM (SELECT DISTINCT course_id, round_id FROM silver.fact_telemetry_event WHERE course_id IN (${list}))`,
      `SELECT count(*) FROM gold.fact_rounds WHERE course_id IN (${list})`,
    );
    expect(Number(built!.rows[0]![0])).toBe(Number(rounds!.rows[0]![0]));
  });

  it('Gold aggregates on Trino equal the embedded profile’s (Spark + dbt-spark) on the same course', async () => {
    const course = COURSES[0]!;
    const embHome = mkdtempSync(join(tmpdir(), 'fairway-local-vs-embedded-'));
    const embEnv = { FAIRWAY_HOME: embHome, FAIRWAY_PROFILE: 'embedded', FAIRWAY_LOG_LEVEL: 'warn' };
    mkdirSync(join(embHome, 'inbox', course, DAY), { recursive: true });
    cpSync(join(SAMPLE, course), join(embHome, 'inbox', course, DAY), { recursive: true });
    const started = Date.now();
    const built = await fairway(['materialize', '*', '--json'], { cwd: repoRoot, env: embEnv });
    expect(built.exitCode, String(built.stderr).slice(-3000)).toBe(0);
    console.info(`embedded profile, ${course}, Bronze to Gold: ${((Date.now() - started) / 1000).toFixed(0)} s`);

    const [columns] = await query(
      "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'gold' ORDER BY table_name, ordinal_position",
    );
    const byTable = new Map<string, [string, string][]>();
    for (const [t, c, type] of columns!.rows as [string, string, string][]) {
      byTable.set(t, [...(byTable.get(t) ?? []), [c, type]]);
    }
    const goldKeys = (
      JSON.parse(String((await cli(['list', 'group:gold', '--json'])).stdout)) as { key: string }[]
    ).map((a) => a.key);
    expect([...byTable.keys()].map((t) => `gold.${t}`).sort()).toEqual(goldKeys.sort());
    const specs = [...byTable.entries()].map(([t, cols]) => {
      expect(
        cols.map(([c]) => c),
        t,
      ).toContain('course_id');
      return goldAggregates(t, cols, course);
    });
    const shape = (answers: QueryAnswer[]) =>
      Object.fromEntries(
        specs.map((s, i) => [
          s.table,
          Object.fromEntries(
            s.names.map((n, j) => [n, answers[i]!.rows[0]![j] === null ? null : Number(answers[i]!.rows[0]![j])]),
          ),
        ]),
      );
    const onTrino = shape(await query(...specs.map((s) => s.sql)));
    const onSpark = shape(
      await queryOn(
        embEnv,
        specs.map((s) => s.sql),
      ),
    );
    expect(onTrino.fact_rounds!['count(*)']).toBeGreaterThan(0);
    expect(onTrino).toEqual(onSpark);

    // The embedded profile's table read: DuckDB over the Iceberg tables (no JVM) behind the same UI API.
    const embUi = await startUi(embEnv);
    try {
      const t = await embUi.get('/api/assets/gold.fact_rounds/table');
      expect(t.status, JSON.stringify(t.body)).toBe(200);
      expect(t.body).toMatchObject({
        engine: 'duckdb',
        table: 'gold.fact_rounds',
        time_column: 'round_start_ts',
        row_count: onSpark.fact_rounds!['count(*)'],
      });
      expect(t.body.snapshot_id).toMatch(/^\d+$/);
      expect(Number.isNaN(Date.parse(String(t.body.max_event_time)))).toBe(false);
    } finally {
      await embUi.stop();
    }
  });

  it('serves table metadata and previews through Trino (UI API); Bronze has no table', async () => {
    ui = await startUi(env);
    const meta = await ui.get('/api/assets/silver.fact_telemetry_event/table');
    expect(meta.status, JSON.stringify(meta.body)).toBe(200);
    const [count, latest, maxTs, cells] = await query(
      'SELECT count(*) FROM silver.fact_telemetry_event',
      'SELECT CAST(snapshot_id AS varchar) FROM silver."fact_telemetry_event$snapshots" ORDER BY committed_at DESC LIMIT 1',
      'SELECT CAST(max(fix_timestamp) AS varchar) FROM silver.fact_telemetry_event',
      'SELECT DISTINCT CAST(h3_cell_id AS varchar) FROM silver.fact_telemetry_event',
    );
    const rowCount = reused ? Number(count!.rows[0]![0]) : COURSES.reduce((n, c) => n + expected(c).silver, 0);
    expect(meta.body).toMatchObject({
      engine: 'trino',
      table: 'silver.fact_telemetry_event',
      time_column: 'fix_timestamp',
      row_count: rowCount,
      snapshot_id: latest!.rows[0]![0],
    });
    // Trino prints `2025-06-04 18:04:57.800 UTC`.
    const trinoMax = String(maxTs!.rows[0]![0]).replace(' UTC', 'Z').replace(' ', 'T');
    expect(meta.body.max_event_time).toBe(new Date(trinoMax).toISOString());

    const preview = await ui.get('/api/assets/silver.fact_telemetry_event/preview?limit=5');
    expect(preview.status).toBe(200);
    expect(preview.body.rows).toHaveLength(5);
    const h3 = (preview.body.rows as unknown[][])
      .map((r) => r[(preview.body.columns as string[]).indexOf('h3_cell_id')])
      .filter((v) => v !== null);
    expect(h3.length).toBeGreaterThan(0);
    // 64-bit H3 cells arrive as exact text, equal to Trino's own.
    const known = new Set(cells!.rows.map((r) => r[0]));
    for (const cell of h3) expect(known.has(cell), String(cell)).toBe(true);
    expect((await ui.get('/api/assets/silver.fact_telemetry_event/preview?limit=101')).status).toBe(400);

    const rounds = await ui.get('/api/assets/gold.fact_rounds/table');
    expect(rounds.body).toMatchObject({ table: 'gold.fact_rounds', time_column: 'round_start_ts' });
    expect(rounds.body.max_event_time).toMatch(/^\d{4}-\d\d-\d\dT/);
    const signal = await ui.get('/api/assets/gold.signal_quality_rounds/table');
    expect(signal.body).toMatchObject({ time_column: null, max_event_time: null, row_count: rounds.body.row_count });
    const bronze = await ui.get('/api/assets/bronze.round_exports/table');
    expect(bronze.status).toBe(404);
    expect(bronze.body.error!.message).toContain('has no table');
  });

  it('with the S3 server stopped the Silver step fails naming it; after stack up a rerun succeeds', async () => {
    if (reused) return;
    const course = COURSES[0]!;
    const down = await cli(['stack', 'down', 's3']);
    expect(down.exitCode, String(down.stderr)).toBe(0);
    const st = await cli(['stack', 'status', '--json']);
    expect(st.exitCode).toBe(1);
    expect((JSON.parse(String(st.stdout)) as ServiceStatus[]).find((s) => s.service === 's3')).toMatchObject({
      healthy: false,
      running: false,
    });
    // A table read (not read before, so not cached) answers 503 at once, naming the S3 server.
    expect(ui).toBeDefined();
    const read = await ui!.get('/api/assets/gold.device_health_errors/table');
    expect(read.status).toBe(503);
    expect(read.body.error!.message).toContain('S3 server');
    expect(read.body.error!.message).toContain('fairway stack status');

    const failed = await cli([
      'materialize',
      'silver.fact_telemetry_event',
      '--partition',
      partitionOf(course),
      '--json',
    ]);
    expect(failed.exitCode).toBe(1);
    const steps = (JSON.parse(String(failed.stdout)) as Summary).steps;
    // one Silver job writes the three tables: each fails, with the same reason
    expect(steps.map((s) => [s.asset_key, s.status]).sort()).toEqual([
      ['silver.fact_device_health', 'FAILURE'],
      ['silver.fact_telemetry_event', 'FAILURE'],
      ['silver.quarantine_telemetry_event', 'FAILURE'],
    ]);
    const step = steps.find((s) => s.asset_key === 'silver.fact_telemetry_event')!;
    expect(step.reason).toContain('S3 server');
    expect(step.reason).toContain('fairway stack status');

    const up = await cli(['stack', 'up']);
    expect(up.exitCode, String(up.stderr)).toBe(0);
    const before = await silverCounts();
    const rerun = await cli([
      'materialize',
      'silver.fact_telemetry_event',
      '--partition',
      partitionOf(course),
      '--json',
    ]);
    expect(rerun.exitCode, String(rerun.stderr).slice(-3000)).toBe(0);
    expect(await silverCounts()).toEqual(before);
  });

  it('a worker killed mid-job fails the step naming it; restarted at once, Spark finishes the job on it; counts unchanged', async () => {
    if (reused) return;
    const course = COURSES[1]!;
    const before = await silverCounts();
    const silverRun = (extraEnv: Record<string, string> = {}) =>
      fairway(['materialize', 'silver.fact_telemetry_event', '--partition', partitionOf(course), '--json'], {
        cwd: repoRoot,
        env: { ...env, ...extraEnv },
      });

    // Killed and left dead: no executor for 10 s, the job gives up, the step names the worker.
    let apps = workerApps();
    const failing = silverRun({ FAIRWAY_SPARK_EXECUTOR_WAIT_SECONDS: '10' });
    await newAppRunningTasks(apps);
    killWorker();
    const failed = await failing;
    expect(failed.exitCode).toBe(1);
    const step = (JSON.parse(String(failed.stdout)) as Summary).steps.find(
      (s) => s.asset_key === 'silver.fact_telemetry_event',
    )!;
    expect(step.status).toBe('FAILURE');
    expect(step.reason).toContain('Spark 3.5.9 worker');
    expect(step.reason).toContain('fairway stack up');
    expect((await status()).find((s) => s.service === 'spark-worker')).toMatchObject({ healthy: false });

    // Killed and restarted by `stack up` while the job waits: Spark re-runs the lost tasks there.
    expect((await cli(['stack', 'up'])).exitCode).toBe(0);
    apps = workerApps();
    const recovering = silverRun();
    const appId = await newAppRunningTasks(apps);
    killWorker();
    const up = await cli(['stack', 'up']);
    expect(up.exitCode, String(up.stderr)).toBe(0);
    const done = await recovering;
    expect(done.exitCode, String(done.stderr).slice(-3000)).toBe(0);
    expect(await silverCounts()).toEqual(before);
    // the same application got a new executor on the restarted worker, and its tasks finished there
    const executors = readdirSync(join(workDir, appId))
      .map(Number)
      .sort((a, b) => a - b);
    expect(executors.length).toBeGreaterThanOrEqual(2);
    expect(readFileSync(join(workDir, appId, String(executors.at(-1)), 'stderr'), 'utf8')).toContain('Finished task');
  });

  it('a batch failing the gate is not published: Trino reads main as it was, the audit branch holds the bad rows', async () => {
    const course = COURSES[0]!;
    const day = '2025-06-07';
    // the sample's JSON export again under a new day, every fix at 150 % battery: silver_battery_in_range fails
    const file = readdirSync(join(SAMPLE, course)).find((f) => f.endsWith('.json'))!;
    const rounds = JSON.parse(readFileSync(join(SAMPLE, course, file), 'utf8')) as {
      locations: { batteryPercentage: number }[];
    }[];
    for (const r of rounds) for (const l of r.locations) l.batteryPercentage = 150;
    mkdirSync(join(home, 'inbox', course, day), { recursive: true });
    writeFileSync(join(home, 'inbox', course, day, file), JSON.stringify(rounds));
    const refs = 'SELECT name, CAST(snapshot_id AS varchar) FROM silver."fact_telemetry_event$refs" ORDER BY name';
    const [mainBefore] = await query(refs);
    const before = await silverCounts();

    const r = await cli(['materialize', 'silver.fact_telemetry_event', '--stale-only', '--json']);
    expect(r.exitCode, String(r.stderr).slice(-3000)).toBe(1);
    const branch = `audit_${(JSON.parse(String(r.stdout)) as { run_id: string }).run_id.toLowerCase()}`;
    expect(await silverCounts()).toEqual(before);
    const [refsAfter, onBranch] = await query(
      refs,
      `SELECT count(*) FROM silver.fact_telemetry_event FOR VERSION AS OF '${branch}' WHERE battery_percentage > 100`,
    );
    // main's snapshot unchanged; the run's branch beside it
    expect(refsAfter!.rows.find((row) => row[0] === 'main')).toEqual(mainBefore!.rows.find((row) => row[0] === 'main'));
    expect(refsAfter!.rows.map((row) => row[0])).toContain(branch);
    expect(Number(onBranch!.rows[0]![0])).toBeGreaterThan(0);
    rmSync(join(home, 'inbox', course, day), { recursive: true });
  });
});

/**
 * docker-compose.yml checked by a real compose implementation: docker-compose 1.29.2 (the Python
 * one, from PyPI) in a venv kept in the Fairway cache. Its PyYAML 5.4.1 pin needs Cython < 3 to
 * build on Python 3.11, hence the three pip steps. Skipped, with the reason, only if that install fails.
 */
describe('docker-compose.yml', () => {
  const venv = join(defaultCacheDir(), 'tools', 'docker-compose-1.29.2');
  const compose = join(venv, 'bin', 'docker-compose');

  const install = async (): Promise<string | undefined> => {
    if (existsSync(join(venv, '.fairway-complete'))) return undefined;
    const pip = join(venv, 'bin', 'pip');
    const steps: [string, string[]][] = [
      ['python3', ['-m', 'venv', '--clear', venv]],
      [pip, ['install', '-q', 'cython<3', 'wheel']],
      [pip, ['install', '-q', '--no-build-isolation', 'pyyaml==5.4.1']],
      [pip, ['install', '-q', 'docker-compose==1.29.2']],
    ];
    for (const [cmd, args] of steps) {
      const r = await execa(cmd, args, { reject: false, all: true });
      if (r.failed) return `${cmd} ${args.join(' ')} failed: ${String(r.all).trim().split('\n').slice(-3).join(' | ')}`;
    }
    writeFileSync(join(venv, '.fairway-complete'), `${new Date().toISOString()}\n`);
    return undefined;
  };

  it('validates with docker-compose config; ports bind 127.0.0.1, images are pinned', async (ctx) => {
    const problem = await install();
    if (problem) {
      console.warn(`docker-compose validation skipped: ${problem}`);
      ctx.skip();
    }
    const r = await execa(compose, ['-f', 'docker-compose.yml', 'config', '-q'], {
      cwd: repoRoot,
      reject: false,
      env: { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' },
    });
    expect(r.exitCode, `${r.stderr}`).toBe(0);
    const rendered = await execa(compose, ['-f', 'docker-compose.yml', 'config'], { cwd: repoRoot, reject: false });
    expect(rendered.exitCode, `${rendered.stderr}`).toBe(0);
    const text = String(rendered.stdout);
    // 1.29.2 renders each port as `- <host ip>:<host port>:<container port>/tcp`.
    const ports = [...text.matchAll(/^\s*- ([\d.]+:)?\d+:\d+\/tcp$/gm)].map((m) => m[0].trim());
    expect(ports.length).toBe(6);
    for (const p of ports) expect(p).toMatch(/^- 127\.0\.0\.1:/);
    const images = [...text.matchAll(/image: (\S+)/g)].map((m) => m[1]!);
    for (const image of images) expect(image).toMatch(/^[\w./-]+:[\w.-]*\d[\w.-]*$/);
    // maintained images only: MinIO's are no longer published; no Node past its end of life
    expect(images.filter((i) => /minio|node:(1\d|20)\b/.test(i))).toEqual([]);
    // the cluster runs the driver's Spark version, and the S3 server the native stack's version
    expect(images).toContain(`apache/spark:${SPARK_VERSION}-java17`);
    expect(images).toContain(`chrislusf/seaweedfs:${SEAWEEDFS.version}`);
    expect(text).toContain('/etc/trino/catalog/lakehouse.properties');
  });
});
