import type Database from 'better-sqlite3';
import { StoreError } from './store-error.ts';

/** One schema step. Versions are contiguous from 1; never edit a released migration, append a new one. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE runs (
        run_id       TEXT PRIMARY KEY,
        selection    TEXT NOT NULL,
        partition    TEXT,
        stale_only   INTEGER NOT NULL,
        status       TEXT NOT NULL,
        reason       TEXT,
        pid          INTEGER,
        hostname     TEXT,
        created_at   TEXT NOT NULL,
        started_at   TEXT,
        finished_at  TEXT,
        heartbeat_at TEXT,
        plan         TEXT NOT NULL,
        tags         TEXT NOT NULL
      );
      CREATE INDEX idx_runs_status ON runs (status, run_id);

      CREATE TABLE events (
        event_id      INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id        TEXT NOT NULL,
        ts            TEXT NOT NULL,
        type          TEXT NOT NULL,
        asset_key     TEXT,
        partition_key TEXT,
        level         TEXT NOT NULL,
        message       TEXT NOT NULL,
        data          TEXT NOT NULL
      );
      CREATE INDEX idx_events_run ON events (run_id, event_id);

      CREATE TABLE materializations (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        asset_key      TEXT NOT NULL,
        partition_key  TEXT NOT NULL,
        run_id         TEXT NOT NULL,
        ts             TEXT NOT NULL,
        data_version   TEXT NOT NULL,
        code_version   TEXT NOT NULL,
        input_versions TEXT NOT NULL,
        deps           TEXT NOT NULL,
        metadata       TEXT NOT NULL
      );
      CREATE INDEX idx_materializations_key ON materializations (asset_key, partition_key, id);

      CREATE TABLE step_attempts (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        asset_key     TEXT NOT NULL,
        partition_key TEXT NOT NULL,
        run_id        TEXT NOT NULL,
        status        TEXT NOT NULL,
        started_at    TEXT,
        finished_at   TEXT,
        duration_ms   INTEGER,
        attempts      INTEGER NOT NULL,
        reason        TEXT,
        UNIQUE (run_id, asset_key, partition_key)
      );
      CREATE INDEX idx_step_attempts_key ON step_attempts (asset_key, partition_key, id);
      CREATE INDEX idx_step_attempts_success ON step_attempts (asset_key, id)
        WHERE status = 'SUCCESS' AND duration_ms IS NOT NULL;

      CREATE TABLE check_evaluations (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        asset_key     TEXT NOT NULL,
        partition_key TEXT NOT NULL,
        check_name    TEXT NOT NULL,
        run_id        TEXT NOT NULL,
        ts            TEXT NOT NULL,
        passed        INTEGER NOT NULL,
        severity      TEXT NOT NULL,
        blocking      INTEGER NOT NULL,
        failures      INTEGER,
        description   TEXT,
        metadata      TEXT NOT NULL
      );
      CREATE INDEX idx_check_evaluations_key ON check_evaluations (asset_key, partition_key, check_name, id);
      CREATE INDEX idx_check_evaluations_run ON check_evaluations (run_id, id);

      CREATE TABLE compute_logs (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id        TEXT NOT NULL,
        asset_key     TEXT NOT NULL,
        partition_key TEXT NOT NULL,
        path          TEXT NOT NULL,
        stream        TEXT NOT NULL,
        bytes         INTEGER NOT NULL,
        UNIQUE (run_id, path)
      );

      CREATE TABLE partition_locks (
        asset_key     TEXT NOT NULL,
        partition_key TEXT NOT NULL,
        run_id        TEXT NOT NULL,
        claimed_at    TEXT NOT NULL,
        PRIMARY KEY (asset_key, partition_key)
      ) WITHOUT ROWID;
      CREATE INDEX idx_partition_locks_run ON partition_locks (run_id);

      CREATE TABLE leases (
        name       TEXT PRIMARY KEY,
        holder     TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );

      CREATE TABLE cursors (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'scheduler ticks and decisions',
    sql: `
      CREATE TABLE scheduler_ticks (
        tick_id     INTEGER PRIMARY KEY,
        holder      TEXT NOT NULL,
        status      TEXT NOT NULL,
        started_at  TEXT NOT NULL,
        finished_at TEXT,
        evaluated   TEXT NOT NULL,
        error       TEXT
      );

      CREATE TABLE scheduler_decisions (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        tick_id       INTEGER NOT NULL,
        asset_key     TEXT NOT NULL,
        partition_key TEXT NOT NULL,
        action        TEXT NOT NULL,
        reason        TEXT NOT NULL,
        due_at        TEXT,
        expected_ms   INTEGER,
        run_id        TEXT,
        selection     TEXT,
        run_partition TEXT,
        created_at    TEXT NOT NULL,
        UNIQUE (tick_id, asset_key, partition_key)
      );
      CREATE INDEX idx_scheduler_decisions_key ON scheduler_decisions (asset_key, partition_key, id)
        WHERE action = 'launch';
      CREATE INDEX idx_scheduler_decisions_run ON scheduler_decisions (run_id) WHERE run_id IS NOT NULL;
    `,
  },
  {
    version: 3,
    name: 'materializations by run',
    // A run's summary reads its own materializations, not every partition's latest.
    sql: 'CREATE INDEX idx_materializations_run ON materializations (run_id, id);',
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

function currentVersion(db: Database.Database): number {
  const row = db.prepare('SELECT max(version) AS version FROM schema_migrations').get() as { version: number | null };
  return row.version ?? 0;
}

/**
 * Brings the schema up to date and returns the versions applied now (empty when already current).
 * Runs in one IMMEDIATE transaction and re-reads the version inside it, so two processes opening a
 * fresh file at once apply each migration exactly once.
 */
export function applyMigrations(
  db: Database.Database,
  path: string,
  migrations: readonly Migration[] = MIGRATIONS,
): number[] {
  const latest = migrations.at(-1)?.version ?? 0;
  const apply = db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER PRIMARY KEY,
      name       TEXT NOT NULL,
      applied_at TEXT NOT NULL
    )`);
    const current = currentVersion(db);
    if (current > latest) {
      throw new StoreError(
        'STORE_SCHEMA_TOO_NEW',
        `The database '${path}' has schema version ${current}, but this Fairway only knows up to ${latest}. ` +
          'Upgrade Fairway, or point it at another state directory.',
        { path, version: current, known: latest },
      );
    }
    const applied: number[] = [];
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const m of migrations) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
      applied.push(m.version);
    }
    return applied;
  });
  return apply.immediate();
}
