/**
 * The lakehouse on the embedded profile, through the real CLI, real Spark + Sedona + Iceberg:
 * Bronze → Silver on the shared sample set, with the manifest's exact counts.
 */
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCourses } from '../../assets/lib/courses.ts';
import { generateDailyExports } from '../../assets/lib/sample-data/index.ts';
import { openLineageValidator } from '../../framework/lineage/fixtures/validate-events.ts';
import { lineageFileOf, type RunEvent } from '../../framework/lineage/index.ts';
import {
  expectedSilverCounts,
  fairway,
  fairwayBin,
  readSampleManifest,
  repoRoot,
  SAMPLE_DIR as SAMPLE,
} from './helpers.ts';

/** Courses under test: all five by default; FAIRWAY_E2E_COURSES=a,b to narrow while developing. */
const COURSES = (
  process.env.FAIRWAY_E2E_COURSES ?? 'americanfalls,bradshawfarmgc,erinhills,indiancreek,pinehurst4'
).split(',');
const DAY = '2025-06-02';

interface Summary {
  status: string;
  steps: {
    asset_key: string;
    partition_key: string;
    status: string;
    reason: string | null;
    data_version: string | null;
  }[];
}

const partitionOf = (course: string, day = DAY) => `course_id=${course},ingest_date=${day}`;

/**
 * A new day's export of a course, generated: rounds of its own, not the sample's again (a re-delivery has a
 * test of its own). Returns its directory.
 */
async function dailyExport(course: string, day: string, format: 'csv' | 'json' = 'csv'): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'fairway-daily-'));
  await generateDailyExports({
    outDir: out,
    courses: loadCourses(join(repoRoot, 'config', 'courses.json')),
    courseIds: [course],
    startDate: day,
    roundsPerDay: [20, 30],
    writeCoursesFile: false,
    format,
  });
  return join(out, course, day);
}

describe('a fresh lakehouse with an empty inbox', () => {
  it("skips Gold in one line instead of failing, and 'fairway sample' fills the inbox", async () => {
    // --state-dir (not FAIRWAY_HOME) holds for everything: inbox, dbt state, store
    const home = mkdtempSync(join(tmpdir(), 'fairway-empty-'));
    const env = { FAIRWAY_LOG_LEVEL: 'warn' };
    const r = await fairway(['--state-dir', home, 'materialize', '*', '--json'], { cwd: repoRoot, env });
    expect(r.exitCode, String(r.stderr).slice(-2000)).toBe(0);
    const summary = JSON.parse(String(r.stdout)) as Summary & { reason: string | null };
    expect(summary.steps.every((s) => s.asset_key.startsWith('gold.') && s.status === 'SKIPPED')).toBe(true);
    expect(summary.steps[0]!.reason).toContain('has no partitions yet: no data to build from');
    expect(summary.steps[0]!.reason).toContain("load the sample with 'fairway sample'");
    expect(String(r.stderr)).not.toContain('TABLE_OR_VIEW_NOT_FOUND');

    const loaded = await fairway(['--state-dir', home, 'sample', '--day', '2025-06-09'], { cwd: repoRoot, env });
    expect(loaded.exitCode, String(loaded.stderr)).toBe(0);
    expect(String(loaded.stderr)).toContain("next: fairway materialize '*'");
    const courses = readdirSync(join(home, 'inbox')).sort();
    expect(courses.length).toBeGreaterThanOrEqual(5);
    expect(readdirSync(join(home, 'inbox', courses[0]!, '2025-06-09')).length).toBeGreaterThan(0);
    expect(existsSync(join(home, 'dbt'))).toBe(true);
    expect(existsSync(join(home, 'fairway.db'))).toBe(true);
    rmSync(home, { recursive: true, force: true });
  });
});

