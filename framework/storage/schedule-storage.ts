import { withBusyRetry } from './busy-retry.ts';
import type { SchedulerDecisionRecord, SchedulerTickRecord } from './rows.ts';
import { decodeSchedulerDecisions, decodeSchedulerTicks, json } from './rows.ts';
import type { SqliteDb } from './sqlite-db.ts';
import type { Page, ScheduleStorage } from './types.ts';

/** The daemon's state: leases (one daemon at a time), cursors, ticks and their decisions. */
export function sqliteScheduleStorage(db: SqliteDb): ScheduleStorage {
  return {
    acquireLease(name: string, holder: string, ttlMs: number, now: Date, replacing?: string): boolean {
      const nowMs = now.getTime();
      const upsert = db.stmt(
        `INSERT INTO leases (name, holder, expires_at) VALUES (@name, @holder, @expires_at)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE leases.holder = excluded.holder OR leases.expires_at <= @now OR leases.holder = @replacing`,
      );
      const current = db.stmt('SELECT holder FROM leases WHERE name = ?');
      return db.write(() => {
        upsert.run({ name, holder, expires_at: nowMs + ttlMs, now: nowMs, replacing: replacing ?? null });
        return (current.get(name) as { holder: string } | undefined)?.holder === holder;
      });
    },

    leaseHolder(name: string): string | undefined {
      return withBusyRetry(() => db.pluck('SELECT holder FROM leases WHERE name = ?').get(name)) as string | undefined;
    },

    releaseLease(name: string, holder: string): void {
      withBusyRetry(() => db.stmt('DELETE FROM leases WHERE name = ? AND holder = ?').run(name, holder));
    },

    getCursor(name: string): string | undefined {
      return withBusyRetry(() => db.pluck('SELECT value FROM cursors WHERE name = ?').get(name)) as string | undefined;
    },

    setCursor(name: string, value: string): void {
      withBusyRetry(() =>
        db
          .stmt(
            'INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
          )
          .run(name, value),
      );
    },

    addToCursor(name: string, n: number): void {
      withBusyRetry(() =>
        db
          .stmt(
            'INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE ' +
              'SET value = CAST(CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER) AS TEXT)',
          )
          .run(name, String(Math.trunc(n))),
      );
    },

    beginTick(tick: SchedulerTickRecord): { tick: SchedulerTickRecord; created: boolean } {
      const insert = db.stmt(
        `INSERT INTO scheduler_ticks (tick_id, holder, status, started_at, finished_at, evaluated, error)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tick_id) DO NOTHING`,
      );
      return db.write(() => {
        const { changes } = insert.run(
          tick.tick_id,
          tick.holder,
          tick.status,
          tick.started_at,
          tick.finished_at,
          json(tick.evaluated),
          tick.error,
        );
        const stored = decodeSchedulerTicks(
          db.all('SELECT * FROM scheduler_ticks WHERE tick_id = ?', tick.tick_id),
        )[0]!;
        return { tick: stored, created: changes === 1 };
      });
    },

    finishTick(
      tickId: number,
      patch: Pick<SchedulerTickRecord, 'status' | 'finished_at' | 'error'> & { evaluated?: Record<string, unknown> },
    ): void {
      withBusyRetry(() =>
        db
          .stmt(
            `UPDATE scheduler_ticks SET status = ?, finished_at = ?, error = ?, evaluated = coalesce(?, evaluated)
           WHERE tick_id = ?`,
          )
          .run(patch.status, patch.finished_at, patch.error, patch.evaluated ? json(patch.evaluated) : null, tickId),
      );
    },

    listTicks(opts: { limit: number; before?: number }): Page<SchedulerTickRecord> {
      const rows = withBusyRetry(() =>
        db.all(
          'SELECT * FROM scheduler_ticks WHERE tick_id < ? ORDER BY tick_id DESC LIMIT ?',
          opts.before ?? Number.MAX_SAFE_INTEGER,
          opts.limit + 1,
        ),
      );
      const items = decodeSchedulerTicks(rows.slice(0, opts.limit));
      return { items, next: rows.length > opts.limit ? (items.at(-1)?.tick_id ?? null) : null };
    },

    recordDecisions(decisions: SchedulerDecisionRecord[]): void {
      if (decisions.length === 0) return;
      const insert = db.stmt(
        `INSERT INTO scheduler_decisions (tick_id, asset_key, partition_key, action, reason, due_at, expected_ms,
             run_id, selection, run_partition, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tick_id, asset_key, partition_key) DO NOTHING`,
      );
      db.write(() => {
        for (const d of decisions) {
          insert.run(
            d.tick_id,
            d.asset_key,
            d.partition_key,
            d.action,
            d.reason,
            d.due_at,
            d.expected_ms,
            d.run_id,
            d.selection,
            d.run_partition,
            d.created_at,
          );
        }
      });
    },

    tickDecisions(tickIds: number[]): SchedulerDecisionRecord[] {
      if (tickIds.length === 0) return [];
      const rows = withBusyRetry(() =>
        db.all(
          'SELECT * FROM scheduler_decisions WHERE tick_id IN (SELECT value FROM json_each(?)) ORDER BY id',
          json(tickIds),
        ),
      );
      return decodeSchedulerDecisions(rows);
    },

    decisionsOfRun(runId: string): SchedulerDecisionRecord[] {
      return decodeSchedulerDecisions(
        withBusyRetry(() => db.all('SELECT * FROM scheduler_decisions WHERE run_id = ? ORDER BY id', runId)),
      );
    },

    launchDecisionsSince(keys: string[], since: string): SchedulerDecisionRecord[] {
      if (keys.length === 0) return [];
      const rows = withBusyRetry(() =>
        db.all(
          `SELECT * FROM scheduler_decisions
           WHERE action = 'launch' AND asset_key IN (SELECT value FROM json_each(?)) AND created_at > ?
           ORDER BY id`,
          json(keys),
          since,
        ),
      );
      return decodeSchedulerDecisions(rows);
    },
  };
}
