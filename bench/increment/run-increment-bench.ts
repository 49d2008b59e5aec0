/**
 * The daily increment: N course-day partitions of realistic size (one export a course a day,
 * 100–200 rounds each), materialized Bronze → Gold by the real CLI on the embedded profile from a
 * fresh state dir, then the marginal cost of one more partition on top. Measures the whole process
 * tree (the CLI, Python and every JVM it starts): wall, CPU, peak resident memory.
 *
 * `--repo DIR` runs another checkout's CLI on the same input (e.g. the code before a change, from
 * `git worktree add`), so before and after are measured side by side on one machine.
 *
 * The profile is the environment's, as for every command: with `FAIRWAY_PROFILE=local` each size gets its
 * own native stack (S3, REST catalog, Trino, Spark cluster) in its fresh state dir, started before and
 * stopped after the measured runs (not measured); `FAIRWAY_SPARK_MASTER=local[2]` then keeps Spark in the
 * driver, for the cluster's cost side by side.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCourses } from '../../assets/lib/courses.ts';
import { generateDailyExports } from '../../assets/lib/sample-data/index.ts';
import { hostMachine, loadAverage } from '../machine.ts';
import { timeProcessTree } from '../silver/process-cpu.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const START_DATE = '2025-06-02';

export interface IncrementBenchOptions {
  /** Course-day partitions of the first run (one day of N courses: 5 real, the rest synthetic). */
  sizes: number[];
  /** The checkout whose CLI runs (default this one). */
  repo: string;
  /** A name for the code measured, e.g. `after` or `before (4c45a61)`. */
  label: string;
  /** Keep each size's state dir (run summaries, compute logs) for a look afterwards. */
  keep?: boolean;
  out?: string;
}

interface RunTiming {
  wall_s: number;
  cpu_s: number | null;
  peak_rss_mb: number | null;
  exit_code: number | null;
  steps: Record<string, number>;
}

export interface IncrementCase {
  partitions: number;
  rounds: number;
  first: RunTiming & { rounds_per_min: number; s_per_partition: number };
  /** One more course-day partition added to the inbox, then `materialize '*' --stale-only` again. */
  plus_one: RunTiming;
}

export interface IncrementResults {
  suite: 'increment';
  date: string;
  label: string;
  machine: Record<string, unknown>;
  cases: IncrementCase[];
}

const log = (msg: string) => process.stderr.write(`[increment-bench] ${msg}\n`);
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
/** Step statuses of a `--json` run summary, counted (`silver.fact_telemetry_event SUCCESS: 200`). */
function stepCounts(stdout: string): Record<string, number> {
  try {
    const summary = JSON.parse(stdout) as { steps: { asset_key: string; status: string }[] };
    const counts: Record<string, number> = {};
    for (const s of summary.steps) {
      const k = `${s.asset_key} ${s.status}`;
      counts[k] = (counts[k] ?? 0) + 1;
    }
    return counts;
  } catch {
    return { unparsable_summary: 1 };
  }
}

