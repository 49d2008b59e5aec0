import { statSync } from 'node:fs';
import { withBusyRetry } from './busy-retry.ts';
import { sqliteEventLogStorage } from './event-log-storage.ts';
import { sqlitePartitionStateStorage } from './partition-state-storage.ts';
import { collectGarbage, type RetentionResult } from './retention.ts';
import { sqliteRunStorage } from './run-storage.ts';
import { sqliteScheduleStorage } from './schedule-storage.ts';
import { SqliteDb } from './sqlite-db.ts';
import type { Store } from './types.ts';

/**
 * The SQLite `Store`: one connection (`SqliteDb`) and the storages over it, split as their data is — runs,
 * the event log, the partition state, schedules — plus the maintenance of the file itself.
 */
export function openSqliteStore(path: string, opts: { busyTimeoutMs?: number } = {}): Store {
  const db = new SqliteDb(path, opts);
  return {
    path,
    close: () => db.close(),
    changeStamp: () => db.changeStamp(),
    ...sqliteRunStorage(db),
    ...sqliteEventLogStorage(db),
    ...sqlitePartitionStateStorage(db),
    ...sqliteScheduleStorage(db),
    collectGarbage(before: string, opts: { dryRun?: boolean } = {}): RetentionResult {
      return withBusyRetry(() => collectGarbage(db.handle, before, opts));
    },

    vacuum(): { before: number; after: number } {
      // the main file's size once the write-ahead log is folded into it
      const size = () => {
        withBusyRetry(() => db.handle.pragma('wal_checkpoint(TRUNCATE)'));
        return statSync(db.path).size;
      };
      const bytesBefore = size();
      withBusyRetry(() => db.handle.exec('VACUUM'));
      return { before: bytesBefore, after: size() };
    },
  };
}
