/**
 * The state database's schema history: one entry per version, applied in order on open. Over 400 lines on
 * purpose: a released migration never changes and new ones are appended, so this file grows with the schema;
 * split, the order the steps run in would be read across files.
 */
import type Database from 'better-sqlite3';
import { StoreError } from './store-error.ts';

/** One schema step. Versions are contiguous from 1; never edit a released migration, append a new one. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Upserts the head of materialization row `r` unless a newer one is already the partition's latest. */
function upsertHeadSql(r: string): string {
  return `INSERT INTO asset_partitions (asset_key, partition_key, materialization_id, run_id, ts, data_version,
            code_version, input_versions, deps, source_version)
          SELECT ${r}.asset_key, ${r}.partition_key, ${r}.id, ${r}.run_id, ${r}.ts, ${r}.data_version, ${r}.code_version,
            ${r}.input_versions, ${r}.deps, json_extract(${r}.metadata, '$.source_version') WHERE true
          ON CONFLICT (asset_key, partition_key) DO UPDATE SET
            materialization_id = excluded.materialization_id, run_id = excluded.run_id, ts = excluded.ts,
            data_version = excluded.data_version, code_version = excluded.code_version,
            input_versions = excluded.input_versions, deps = excluded.deps, source_version = excluded.source_version
          WHERE excluded.materialization_id > coalesce(asset_partitions.materialization_id, 0);`;
}

/** Moves the materialized key generation of row `r`'s asset (its set of materialized partitions changed). */
function bumpGenerationSql(r: string): string {
  return `INSERT INTO materialized_key_generations (asset_key, generation) VALUES (${r}.asset_key, 1)
          ON CONFLICT (asset_key) DO UPDATE SET generation = generation + 1;`;
}

/** The triggers that move an asset's materialized key generation (migration 9; replaced by migration 10). */
const MATERIALIZED_KEY_TRIGGERS = `
  CREATE TRIGGER materialized_key_added AFTER INSERT ON asset_partitions
    WHEN NEW.materialization_id IS NOT NULL BEGIN
    ${bumpGenerationSql('NEW')}
  END;
  CREATE TRIGGER materialized_key_set AFTER UPDATE OF materialization_id ON asset_partitions
    WHEN (OLD.materialization_id IS NULL) <> (NEW.materialization_id IS NULL) BEGIN
    ${bumpGenerationSql('NEW')}
  END;
  CREATE TRIGGER materialized_key_removed AFTER DELETE ON asset_partitions
    WHEN OLD.materialization_id IS NOT NULL BEGIN
    ${bumpGenerationSql('OLD')}
  END;
`;

/**
 * An asset's materialized key changes logged: at most this many generations back (older ones are deleted as
 * new ones are logged), so the log never outgrows what replaying it could save.
 */
export const MATERIALIZED_KEY_LOG_LIMIT = 10_000;

/**
 * Moves the generation of row `r`'s asset and logs which partition changed at the new generation (`added`:
 * whether it became materialized), dropping what falls out of the log's window.
 */
function bumpAndLogSql(r: string, added: string): string {
  const generation = `(SELECT generation FROM materialized_key_generations WHERE asset_key = ${r}.asset_key)`;
  return `${bumpGenerationSql(r)}
          INSERT INTO materialized_key_changes (asset_key, generation, partition_key, added)
            VALUES (${r}.asset_key, ${generation}, ${r}.partition_key, ${added});
          DELETE FROM materialized_key_changes
            WHERE asset_key = ${r}.asset_key AND generation <= ${generation} - ${MATERIALIZED_KEY_LOG_LIMIT};`;
}

