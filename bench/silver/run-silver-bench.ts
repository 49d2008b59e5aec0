import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../assets/lib/config.ts';
import { loadCourses } from '../../assets/lib/courses.ts';
import { sparkEnv, sparkJars } from '../../assets/lib/spark-env.ts';
import { ensureSparkRuntime } from '../../framework/integrations/spark/index.ts';
import { type PipesMessage, parsePipesLine } from '../../framework/pipes/index.ts';
import { hostMachine, loadAverage } from '../machine.ts';
import { type ProcessTiming, timeProcessTree } from './process-cpu.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const duckdbVenv = join(repoRoot, 'bench', '.venv-duckdb');
const duckdbScript = join(repoRoot, 'bench', 'silver', 'duckdb_reference.py');
const COURSE = 'erinhills';
const INGEST_DATE = '2025-06-02';
/** Rounds per minute the reference implementation does locally, and the target (10x). */
export const REFERENCE_ROUNDS_PER_MIN = 3_000;
export const TARGET_ROUNDS_PER_MIN = 30_000;

export interface SilverBenchOptions {
  /** Size of the generated CSV in MB (the generator's --scale-mb). */
  scaleMb: number;
  /** csv, or both: the CSV plus its JSON twin in the same partition (Silver removes the twins). */
  format: 'csv' | 'both';
  repeats: number;
  skipDuckdb: boolean;
  /** The directory that holds the job's package (`fairway_spark`, run with `python -m`); default the checkout's spark/. */
  sparkDir?: string;
  out?: string;
}

const log = (msg: string) => process.stderr.write(`[silver-bench] ${msg}\n`);
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function commandOutput(cmd: string, args: string[], cwd = repoRoot): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

function machineInfo(python: string, javaHome: string) {
  return {
    ...hostMachine(repoRoot),
    python: commandOutput(python, ['--version']),
    java: commandOutput(join(javaHome, 'bin', 'java'), ['-version']).split('\n')[0] ?? 'unknown',
  };
}

/** Generates the export once per (scale, format) under bench/generated/ (the generator is deterministic). */
function generateInput(opts: SilverBenchOptions): { dir: string; manifest: Record<string, unknown> } {
  const root = join(repoRoot, 'bench', 'generated', `silver-${opts.scaleMb}mb-${opts.format}`);
  const manifestFile = join(root, 'manifest.json');
  if (!existsSync(manifestFile)) {
    log(`generating a ~${opts.scaleMb} MB ${opts.format} export into ${root}`);
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(repoRoot, 'scripts', 'generate-sample-data.ts'),
        '--out',
        root,
        '--scale-mb',
        String(opts.scaleMb),
        '--files',
        '1',
        '--courses',
        COURSE,
        '--format',
        opts.format,
      ],
      { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    if (r.status !== 0) throw new Error(`sample data generator exited ${r.status}`);
  }
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, unknown>;
  return { dir: join(root, COURSE), manifest };
}

const metadataValue = (m: PipesMessage | undefined, key: string): unknown =>
  m?.type === 'materialization' ? (m.metadata[key] as { value?: unknown } | undefined)?.value : undefined;

/** The job's messages: start-up time, stage timings and the materialization's counts. */
function readMessages(file: string) {
  const messages: PipesMessage[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const parsed = parsePipesLine(line);
    if (parsed.ok) messages.push(parsed.message);
    else log(`unparsed message line kept out: ${parsed.error}`);
  }
  const error = messages.find((m) => m.type === 'error');
  if (error?.type === 'error') throw new Error(`Silver job reported an error: ${error.message}`);
  const mat = messages.findLast((m) => m.type === 'materialization');
  if (!mat) throw new Error('Silver job reported no materialization');
  const stages: Record<string, number> = {};
  for (const m of messages)
    if (m.type === 'log' && m.message === 'stage done' && m.fields)
      stages[String(m.fields.stage)] = Number(m.fields.ms);
  const num = (key: string) => Number(metadataValue(mat, key) ?? Number.NaN);
  return {
    spark_startup_ms: num('spark_startup_ms'),
    duration_ms: num('duration_ms'),
    rounds: num('rounds'),
    real_rows: num('real_rows'),
    rows_written: num('row_count'),
    quarantined_rows: num('quarantined_rows'),
    duplicates_removed: num('duplicates_removed'),
    stages_ms: stages,
  };
}

type SparkRun = ProcessTiming & ReturnType<typeof readMessages>;

