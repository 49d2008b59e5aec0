import { hostname } from 'node:os';
import { ulid } from 'ulid';
import { forgetRunsBefore, type RunContext } from '../execution/index.ts';
import { validateScheduling } from '../freshness/index.ts';
import { DEFAULT_SCHEDULER_OPTIONS, type SchedulerOptions } from './plan-tick.ts';
import { DAEMON_LEASE, runTick, type TickOutcome } from './run-tick.ts';

export interface DaemonOptions extends Partial<SchedulerOptions> {
  /** Injectable clock (tests); default wall time. */
  clock?: () => Date;
  /** Fresh definitions for each tick (e.g. partitions discovered from an inbox); default: the loaded ones. */
  refresh?: () => Promise<RunContext>;
  onTick?: (outcome: TickOutcome) => void;
  /**
   * Keep this much run history (ms): once a day, the leading daemon forgets runs that finished longer ago
   * (`forgetRunsBefore`: every partition's latest state stays). `fairway gc` also compacts the file.
   */
  retainMs?: number;
}

/** The store cursor holding when the daemon last forgot old runs. */
export const RETENTION_CURSOR = 'daemon:retention';
const RETENTION_EVERY_MS = 24 * 60 * 60 * 1000;

/**
 * The scheduling daemon: ticks every interval while it holds the daemon lease, and owns the runs it
 * launched (they execute in this process). One per state directory; a second one waits as standby.
 */
export class Daemon {
  readonly holder = `${hostname()}:${process.pid}:${ulid()}`;
  readonly options: SchedulerOptions;
  readonly #ctx: RunContext;
  readonly #opts: DaemonOptions;
  readonly #inFlight = new Map<string, string>();
  readonly #runs = new Set<Promise<unknown>>();
  readonly #controller = new AbortController();
  #stopping = false;
  #wake: (() => void) | null = null;
  #current: Promise<unknown> = Promise.resolve();

  constructor(ctx: RunContext, opts: DaemonOptions = {}) {
    this.#ctx = ctx;
    this.#opts = opts;
    const { clock: _c, refresh: _r, onTick: _o, retainMs: _k, ...overrides } = opts;
    this.options = { ...DEFAULT_SCHEDULER_OPTIONS, ...overrides };
    validateScheduling(ctx.defs);
  }

  get runsInFlight(): number {
    return this.#runs.size;
  }

  /** One tick now; the runs it launches keep running in the background. */
  async tick(): Promise<TickOutcome> {
    const work = this.#tick();
    this.#current = work.catch(() => undefined);
    return work;
  }

  async #tick(): Promise<TickOutcome> {
    const ctx = this.#opts.refresh ? await this.#opts.refresh() : this.#ctx;
    const outcome = await runTick(ctx, {
      now: (this.#opts.clock ?? (() => new Date()))(),
      holder: this.holder,
      options: this.options,
      inFlight: this.#inFlight,
      signal: this.#controller.signal,
    });
    for (const { request, result } of outcome.launched) {
      const done = result
        .catch(() => undefined)
        .finally(() => {
          for (const [id, runId] of this.#inFlight) if (runId === request.run_id) this.#inFlight.delete(id);
          this.#runs.delete(done);
        });
      this.#runs.add(done);
    }
    if (outcome.status !== 'NOT_LEADER') this.#retain(ctx);
    this.#opts.onTick?.(outcome);
    return outcome;
  }

  /** The daily forgetting of old run history (`retainMs`), by the lease holder only. */
  #retain(ctx: RunContext): void {
    const keep = this.#opts.retainMs;
    if (keep === undefined) return;
    const now = (this.#opts.clock ?? (() => new Date()))();
    const last = Date.parse(ctx.store.getCursor(RETENTION_CURSOR) ?? '');
    if (now.getTime() - last < RETENTION_EVERY_MS) return;
    const before = new Date(now.getTime() - keep).toISOString();
    const gone = forgetRunsBefore(ctx.store, ctx.stateDir, before);
    ctx.store.setCursor(RETENTION_CURSOR, now.toISOString());
    ctx.log.info(
      { before, runs: gone.run_ids.length, events: gone.events, run_folder_bytes: gone.run_folder_bytes },
      'forgot run history older than the retention window',
    );
  }

  /** Ticks every interval (aligned to the tick ids) until `stop()`. Tick errors are logged, not fatal. */
  async run(): Promise<void> {
    const clock = this.#opts.clock ?? (() => new Date());
    while (!this.#stopping) {
      try {
        await this.tick();
      } catch (e) {
        this.#ctx.log.error({ err: (e as Error).message }, 'daemon tick failed; retrying next tick');
      }
      if (this.#stopping) break;
      const wait = this.options.intervalMs - (clock().getTime() % this.options.intervalMs);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  /** Waits for the runs this daemon launched. */
  async drain(): Promise<void> {
    while (this.#runs.size > 0) await Promise.all([...this.#runs]);
  }

  /**
   * Stops cleanly: no new tick starts, the current one finishes (its decisions and launches are
   * recorded), runs get `graceMs` to finish and are then canceled, and the lease is handed back.
   */
  async stop(graceMs = 30_000): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#current;
    if (this.#runs.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([this.drain(), grace]);
      clearTimeout(timer);
      if (this.#runs.size > 0) {
        this.#controller.abort(new Error('canceled: the daemon is stopping'));
        await this.drain();
      }
    }
    this.#ctx.store.releaseLease(DAEMON_LEASE, this.holder);
  }
}