/** The generation triggers that also log each change (migration 10). */
const LOGGED_MATERIALIZED_KEY_TRIGGERS = `
  CREATE TRIGGER materialized_key_added AFTER INSERT ON asset_partitions
    WHEN NEW.materialization_id IS NOT NULL BEGIN
    ${bumpAndLogSql('NEW', '1')}
  END;
  CREATE TRIGGER materialized_key_set AFTER UPDATE OF materialization_id ON asset_partitions
    WHEN (OLD.materialization_id IS NULL) <> (NEW.materialization_id IS NULL) BEGIN
    ${bumpAndLogSql('NEW', 'NEW.materialization_id IS NOT NULL')}
  END;
  CREATE TRIGGER materialized_key_removed AFTER DELETE ON asset_partitions
    WHEN OLD.materialization_id IS NOT NULL BEGIN
    ${bumpAndLogSql('OLD', '0')}
  END;
`;

/** Upserts step attempt row `r` when it is the partition's latest (the newest row; updated in place). */
function upsertAttemptSql(r: string): string {
  return `INSERT INTO asset_partitions (asset_key, partition_key, attempt_id, attempt_run_id, attempt_status,
            attempt_started_at, attempt_finished_at, attempt_duration_ms, attempt_attempts, attempt_reason)
          SELECT ${r}.asset_key, ${r}.partition_key, ${r}.id, ${r}.run_id, ${r}.status, ${r}.started_at,
            ${r}.finished_at, ${r}.duration_ms, ${r}.attempts, ${r}.reason WHERE true
          ON CONFLICT (asset_key, partition_key) DO UPDATE SET
            attempt_id = excluded.attempt_id, attempt_run_id = excluded.attempt_run_id,
            attempt_status = excluded.attempt_status, attempt_started_at = excluded.attempt_started_at,
            attempt_finished_at = excluded.attempt_finished_at, attempt_duration_ms = excluded.attempt_duration_ms,
            attempt_attempts = excluded.attempt_attempts, attempt_reason = excluded.attempt_reason
          WHERE excluded.attempt_id >= coalesce(asset_partitions.attempt_id, 0);`;
}

function upsertCheckSql(r: string): string {
  return `INSERT INTO latest_check_evaluations (asset_key, partition_key, check_name, evaluation_id)
          SELECT ${r}.asset_key, ${r}.partition_key, ${r}.check_name, ${r}.id WHERE true
          ON CONFLICT (asset_key, partition_key, check_name) DO UPDATE SET evaluation_id = excluded.evaluation_id
          WHERE excluded.evaluation_id > latest_check_evaluations.evaluation_id;`;
}

/**
 * Rebuilds the partition state from the event tables (the source of truth): the latest row per
 * partition (and check) of each, as the triggers would have kept it. Run by migration 4 and by
 * `fairway store rebuild`.
 */
export const REBUILD_PARTITION_STATE = `
  DELETE FROM asset_partitions;
  DELETE FROM latest_check_evaluations;
  INSERT INTO asset_partitions (asset_key, partition_key, materialization_id, run_id, ts, data_version, code_version,
      input_versions, deps, source_version)
    SELECT m.asset_key, m.partition_key, m.id, m.run_id, m.ts, m.data_version, m.code_version, m.input_versions,
      m.deps, json_extract(m.metadata, '$.source_version')
    FROM materializations m
    JOIN (SELECT max(id) AS id FROM materializations GROUP BY asset_key, partition_key) latest ON latest.id = m.id;
  INSERT INTO asset_partitions (asset_key, partition_key, attempt_id, attempt_run_id, attempt_status,
      attempt_started_at, attempt_finished_at, attempt_duration_ms, attempt_attempts, attempt_reason)
    SELECT s.asset_key, s.partition_key, s.id, s.run_id, s.status, s.started_at, s.finished_at, s.duration_ms,
      s.attempts, s.reason
    FROM step_attempts s
    JOIN (SELECT max(id) AS id FROM step_attempts GROUP BY asset_key, partition_key) latest ON latest.id = s.id
    WHERE true
    ON CONFLICT (asset_key, partition_key) DO UPDATE SET
      attempt_id = excluded.attempt_id, attempt_run_id = excluded.attempt_run_id,
      attempt_status = excluded.attempt_status, attempt_started_at = excluded.attempt_started_at,
      attempt_finished_at = excluded.attempt_finished_at, attempt_duration_ms = excluded.attempt_duration_ms,
      attempt_attempts = excluded.attempt_attempts, attempt_reason = excluded.attempt_reason;
  INSERT INTO latest_check_evaluations (asset_key, partition_key, check_name, evaluation_id)
    SELECT asset_key, partition_key, check_name, max(id) FROM check_evaluations
    GROUP BY asset_key, partition_key, check_name;
`;