describe.skipIf(!existsSync(SAMPLE))('lakehouse on the embedded profile (shared sample)', () => {
  const home = mkdtempSync(join(tmpdir(), 'fairway-lakehouse-'));
  const inbox = join(home, 'inbox');
  // OpenLineage events of every run below go to <home>/openlineage/events.jsonl (validated by one test)
  const env = { FAIRWAY_HOME: home, FAIRWAY_LOG_LEVEL: 'warn', FAIRWAY_OPENLINEAGE_TRANSPORT: 'file' };
  const cli = (args: string[]) => fairway(args, { cwd: repoRoot, env });
  const manifest = readSampleManifest();

  const expected = (course: string) => expectedSilverCounts(manifest.files, course);

  const query = async (...sql: string[]) => {
    const r = await cli(['query', '--json', ...sql]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    return JSON.parse(String(r.stdout)) as { columns: string[]; rows: unknown[][] }[];
  };
  const silverCounts = async () => {
    const [rows, quarantine, missing] = await query(
      'SELECT course_id, count(*) FROM silver.fact_telemetry_event GROUP BY course_id',
      'SELECT course_id, quarantine_reason, count(*) FROM silver.quarantine_telemetry_event GROUP BY 1, 2',
      'SELECT course_id, count(*) FROM silver.fact_telemetry_event WHERE is_timestamp_missing GROUP BY course_id',
    );
    const out: Record<string, { silver: number; missingTs: number; quarantined: Record<string, number> }> = {};
    for (const c of COURSES) out[c] = { silver: 0, missingTs: 0, quarantined: {} };
    for (const [c, n] of rows!.rows) out[c as string]!.silver = Number(n);
    for (const [c, n] of missing!.rows) out[c as string]!.missingTs = Number(n);
    for (const [c, reason, n] of quarantine!.rows) out[c as string]!.quarantined[reason as string] = Number(n);
    return out;
  };

  /** `materialize silver --stale-only` in its own process group, SIGKILLed `delayMs` after its run folder's
   * step directories satisfy `ready` (the whole group: CLI, Python, JVMs). */
  const killSilverRunOnce = async (ready: (stepDirs: string[]) => boolean, delayMs: number) => {
    const runs = join(home, 'runs');
    const earlier = new Set(existsSync(runs) ? readdirSync(runs) : []);
    const child = execa('node', [fairwayBin, 'materialize', 'silver.fact_telemetry_event', '--stale-only'], {
      cwd: repoRoot,
      env: { ...env, NO_COLOR: '1' },
      detached: true,
      reject: false,
    });
    // only this run's folder: earlier runs have the same step folders
    const reached = () =>
      readdirSync(runs).some(
        (run) =>
          !earlier.has(run) && existsSync(join(runs, run, 'steps')) && ready(readdirSync(join(runs, run, 'steps'))),
      );
    const started = Date.now();
    while (!reached() && Date.now() - started < 300_000) await new Promise((r) => setTimeout(r, 200));
    expect(reached()).toBe(true);
    await new Promise((r) => setTimeout(r, delayMs));
    process.kill(-child.pid!, 'SIGKILL');
    await child;
  };

  beforeAll(() => {
    for (const course of COURSES) {
      const target = join(inbox, course, DAY);
      mkdirSync(target, { recursive: true });
      cpSync(join(SAMPLE, course), target, { recursive: true });
    }
  });

  it('materializes Silver (and its missing Bronze) with the manifest counts exactly', async () => {
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
    // The run summary also went to the observability area.
    const obs = join(home, 'storage', 'fairway-observability', 'runs');
    expect(readdirSync(obs).length).toBeGreaterThan(0);
  });

  it('the dbt gate passes and Gold builds; a second run changes nothing', async () => {
    const before = await silverCounts();
    const all = await cli(['materialize', '*', '--stale-only', '--json']);
    expect(all.exitCode, String(all.stderr).slice(-3000)).toBe(0);
    const summary = JSON.parse(String(all.stdout)) as Summary & {
      asset_checks: { asset_key: string; name: string; passed: boolean; severity: string; blocking: boolean }[];
    };
    // Bronze and Silver (its three tables, written together by the previous run) are fresh: only Gold runs.
    expect(summary.steps.filter((s) => !s.asset_key.startsWith('gold.')).map((s) => s.asset_key)).toEqual([]);
    expect(summary.steps.filter((s) => s.asset_key.startsWith('gold.')).every((s) => s.status === 'SUCCESS')).toBe(
      true,
    );
    const [rounds, gold] = await query(
      'SELECT count(*) FROM (SELECT DISTINCT course_id, round_id FROM silver.fact_telemetry_event)',
      'SELECT count(*) FROM gold.fact_rounds',
    );
    expect(Number(gold!.rows[0]![0])).toBe(Number(rounds!.rows[0]![0]));
    // a result over --max-rows is cut, and stderr says by how much
    const cut = await cli(['query', '--json', '--max-rows', '3', 'SELECT round_id FROM gold.fact_rounds']);
    expect(cut.exitCode, String(cut.stderr)).toBe(0);
    const [three] = JSON.parse(String(cut.stdout)) as { rows: unknown[][]; total_rows: number }[];
    expect(three!.rows).toHaveLength(3);
    expect(three!.total_rows).toBe(Number(gold!.rows[0]![0]));
    expect(String(cut.stderr)).toContain(`statement 1: 3 of ${three!.total_rows} rows returned`);
    const nothing = await cli(['materialize', '*', '--stale-only']);
    expect(String(nothing.stdout)).toContain('Nothing to do');
    const again = await cli([
      'materialize',
      'silver.fact_telemetry_event',
      '--partition',
      partitionOf(COURSES[0]!),
      '--json',
    ]);
    expect(again.exitCode, String(again.stderr).slice(-2000)).toBe(0);
    const gate = (JSON.parse(String(again.stdout)) as typeof summary).asset_checks;
    expect(gate.length).toBeGreaterThan(5);
    // DAY is long past the source freshness thresholds (a backfill): stale, recorded as warnings only.
    const stale = gate.filter((c) => !c.passed).sort((a, b) => a.name.localeCompare(b.name));
    expect(stale.map((c) => [c.name, c.severity, c.blocking])).toEqual([
      ['silver_fact_device_health_freshness', 'warn', false],
      ['silver_fact_telemetry_event_freshness', 'warn', false],
    ]);
    expect(await silverCounts()).toEqual(before);
  });

  it('schema validation of OpenLineage events for a full lakehouse run: Bronze → Silver → dbt gate → Gold', () => {
    const validate = openLineageValidator();
    const events = readFileSync(lineageFileOf(home), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RunEvent);
    for (const e of events) expect(validate(e), `${e.job.name} ${e.eventType}`).toEqual([]);
    // every step's run starts and ends once, under a Fairway run that starts and ends too
    const runs = new Map<string, RunEvent[]>();
    for (const e of events) runs.set(e.run.runId, [...(runs.get(e.run.runId) ?? []), e]);
    const parents = new Set(events.filter((e) => e.job.name === 'fairway.run').map((e) => e.run.runId));
    expect(parents.size).toBeGreaterThanOrEqual(3);
    for (const [, [start, end, ...more]] of runs) {
      expect([start!.eventType, end?.eventType, more.length]).toEqual(['START', 'COMPLETE', 0]);
      const parent = start!.run.facets?.parent as { run: { runId: string } } | undefined;
      if (start!.job.name !== 'fairway.run') expect(parents).toContain(parent?.run.runId);
    }
    const ended = (job: string) => events.filter((e) => e.job.name === job && e.eventType === 'COMPLETE');
    const catalog = `iceberg://${join(home, 'warehouse', 'catalog.db')}`;
    // the first run: one Silver Spark application over the five Bronze partitions, writing three tables (their
    // audit branches: write-audit-publish), its reconciliation checked as it wrote
    const tables = ['fact_device_health', 'fact_telemetry_event', 'quarantine_telemetry_event'];
    const names = (e: RunEvent) => e.outputs.map((d) => `${d.namespace}/${d.name}`).sort();
    const [silver] = ended('silver_job');
    expect(silver!.inputs).toEqual([{ namespace: 'file', name: join(home, 'storage', 'fairway-landing') }]);
    expect(names(silver!)).toEqual(tables.map((t) => `${catalog}/silver.${t}`));
    const audited = silver!.outputs.find((d) => d.name === 'silver.fact_telemetry_event')!;
    expect(audited.facets?.dataQualityAssertions?.assertions).toEqual([{ assertion: 'reconciliation', success: true }]);
    // the gate: the dbt tests on Silver as quality assertions of the tables they read, and what it published
    const gate = ended('silver.fact_telemetry_event.checks')[0]!;
    const tested = gate.inputs[0]!.inputFacets?.dataQualityAssertions?.assertions as { assertion: string }[];
    expect(tested.length).toBeGreaterThan(5);
    expect(names(gate)).toEqual(tables.map((t) => `${catalog}/silver.${t}`));
    const fact = gate.outputs.find((d) => d.name === 'silver.fact_telemetry_event')!;
    expect(fact.facets?.version?.datasetVersion).toMatch(/^\d+$/); // the Iceberg snapshot id main now has
    expect(fact.outputFacets?.outputStatistics?.rowCount).toBe(COURSES.reduce((n, c) => n + expected(c).silver, 0));
    const columns = ((fact.facets?.schema?.fields ?? []) as { name: string }[]).map((f) => f.name);
    expect(columns).toEqual(expect.arrayContaining(['round_id', 'fix_timestamp', 'course_id']));
    // Gold: one dbt build reading the Silver tables from the same catalog
    const [gold] = ended('dbt_build');
    expect(gold!.inputs.map((d) => `${d.namespace}/${d.name}`)).toContain(`${catalog}/silver.fact_telemetry_event`);
    const rounds = gold!.outputs.find((d) => d.name === 'gold.fact_rounds')!;
    expect(rounds.namespace).toBe(catalog);
    expect(rounds.outputFacets?.outputStatistics?.rowCount).toBeGreaterThan(0);
  });

  it('DuckDB answers without a JVM as Spark does; what it cannot run goes to Spark, said on stderr', async () => {
    const statements = [
      'SELECT course_id, count(*) AS n, max(pace) AS max_pace, min(fix_timestamp) AS first_fix FROM silver.fact_telemetry_event GROUP BY course_id ORDER BY course_id',
      'SELECT count(*) FROM silver.fact_telemetry_event WHERE is_timestamp_missing',
      'SELECT round_id, round_date, round_start_ts, duration_sec, avg_pace FROM gold.fact_rounds ORDER BY round_id LIMIT 5',
      'SELECT round_id, location_index, h3_cell_id, geometry FROM silver.fact_telemetry_event ORDER BY round_id, location_index LIMIT 3',
    ];
    const started = Date.now();
    const duck = await cli(['query', '--json', '--engine', 'duckdb', ...statements]);
    const duckMs = Date.now() - started;
    expect(duck.exitCode, String(duck.stderr)).toBe(0);
    // The same statements through a Spark-only function (always true), which DuckDB does not have: one Spark
    // session answers them all.
    const sparkOnly = statements.map((s) =>
      s.replace(/\b((silver|gold)\.\w+)/g, '(SELECT * FROM $1 WHERE spark_partition_id() >= 0)'),
    );
    const auto = await cli(['query', '--json', ...sparkOnly]);
    expect(auto.exitCode, String(auto.stderr)).toBe(0);
    expect(JSON.parse(String(duck.stdout))).toEqual(JSON.parse(String(auto.stdout)));
    expect(String(auto.stderr)).toMatch(/^query: DuckDB could not run statement 1 \(.+\); running it on Spark$/m);
    expect(duckMs).toBeLessThan(20_000); // no JVM: a few seconds, where Spark takes ~40
    // a missing table is TABLE_NOT_FOUND on DuckDB too, without starting Spark
    const missing = await cli(['query', 'SELECT * FROM silver.no_such_table']);
    expect(missing.exitCode).toBe(2);
    expect(String(missing.stderr)).toContain('[TABLE_NOT_FOUND]');
    expect(String(missing.stderr)).not.toContain('running it on Spark');
  });

  it('a changed Bronze file makes only its partition stale, and --stale-only reruns only that', async () => {
    const course = COURSES[COURSES.length - 1]!;
    const dir = join(inbox, course, DAY);
    const csv = readdirSync(dir).find((f) => f.endsWith('.csv'))!;
    appendFileSync(join(dir, csv), '\n'); // new bytes, same rounds
    const status = await cli(['status', 'bronze.round_exports', '--json', '--partitions', '--limit', '0']);
    const rows = JSON.parse(String(status.stdout)) as {
      partitions: { partition: string; status: string; causes: { kind: string }[] }[];
    }[];
    const stale = rows[0]!.partitions.filter((p) => p.status !== 'FRESH');
    expect(stale.map((p) => [p.partition, p.causes[0]!.kind])).toEqual([[partitionOf(course), 'source_changed']]);

    const before = await silverCounts();
    const r = await cli(['materialize', '*', '--stale-only', '--json']);
    expect(r.exitCode, String(r.stderr).slice(-2000)).toBe(0);
    const steps = (JSON.parse(String(r.stdout)) as Summary).steps.map((s) => `${s.asset_key} ${s.partition_key}`);
    // Bronze and Silver (its three tables) rerun for the changed partition only; Gold follows its upstream.
    expect(steps.filter((s) => s.startsWith('bronze.') || s.startsWith('silver.')).sort()).toEqual([
      `bronze.round_exports ${partitionOf(course)}`,
      `silver.fact_device_health ${partitionOf(course)}`,
      `silver.fact_telemetry_event ${partitionOf(course)}`,
      `silver.quarantine_telemetry_event ${partitionOf(course)}`,
    ]);
    expect(await silverCounts()).toEqual(before);
  });

  it('a bad file is quarantined with a report, the rest of its partition still lands, and the step fails', async () => {
    const course = COURSES[0]!;
    writeFileSync(join(inbox, course, DAY, 'broken.csv'), '');
    // and an entry that fits no partition: reported with the run, not skipped in silence
    mkdirSync(join(inbox, 'erin hills'));
    writeFileSync(join(inbox, 'erin hills', 'x.csv'), 'a');
    const r = await cli(['materialize', 'bronze.round_exports', '--partition', partitionOf(course), '--json']);
    rmSync(join(inbox, 'erin hills'), { recursive: true });
    expect(r.exitCode).toBe(1);
    const run = JSON.parse(String(r.stdout)) as Summary & { run_id: string; reason: string };
    const step = run.steps[0]!;
    expect(step.status).toBe('FAILURE');
    expect(step.reason).toContain('broken.csv (empty_file');
    expect(run.reason).toContain(`1 input(s) rejected before any step: ${inbox}/erin hills (course_id must match`);
    const rejected = join(home, 'storage', 'fairway-quarantine', 'bronze', 'rejected');
    const entry = JSON.parse(readFileSync(join(rejected, 'erin_hills.json'), 'utf8')) as Record<string, unknown>;
    expect(entry).toMatchObject({ path: 'erin hills', run_id: run.run_id });
    const reportDir = join(
      home,
      'storage',
      'fairway-quarantine',
      'bronze',
      `course_id=${course}`,
      `ingest_date=${DAY}`,
    );
    const report = JSON.parse(readFileSync(join(reportDir, readdirSync(reportDir)[0]!), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(report).toMatchObject({ file: 'broken.csv', reason: 'empty_file', course_id: course });
    const landed = readdirSync(join(home, 'storage', 'fairway-landing', `course_id=${course}`, `ingest_date=${DAY}`));
    expect(landed.sort()).toEqual(readdirSync(join(SAMPLE, course)).sort());
  });

  it('status and why explain a newly arrived partition', async () => {
    const course = COURSES[1] ?? COURSES[0]!;
    const next = '2025-06-03';
    cpSync(await dailyExport(course, next), join(inbox, course, next), { recursive: true });
    const why = await cli(['why', 'silver.fact_telemetry_event', '--partition', partitionOf(course, next)]);
    expect(why.exitCode, String(why.stderr)).toBe(0);
    expect(String(why.stdout)).toContain('is MISSING');
    expect(String(why.stdout)).toContain('never been materialized');
  });

  it('one Spark application takes the batch: a partition whose Bronze failed is skipped alone, the others land', async () => {
    // State left by the tests above: COURSES[0] has a broken file (its Bronze fails), COURSES[1] a new day.
    const next = '2025-06-03';
    const third = COURSES[2] ?? COURSES[0]!;
    cpSync(await dailyExport(third, next), join(inbox, third, next), { recursive: true });
    const r = await cli(['materialize', '+silver.fact_telemetry_event', '--stale-only', '--json']);
    expect(r.exitCode, String(r.stderr).slice(-3000)).toBe(1);
    const steps = (JSON.parse(String(r.stdout)) as Summary).steps;
    const silver = (p: string) =>
      steps.find((s) => s.asset_key === 'silver.fact_telemetry_event' && s.partition_key === p);
    const bad = silver(partitionOf(COURSES[0]!))!;
    expect(bad.status).toBe('SKIPPED');
    expect(bad.reason).toContain(`bronze.round_exports[${partitionOf(COURSES[0]!)}] failed`);
    const landed = [partitionOf(COURSES[1] ?? COURSES[0]!, next), partitionOf(third, next)].map((p) => silver(p)!);
    expect(landed.map((s) => s.status)).toEqual(['SUCCESS', 'SUCCESS']);
    // One commit for the batch: both partitions' data versions start with the same snapshot id.
    const snapshots = landed.map((s) => s.data_version!.split(':')[0]);
    expect(snapshots[0]).toBe(snapshots[1]);
    expect(landed[0]!.data_version).not.toBe(landed[1]!.data_version);
    const [rows] = await query(
      `SELECT count(*) FROM silver.fact_telemetry_event WHERE course_id = '${third}' AND ingest_date = DATE '${next}'`,
    );
    expect(Number(rows!.rows[0]![0])).toBeGreaterThan(0);
  });

  it('a batch killed with SIGKILL leaves its partitions explained, and --stale-only repairs exactly those', async () => {
    rmSync(join(inbox, COURSES[0]!, DAY, 'broken.csv')); // the partition is repairable again
    const day = '2025-06-05';
    const added = COURSES.slice(-2);
    for (const course of added) cpSync(await dailyExport(course, day), join(inbox, course, day), { recursive: true });
    // Kill the whole process group (CLI, Python, JVM) once the Silver batch has started its Spark job.
    await killSilverRunOnce((steps) => steps.some((d) => d.startsWith('silver.fact_telemetry_event__')), 3_000);

    const status = await cli(['status', 'silver.fact_telemetry_event', '--json', '--partitions', '--limit', '0']);
    const partitions = (
      JSON.parse(String(status.stdout)) as { partitions: { partition: string; status: string; causes: unknown[] }[] }[]
    )[0]!.partitions;
    const notFresh = partitions.filter((p) => p.status !== 'FRESH');
    for (const course of added) expect(notFresh.map((p) => p.partition)).toContain(partitionOf(course, day));
    expect(notFresh.every((p) => p.status === 'FAILED' || p.status === 'MISSING')).toBe(true);

    const repair = await cli(['materialize', 'silver.fact_telemetry_event', '--stale-only', '--json']);
    expect(repair.exitCode, String(repair.stderr).slice(-3000)).toBe(0);
    const repaired = (JSON.parse(String(repair.stdout)) as Summary).steps
      .filter((s) => s.asset_key === 'silver.fact_telemetry_event')
      .map((s) => s.partition_key);
    expect(repaired.sort()).toEqual(notFresh.map((p) => p.partition).sort());
    const [dups] = await query(
      'SELECT count(*) FROM (SELECT course_id, ingest_date, round_id, fix_timestamp FROM silver.fact_telemetry_event ' +
        'WHERE fix_timestamp IS NOT NULL GROUP BY 1, 2, 3, 4 HAVING count(*) > 1)',
    );
    expect(Number(dups!.rows[0]![0])).toBe(0);
  });

  it('a sample file re-sent under a later ingest date replaces its older copy: no duplicate fix, the gate passes', async () => {
    const course = COURSES[0]!;
    const day = '2025-06-06';
    const file = readdirSync(join(SAMPLE, course)).find((f) => f.endsWith('.json'))!;
    mkdirSync(join(inbox, course, day), { recursive: true });
    cpSync(join(SAMPLE, course, file), join(inbox, course, day, file));
    const r = await cli(['materialize', '*', '--stale-only', '--json']);
    expect(r.exitCode, String(r.stderr).slice(-3000)).toBe(0);
    const summary = JSON.parse(String(r.stdout)) as Summary & { asset_checks: { name: string; passed: boolean }[] };
    expect(summary.asset_checks.find((c) => c.name === 'silver_duplicate_fix_rate')?.passed).toBe(true);
    const [dups] = await query(
      'SELECT count(*) FROM (SELECT round_id, fix_timestamp FROM silver.fact_telemetry_event ' +
        'WHERE fix_timestamp IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1)',
    );
    expect(Number(dups!.rows[0]![0])).toBe(0);
    // the rounds now live under the new ingest date only
    const [moved] = await query(
      `SELECT count(*) FILTER (WHERE ingest_date = DATE '${day}'), count(*) FILTER (WHERE ingest_date = DATE '${DAY}') ` +
        `FROM silver.fact_telemetry_event WHERE course_id = '${course}' AND round_id IN ` +
        `(SELECT round_id FROM silver.fact_telemetry_event WHERE ingest_date = DATE '${day}')`,
    );
    expect(Number(moved!.rows[0]![0])).toBeGreaterThan(0);
    expect(Number(moved!.rows[0]![1])).toBe(0);
  });
  // Write-audit-publish: a run's Silver rows go to an audit branch of each table; main moves only when the gate passed.
  const mainSnapshots = async () => {
    const results = await query(
      ...['fact_telemetry_event', 'fact_device_health', 'quarantine_telemetry_event'].map(
        (t) => `SELECT snapshot_id FROM silver.${t}.refs WHERE name = 'main'`,
      ),
    );
    return results.map((r) => String(r.rows[0]![0]));
  };
  const goldRounds = async () => Number((await query('SELECT count(*) FROM gold.fact_rounds'))[0]!.rows[0]![0]);
  const branchesOf = async () =>
    (await query("SELECT name FROM silver.fact_telemetry_event.refs WHERE name <> 'main'"))[0]!.rows.map((r) => r[0]);

  it('a batch failing the gate stays on its audit branch: main, its readers and Gold unchanged; a good batch publishes', async () => {
    const course = COURSES[1] ?? COURSES[0]!;
    const day = '2025-06-07';
    // a new day whose every fix reports 150 % battery: silver_battery_in_range (an error test) fails
    const dir = await dailyExport(course, day, 'json');
    for (const f of readdirSync(dir)) {
      const rounds = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { locations: { batteryPercentage: number }[] }[];
      for (const r of rounds) for (const l of r.locations) l.batteryPercentage = 150;
      writeFileSync(join(dir, f), JSON.stringify(rounds));
    }
    cpSync(dir, join(inbox, course, day), { recursive: true });
    const before = { main: await mainSnapshots(), silver: await silverCounts(), gold: await goldRounds() };
    const branchesBefore = await branchesOf(); // e.g. a killed run's, kept for its retention period

    const bad = await cli(['materialize', '*', '--stale-only', '--json']);
    expect(bad.exitCode, String(bad.stderr).slice(-3000)).toBe(1);
    const run = JSON.parse(String(bad.stdout)) as Summary & {
      run_id: string;
      reason: string;
      asset_checks: { name: string; passed: boolean; description: string | null }[];
    };
    const branch = `audit_${run.run_id.toLowerCase()}`;
    // both tables' battery tests fail (fact and device health); the reason names the first
    expect(run.reason).toMatch(
      /blocking check 'silver_(device_health_)?battery_in_range' on silver.fact_telemetry_event/,
    );
    const failed = run.asset_checks.find((c) => c.name === 'silver_battery_in_range')!;
    expect(failed.passed).toBe(false);
    expect(failed.description).toContain(`tested on unpublished branch ${branch}; main unchanged`);
    // main is byte-for-byte what it was: same snapshot of every table, same rows; Gold not rebuilt
    expect(await mainSnapshots()).toEqual(before.main);
    expect(await silverCounts()).toEqual(before.silver);
    expect(await goldRounds()).toBe(before.gold);
    expect(run.steps.filter((s) => s.asset_key.startsWith('gold.')).every((s) => s.status === 'SKIPPED')).toBe(true);
    // the branch keeps the bad rows for inspection; the partition is not recorded as materialized
    expect(await branchesOf()).toContain(branch);
    const [onBranch] = await query(
      `SELECT count(*) FROM silver.fact_telemetry_event VERSION AS OF '${branch}' WHERE battery_percentage > 100`,
    );
    expect(Number(onBranch!.rows[0]![0])).toBeGreaterThan(0);
    const why = await cli(['why', 'silver.fact_telemetry_event', '--partition', partitionOf(course, day)]);
    expect(String(why.stdout)).toContain('is MISSING');
    expect(String(why.stdout)).toContain(
      "blocking check 'silver_battery_in_range' on silver.fact_telemetry_event failed",
    );
    expect(String(why.stdout)).toContain(`VERSION AS OF '${branch}'`);

    // the export fixed: the next run writes the partition again and publishes it; readers see it, Gold rebuilds
    writeFileSync(
      join(inbox, course, day, readdirSync(dir)[0]!),
      readFileSync(join(await dailyExport(course, day, 'json'), readdirSync(dir)[0]!)),
    );
    const good = await cli(['materialize', '*', '--stale-only', '--json']);
    expect(good.exitCode, String(good.stderr).slice(-3000)).toBe(0);
    const after = await mainSnapshots();
    expect(after.every((s, i) => s !== before.main[i])).toBe(true);
    const [rows] = await query(
      `SELECT count(*) FROM silver.fact_telemetry_event WHERE course_id = '${course}' AND ingest_date = DATE '${day}'`,
    );
    expect(Number(rows!.rows[0]![0])).toBeGreaterThan(0);
    expect(await goldRounds()).toBeGreaterThan(before.gold);
    // the published run's data version is the snapshot main has now
    const silver = (JSON.parse(String(good.stdout)) as Summary).steps.find(
      (s) => s.asset_key === 'silver.fact_telemetry_event' && s.partition_key === partitionOf(course, day),
    )!;
    expect(silver.data_version!.split(':')[0]).toBe(after[0]);
    // the failed run's branch is kept for its retention period; the published run's is gone
    expect((await branchesOf()).sort()).toEqual([...branchesBefore, branch].sort());
  });

  it('a run killed between audit and publish leaves main untouched; the next run writes and publishes the partition', async () => {
    const course = COURSES[2] ?? COURSES[0]!;
    const day = '2025-06-08';
    cpSync(await dailyExport(course, day), join(inbox, course, day), { recursive: true });
    const before = await mainSnapshots();
    // the gate (checks step) starts once the Silver job has written the audit branch: kill everything then
    await killSilverRunOnce((steps) => steps.includes('silver.fact_telemetry_event__checks'), 0);
    expect(await mainSnapshots()).toEqual(before);
    const why = await cli(['why', 'silver.fact_telemetry_event', '--partition', partitionOf(course, day)]);
    expect(String(why.stdout)).toContain('is MISSING');

    const again = await cli(['materialize', 'silver.fact_telemetry_event', '--stale-only', '--json']);
    expect(again.exitCode, String(again.stderr).slice(-3000)).toBe(0);
    expect(
      (JSON.parse(String(again.stdout)) as Summary).steps
        .filter((s) => s.asset_key === 'silver.fact_telemetry_event')
        .map((s) => s.partition_key),
    ).toEqual([partitionOf(course, day)]);
    const [rows] = await query(
      `SELECT count(*) FROM silver.fact_telemetry_event WHERE course_id = '${course}' AND ingest_date = DATE '${day}'`,
    );
    expect(Number(rows!.rows[0]![0])).toBeGreaterThan(0);
  });

  it('two runs at once on different partitions both publish: every row of both is in main, none twice', async () => {
    const day = '2025-06-09';
    const [a, b] = [COURSES[3] ?? COURSES[0]!, COURSES[4] ?? COURSES[1] ?? COURSES[0]!];
    for (const c of [a, b]) cpSync(await dailyExport(c, day), join(inbox, c, day), { recursive: true });
    const runs = await Promise.all(
      [a, b].map((c) =>
        cli(['materialize', 'silver.fact_telemetry_event', '--partition', partitionOf(c, day), '--json']),
      ),
    );
    for (const r of runs) expect(r.exitCode, String(r.stderr).slice(-3000)).toBe(0);
    const steps = runs.flatMap((r) => (JSON.parse(String(r.stdout)) as Summary).steps);
    expect(steps.filter((s) => s.asset_key === 'silver.fact_telemetry_event').map((s) => s.status)).toEqual([
      'SUCCESS',
      'SUCCESS',
    ]);
    const [perCourse, dups] = await query(
      `SELECT course_id, count(*) FROM silver.fact_telemetry_event WHERE ingest_date = DATE '${day}' GROUP BY 1 ORDER BY 1`,
      'SELECT count(*) FROM (SELECT round_id, fix_timestamp FROM silver.fact_telemetry_event ' +
        'WHERE fix_timestamp IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1)',
    );
    expect(perCourse!.rows.map((r) => r[0])).toEqual([a, b].sort());
    expect(perCourse!.rows.every((r) => Number(r[1]) > 0)).toBe(true);
    expect(Number(dups!.rows[0]![0])).toBe(0);
  });
});
