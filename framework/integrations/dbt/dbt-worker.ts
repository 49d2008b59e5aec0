import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { followLines, signalGroup, tieGroupToThisProcess } from '../../pipes/index.ts';

const SCRIPT = fileURLToPath(new URL('./dbt_worker.py', import.meta.url));
const DONE = 'FAIRWAY_DBT_DONE ';
/** A worker nobody used for this long exits (the daemon's JVM should not sit idle between runs). */
const IDLE_MS = 60_000;
const KILL_AFTER_MS = 5_000;

/** How to start a worker: a Python that imports dbt, with dbt's environment, in a working directory. */
export interface DbtWorkerSpec {
  python: string;
  env: Record<string, string>;
  /** Spark (dbt-spark's session) drops spark-warehouse/ into its working directory. */
  cwd: string;
}

export interface DbtWorkerCommand {
  args: readonly string[];
  /** Environment variables of this command only (set in the worker for it, then restored). */
  env?: Readonly<Record<string, string>>;
  onLine: (line: string) => void;
  signal?: AbortSignal;
  /** The step's `ctx.onChildProcess`: the worker's process group is recorded while it runs this command. */
  onChildProcess?: (pgid: number) => () => void;
}

/** The exit code as the dbt CLI's (0, 1, 2), 130 when canceled, or the worker's own when it died. */
export type DbtWorkerExit = { exitCode: number; canceled: boolean };

/**
 * Runs a dbt command in a long-lived dbt process (`dbt_worker.py`) of the same spec, started on first
 * use: commands of one run (the gate's `dbt test` and `dbt source freshness`, the Gold `dbt build`) then
 * share one adapter session, i.e. one Spark JVM on dbt-spark's session method, instead of starting one
 * each. A worker runs one command at a time (dbt is not re-entrant); a second concurrent command gets a
 * worker of its own. Workers exit when idle for a minute, when this process exits (their stdin closes;
 * a watchdog covers kill -9), and at once when a command is canceled or the worker misbehaves.
 */
export function runInDbtWorker(spec: DbtWorkerSpec, command: DbtWorkerCommand): Promise<DbtWorkerExit> {
  const key = JSON.stringify([spec.python, spec.cwd, Object.entries(spec.env).sort()]);
  const pool = POOLS.get(key) ?? [];
  POOLS.set(key, pool);
  let worker = pool.find((w) => !w.busy && w.alive);
  if (!worker) {
    worker = new DbtWorker(spec, () => {
      const at = pool.indexOf(worker!);
      if (at >= 0) pool.splice(at, 1);
    });
    pool.push(worker);
  }
  return worker.run(command);
}

/** Stops every idle worker now (tests, and a daemon shutting down). */
export function closeDbtWorkers(): void {
  for (const pool of POOLS.values()) for (const w of [...pool]) if (!w.busy) w.close();
}

/** Live workers, for tests: their process ids. */
export function dbtWorkerPids(): number[] {
  return [...POOLS.values()].flatMap((pool) => pool.filter((w) => w.alive).map((w) => w.pid));
}

const POOLS = new Map<string, DbtWorker[]>();

class DbtWorker {
  readonly #child: ChildProcess;
  readonly #untie: () => void;
  #current: { command: DbtWorkerCommand; done: (exit: DbtWorkerExit) => void } | undefined;
  #idle: NodeJS.Timeout | undefined;
  #exited = false;
  /** Called once the worker has exited (the record of a canceled command's group, kept while it stops). */
  readonly #atExit: (() => void)[] = [];
  busy = false;

