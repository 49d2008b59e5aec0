import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Wall and CPU seconds of one whole process tree. */
export interface ProcessTiming {
  wall_s: number;
  /** user + sys of the process and every descendant seen (JVM, Python workers), sampled from /proc. */
  cpu_s: number | null;
  /** Largest sum of the tree's resident memory seen in one sample (MB), null without /proc. */
  peak_rss_mb: number | null;
  exit_code: number | null;
}

const TICKS_PER_S = 100; // USER_HZ on Linux

const PAGE_BYTES = 4096;

/** pid → [ppid, utime + stime in ticks, rss in pages] for every process, or null without /proc. */
function readProcTable(): Map<number, [number, number, number]> | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  const table = new Map<number, [number, number, number]>();
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // fields after the parenthesised command name: state ppid … utime(14) stime(15) … rss(24)
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    table.set(Number(e), [Number(rest[1]), Number(rest[11]) + Number(rest[12]), Number(rest[21])]);
  }
  return table;
}

/**
 * Runs `cmd` to completion and measures it as a whole: wall time, and CPU time of the whole process
 * tree. The JVM that PySpark launches is not waited for by its parent, so `getrusage`/`/usr/bin/time`
 * would miss it; instead /proc is sampled every `sampleMs` and each process's last-seen user + sys time
 * is summed (a lower bound: up to one interval per process is lost when it exits).
 */
export async function timeProcessTree(
  cmd: string[],
  opts: {
    env: NodeJS.ProcessEnv;
    cwd: string;
    onStderr?: (chunk: string) => void;
    /** Default: stdout goes to `onStderr` too. */
    onStdout?: (chunk: string) => void;
    sampleMs?: number;
  },
): Promise<ProcessTiming> {
  const start = performance.now();
  const child = spawn(cmd[0]!, cmd.slice(1), { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (b: Buffer) => (opts.onStdout ?? opts.onStderr)?.(b.toString()));
  child.stderr.on('data', (b: Buffer) => opts.onStderr?.(b.toString()));
  const seen = new Map<number, number>(); // pid → last-seen CPU ticks
  let hasProc = true;
  let peakRss = 0;
  const sample = () => {
    const table = readProcTable();
    if (!table || child.pid === undefined) {
      hasProc = false;
      return;
    }
    const tree = new Set<number>([child.pid]);
    // parents have lower pids most of the time, but not always: iterate until no new descendant appears
    for (let grew = true; grew; ) {
      grew = false;
      for (const [pid, [ppid]] of table)
        if (!tree.has(pid) && tree.has(ppid)) {
          tree.add(pid);
          grew = true;
        }
    }
    let rssPages = 0;
    for (const pid of tree) {
      const ticks = table.get(pid)?.[1];
      if (ticks !== undefined) seen.set(pid, Math.max(seen.get(pid) ?? 0, ticks));
      rssPages += table.get(pid)?.[2] ?? 0;
    }
    peakRss = Math.max(peakRss, rssPages);
  };
  const timer = setInterval(sample, opts.sampleMs ?? 250);
  const exitCode = await new Promise<number | null>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      resolvePromise(code);
    });
  });
  clearInterval(timer);
  const wall = (performance.now() - start) / 1000;
  let ticks = 0;
  for (const t of seen.values()) ticks += t;
  return {
    wall_s: wall,
    cpu_s: hasProc ? ticks / TICKS_PER_S : null,
    peak_rss_mb: hasProc ? Math.round((peakRss * PAGE_BYTES) / 2 ** 20) : null,
    exit_code: exitCode,
  };
}
