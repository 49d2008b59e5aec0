import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { RetentionResult, Store } from '../storage/index.ts';
import { runFolder } from './run-folder.ts';

/** What forgetting runs removed: the store's records and the runs' folders (`<stateDir>/runs/<id>/`). */
export interface ForgottenRuns extends RetentionResult {
  run_folder_bytes: number;
}

/** Bytes of a file tree (0 if it is gone). */
function treeBytes(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, name) => n + treeBytes(join(path, name)), 0);
}

/**
 * Forgets the history of runs that finished before `before` (ISO): their records as `Store.collectGarbage`
 * decides (every partition's latest state stays) and their folders with summaries and compute logs. The
 * store goes first, so a crash in between leaves only folders nobody points at. `dryRun` changes nothing.
 */
export function forgetRunsBefore(
  store: Store,
  stateDir: string,
  before: string,
  opts: { dryRun?: boolean } = {},
): ForgottenRuns {
  const result = store.collectGarbage(before, opts);
  let bytes = 0;
  for (const id of result.run_ids) {
    const dir = runFolder(stateDir, id);
    bytes += treeBytes(dir);
    if (!opts.dryRun) rmSync(dir, { recursive: true, force: true });
  }
  return { ...result, run_folder_bytes: bytes };
}
