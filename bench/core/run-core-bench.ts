import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Definitions } from '../../framework/definitions/index.ts';
import { buildGraph } from '../../framework/graph/index.ts';
import { computeStaleness } from '../../framework/staleness/index.ts';
import { defaultStorePath, openStore } from '../../framework/storage/index.ts';
import { generateGraph, writeGraphFiles } from './generate-graph.ts';
import { seedStore } from './seed-store.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fairwayBin = join(repoRoot, 'bin', 'fairway.js');
const venvPython = join(repoRoot, 'bench', '.venv-dagster', 'bin', 'python');

export interface CoreBenchOptions {
  sizes: number[];
  skipDagster: boolean;
  /** Sizes at which Dagster runs every operation; above them only load and single materialize. */
  dagsterFullSizes: number[];
  /** Seconds before a Dagster operation is recorded as timed out. */
  dagsterTimeoutS: number;
  repeats: number;
  singleRepeats: number;
  runRepeats: number;
  out?: string;
}

/** Wall and CPU (user + sys) seconds of whole processes, as a median over samples. */
interface Timing {
  median_s: number;
  cpu_median_s: number | null;
  samples_s: number[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const log = (msg: string) => process.stderr.write(`[core-bench] ${msg}\n`);

/** Runs a command to completion under /usr/bin/time (for CPU seconds); throws when it fails. */
function timeProcess(cmd: string[], env: NodeJS.ProcessEnv): { wall: number; cpu: number | null } {
  const hasTime = existsSync('/usr/bin/time');
  const timeFile = join(tmpdir(), `fairway-bench-time-${process.pid}`);
  const argv = hasTime ? ['/usr/bin/time', '-f', '%U %S', '-o', timeFile, ...cmd] : cmd;
  const start = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 30 });
  const wall = (performance.now() - start) / 1000;
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} exited ${r.status}: ${String(r.stderr).slice(-2000)}`);
  if (!hasTime) return { wall, cpu: null };
  const [user, sys] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
  return { wall, cpu: (user ?? 0) + (sys ?? 0) };
}

/** Median of `runs` whole-process runs after one untimed warm-up (fills tsx's transform cache). */
function repeatProcess(name: string, cmd: () => string[], runs: number, env = process.env, warmup = true): Timing {
  if (warmup) timeProcess(cmd(), env);
  const walls: number[] = [];
  const cpusS: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { wall, cpu } = timeProcess(cmd(), env);
    walls.push(wall);
    if (cpu !== null) cpusS.push(cpu);
    log(`${name}: ${wall.toFixed(2)} s`);
  }
  return { median_s: median(walls), cpu_median_s: cpusS.length ? median(cpusS) : null, samples_s: walls };
}

const fairway = (defs: string, stateDir: string, ...args: string[]) => [
  process.execPath,
  fairwayBin,
  '--definitions',
  defs,
  '--state-dir',
  stateDir,
  ...args,
];

/** In-process staleness of every asset: batch reads from SQLite, then `computeStaleness`. */
async function timeStaleness(defsFile: string, stateDir: string, runs: number) {
  const mod = (await import(pathToFileURL(defsFile).href)) as { default: Definitions<unknown> };
  const graph = buildGraph(mod.default);
  const keys = graph.keys();
  const reads: number[] = [];
  const computes: number[] = [];
  let counts: Record<string, number> = {};
  for (let i = 0; i < runs + 1; i++) {
    // A fresh handle each time so no statement or page cache from the previous round is reused.
    const store = openStore(defaultStorePath(stateDir));
    const t0 = performance.now();
    const materializations = store.latestMaterializations(keys);
    const attempts = store.latestStepAttempts(keys);
    const t1 = performance.now();
    const result = computeStaleness({ graph, partitions: new Map(), materializations, attempts });
    const t2 = performance.now();
    store.close();
    if (i === 0) continue; // warm-up: JIT and OS page cache
    reads.push((t1 - t0) / 1000);
    computes.push((t2 - t1) / 1000);
    counts = {};
    for (const byPartition of result.values()) {
      for (const s of byPartition.values()) counts[s.status] = (counts[s.status] ?? 0) + 1;
    }
  }
  const total = reads.map((r, i) => r + computes[i]!);
  return {
    reads_median_s: median(reads),
    compute_median_s: median(computes),
    median_s: median(total),
    samples_s: total,
    keys: keys.length,
    counts,
  };
}

function machineInfo() {
  const git = (args: string[]) => spawnSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).stdout.trim();
  return {
    cpu_model: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    free_memory_gb_at_start: Math.round((freemem() / 2 ** 30) * 10) / 10,
    os: `${type()} ${release()}`,
    node: process.version,
    git_commit: git(['rev-parse', 'HEAD']),
    git_dirty: git(['status', '--porcelain']).length > 0,
    load_average_at_start: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

function runDagster(files: { json: string }, size: number, opts: CoreBenchOptions, work: string): unknown {
  const full = opts.dagsterFullSizes.includes(size);
  const ops = full ? 'load,staleness,single,run' : 'load,single';
  const args = [
    join(repoRoot, 'bench', 'core', 'dagster', 'time_dagster.py'),
    '--graph',
    files.json,
    '--work',
    work,
    '--ops',
    ops,
    '--repeats',
    String(full ? opts.repeats : 1),
    '--single-repeats',
    String(full ? 3 : 1),
    '--op-timeout',
    String(opts.dagsterTimeoutS),
  ];
  log(`dagster ${size}: ${ops}`);
  const r = spawnSync(venvPython, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`time_dagster.py exited ${r.status}`);
  const result = JSON.parse(r.stdout) as Record<string, unknown>;
  if (!full) {
    const why = `not attempted at ${size}: materialize() of ${size} assets is predicted to exceed the ${opts.dagsterTimeoutS} s cap (see the 1k run)`;
    result.staleness = { skipped: why };
    result.run = { skipped: why };
  }
  return result;
}

/** Runs the core benchmark and writes `bench/results/core-<date>.json`. Returns the results object. */
export async function runCoreBench(opts: CoreBenchOptions) {
  const machine = machineInfo();
  const date = new Date().toISOString();
  log(`load average at start: ${machine.load_average_at_start.join(' ')} on ${machine.cores} cores`);
  const scratch = join(tmpdir(), `fairway-core-bench-${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  const sizes: Record<string, unknown> = {};

  if (!opts.skipDagster) {
    const setup = spawnSync('bash', [join(repoRoot, 'bench', 'core', 'dagster', 'setup.sh')], { stdio: 'inherit' });
    if (setup.status !== 0) throw new Error('bench/core/dagster/setup.sh failed');
  }

  for (const size of opts.sizes) {
    const graph = generateGraph({ size });
    const files = writeGraphFiles(graph);
    const dir = (name: string) => join(scratch, `${size}-${name}`);
    log(`fairway ${size}: ${graph.layers} layers, ${graph.roots.length} roots, ${graph.changedRoots.length} changed`);

    const list = repeatProcess(`list ${size}`, () => fairway(files.typescript, dir('list'), 'list'), opts.repeats);
    seedStore(dir('status'), graph);
    const status = repeatProcess(
      `status ${size}`,
      () => fairway(files.typescript, dir('status'), 'status'),
      opts.repeats,
    );
    const staleness = await timeStaleness(files.typescript, dir('status'), 5);
    log(
      `staleness ${size}: reads ${staleness.reads_median_s.toFixed(3)} s + compute ${staleness.compute_median_s.toFixed(3)} s`,
    );
    const single = repeatProcess(
      `materialize ${graph.singleKey}`,
      () => fairway(files.typescript, dir('single'), 'materialize', graph.singleKey),
      opts.singleRepeats,
    );
    const fairwayResult: Record<string, unknown> = {
      list,
      status,
      staleness,
      single: { ...single, key: graph.singleKey },
    };
    if (size <= 1000) {
      // A fresh state directory per run: every step is a real materialization with all events persisted.
      let n = 0;
      const run = repeatProcess(
        `materialize '*' ${size}`,
        () => fairway(files.typescript, dir(`run-${n++}`), 'materialize', '*'),
        opts.runRepeats,
        process.env,
        false,
      );
      fairwayResult.run = { ...run, steps: size, steps_per_s: size / run.median_s };
    }
    sizes[size] = {
      graph: {
        assets: size,
        layers: graph.layers,
        roots: graph.roots.length,
        changed_roots: graph.changedRoots.length,
      },
      fairway: fairwayResult,
      ...(opts.skipDagster ? {} : { dagster: runDagster(files, size, opts, dir('dagster')) }),
    };
  }

  rmSync(scratch, { recursive: true, force: true });
  const results = {
    suite: 'core',
    date,
    machine: { ...machine, load_average_at_end: loadavg().map((l) => Math.round(l * 100) / 100) },
    options: opts,
    sizes,
  };
  const out = opts.out ?? join(repoRoot, 'bench', 'results', `core-${date.slice(0, 10)}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  log(`results written to ${out}`);
  return results;
}