async function runSpark(bronzeDir: string, sparkDir: string, runIndex: number, repeatsDir: string): Promise<SparkRun> {
  const runtime = await ensureSparkRuntime({
    requirementsFile: join(repoRoot, 'spark', 'requirements.txt'),
    pomFile: join(repoRoot, 'spark', 'jars', 'pom.xml'),
    onProgress: (m) => log(`[bootstrap] ${m}`),
  });
  const work = join(repeatsDir, `spark-${runIndex}`);
  const stateDir = join(work, 'state');
  mkdirSync(join(stateDir, 'warehouse'), { recursive: true });
  const config = loadConfig({ projectRoot: repoRoot, profile: 'embedded' });
  const course = loadCourses(config.coursesFile)[COURSE];
  const b = config.coordinateBounds;
  const messagesFile = join(work, 'messages.jsonl');
  const cmd = [
    runtime.python,
    '-m',
    'fairway_spark.silver_job', // from sparkDir, on PYTHONPATH below
    '--bronze-path',
    bronzeDir,
    '--course-id',
    COURSE,
    '--ingest-date',
    INGEST_DATE,
    '--namespace',
    config.catalog.namespaces.silver,
    `--min-lon=${b.minLon}`,
    `--max-lon=${b.maxLon}`,
    `--min-lat=${b.minLat}`,
    `--max-lat=${b.maxLat}`,
    ...(course ? [`--course-centre=${course.centre.join(',')}`, '--course-timezone', course.timezone] : []),
  ];
  const env = {
    ...process.env,
    PYTHONPATH: sparkDir,
    ...sparkEnv(config, stateDir),
    FAIRWAY_SPARK_JARS: sparkJars(config, runtime.jars).join(','),
    JAVA_HOME: runtime.javaHome,
    PYSPARK_PYTHON: runtime.python,
    FAIRWAY_PIPES_MESSAGES: messagesFile,
    FAIRWAY_PIPES_CONTEXT: JSON.stringify({ run_id: `silver-bench-${Date.now()}`, asset_key: 'silver.bench' }),
  };
  const logFile = join(work, 'compute.log');
  let output = '';
  const timing = await timeProcessTree(cmd, {
    env,
    cwd: repoRoot,
    onStderr: (s) => {
      output += s;
    },
  });
  writeFileSync(logFile, output);
  if (timing.exit_code !== 0) {
    throw new Error(`Silver job exited ${timing.exit_code} after ${timing.wall_s.toFixed(0)} s; log: ${logFile}`);
  }
  return { ...timing, ...readMessages(messagesFile) };
}

function ensureDuckdbVenv(): string {
  const pin = /DUCKDB_VERSION = "([^"]+)"/.exec(readFileSync(duckdbScript, 'utf8'))?.[1];
  if (!pin) throw new Error(`no DUCKDB_VERSION pin in ${duckdbScript}`);
  const python = join(duckdbVenv, 'bin', 'python');
  const installed = existsSync(python) ? commandOutput(python, ['-c', 'import duckdb; print(duckdb.__version__)']) : '';
  if (installed !== pin) {
    log(`installing duckdb==${pin} into ${duckdbVenv}`);
    for (const [cmd, args] of [
      ['python3', ['-m', 'venv', duckdbVenv]],
      [join(duckdbVenv, 'bin', 'pip'), ['install', '--quiet', `duckdb==${pin}`]],
    ] as const) {
      const r = spawnSync(cmd, [...args], { stdio: 'inherit' });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
    }
  }
  return python;
}

async function runDuckdb(python: string, csvFiles: string[], work: string, runIndex: number) {
  const out = join(work, `duckdb-${runIndex}.parquet`);
  let output = '';
  const timing = await timeProcessTree([python, duckdbScript, '--out', out, ...csvFiles], {
    env: process.env,
    cwd: repoRoot,
    onStderr: (s) => {
      output += s;
    },
  });
  if (timing.exit_code !== 0) throw new Error(`DuckDB reference exited ${timing.exit_code}: ${output.slice(-2000)}`);
  const result = JSON.parse(output.trim().split('\n').at(-1)!) as {
    rows: number;
    rounds: number;
    elapsed_s: number;
    duckdb: string;
    threads: string;
  };
  rmSync(out, { force: true });
  return { ...timing, ...result };
}

/** Throughput of `seconds` over the input: MB/s (10^6 bytes), rounds/min, location rows/s. */
function throughput(seconds: number, bytes: number, rounds: number, rows: number) {
  return {
    seconds: round(seconds, 2),
    mb_per_s: round(bytes / 1e6 / seconds, 2),
    rounds_per_min: Math.round((rounds / seconds) * 60),
    rows_per_s: Math.round(rows / seconds),
  };
}

/**
 * Times the real Silver job (whole process) on a generated ~100 MB course export, and a plain
 * DuckDB read → explode → Parquet pass on the same CSV; writes bench/results/silver-<date>.json.
 */
