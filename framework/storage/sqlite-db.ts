import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type Database from 'better-sqlite3';
import { withBusyRetry } from './busy-retry.ts';
import { applyMigrations } from './migrations.ts';
import { StoreError } from './store-error.ts';

// better-sqlite3's JavaScript (13 CommonJS modules) is required when a database is first opened, not at import:
// `list` imports the storage but never opens it.
const require = createRequire(import.meta.url);

let addon: string | null | undefined;
/**
 * better-sqlite3's native addon where its install builds or downloads it (`build/Release`), given to it directly:
 * its own lookup (the `bindings` package) first fails to require two other paths, an error with a stack each
 * (~2 ms of a `status`). Undefined when it is not there (a debug build, another layout): better-sqlite3 looks.
 */
function addonPath(): string | undefined {
  if (addon === undefined) {
    const path = join(
      dirname(require.resolve('better-sqlite3/package.json')),
      'build',
      'Release',
      'better_sqlite3.node',
    );
    addon = existsSync(path) ? path : null;
  }
  return addon ?? undefined;
}

/**
 * The connection every SQLite storage shares: one WAL-mode file used by the CLI, the UI server and the daemon
 * at once. Opens it (pragmas, migrations), caches prepared statements per SQL text, and runs writes as BEGIN
 * IMMEDIATE transactions retried as a whole on SQLITE_BUSY. The storages (runs, event log, partition state,
 * schedules) are functions over it.
 */
export class SqliteDb {
  readonly path: string;
  readonly handle: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #queries = new Map<string, { stmt: Database.Statement; columns: string[] }>();
  readonly #plucked = new Map<string, Database.Statement>();
  /**
   * Rows this connection wrote that are derived from the contents, not a change of them (kept known key
   * checks): `changeStamp` leaves them out, so a reader does not judge again because of its own bookkeeping.
   */
  derivedWrites = 0;

  constructor(path: string, opts: { busyTimeoutMs?: number } = {}) {
    this.path = path;
    const Sqlite = require('better-sqlite3') as typeof Database;
    const nativeBinding = addonPath();
    this.handle = new Sqlite(path, nativeBinding ? { nativeBinding } : {});
    try {
      this.handle.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
      withBusyRetry(() => this.handle.pragma('journal_mode = WAL'));
      this.handle.pragma('synchronous = NORMAL');
      this.handle.pragma('foreign_keys = ON');
      withBusyRetry(() => applyMigrations(this.handle, path));
    } catch (e) {
      this.handle.close();
      if (e instanceof StoreError) throw e;
      throw new StoreError(
        'STORE_OPEN_FAILED',
        `Could not open the Fairway database '${path}'. Check the path is writable and not used by an incompatible tool.`,
        { path },
        e,
      );
    }
  }

  close(): void {
    if (this.handle.open) this.handle.close();
  }

  changeStamp(): string {
    // data_version moves when another connection commits; total_changes() counts this connection's writes
    const version = withBusyRetry(() => this.handle.pragma('data_version', { simple: true }));
    const changes = this.pluck('SELECT total_changes()').get() as number;
    return `${version}:${changes - this.derivedWrites}`;
  }

  /** Prepared statements are cached per SQL text. */
  stmt(sql: string): Database.Statement {
    let stmt = this.#statements.get(sql);
    if (!stmt) {
      stmt = this.handle.prepare(sql);
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  /**
   * All rows of a read as plain objects. Fetching raw arrays and naming the columns here takes about
   * half the time of better-sqlite3's own row objects on 10k-row reads.
   */
  all(sql: string, ...params: unknown[]): Record<string, unknown>[] {
    const columns = this.rawQuery(sql).columns;
    return this.raw(sql, ...params).map((values) => {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[i];
      return row;
    });
  }

  /** All rows of a read as arrays, in the order of the selected columns (for the lean decoders). */
  raw(sql: string, ...params: unknown[]): unknown[][] {
    return this.rawQuery(sql).stmt.all(...params) as unknown[][];
  }

  /** A statement returning its first column only, prepared once per SQL text. */
  pluck(sql: string): Database.Statement {
    let stmt = this.#plucked.get(sql);
    if (!stmt) {
      stmt = this.handle.prepare(sql).pluck(true);
      this.#plucked.set(sql, stmt);
    }
    return stmt;
  }

  /** A raw-mode statement and its column names, prepared once per SQL text. */
  rawQuery(sql: string): { stmt: Database.Statement; columns: string[] } {
    let query = this.#queries.get(sql);
    if (!query) {
      const stmt = this.handle.prepare(sql).raw(true);
      query = { stmt, columns: stmt.columns().map((c) => c.name) };
      this.#queries.set(sql, query);
    }
    return query;
  }

  /** Runs `fn` in a BEGIN IMMEDIATE transaction, retried as a whole on SQLITE_BUSY. */
  write<T>(fn: () => T): T {
    const tx = this.handle.transaction(fn);
    return withBusyRetry(() => tx.immediate());
  }
}