  constructor(spec: DbtWorkerSpec, onGone: () => void) {
    mkdirSync(spec.cwd, { recursive: true });
    this.#child = spawn(spec.python, [SCRIPT], {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true, // its own process group (Python and its Spark JVM), stopped as a whole
    });
    this.#untie = tieGroupToThisProcess(this.#child.pid);
    followLines(this.#child.stdout, (line) => this.#line(line));
    followLines(this.#child.stderr, (line) => this.#line(line));
    // A failed write (the worker died) is reported by 'exit'.
    this.#child.stdin?.on('error', () => {});
    const gone = (code: number | null) => {
      if (this.#exited) return;
      this.#exited = true;
      clearTimeout(this.#idle);
      this.#untie();
      for (const f of this.#atExit.splice(0)) f();
      onGone();
      this.#finish({ exitCode: code ?? 2, canceled: false });
    };
    this.#child.on('exit', gone);
    this.#child.on('error', (e) => {
      this.#current?.command.onLine(`dbt worker could not start ('${spec.python}'): ${e.message}`);
      gone(2);
    });
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  get alive(): boolean {
    return !this.#exited;
  }

  run(command: DbtWorkerCommand): Promise<DbtWorkerExit> {
    this.busy = true;
    clearTimeout(this.#idle);
    this.#hold(true);
    return new Promise((resolve) => {
      if (command.signal?.aborted) {
        this.busy = false;
        resolve({ exitCode: 130, canceled: true });
        return;
      }
      // Recorded while it runs a command (an idle worker writes nothing), and until it has exited when the
      // command is canceled (it is stopped then, which takes up to KILL_AFTER_MS).
      const pgid = this.#child.pid;
      const forget = pgid && command.onChildProcess ? command.onChildProcess(pgid) : () => {};
      let stopping = false;
      const onAbort = () => {
        stopping = true;
        if (this.#exited) forget();
        else this.#atExit.push(forget);
        // dbt cannot be interrupted in the middle of a command: the worker goes, the next command starts one.
        this.#finish({ exitCode: 130, canceled: true });
        this.#stop();
      };
      command.signal?.addEventListener('abort', onAbort, { once: true });
      this.#current = {
        command,
        done: (exit) => {
          command.signal?.removeEventListener('abort', onAbort);
          if (!stopping) forget();
          resolve(exit);
        },
      };
      const request = { args: command.args, ...(command.env ? { env: command.env } : {}) };
      this.#child.stdin?.write(`${JSON.stringify(request)}\n`);
    });
  }

  /** Ends the worker's input: it finishes and exits (its JVM with it). */
  close(): void {
    clearTimeout(this.#idle);
    this.#child.stdin?.end();
  }

  #finish(exit: DbtWorkerExit): void {
    const current = this.#current;
    this.#current = undefined;
    this.busy = false;
    if (!current) return;
    current.done(exit);
    if (!this.#exited) {
      this.#hold(false);
      this.#idle = setTimeout(() => this.close(), IDLE_MS).unref();
    }
  }

  #stop(): void {
    const pgid = this.#child.pid;
    if (!pgid || this.#exited) return;
    signalGroup(pgid, 'SIGTERM');
    setTimeout(() => {
      if (!this.#exited) signalGroup(pgid, 'SIGKILL');
    }, KILL_AFTER_MS).unref();
  }

  /** Busy, the worker keeps this process alive; idle, it never holds it open. */
  #hold(busy: boolean): void {
    const streams = [this.#child.stdin, this.#child.stdout, this.#child.stderr] as unknown as (Readable & {
      ref?: () => void;
      unref?: () => void;
    })[];
    if (busy) this.#child.ref();
    else this.#child.unref();
    for (const s of streams) (busy ? s?.ref : s?.unref)?.call(s);
  }

  #line(line: string): void {
    if (line.startsWith(DONE)) {
      let exitCode = 2;
      try {
        const parsed = JSON.parse(line.slice(DONE.length)) as { exit_code?: unknown };
        if (Number.isInteger(parsed.exit_code)) exitCode = parsed.exit_code as number;
      } catch {
        // a garbled marker is a failed command
      }
      this.#finish({ exitCode, canceled: false });
      return;
    }
    // Lines between commands (a late JVM log line) belong to no command.
    this.#current?.command.onLine(line);
  }
}
