/** How a remote job or query is polled: the first wait, the longest, and the growth between them. */
export interface PollBackoff {
  initialMs: number;
  maxMs: number;
  factor: number;
}

/** Polls start fast (a query may finish in a second) and settle at every 15 s for a long job. */
export const DEFAULT_BACKOFF: PollBackoff = { initialMs: 500, maxMs: 15_000, factor: 1.6 };

/**
 * The wait before poll `attempt` (0-based): exponential from `initialMs`, capped at `maxMs`.
 * @example pollDelay(0) === 500; pollDelay(10) === 15_000
 */
export function pollDelay(attempt: number, backoff: PollBackoff = DEFAULT_BACKOFF): number {
  return Math.min(backoff.maxMs, Math.round(backoff.initialMs * backoff.factor ** Math.max(0, attempt)));
}

/** Resolves after `ms`, or at once when `signal` aborts (the caller checks `signal.aborted`). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
