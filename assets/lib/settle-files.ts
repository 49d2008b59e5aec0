import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** How many settle windows the ingest waits for a file that keeps changing before leaving it for a later run. */
const SETTLE_MAX_WAITS = 3;

export type SettleOutcome =
  /** Unchanged for a whole window (or not a file): `size` is what reading it must give. */
  | { state: 'settled'; size: number }
  /** Still changing after `waits` windows. */
  | { state: 'changing'; waits: number }
  /** `stat` failed (the file vanished, a permission…). */
  | { state: 'error'; error: NodeJS.ErrnoException };

/**
 * For every path at once, waits until the file has not changed for `windowMs`: a file modified more
 * recently may still be being written (a copy or an upload in progress). A file older than the window
 * settles without a wait; a younger one is stat'ed again when the window since its mtime has passed, and
 * again after each change, at most `maxWaits` times. Outcomes are in the order of `paths`.
 */
export function settleFiles(
  paths: readonly string[],
  windowMs: number,
  maxWaits = SETTLE_MAX_WAITS,
): Promise<SettleOutcome[]> {
  return Promise.all(paths.map((p) => settleFile(p, windowMs, maxWaits)));
}

async function settleFile(path: string, windowMs: number, maxWaits: number): Promise<SettleOutcome> {
  try {
    let before = await stat(path);
    if (!before.isFile()) return { state: 'settled', size: before.size }; // nothing to wait for: the read reports it
    for (let waits = 0; ; waits++) {
      const quietMs = Date.now() - before.mtimeMs;
      if (quietMs >= windowMs) return { state: 'settled', size: before.size };
      if (waits === maxWaits) return { state: 'changing', waits };
      // an mtime in the future (clock skew) waits one window: unchanged over a whole window is settled too
      await sleep(Math.min(windowMs - quietMs, windowMs));
      const after = await stat(path);
      if (after.size === before.size && after.mtimeMs === before.mtimeMs) return { state: 'settled', size: after.size };
      before = after;
    }
  } catch (e) {
    if (typeof (e as NodeJS.ErrnoException).code === 'string')
      return { state: 'error', error: e as NodeJS.ErrnoException };
    throw e;
  }
}
