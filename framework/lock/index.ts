import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const STALE_MS = 60 * 60 * 1000;

/**
 * Runs `fn` holding a mkdir lock (atomic on POSIX) on `lockDir`, as the caches of the Spark runtime
 * and the local stack use: a lock whose owner died or that is older than an hour is taken over.
 */
export async function withLock<T>(lockDir: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const owner = join(lockDir, 'pid');
  for (;;) {
    signal?.throwIfAborted();
    try {
      mkdirSync(lockDir);
      writeFileSync(owner, String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (isStale(lockDir, owner)) rmSync(lockDir, { recursive: true, force: true });
      else await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function isStale(lockDir: string, owner: string): boolean {
  let age: number;
  try {
    age = Date.now() - statSync(lockDir).mtimeMs;
  } catch {
    return false; // released meanwhile: the next mkdir decides
  }
  if (age > STALE_MS) return true;
  let pid: number;
  try {
    pid = Number(readFileSync(owner, 'utf8'));
  } catch {
    return age > 10_000; // the owner is between mkdir and writing its pid, or died there
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
