import type { Logger } from 'pino';
import { ulid } from 'ulid';
import { type ExecutionEvent, launchRun, type RunContext } from '../framework/execution/index.ts';

interface LiveRun {
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Runs launched by this server process: their AbortControllers (for cancel) and a tiny event bus that
 * wakes SSE streams as soon as an event is recorded, instead of waiting for the next store poll.
 */
export class RunRegistry {
  readonly #runs = new Map<string, LiveRun>();
  readonly #listeners = new Map<string, Set<() => void>>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /**
   * Plans and starts a run without waiting for it to finish. Resolves with the run id once the plan is
   * recorded; rejects when launching fails before that (bad selection, bad partition).
   */
  launch(ctx: RunContext, opts: { selection: string; partition?: string; staleOnly?: boolean }): Promise<string> {
    const controller = new AbortController();
    const runId = ulid();
    return new Promise<string>((resolve, reject) => {
      let planned = false;
      const done = launchRun(ctx, {
        ...opts,
        runId,
        signal: controller.signal,
        onPlan: () => {
          planned = true;
          resolve(runId);
        },
        onEvent: (e: ExecutionEvent) => this.#notify(e.run_id),
      })
        .then(
          (r) => this.#log.info({ run_id: runId, status: r.run.status }, 'ui run finished'),
          (e: unknown) => {
            if (!planned) reject(e);
            else this.#log.error({ run_id: runId, err: (e as Error).message }, 'ui run failed to execute');
          },
        )
        .finally(() => {
          this.#runs.delete(runId);
          this.#notify(runId);
        });
      this.#runs.set(runId, { controller, done });
    });
  }

  isLive(runId: string): boolean {
    return this.#runs.has(runId);
  }

  /** Aborts a live run; false when this process does not own it. */
  cancel(runId: string): boolean {
    const run = this.#runs.get(runId);
    if (!run) return false;
    run.controller.abort(new Error('canceled from the UI'));
    return true;
  }

  /** Resolves on the next event of the run, or after `ms`. */
  waitForEvent(runId: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const set = this.#listeners.get(runId) ?? new Set();
      this.#listeners.set(runId, set);
      const wake = () => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0) this.#listeners.delete(runId);
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      set.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  /** Cancels every live run and waits for them to wind down (server shutdown). */
  async shutdown(): Promise<void> {
    const all = [...this.#runs.values()];
    for (const r of all) r.controller.abort(new Error('canceled: the UI server is shutting down'));
    await Promise.allSettled(all.map((r) => r.done));
  }

  #notify(runId: string): void {
    for (const wake of [...(this.#listeners.get(runId) ?? [])]) wake();
  }
}
