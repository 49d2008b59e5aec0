/**
 * Partition scale ([partition-scale]): one Silver-like asset with N `course_id × ingest_date` partitions,
 * seeded through the store's own write path with Silver-size metadata, then whole-process timings of what
 * an operator runs every day: `status`, `status --json`, a new partition by name and by `--stale-only`,
 * one daemon tick, and the asset page over HTTP.
 *
 * `--repo DIR` measures another checkout (e.g. the code before a change, from `git worktree add`).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostMachine, loadAverage } from '../machine.ts';
import { dayOf, type PartitionBenchSpec, partitionKey, renderDefinitions } from './spec.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const COURSES = 650;

export interface PartitionBenchOptions {
  /** Approximate partition counts; each is rounded to whole days of 650 courses. */
  sizes: number[];
  repo: string;
  label: string;
  chain: boolean;
  repeats: number;
  /** Seconds before one command is recorded as timed out. */
  timeoutS: number;
  /**
   * A directory keeping each size's seeded state: a later run (e.g. of another checkout with the same schema)
   * copies it instead of seeding again, which takes minutes at 1M partitions.
   */
  seedCache?: string;
  out?: string;
}

interface Sample {
  wall_s: number;
  cpu_s: number;
  peak_rss_mb: number;
}

interface Measured {
  median_wall_s: number | null;
  median_cpu_s: number | null;
  max_peak_rss_mb: number | null;
  samples: Sample[];
  error?: string;
}

export interface PartitionCase {
  partitions: number;
  chain: boolean;
  metadata: PartitionBenchSpec['metadata'];
  seed_s: number;
  db_mb: number;
  ops: Record<string, Measured>;
}

export interface PartitionResults {
  suite: 'partitions';
  date: string;
  label: string;
  machine: Record<string, unknown>;
  load_average_at_end?: number[];
  cases: PartitionCase[];
}

const log = (msg: string) => process.stderr.write(`[partition-bench] ${msg}\n`);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** One whole process under /usr/bin/time: wall, user + sys CPU and peak RSS. */
function timeOnce(argv: string[], timeoutS: number, cwd: string): Sample {
  const timeFile = join(tmpdir(), `fairway-partition-bench-${process.pid}`);
  const start = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %M', '-o', timeFile, ...argv], {
    cwd, // each checkout compiles with its own tsconfig
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: timeoutS * 1000,
    maxBuffer: 1 << 28,
  });
  const wall = (performance.now() - start) / 1000;
  if (r.error || r.status !== 0) {
    throw new Error(r.error ? `timed out after ${timeoutS} s` : `exit ${r.status}: ${String(r.stderr).slice(-800)}`);
  }
  const [user, sys, rssKb] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(/\s+/).map(Number);
  return { wall_s: round(wall), cpu_s: round(user! + sys!), peak_rss_mb: Math.round(rssKb! / 1024) };
}

function measure(
  name: string,
  runs: number,
  argv: (i: number) => string[],
  opts: { timeoutS: number; cwd: string },
): Measured {
  const samples: Sample[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const s = timeOnce(argv(i), opts.timeoutS, opts.cwd);
      log(`${name}: ${s.wall_s} s wall, ${s.cpu_s} s CPU, ${s.peak_rss_mb} MB`);
      samples.push(s);
    }
  } catch (e) {
    log(`${name}: ${(e as Error).message}`);
    return { ...summarize(samples), error: (e as Error).message };
  }
  return summarize(samples);
}

function summarize(samples: Sample[]): Measured {
  if (samples.length === 0) return { median_wall_s: null, median_cpu_s: null, max_peak_rss_mb: null, samples };
  return {
    median_wall_s: round(median(samples.map((s) => s.wall_s))),
    median_cpu_s: round(median(samples.map((s) => s.cpu_s))),
    max_peak_rss_mb: Math.max(...samples.map((s) => s.peak_rss_mb)),
    samples,
  };
}

