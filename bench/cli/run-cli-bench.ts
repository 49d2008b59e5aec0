/**
 * CLI start-up: whole-process wall and CPU of `--help`, the hello example's `list` and the lakehouse's
 * `list` and `status` (a state dir with nothing materialized), with `node -e 0` as the floor, in one or more checkouts.
 * Rounds alternate commands and checkouts so a busy machine weighs on all of them alike.
 *
 *   npm run bench -- cli [--repo DIR --label NAME]… [--repeats 5] [--out FILE]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hostMachine, loadAverage } from '../machine.ts';

interface Sample {
  wall_s: number;
  cpu_s: number | null;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

function timeProcess(argv: string[], cwd: string): Sample {
  const hasTime = existsSync('/usr/bin/time');
  const timeFile = join(tmpdir(), `fairway-cli-bench-${process.pid}`);
  const cmd = hasTime ? ['/usr/bin/time', '-f', '%U %S', '-o', timeFile, ...argv] : argv;
  const start = performance.now();
  const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env } });
  const wall = (performance.now() - start) / 1000;
  if (r.status !== 0)
    throw new Error(`${argv.join(' ')} (in ${cwd}) exited ${r.status}: ${String(r.stderr).slice(-2000)}`);
  if (!hasTime) return { wall_s: wall, cpu_s: null };
  const [user, sys] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
  return { wall_s: wall, cpu_s: (user ?? 0) + (sys ?? 0) };
}

const COMMANDS: Record<string, (state: string) => string[]> = {
  floor: () => [process.execPath, '-e', '0'],
  help: () => [process.execPath, 'bin/fairway.js', '--help'],
  hello_list: (state) => [
    process.execPath,
    'bin/fairway.js',
    '--definitions',
    'examples/hello/definitions.ts',
    '--state-dir',
    state,
    'list',
  ],
  lakehouse_list: (state) => [process.execPath, 'bin/fairway.js', '--state-dir', state, 'list'],
  lakehouse_status: (state) => [process.execPath, 'bin/fairway.js', '--state-dir', state, 'status'],
};

/** The `cli` suite of bench/run.ts, given its arguments after `cli`. */
export function runCliBench(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      repo: { type: 'string', multiple: true },
      label: { type: 'string', multiple: true },
      repeats: { type: 'string', default: '5' },
      out: { type: 'string' },
    },
  });
  const repos = (values.repo ?? ['.']).map((r) => resolve(r));
  const labels =
    values.label ??
    (repos.length === 1
      ? ['this-checkout']
      : repos.map((_, i) => (i === 0 ? 'before' : i === 1 ? 'after' : `repo${i}`)));
  const repeats = Number(values.repeats);
  const state = mkdtempSync(join(tmpdir(), 'fairway-cli-bench-'));
  const samples: Record<string, Record<string, Sample[]>> = {};
  const machine = { ...hostMachine(repos.at(-1)!), load_average_at_start: loadAverage() };
  try {
    // one untimed round first: fills the OS page cache, tsx's transform cache and Node's compile cache
    for (let round = 0; round <= repeats; round++) {
      for (const [name, cmd] of Object.entries(COMMANDS)) {
        for (const [i, repo] of repos.entries()) {
          if (name === 'floor' && i > 0) continue;
          // one state dir per checkout, nothing materialized in it (the warm-up round caches dbt's manifest there)
          const dir = join(state, String(i));
          const s = timeProcess(cmd(dir), repo);
          if (round === 0) continue;
          const key = name === 'floor' ? 'floor' : labels[i]!;
          samples[name] ??= {};
          samples[name][key] ??= [];
          samples[name][key].push(s);
          process.stderr.write(`[cli-bench] ${name} ${key}: ${s.wall_s.toFixed(3)} s (cpu ${s.cpu_s ?? '?'})\n`);
        }
      }
    }
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
  const floor = median(samples.floor!.floor!.map((s) => s.wall_s));
  // CPU seconds (user + sys) as a ratio too: on a busy machine wall time waits for other processes, CPU time much less
  const floorCpus = samples.floor!.floor!.map((s) => s.cpu_s).filter((c): c is number => c !== null);
  const floorCpu = floorCpus.length ? median(floorCpus) : null;
  const results = Object.fromEntries(
    Object.entries(samples).map(([name, byRepo]) => [
      name,
      Object.fromEntries(
        Object.entries(byRepo).map(([key, ss]) => {
          const wall = median(ss.map((s) => s.wall_s));
          const cpus = ss.map((s) => s.cpu_s).filter((c): c is number => c !== null);
          return [
            key,
            {
              wall_median_s: round(wall),
              cpu_median_s: cpus.length ? round(median(cpus)) : null,
              ratio_to_floor: round(wall / floor, 2),
              cpu_ratio_to_floor: cpus.length && floorCpu ? round(median(cpus) / floorCpu, 2) : null,
              samples_s: ss.map((s) => round(s.wall_s)),
            },
          ];
        }),
      ),
    ]),
  );
  const out = {
    suite: 'cli',
    date: new Date().toISOString(),
    machine: { ...machine, load_average_at_end: loadAverage() },
    repos: Object.fromEntries(labels.map((l, i) => [l, repos[i]])),
    repeats,
    results,
  };
  const lines = [`| command | ${labels.join(' | ')} |`, `|---|${labels.map(() => '---:').join('|')}|`];
  for (const [name, byRepo] of Object.entries(results)) {
    const cell = (k: string) => {
      const r = byRepo[k] ?? byRepo.floor;
      return r
        ? `${r.wall_median_s.toFixed(3)} s (${r.ratio_to_floor}x, cpu ${r.cpu_median_s ?? '?'} = ${r.cpu_ratio_to_floor ?? '?'}x)`
        : '';
    };
    lines.push(`| ${name} | ${labels.map(cell).join(' | ')} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (values.out) writeFileSync(values.out, `${JSON.stringify(out, null, 2)}\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  process.exitCode = runCliBench(process.argv.slice(2));
}
