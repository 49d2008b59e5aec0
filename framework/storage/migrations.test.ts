import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from './index.ts';
import { applyMigrations, LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations.ts';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fairway-migrations-'));
  path = join(dir, 'fairway.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const versions = (): number[] => {
  const raw = new Database(path, { readonly: true });
  const rows = raw.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
  raw.close();
  return rows.map((r) => r.version);
};

describe('migrations', () => {
  it('are numbered 1..n without gaps', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });

  it('apply once; reopening the file applies nothing again', () => {
    openStore(path).close();
    expect(versions()).toEqual(MIGRATIONS.map((m) => m.version));
    openStore(path).close();
    expect(versions()).toEqual(MIGRATIONS.map((m) => m.version));

    const db = new Database(path);
    expect(applyMigrations(db, path)).toEqual([]);
    db.close();
  });

  it('apply only the pending ones to an existing database', () => {
    const store = openStore(path);
    store.setCursor('kept', 'yes');
    store.close();
    const next = LATEST_SCHEMA_VERSION + 1;
    const db = new Database(path);
    const added = [...MIGRATIONS, { version: next, name: 'add notes', sql: 'CREATE TABLE notes (id INTEGER)' }];
    expect(applyMigrations(db, path, added)).toEqual([next]);
    expect(applyMigrations(db, path, added)).toEqual([]);
    db.close();
    expect(versions().at(-1)).toBe(next);
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare('SELECT value FROM cursors').get()).toEqual({ value: 'yes' });
    raw.close();
  });

  it('refuse a database written by a newer Fairway', () => {
    openStore(path).close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(999, 'future', 'x');
    db.close();
    expect(() => openStore(path)).toThrow(
      expect.objectContaining({ code: 'STORE_SCHEMA_TOO_NEW', message: expect.stringMatching(/schema version 999/) }),
    );
  });
});
