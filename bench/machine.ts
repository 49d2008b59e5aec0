import { spawnSync } from 'node:child_process';
import { cpus, freemem, loadavg, release, totalmem, type } from 'node:os';

/** Machine information recorded with every benchmark result. */
export interface BenchMachine {
  cpu_model: string;
  cores: number;
  memory_gb: number;
  os: string;
  node: string;
  git_commit: string;
  load_average_at_start: number[];
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Load averages (1, 5, 15 min), rounded: recorded at the start and end of a run. */
export const loadAverage = () => loadavg().map((l) => round(l));

/** This machine and the checkout `repo` as a benchmark records them at its start. */
export function hostMachine(repo: string) {
  const git = (...args: string[]) => spawnSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).stdout.trim();
  return {
    cpu_model: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memory_gb: round(totalmem() / 2 ** 30, 1),
    free_memory_gb_at_start: round(freemem() / 2 ** 30, 1),
    os: `${type()} ${release()}`,
    node: process.version,
    git_commit: git('rev-parse', 'HEAD'),
    git_dirty: git('status', '--porcelain').length > 0,
    load_average_at_start: loadAverage(),
  };
}
