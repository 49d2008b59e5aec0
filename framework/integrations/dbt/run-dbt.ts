import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FrameworkError } from '../../errors/index.ts';
import { followLines, tieGroupToThisProcess } from '../../pipes/index.ts';
import { runInDbtWorker } from './dbt-worker.ts';
import { type DbtRunResults, parseRunResults } from './run-results.ts';

/** How to start dbt: the executable (e.g. `<venv>/bin/dbt`), its environment and profiles dir. */
export interface DbtEnvironment {
  command: string;
  /** Arguments before dbt's own (e.g. `['-m', 'dbt.cli.main']` when `command` is python). */
  prefixArgs?: readonly string[];
  env: Record<string, string>;
  /** Directory holding the generated `profiles.yml`. */
  profilesDir: string;
  /**
   * A Python that imports dbt (the venv's): when given, commands run one after another in one long-lived
   * dbt process (`dbt_worker.py`, working directory `<profilesDir>/worker`) instead of a process each, so
   * an adapter's session (dbt-spark's Spark JVM) starts once for a run's gate, freshness and build.
   */
  python?: string;
}

export interface RunDbtOptions {
  dbt: DbtEnvironment;
  projectDir: string;
  target: string;
  vars: Record<string, unknown>;
  /** dbt sub-command and its selection, e.g. `['build', '--select', 'fact_rounds']`. */
  args: readonly string[];
  /**
   * Environment variables of this invocation only, read by macros at execution (e.g. the audit branch the
   * Silver gate tests): unlike `vars`, they do not change what dbt parses, so the parse cache still serves.
   */
  env?: Readonly<Record<string, string>>;
  /** This invocation's own directory: `target/` and `logs/` go inside, so runs never share them. */
  workDir: string;
  /** A directory with a `partial_parse.msgpack` to start from (skips most of dbt's parsing). */
  parseCacheDir?: string;
  signal?: AbortSignal;
  /** Every line dbt prints (stdout and stderr), as it arrives. */
  onLine?: (line: string) => void;
  /** The step's `ctx.onChildProcess`: dbt's process group is recorded while it runs this command. */
  onChildProcess?: (pgid: number) => () => void;
}

export interface RunDbtResult {
  /** 0 = everything passed; 1 = a model or test failed (results say which); 2 = dbt itself failed. */
  exitCode: number;
  targetDir: string;
  /** Absent when dbt stopped before running nodes (e.g. a compilation error). */
  runResults?: DbtRunResults;
  /** Rows in each table the run built (from the project's on-run-end hook), by unique id. */
  rowCounts: Map<string, number>;
  durationMs: number;
  /** The last lines dbt printed, for error messages. */
  tail: string[];
}

const ROWS_MARKER = 'FAIRWAY_DBT_ROWS ';
/**
 * dbt-spark (session mode) re-applies the profile's settings before every statement, and Spark warns
 * each time that only runtime settings take effect: dozens of identical lines per run, no signal.
 */
const NOISE = /WARN SparkSession: Using an existing Spark session; only runtime SQL configurations will take effect/;
const TAIL_LINES = 40;

/** dbt must never phone home: the machine may have no network, and runs must not wait on it. */
export const DBT_QUIET_ENV = {
  DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
  DBT_VERSION_CHECK: 'false',
  DBT_USE_COLORS: 'false',
  DBT_PRINTER_WIDTH: '100',
} as const;

/**
 * Runs one dbt command in its own target directory, streaming its output, and reads back
 * `run_results.json`. Never throws for failing models or tests: the caller reads the results.
 */
export async function runDbt(opts: RunDbtOptions): Promise<RunDbtResult> {
  const targetDir = join(opts.workDir, 'target');
  const logDir = join(opts.workDir, 'logs');
  mkdirSync(targetDir, { recursive: true });
  if (opts.parseCacheDir) {
    for (const f of ['partial_parse.msgpack', 'manifest.json']) {
      const from = join(opts.parseCacheDir, f);
      if (existsSync(from)) copyFileSync(from, join(targetDir, f));
    }
  }
  const dbtArgs = [
    ...opts.args,
    '--project-dir',
    opts.projectDir,
    '--profiles-dir',
    opts.dbt.profilesDir,
    '--target',
    opts.target,
    '--target-path',
    targetDir,
    '--log-path',
    logDir,
    '--vars',
    JSON.stringify(opts.vars),
  ];
  const tail: string[] = [];
  const rowCounts = new Map<string, number>();
  const onLine = (line: string) => {
    if (NOISE.test(line)) return;
    const at = line.indexOf(ROWS_MARKER);
    if (at >= 0) {
      try {
        const { unique_id, rows } = JSON.parse(line.slice(at + ROWS_MARKER.length)) as {
          unique_id: string;
          rows: number;
        };
        if (typeof unique_id === 'string' && Number.isInteger(rows)) rowCounts.set(unique_id, rows);
      } catch {
        // a garbled marker line is only a missing row count
      }
    }
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    opts.onLine?.(line);
  };
  const started = Date.now();
  const env = { ...opts.dbt.env, ...DBT_QUIET_ENV };
  if (opts.dbt.python) {
    const exit = await runInDbtWorker(
      { python: opts.dbt.python, env: { ...env, PYTHONUNBUFFERED: '1' }, cwd: join(opts.dbt.profilesDir, 'worker') },
      {
        args: dbtArgs,
        ...(opts.env ? { env: opts.env } : {}),
        onLine,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.onChildProcess ? { onChildProcess: opts.onChildProcess } : {}),
      },
    );
    return dbtResult(targetDir, exit.canceled ? 130 : exit.exitCode, rowCounts, started, tail);
  }
  const { execa } = await import('execa'); // loaded on use: most commands run no dbt
  const child = execa(opts.dbt.command, [...(opts.dbt.prefixArgs ?? []), ...dbtArgs], {
    // Spark (session mode) drops spark-warehouse/ and metastore files into its working directory.
    cwd: opts.workDir,
    env: { ...env, ...opts.env },
    reject: false,
    stdin: 'ignore',
    buffer: false,
    cancelSignal: opts.signal,
    forceKillAfterDelay: 5_000,
    detached: true, // its own process group (dbt and its Spark JVM), stopped as a whole
  });
  const untie = tieGroupToThisProcess(child.pid, opts.signal);
  const forget = child.pid && opts.onChildProcess ? opts.onChildProcess(child.pid) : () => {};
  followLines(child.stdout, onLine);
  followLines(child.stderr, onLine);
  const result = await child.finally(() => {
    untie();
    forget();
  });
  if (result.failed && result.exitCode === undefined && !result.isCanceled) {
    throw new FrameworkError(
      'DBT_START_FAILED',
      `Could not run dbt ('${opts.dbt.command}'): ${result.shortMessage}. Run 'fairway bootstrap' to install the Python venv with dbt.`,
      { details: { command: opts.dbt.command } },
    );
  }
  return dbtResult(targetDir, result.isCanceled ? 130 : (result.exitCode ?? 2), rowCounts, started, tail);
}

function dbtResult(
  targetDir: string,
  exitCode: number,
  rowCounts: Map<string, number>,
  started: number,
  tail: string[],
): RunDbtResult {
  const resultsFile = join(targetDir, 'run_results.json');
  const runResults = existsSync(resultsFile)
    ? parseRunResults(JSON.parse(readFileSync(resultsFile, 'utf8')), resultsFile)
    : undefined;
  return {
    exitCode,
    targetDir,
    ...(runResults ? { runResults } : {}),
    rowCounts,
    durationMs: Date.now() - started,
    tail,
  };
}
