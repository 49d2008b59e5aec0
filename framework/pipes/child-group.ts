import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WATCHDOG = fileURLToPath(new URL('./watchdog.mjs', import.meta.url));

/** Signals every process of the group `pgid` (a child started with `detached: true` and its descendants). */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/**
 * Ties the life of a child started with `detached: true` (its own process group: the child and what it
 * starts, e.g. Python and its Spark JVM) to this process. A cancel stops the whole group, and a small
 * watchdog process stops it when this process dies, `kill -9` included, so no orphan keeps writing a
 * table after its run was reported failed. Call the returned function once the child has exited.
 */
export function tieGroupToThisProcess(pgid: number | undefined, signal?: AbortSignal): () => void {
  if (!pgid) return () => {};
  const watchdog = spawn(process.execPath, [WATCHDOG, String(process.pid), String(pgid)], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();
  const onAbort = () => signalGroup(pgid, 'SIGTERM');
  signal?.addEventListener('abort', onAbort, { once: true });
  return () => {
    signal?.removeEventListener('abort', onAbort);
    watchdog.kill();
  };
}
