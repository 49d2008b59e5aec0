import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Store } from '../storage/index.ts';
import type { BlockedStep } from './stop-blocked-run.ts';

const WORKER = new URL('./event-loop-watchdog-worker.mjs', import.meta.url);

/**
 * How long past a step's deadline the watchdog waits for the step to end before it stops the process. A
 * main thread that is not blocked ends the step at its deadline (the step's timeout signal), well within it;
 * generous, because the loop may also be busy for a moment with legitimate work (another step's synchronous
 * bookkeeping, a long garbage collection), and stopping a healthy run would be worse than a late stop.
 */
const BLOCKED_GRACE_MS = 5_000;

/**
 * Enforces step timeouts that the step's own timer cannot: a materializer running synchronous code (a busy
 * loop) blocks the event loop, so its timeout never fires. While a step with a timeout runs, a worker thread
 * (started at the first such step, one per run) knows its deadline; if the step has not ended BLOCKED_GRACE_MS
 * after it, the event loop is blocked: the worker records the step and the run as FAILURE in the store
 * through its own connection (`stopBlockedRun`), prints one line on stderr and kills the process (exit code
 * 137). Nothing gentler works: the main thread's exit paths and signal handlers need its event loop, and
 * terminating the running code (V8 can, through the inspector) would leave the materializer half done and
 * its promise pending in a process that goes on. Costs nothing for a run without timeouts.
 */
export class EventLoopWatchdog {
  readonly #runId: string;
  readonly #storePath: string | null;
  readonly #log: Logger;
  #worker: Worker | undefined;
  #next = 0;

  constructor(opts: { runId: string; store: Store; log: Logger }) {
    this.#runId = opts.runId;
    this.#storePath = fileOfStore(opts.store);
    this.#log = opts.log;
  }

  /**
   * Watches one attempt of a step with a timeout, from now; call the returned function as soon as the
   * attempt ends (once is enough).
   */
  watch(step: { label: string; timeoutMs: number; members: BlockedStep['members'] }): () => void {
    const worker = this.#start();
    const id = ++this.#next;
    const stepReason = `timed out after ${step.timeoutMs} ms; its materializer blocked the event loop (synchronous code), so Fairway stopped the process; make it async or move the work to a subprocess`;
    const blocked: BlockedStep = {
      members: step.members,
      stepReason,
      alsoLateReason: `timed out after ${step.timeoutMs} ms while synchronous code blocked the event loop, so Fairway stopped the process`,
      runReason: `${step.label} ${stepReason}`,
    };
    worker.postMessage({ type: 'start', id, deadline: Date.now() + step.timeoutMs, blocked });
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      worker.postMessage({ type: 'end', id });
    };
  }

  /** Ends the worker, if one was started. */
  async stop(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    // no execArgv: the worker is plain JavaScript and loads tsx itself, only if it has to act
    const worker = new Worker(WORKER, {
      execArgv: [],
      workerData: { runId: this.#runId, storePath: this.#storePath, graceMs: BLOCKED_GRACE_MS },
    });
    worker.unref(); // never what keeps the process alive
    worker.on('error', (e) =>
      this.#log.warn(
        { err: e.message },
        'the event-loop watchdog failed: a step blocking the event loop past its timeout will not be stopped',
      ),
    );
    this.#worker = worker;
    return worker;
  }
}

/** The store's database file, which the worker opens too; null for an in-memory store (nothing to record). */
export function fileOfStore(store: Store): string | null {
  if (store.path === '' || store.path === ':memory:') return null;
  return resolve(store.path);
}