export async function runSilverBench(opts: SilverBenchOptions) {
  const runtime = await ensureSparkRuntime({
    requirementsFile: join(repoRoot, 'spark', 'requirements.txt'),
    pomFile: join(repoRoot, 'spark', 'jars', 'pom.xml'),
    onProgress: (m) => log(`[bootstrap] ${m}`),
  });
  const { dir, manifest } = generateInput(opts);
  const sparkDir = resolve(opts.sparkDir ?? join(repoRoot, 'spark'));
  const machine = machineInfo(runtime.python, runtime.javaHome);
  log(`load average at start: ${machine.load_average_at_start.join(' ')} on ${machine.cores} cores`);
  const files = readdirSync(dir).sort();
  const bytes = files.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  const work = mkdtempSync(join(tmpdir(), 'fairway-silver-bench-'));
  try {
    const spark: SparkRun[] = [];
    for (let i = 0; i < opts.repeats; i++) {
      log(`Silver job run ${i + 1}/${opts.repeats} on ${(bytes / 1e6).toFixed(1)} MB (${files.length} files)…`);
      const r = await runSpark(dir, sparkDir, i, work);
      log(
        `Silver: ${r.wall_s.toFixed(1)} s wall, ${r.cpu_s?.toFixed(1)} s CPU, start-up ${r.spark_startup_ms} ms, ` +
          `job ${r.duration_ms} ms, load ${loadAverage().join(' ')}`,
      );
      spark.push(r);
    }
    const duckdb: Awaited<ReturnType<typeof runDuckdb>>[] = [];
    // The reference reads the round exports only: the edge-case files (empty, header-only, missing _id) are
    // rejected by Silver and would fail read_csv.
    const csv = files.filter((f) => /\.rounds\.\d+\.csv$/.test(f)).map((f) => join(dir, f));
    if (!opts.skipDuckdb) {
      const python = ensureDuckdbVenv();
      for (let i = 0; i < opts.repeats; i++) {
        const r = await runDuckdb(python, csv, work, i);
        log(`DuckDB: ${r.wall_s.toFixed(1)} s wall, ${r.cpu_s?.toFixed(1)} s CPU, COPY ${r.elapsed_s} s`);
        duckdb.push(r);
      }
    }
    const pick = <T>(runs: T[], f: (r: T) => number) => median(runs.map(f));
    const s0 = spark[0]!;
    const rounds = s0.rounds;
    const rows = s0.real_rows;
    const wall = pick(spark, (r) => r.wall_s);
    const job = pick(spark, (r) => r.duration_ms / 1000);
    const csvBytes = csv.reduce((n, f) => n + statSync(f).size, 0);
    const results = {
      suite: 'silver',
      date: new Date().toISOString().slice(0, 10),
      machine: { ...machine, load_average_at_end: loadAverage() },
      input: {
        dir,
        files,
        bytes,
        csv_bytes: csvBytes,
        format: opts.format,
        scale_mb: opts.scaleMb,
        generator_totals: manifest.totals ?? null,
      },
      spark_dir: sparkDir,
      reference_rounds_per_min: REFERENCE_ROUNDS_PER_MIN,
      target_rounds_per_min: TARGET_ROUNDS_PER_MIN,
      spark: {
        runs: spark.map((r) => ({ ...r, wall_s: round(r.wall_s, 2) })),
        counts: {
          rounds,
          real_rows: rows,
          rows_written: s0.rows_written,
          quarantined_rows: s0.quarantined_rows,
          duplicates_removed: s0.duplicates_removed,
        },
        spark_startup_ms: pick(spark, (r) => r.spark_startup_ms),
        cpu_s: spark.every((r) => r.cpu_s !== null)
          ? round(
              pick(spark, (r) => r.cpu_s!),
              1,
            )
          : null,
        end_to_end: throughput(wall, bytes, rounds, rows),
        excluding_startup: throughput(job, bytes, rounds, rows),
        target_met_end_to_end: (rounds / wall) * 60 >= TARGET_ROUNDS_PER_MIN,
        target_met_excluding_startup: (rounds / job) * 60 >= TARGET_ROUNDS_PER_MIN,
      },
      duckdb: duckdb.length
        ? {
            runs: duckdb.map((r) => ({ ...r, wall_s: round(r.wall_s, 2) })),
            version: duckdb[0]!.duckdb,
            threads: duckdb[0]!.threads,
            rows: duckdb[0]!.rows,
            cpu_s: duckdb.every((r) => r.cpu_s !== null)
              ? round(
                  pick(duckdb, (r) => r.cpu_s!),
                  1,
                )
              : null,
            whole_process: throughput(
              pick(duckdb, (r) => r.wall_s),
              csvBytes,
              rounds,
              rows,
            ),
            copy_only: throughput(
              pick(duckdb, (r) => r.elapsed_s),
              csvBytes,
              rounds,
              rows,
            ),
          }
        : { skipped: 'skipped (--skip-duckdb)' },
    };
    const out = opts.out ?? join(repoRoot, 'bench', 'results', `silver-${results.date}.json`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    log(`results written to ${out}`);
    rmSync(work, { recursive: true, force: true });
    return results;
  } catch (cause) {
    log(`failed; work directory kept for its logs: ${work}`);
    throw cause;
  }
}