async function waitForUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the UI did not start: ${out}`)), 900_000);
    // the UI announces its address on stderr
    child.stderr!.on('data', (c: Buffer) => {
      out += String(c);
      const m = /listening on (http:\/\/\S+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`the UI exited ${code}: ${out}`)));
  });
}

/**
 * The asset page and its API over HTTP from a running `fairway ui`: the first request of each (right after
 * the server says it listens: cold) is recorded apart as `<name>_first`, the median is of the repeats.
 */
async function measureAssetPage(cli: string[], runs: number, cwd: string): Promise<Record<string, Measured>> {
  const child = spawn(cli[0]!, [...cli.slice(1), 'ui', '--port', '0'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await waitForUrl(child);
    const out: Record<string, Measured> = {};
    for (const [name, path] of [
      ['asset_page_html', '/assets/silver.t'],
      ['asset_api', '/api/assets/silver.t'],
    ] as const) {
      const samples: Sample[] = [];
      for (let i = 0; i <= runs; i++) {
        const t = performance.now();
        const res = await fetch(`${url}${path}`);
        const body = res.ok ? await res.text() : '';
        const wall = (performance.now() - t) / 1000;
        if (!res.ok) throw new Error(`${path}: HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
        if (body.length === 0) throw new Error(`${path}: empty answer`);
        const sample = { wall_s: round(wall, 3), cpu_s: 0, peak_rss_mb: 0 };
        if (i > 0) samples.push(sample);
        else out[`${name}_first`] = summarize([sample]);
        log(`${name}: ${wall.toFixed(3)} s${i === 0 ? ' (first)' : ''}`);
      }
      out[name] = summarize(samples);
    }
    return out;
  } catch (e) {
    return { asset_page_html: { ...summarize([]), error: (e as Error).message } };
  } finally {
    child.kill('SIGINT');
  }
}

async function runCase(opts: PartitionBenchOptions, size: number): Promise<PartitionCase> {
  const days = Math.max(2, Math.round(size / COURSES));
  // Silver-size metadata up to 200k partitions; beyond, seeding it one write at a time takes most of an hour
  // (the state read no longer depends on metadata size: it is kept apart from the history).
  const metadata = size > 200_000 ? 'small' : 'silver';
  const spec: PartitionBenchSpec = {
    courses: COURSES,
    days,
    start: '2020-01-01',
    missing: 4,
    chain: opts.chain,
    metadata,
  };
  const dir = mkdtempSync(join(tmpdir(), `fairway-partitions-${size}-`));
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir);
  const defs = join(dir, 'defs.ts');
  const specFile = join(dir, 'spec.json');
  writeFileSync(defs, renderDefinitions(spec, opts.repo));
  // an ES module: outside any package a .ts file loads as CommonJS, and requiring the framework's ESM from it
  // fails (ERR_REQUIRE_CYCLE_MODULE on Node 20.19+ with tsx 4)
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(specFile, JSON.stringify(spec));
  const cached = opts.seedCache ? join(opts.seedCache, `${opts.chain ? 'chain-' : ''}${size}`) : undefined;
  let seedS: number;
  let partitions: number;
  if (cached && existsSync(join(cached, 'seeded.json'))) {
    log(`copying the seeded state from ${cached}`);
    const seeded = JSON.parse(readFileSync(join(cached, 'seeded.json'), 'utf8')) as {
      partitions: number;
      seed_s: number;
    };
    cpSync(join(cached, 'state'), stateDir, { recursive: true });
    ({ partitions, seed_s: seedS } = seeded);
  } else {
    log(`seeding ${COURSES} courses × ${days} days into ${stateDir}`);
    const t0 = performance.now();
    const seed = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'bench', 'partitions', 'seed-partitions.ts'), opts.repo, stateDir, specFile],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' },
    );
    if (seed.status !== 0) throw new Error(`seeding failed (exit ${seed.status})`);
    seedS = round((performance.now() - t0) / 1000, 1);
    partitions = (JSON.parse(seed.stdout) as { partitions: number }).partitions;
    if (cached) {
      mkdirSync(cached, { recursive: true });
      cpSync(stateDir, join(cached, 'state'), { recursive: true });
      writeFileSync(join(cached, 'seeded.json'), JSON.stringify({ partitions, seed_s: seedS }));
    }
  }
  const dbMb = Math.round(
    Number(spawnSync('du', ['-sk', stateDir], { encoding: 'utf8' }).stdout.split(/\s/)[0]) / 1024,
  );
  log(`seeded ${partitions} partitions in ${seedS} s (${dbMb} MB)`);
  const cli = [process.execPath, join(opts.repo, 'bin', 'fairway.js'), '--definitions', defs, '--state-dir', stateDir];
  const ops: Record<string, Measured> = {};
  const run = { timeoutS: opts.timeoutS, cwd: opts.repo };
  const lastDay = dayOf(spec, days - 1);
  ops.warmup = measure('warm-up status', 1, () => [...cli, 'status'], run);
  ops.status = measure('status', opts.repeats, () => [...cli, 'status'], run);
  ops.status_json = measure('status --json', opts.repeats, () => [...cli, 'status', '--json'], run);
  ops.status_day = measure(
    'status --partition ingest_date=<last day>',
    opts.repeats,
    () => [...cli, 'status', '--partition', `ingest_date=${lastDay}`],
    run,
  );
  // The last day's last `missing` courses are new partitions: three are taken by name, one by a day's
  // --stale-only; the whole --stale-only then finds nothing left (what planning costs).
  const newKey = (i: number) => partitionKey(spec, COURSES - 1 - i, days - 1);
  ops.new_partition_by_name = measure(
    'materialize silver.t --partition <new>',
    Math.min(opts.repeats, spec.missing - 1),
    (i) => [...cli, 'materialize', 'silver.t', '--partition', newKey(i)],
    run,
  );
  const selection = opts.chain ? '*' : 'silver.t';
  ops.stale_only_day = measure(
    'materialize --stale-only --partition ingest_date=<last day> (one new)',
    1,
    () => [...cli, 'materialize', selection, '--stale-only', '--partition', `ingest_date=${lastDay}`],
    run,
  );
  ops.stale_only_all = measure(
    'materialize --stale-only (nothing left)',
    1,
    () => [...cli, 'materialize', selection, '--stale-only'],
    run,
  );
  ops.daemon_tick = measure('daemon --once', opts.repeats, () => [...cli, 'daemon', '--once'], run);
  // only the first is a whole tick: the repeats fall in the same minute and skip (the tick is already done)
  ops.daemon_tick_first = summarize(ops.daemon_tick.samples.slice(0, 1));
  Object.assign(ops, await measureAssetPage(cli, opts.repeats, opts.repo));
  rmSync(dir, { recursive: true, force: true });
  return { partitions, chain: opts.chain, metadata, seed_s: seedS, db_mb: dbMb, ops };
}

