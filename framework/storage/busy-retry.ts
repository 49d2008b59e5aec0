const BUSY_CODES = ['SQLITE_BUSY', 'SQLITE_LOCKED'];
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** True for SQLite errors that mean "another connection holds the lock, try again". */
export function isBusyError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && BUSY_CODES.some((c) => code === c || code.startsWith(`${c}_`));
}

/** Blocks the thread: better-sqlite3 is synchronous, so the retry has to be too. */
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

interface RetryOptions {
  attempts?: number;
  baseMs?: number;
  maxMs?: number;
}

/**
 * Runs `fn`, retrying with jittered exponential backoff while SQLite reports BUSY/LOCKED.
 * The connection's busy_timeout already waits; this covers the cases it does not (a deferred
 * transaction upgrading to a write, WAL recovery) and contention longer than the timeout.
 */
export function withBusyRetry<T>(fn: () => T, opts: RetryOptions = {}): T {
  const attempts = opts.attempts ?? 8;
  const baseMs = opts.baseMs ?? 5;
  const maxMs = opts.maxMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return fn();
    } catch (e) {
      if (!isBusyError(e) || attempt >= attempts) throw e;
      const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
      sleepSync(ceiling / 2 + Math.random() * (ceiling / 2));
    }
  }
}