/** `fairway stack up|down` for a local-profile case (not measured). */
function stack(repo: string, env: NodeJS.ProcessEnv, sub: 'up' | 'down'): void {
  const r = spawnSync(process.execPath, [join(repo, 'bin', 'fairway.js'), 'stack', sub], {
    cwd: repo,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`fairway stack ${sub} failed (exit ${r.status})`);
}

async function materialize(repo: string, env: NodeJS.ProcessEnv): Promise<RunTiming> {
  let stdout = '';
  let stderrTail = '';
  const timing = await timeProcessTree(
    [process.execPath, join(repo, 'bin', 'fairway.js'), 'materialize', '*', '--stale-only', '--json'],
    {
      env,
      cwd: repo,
      onStdout: (chunk) => {
        stdout += chunk;
      },
      onStderr: (chunk) => {
        stderrTail = (stderrTail + chunk).slice(-4000);
      },
    },
  );
  if (timing.exit_code !== 0) log(`materialize exited ${timing.exit_code}; stderr tail:\n${stderrTail}`);
  return {
    wall_s: round(timing.wall_s),
    cpu_s: timing.cpu_s === null ? null : round(timing.cpu_s),
    peak_rss_mb: timing.peak_rss_mb,
    exit_code: timing.exit_code,
    steps: stepCounts(stdout),
  };
}

/** Writes N course-day exports into `<home>/inbox`; returns the course reference file and the rounds. */
async function generate(home: string, partitions: number): Promise<{ coursesFile: string; rounds: number }> {
  const courses = loadCourses(join(repoRoot, 'config', 'courses.json'));
  const real = Object.keys(courses).sort().slice(0, Math.min(partitions, 5));
  const gen = join(home, 'generated');
  const manifest = await generateDailyExports({
    outDir: gen,
    courses,
    courseIds: real,
    syntheticCourses: partitions - real.length,
    days: 1,
    startDate: START_DATE,
  });
  const inbox = join(home, 'inbox');
  mkdirSync(inbox, { recursive: true });
  for (const course of Object.keys(manifest.courses)) renameSync(join(gen, course), join(inbox, course));
  const coursesFile = join(home, 'courses.json');
  renameSync(join(gen, manifest.courses_file ?? 'courses.json'), coursesFile);
  return { coursesFile, rounds: manifest.totals.rounds ?? 0 };
}

/** One more export: the first course, the next day. */
async function addOnePartition(home: string): Promise<void> {
  const courses = loadCourses(join(repoRoot, 'config', 'courses.json'));
  const first = Object.keys(courses).sort()[0]!;
  const gen = join(home, 'generated-next');
  await generateDailyExports({
    outDir: gen,
    courses,
    courseIds: [first],
    days: 1,
    startDate: '2025-06-03',
    seed: 7,
    writeCoursesFile: false,
  });
  renameSync(join(gen, first, '2025-06-03'), join(home, 'inbox', first, '2025-06-03'));
}

export async function runIncrementBench(opts: IncrementBenchOptions): Promise<IncrementResults> {
  const repo = resolve(opts.repo);
  log(`warming up ${repo} (bootstrap: venv, jars, dbt manifest; not measured)`);
  const warm = spawnSync(process.execPath, [join(repo, 'bin', 'fairway.js'), 'bootstrap'], {
    cwd: repo,
    env: { ...process.env, FAIRWAY_HOME: mkdtempSync(join(tmpdir(), 'fairway-bench-warm-')) },
    stdio: 'inherit',
  });
  if (warm.status !== 0) throw new Error(`bootstrap of ${repo} failed`);
  const localProfile = process.env.FAIRWAY_PROFILE === 'local';
  const results: IncrementResults = {
    suite: 'increment',
    date: new Date().toISOString(),
    label: opts.label,
    machine: {
      ...hostMachine(repo),
      profile: process.env.FAIRWAY_PROFILE ?? 'embedded',
      spark_master: process.env.FAIRWAY_SPARK_MASTER ?? '(profile default)',
    },
    cases: [],
  };
  for (const n of opts.sizes) {
    const home = mkdtempSync(join(tmpdir(), `fairway-bench-increment-${n}-`));
    try {
      const { coursesFile, rounds } = await generate(home, n);
      const env = {
        ...process.env,
        FAIRWAY_HOME: home,
        FAIRWAY_COURSES_FILE: coursesFile,
        FAIRWAY_LOG_LEVEL: 'warn',
        // The files were generated a moment ago; a user's arrive hours before the daily run. Without this,
        // Bronze would wait out its settle window (2 s) for the newest files: arrival, not processing.
        FAIRWAY_BRONZE_SETTLE_SECONDS: '0',
        NO_COLOR: '1',
      };
      if (localProfile) stack(repo, env, 'up');
      log(`${opts.label}: ${n} partitions (${rounds} rounds), materialize '*' --stale-only on a fresh state dir`);
      const first = await materialize(repo, env);
      log(`  ${first.wall_s} s wall, ${first.cpu_s} CPU-s, ${first.peak_rss_mb} MB peak`);
      await addOnePartition(home);
      log(`${opts.label}: one more partition on top of ${n}`);
      const plusOne = await materialize(repo, env);
      log(`  ${plusOne.wall_s} s wall, ${plusOne.cpu_s} CPU-s, ${plusOne.peak_rss_mb} MB peak`);
      results.cases.push({
        partitions: n,
        rounds,
        first: {
          ...first,
          rounds_per_min: Math.round(rounds / (first.wall_s / 60)),
          s_per_partition: round(first.wall_s / n),
        },
        plus_one: plusOne,
      });
    } finally {
      if (localProfile) stack(repo, { ...process.env, FAIRWAY_HOME: home }, 'down');
      if (opts.keep) log(`  state dir kept: ${home}`);
      else rmSync(home, { recursive: true, force: true });
    }
  }
  (results.machine as Record<string, unknown>).load_average_at_end = loadAverage();
  const out =
    opts.out ??
    join(
      repoRoot,
      'bench',
      'results',
      `increment-${results.date.slice(0, 10)}-${String(results.machine.git_commit).slice(0, 7)}.json`,
    );
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  log(`results: ${out}`);
  return results;
}

/** Markdown table of one or more results files (e.g. before and after). */
export function formatIncrementTable(all: IncrementResults[]): string {
  const rows = [
    '| code | partitions | rounds | wall s | CPU s | peak RSS MB | rounds/min | s/partition | +1 partition wall s | exit |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of all) {
    for (const c of r.cases) {
      rows.push(
        `| ${r.label} | ${c.partitions} | ${c.rounds} | ${c.first.wall_s} | ${c.first.cpu_s ?? '-'} | ${c.first.peak_rss_mb ?? '-'} | ${c.first.rounds_per_min} | ${c.first.s_per_partition} | ${c.plus_one.wall_s} | ${c.first.exit_code}/${c.plus_one.exit_code} |`,
      );
    }
  }
  return rows.join('\n');
}
