import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isBusyError, withBusyRetry } from './busy-retry.ts';
import { openSqliteStore } from './index.ts';

const busy = (code = 'SQLITE_BUSY') => Object.assign(new Error('database is locked'), { code });

describe('withBusyRetry', () => {
  it('recognises BUSY and LOCKED codes and their extended variants only', () => {
    expect(
      ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED', 'SQLITE_LOCKED_SHAREDCACHE'].map((c) =>
        isBusyError(busy(c)),
      ),
    ).toEqual([true, true, true, true]);
    expect(isBusyError(busy('SQLITE_CONSTRAINT'))).toBe(false);
    expect(isBusyError(new Error('x'))).toBe(false);
    expect(isBusyError(null)).toBe(false);
  });

  it('retries busy errors until the call succeeds', () => {
    let calls = 0;
    const result = withBusyRetry(() => {
      calls++;
      if (calls < 3) throw busy();
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('rethrows other errors at once, and busy errors after the last attempt', () => {
    let calls = 0;
    expect(() =>
      withBusyRetry(() => {
        calls++;
        throw busy('SQLITE_CONSTRAINT');
      }),
    ).toThrow('database is locked');
    expect(calls).toBe(1);
    calls = 0;
    expect(() =>
      withBusyRetry(
        () => {
          calls++;
          throw busy();
        },
        { attempts: 3, baseMs: 1 },
      ),
    ).toThrow(expect.objectContaining({ code: 'SQLITE_BUSY' }));
    expect(calls).toBe(3);
  });
});

describe('a write while another connection holds the lock past the busy timeout', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fairway-busy-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('waits and succeeds instead of failing with SQLITE_BUSY', async () => {
    const path = join(dir, 'fairway.db');
    const store = openSqliteStore(path, { busyTimeoutMs: 20 });
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    // A second connection on its own thread holds the write lock for 300 ms (15× the busy timeout).
    const holder = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const Database = require(workerData.driver);
       const db = new Database(workerData.path);
       db.exec('BEGIN IMMEDIATE');
       db.prepare("INSERT INTO cursors (name, value) VALUES ('holder', 'x')").run();
       parentPort.postMessage('locked');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
       db.exec('COMMIT');
       db.close();`,
      { eval: true, workerData: { path, driver } },
    );
    await new Promise((resolve, reject) => {
      holder.once('message', resolve);
      holder.once('error', reject);
    });
    const start = performance.now();
    store.setCursor('writer', 'done');
    const waited = performance.now() - start;
    await new Promise((resolve) => holder.once('exit', resolve));
    expect(store.getCursor('writer')).toBe('done');
    expect(store.getCursor('holder')).toBe('x');
    console.log(`[storage busy] write waited ${waited.toFixed(0)} ms for a 300 ms lock (busy_timeout 20 ms)`);
    store.close();
  });
});