export async function runPartitionBench(opts: PartitionBenchOptions): Promise<PartitionResults> {
  const results: PartitionResults = {
    suite: 'partitions',
    date: new Date().toISOString(),
    label: opts.label,
    machine: hostMachine(opts.repo),
    cases: [],
  };
  const out =
    opts.out ?? join(repoRoot, 'bench', 'results', `partitions-${results.date.slice(0, 10)}-${opts.label}.json`);
  for (const size of opts.sizes) {
    results.cases.push(await runCase(opts, size));
    results.load_average_at_end = loadAverage();
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  }
  log(`results in ${out}`);
  return results;
}

const OPS = [
  'status',
  'status_json',
  'status_day',
  'new_partition_by_name',
  'stale_only_day',
  'stale_only_all',
  'daemon_tick_first',
  'daemon_tick',
  'asset_page_html_first',
  'asset_page_html',
  'asset_api_first',
  'asset_api',
];

export function formatPartitionTable(all: PartitionResults[]): string {
  const rows = ['| code | partitions | operation | wall s | CPU s | peak RSS MB |', '|---|---:|---|---:|---:|---:|'];
  for (const r of all) {
    for (const c of r.cases) {
      for (const op of OPS) {
        const m = c.ops[op];
        if (!m) continue;
        const cell = (v: number | null) => (m.error && v === null ? m.error.slice(0, 40) : (v ?? '–'));
        rows.push(
          `| ${r.label} | ${c.partitions.toLocaleString('en')}${c.chain ? ' ×2' : ''} | ${op} | ${cell(m.median_wall_s)} | ${m.median_cpu_s ?? '–'} | ${m.max_peak_rss_mb ?? '–'} |`,
        );
      }
    }
  }
  return rows.join('\n');
}