/**
 * `fairway store rebuild`: `REBUILD_PARTITION_STATE` with the generation triggers set aside, every asset's
 * materialized key generation moved once instead of twice per partition row (at a million partitions the
 * triggers added ~10 s to the ~30 s rebuild). Kept known key checks are thereby outdated, as the rebuilt
 * state may differ from the one they were made from; the change log is emptied, so no check is brought up to
 * date across the rebuild.
 */
export const REBUILD_PARTITION_STATE_AND_GENERATIONS = `
  DROP TRIGGER materialized_key_added;
  DROP TRIGGER materialized_key_set;
  DROP TRIGGER materialized_key_removed;
  UPDATE materialized_key_generations SET generation = generation + 1;
  DELETE FROM materialized_key_changes;
  ${REBUILD_PARTITION_STATE}
  INSERT INTO materialized_key_generations (asset_key, generation)
    SELECT DISTINCT asset_key, 1 FROM asset_partitions WHERE materialization_id IS NOT NULL
    ON CONFLICT (asset_key) DO NOTHING;
  ${LOGGED_MATERIALIZED_KEY_TRIGGERS}
`;

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
  {
    version: 4,
    name: 'partition state',
    // The latest materialization (its head: what staleness reads), latest step attempt and latest check
    // evaluations of every asset partition, kept by triggers in the transaction that records the event.
    // Status, planning, the daemon and the UI read these instead of grouping the whole history.
    sql: `
      CREATE TABLE asset_partitions (
        asset_key           TEXT NOT NULL,
        partition_key       TEXT NOT NULL,
        materialization_id  INTEGER,
        run_id              TEXT,
        ts                  TEXT,
        data_version        TEXT,
        code_version        TEXT,
        input_versions      TEXT,
        deps                TEXT,
        source_version      TEXT,
        attempt_id          INTEGER,
        attempt_run_id      TEXT,
        attempt_status      TEXT,
        attempt_started_at  TEXT,
        attempt_finished_at TEXT,
        attempt_duration_ms INTEGER,
        attempt_attempts    INTEGER,
        attempt_reason      TEXT,
        PRIMARY KEY (asset_key, partition_key)
      ) WITHOUT ROWID;

      CREATE TABLE latest_check_evaluations (
        asset_key     TEXT NOT NULL,
        partition_key TEXT NOT NULL,
        check_name    TEXT NOT NULL,
        evaluation_id INTEGER NOT NULL,
        PRIMARY KEY (asset_key, partition_key, check_name)
      ) WITHOUT ROWID;

      CREATE TRIGGER asset_partitions_materialized AFTER INSERT ON materializations BEGIN
        ${upsertHeadSql('NEW')}
      END;
      CREATE TRIGGER asset_partitions_attempt_inserted AFTER INSERT ON step_attempts BEGIN
        ${upsertAttemptSql('NEW')}
      END;
      CREATE TRIGGER asset_partitions_attempt_updated AFTER UPDATE ON step_attempts BEGIN
        ${upsertAttemptSql('NEW')}
      END;
      CREATE TRIGGER latest_check_evaluations_recorded AFTER INSERT ON check_evaluations BEGIN
        ${upsertCheckSql('NEW')}
      END;

      ${REBUILD_PARTITION_STATE}
    `,
  },
  {
    version: 5,
    name: 'cancel requests',
    // `fairway cancel` and the UI ask a run launched by another process to stop; that process polls.
    sql: `
      CREATE TABLE run_cancel_requests (
        run_id       TEXT PRIMARY KEY,
        requested_at TEXT NOT NULL,
        reason       TEXT NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'run child processes',
    // The process group of each child a step started (a Spark job, dbt), while it runs. When a run's process
    // dies, its children may outlive it for a few seconds (their watchdog stops them): the reaper keeps the
    // run's partition locks until these groups are gone, so a re-run never writes a table beside them.
    sql: `
      CREATE TABLE run_child_processes (
        run_id        TEXT NOT NULL,
        pgid          INTEGER NOT NULL,
        asset_key     TEXT NOT NULL,
        partition_key TEXT NOT NULL,
        started_at    TEXT NOT NULL,
        PRIMARY KEY (run_id, pgid)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 7,
    name: 'latest materializations of an asset',
    // The asset page and the UI's summaries read an asset's newest materializations; without this index
    // SQLite sorted every materialization of the asset (a million at scale) to find them.
    sql: 'CREATE INDEX idx_materializations_asset ON materializations (asset_key, id);',
  },
  {
    version: 8,
    name: 'partition state indexes',
    // Whole-history status at a million partitions without reading every state row: the materialized keys
    // alone (a narrow range instead of the wide rows, compared with the known keys a block at a time), and
    // the partitions whose code version, deps or latest attempt make them staleness candidates.
    sql: `
      CREATE INDEX idx_asset_partitions_materialized ON asset_partitions (asset_key, partition_key, materialization_id)
        WHERE materialization_id IS NOT NULL;
      CREATE INDEX idx_asset_partitions_versions ON asset_partitions (asset_key, code_version, deps, materialization_id)
        WHERE materialization_id IS NOT NULL;
      CREATE INDEX idx_asset_partitions_attempts ON asset_partitions (asset_key, attempt_status)
        WHERE attempt_status IN ('RUNNING', 'FAILURE', 'CANCELED');
    `,
  },
  {
    version: 9,
    name: 'materialized key generations',
    // Comparing an asset's known partitions with its materialized ones reads every materialized key (~0.2 s at
    // a million). A generation per asset, moved by triggers whenever its set of materialized keys changes (a
    // partition's first materialization, a rebuild), lets a command keep the comparison's outcome
    // (\`known_key_checks\`: the known list it was made for, the known keys missing, the stored keys not known)
    // and take it as it is while the generation and the known list are the same.
    sql: `
      CREATE TABLE materialized_key_generations (
        asset_key  TEXT PRIMARY KEY,
        generation INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE known_key_checks (
        asset_key  TEXT PRIMARY KEY,
        generation INTEGER NOT NULL,
        known      TEXT NOT NULL,
        missing    TEXT NOT NULL,
        extra      TEXT NOT NULL
      ) WITHOUT ROWID;

      ${MATERIALIZED_KEY_TRIGGERS}
    `,
  },
  {
    version: 10,
    name: 'materialized key change log',
    // After new partitions the generation has moved and a kept check was compared again from scratch (~0.4 s
    // at a million keys). The triggers now also log which partition became (or stopped being) materialized at
    // each generation, so a kept check is brought up to date from the few changes since it was made.
    sql: `
      CREATE TABLE materialized_key_changes (
        asset_key     TEXT NOT NULL,
        generation    INTEGER NOT NULL,
        partition_key TEXT NOT NULL,
        added         INTEGER NOT NULL,
        PRIMARY KEY (asset_key, generation)
      ) WITHOUT ROWID;

      DROP TRIGGER materialized_key_added;
      DROP TRIGGER materialized_key_set;
      DROP TRIGGER materialized_key_removed;
      ${LOGGED_MATERIALIZED_KEY_TRIGGERS}
    `,
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
