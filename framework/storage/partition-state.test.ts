import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from './index.ts';
import { applyMigrations, MATERIALIZED_KEY_LOG_LIMIT, MIGRATIONS } from './migrations.ts';
import type { StepStatus, Store } from './types.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fairway-partition-state-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ASSETS = ['a', 'b', 'c'];
const PARTITIONS = ['', 'p=1', 'p=2', 'p=3'];
const RUNS = ['r1', 'r2', 'r3'];
const STATUSES: StepStatus[] = ['RUNNING', 'SUCCESS', 'FAILURE', 'CANCELED', 'SKIPPED'];

/** The latest rows per partition computed straight from the history tables, as Fairway did before state. */
function fromHistory(path: string) {
  const db = new Database(path, { readonly: true });
  const latest = (table: string, group: string) =>
    db
      .prepare(
        `SELECT t.* FROM ${table} t JOIN (SELECT max(id) AS id FROM ${table} GROUP BY ${group}) l ON l.id = t.id
         ORDER BY ${group}`,
      )
      .all() as Record<string, unknown>[];
  const out = {
    materializations: latest('materializations', 'asset_key, partition_key').map((r) => [
      r.asset_key,
      r.partition_key,
      r.id,
      r.data_version,
      r.ts,
    ]),
    attempts: latest('step_attempts', 'asset_key, partition_key').map((r) => [
      r.asset_key,
      r.partition_key,
      r.run_id,
      r.status,
      r.attempts,
      r.reason,
    ]),
    checks: latest('check_evaluations', 'asset_key, partition_key, check_name').map((r) => [
      r.asset_key,
      r.partition_key,
      r.check_name,
      r.id,
    ]),
  };
  db.close();
  return out;
}

/** The same, read through the store (from the partition state). */
function fromState(store: Store) {
  const flat = <T>(m: Map<string, Map<string, T>>) =>
    [...m.values()].flatMap((byPartition) => [...byPartition.values()]);
  return {
    materializations: flat(store.latestMaterializationHeads(ASSETS)).map((m) => [
      m.asset_key,
      m.partition_key,
      m.id,
      m.data_version,
      m.ts,
    ]),
    attempts: flat(store.latestStepAttempts(ASSETS)).map((a) => [
      a.asset_key,
      a.partition_key,
      a.run_id,
      a.status,
      a.attempts,
      a.reason,
    ]),
    checks: store.latestCheckEvaluations(ASSETS).map((c) => [c.asset_key, c.partition_key, c.check_name, c.id]),
  };
}

type Op =
  | { kind: 'materialize'; asset: string; partition: string; run: string; version: string }
  | { kind: 'attempt'; asset: string; partition: string; run: string; status: StepStatus; attempts: number }
  | { kind: 'check'; asset: string; partition: string; run: string; name: string; passed: boolean }
  | { kind: 'crash'; asset: string; partition: string; run: string };

/** A materialization of `asset`'s partition with nothing but its key: what the key generation tests write. */
function recordFirst(store: Store, asset: string, partition: string): void {
  store.recordMaterialization({
    asset_key: asset,
    partition_key: partition,
    run_id: 'r',
    ts: 't',
    data_version: 'v',
    code_version: 'c',
    input_versions: {},
    deps: [],
    metadata: {},
  });
}

const target = {
  asset: fc.constantFrom(...ASSETS),
  partition: fc.constantFrom(...PARTITIONS),
  run: fc.constantFrom(...RUNS),
};
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('materialize' as const), ...target, version: fc.constantFrom('v1', 'v2', 'v3') }),
  fc.record({
    kind: fc.constant('attempt' as const),
    ...target,
    status: fc.constantFrom(...STATUSES),
    attempts: fc.integer({ min: 0, max: 3 }),
  }),
  fc.record({
    kind: fc.constant('check' as const),
    ...target,
    name: fc.constantFrom('rows', 'nulls'),
    passed: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('crash' as const), ...target }),
);

function apply(store: Store, path: string, o: Op, i: number): void {
  const ts = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
  if (o.kind === 'materialize') {
    store.recordMaterialization({
      asset_key: o.asset,
      partition_key: o.partition,
      run_id: o.run,
      ts,
      data_version: o.version,
      code_version: 'c',
      input_versions: {},
      deps: [],
      metadata: { source_version: { type: 'text', value: o.version }, rows: { type: 'int', value: i } },
    });
  } else if (o.kind === 'attempt') {
    store.recordStepAttempt({
      asset_key: o.asset,
      partition_key: o.partition,
      run_id: o.run,
      status: o.status,
      started_at: ts,
      finished_at: o.status === 'RUNNING' ? null : ts,
      duration_ms: o.status === 'RUNNING' ? null : 5,
      attempts: o.attempts,
      reason: o.status === 'FAILURE' ? `failed at ${i}` : null,
    });
  } else if (o.kind === 'check') {
    store.recordCheckEvaluations([
      {
        asset_key: o.asset,
        partition_key: o.partition,
        check_name: o.name,
        run_id: o.run,
        ts,
        passed: o.passed,
        severity: 'error',
        blocking: true,
        failures: o.passed ? 0 : 1,
        description: null,
        metadata: {},
      },
    ]);
  } else {
    // A process that dies inside its transaction: the event and the state change are lost together.
    const db = new Database(path);
    db.exec('BEGIN IMMEDIATE');
    db.prepare(
      `INSERT INTO materializations (asset_key, partition_key, run_id, ts, data_version, code_version, input_versions,
         deps, metadata) VALUES (?, ?, ?, ?, 'lost', 'c', '{}', '[]', '{}')`,
    ).run(o.asset, o.partition, o.run, ts);
    db.exec('ROLLBACK');
    db.close();
  }
}

describe('partition state', () => {
  it('equals the latest records of the history, and a rebuild of it, after any sequence of events', () => {
    let n = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
        const path = join(dir, `fairway-${n++}.db`);
        const store = openStore(path);
        try {
          for (const [i, o] of ops.entries()) apply(store, path, o, i);
          const expected = fromHistory(path);
          expect(fromState(store)).toEqual(expected);
          store.rebuildPartitionState();
          expect(fromState(store)).toEqual(expected);
        } finally {
          store.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('keeps the source version of the latest materialization and full metadata on request', () => {
    const path = join(dir, 'fairway.db');
    const store = openStore(path);
    apply(store, path, { kind: 'materialize', asset: 'a', partition: 'p=1', run: 'r1', version: 'v1' }, 1);
    apply(store, path, { kind: 'materialize', asset: 'a', partition: 'p=1', run: 'r2', version: 'v2' }, 2);
    const head = store.latestMaterializationHeads(['a']).get('a')?.get('p=1');
    expect(head?.metadata).toEqual({ source_version: { type: 'text', value: 'v2' } });
    const full = store.latestMaterializations(['a']).get('a')?.get('p=1');
    expect(full?.metadata).toEqual({ source_version: { type: 'text', value: 'v2' }, rows: { type: 'int', value: 2 } });
    store.close();
  });

  it('names a corrupted state row and the command that rebuilds it', () => {
    const path = join(dir, 'fairway.db');
    const store = openStore(path);
    apply(store, path, { kind: 'materialize', asset: 'a', partition: 'p=1', run: 'r1', version: 'v1' }, 1);
    apply(store, path, { kind: 'attempt', asset: 'a', partition: 'p=1', run: 'r1', status: 'SUCCESS', attempts: 1 }, 1);
    const raw = new Database(path);
    raw.prepare("UPDATE asset_partitions SET deps = 'not json', attempt_status = 'WEIRD'").run();
    raw.close();
    expect(() => store.latestMaterializationHeads(['a'])).toThrow(
      expect.objectContaining({ code: 'STORE_ROW_INVALID', message: expect.stringMatching(/'deps'.*store rebuild/) }),
    );
    expect(() => store.latestStepAttempts(['a'])).toThrow(/unknown status 'WEIRD'/);
    store.rebuildPartitionState();
    expect(store.latestMaterializationHeads(['a']).get('a')?.get('p=1')?.deps).toEqual([]);
    expect(store.latestStepAttempts(['a']).get('a')?.get('p=1')?.status).toBe('SUCCESS');
    store.close();
  });

  it("moves an asset's materialized key generation when its set of materialized partitions changes", () => {
    const store = openStore(join(dir, 'fairway.db'));
    const generation = (asset: string) => store.knownKeyCheck(asset).generation;
    const materialize = (asset: string, p: string) => recordFirst(store, asset, p);
    const attempt = (p: string) =>
      store.recordStepAttempt({
        asset_key: 'a',
        partition_key: p,
        run_id: 'r',
        status: 'FAILURE',
        started_at: null,
        finished_at: null,
        duration_ms: null,
        attempts: 1,
        reason: null,
      });
    expect(generation('a')).toBe(0);
    materialize('a', 'p=1');
    expect([generation('a'), generation('b')]).toEqual([1, 0]);
    materialize('a', 'p=1'); // the same key again
    attempt('p=1');
    attempt('p=2'); // a state row without a materialization
    expect(generation('a')).toBe(1);
    materialize('a', 'p=2'); // that row's first materialization
    expect(generation('a')).toBe(2);
    materialize('b', 'p=1');
    expect([generation('a'), generation('b')]).toEqual([2, 1]);
    // a rebuild moves every generation once: a check kept from the state before it is outdated
    const check = { generation: 2, known: 'list', missing: ['p=3'], extra: [] };
    const stamp = store.changeStamp();
    store.keepKnownKeyCheck('a', check);
    // keeping a check changes nothing it is derived from: a long-lived reader keeps its judgement
    expect(store.changeStamp()).toBe(stamp);
    expect(store.knownKeyCheck('a')).toEqual({ generation: 2, kept: check });
    store.rebuildPartitionState();
    expect([generation('a'), generation('b')]).toEqual([3, 2]);
    materialize('a', 'p=3');
    expect(store.knownKeyCheck('a')).toEqual({ generation: 4, kept: check });
    expect(store.changeStamp()).not.toBe(stamp);
    store.close();
  });

  it('logs the changes of the materialized keys in a window that never outgrows its limit', () => {
    const path = join(dir, 'fairway.db');
    const store = openStore(path);
    const raw = new Database(path);
    const logged = () =>
      raw.prepare("SELECT count(*) FROM materialized_key_changes WHERE asset_key = 'a'").pluck().get();
    // first materializations of LIMIT + 5 partitions: the oldest five changes fall out of the window
    raw.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${MATERIALIZED_KEY_LOG_LIMIT + 5})
              INSERT INTO asset_partitions (asset_key, partition_key, materialization_id) SELECT 'a', 'p=' || i, i FROM n`);
    expect(logged()).toBe(MATERIALIZED_KEY_LOG_LIMIT);
    const check = { generation: MATERIALIZED_KEY_LOG_LIMIT + 5, known: 'list', missing: [], extra: [] };
    store.keepKnownKeyCheck('a', { ...check, generation: 5 });
    // the window holds generations 6 onwards: a check from generation 5 is brought up to date
    expect(store.knownKeyCheck('a').changes).toHaveLength(MATERIALIZED_KEY_LOG_LIMIT);
    store.keepKnownKeyCheck('a', { ...check, generation: 4 });
    expect(store.knownKeyCheck('a').changes).toBeUndefined(); // generation 5's change is gone: not covered
    // keeping a check drops the changes up to it; a deleted row and a cleared materialization are logged as such
    store.keepKnownKeyCheck('a', check);
    expect(logged()).toBe(0);
    raw.exec("DELETE FROM asset_partitions WHERE partition_key = 'p=1'");
    raw.exec("UPDATE asset_partitions SET materialization_id = NULL WHERE partition_key = 'p=2'");
    expect(store.knownKeyCheck('a').changes).toEqual([
      { partition: 'p=1', added: false },
      { partition: 'p=2', added: false },
    ]);
    raw.close();
    store.close();
  });

  it('reads only the partitions asked for', () => {
    const path = join(dir, 'fairway.db');
    const store = openStore(path);
    PARTITIONS.forEach((p, i) => {
      apply(store, path, { kind: 'materialize', asset: 'a', partition: p, run: 'r1', version: 'v1' }, i);
      apply(store, path, { kind: 'attempt', asset: 'a', partition: p, run: 'r1', status: 'SUCCESS', attempts: 1 }, i);
      apply(store, path, { kind: 'check', asset: 'a', partition: p, run: 'r1', name: 'rows', passed: true }, i);
    });
    const scope = { partitions: ['p=2', 'p=9'] };
    expect([...(store.latestMaterializationHeads(['a'], scope).get('a')?.keys() ?? [])]).toEqual(['p=2']);
    expect([...(store.latestStepAttempts(['a'], scope).get('a')?.keys() ?? [])]).toEqual(['p=2']);
    expect(store.latestCheckEvaluations(['a'], scope).map((c) => c.partition_key)).toEqual(['p=2']);
    expect(store.latestMaterializationHeads(['a']).get('a')?.size).toBe(PARTITIONS.length);
    store.close();
  });

  it('is built when a database written before it (schema 3) is opened', () => {
    const path = join(dir, 'fairway.db');
    const old = new Database(path);
    applyMigrations(old, path, MIGRATIONS.slice(0, 3));
    const mat = old.prepare(
      `INSERT INTO materializations (asset_key, partition_key, run_id, ts, data_version, code_version, input_versions,
         deps, metadata) VALUES (?, ?, ?, ?, ?, 'c', '{}', '[]', ?)`,
    );
    const attempt = old.prepare(
      `INSERT INTO step_attempts (asset_key, partition_key, run_id, status, started_at, finished_at, duration_ms,
         attempts, reason) VALUES (?, ?, ?, ?, 't', 't', 1, 1, ?)`,
    );
    const check = old.prepare(
      `INSERT INTO check_evaluations (asset_key, partition_key, check_name, run_id, ts, passed, severity, blocking,
         failures, description, metadata) VALUES (?, ?, 'rows', ?, 't', ?, 'error', 1, 0, NULL, '{}')`,
    );
    for (const run of RUNS) {
      for (const p of PARTITIONS) {
        mat.run(
          'a',
          p,
          run,
          `2026-01-0${RUNS.indexOf(run) + 1}`,
          `${run}-${p}`,
          '{"source_version":{"type":"text","value":"s"}}',
        );
        attempt.run('a', p, run, p === 'p=3' && run === 'r3' ? 'FAILURE' : 'SUCCESS', p === 'p=3' ? 'boom' : null);
        check.run('a', p, run, run === 'r2' ? 0 : 1);
      }
    }
    old.close();
    const expected = fromHistory(path);
    expect(expected.materializations).toHaveLength(PARTITIONS.length);

    const store = openStore(path);
    expect(fromState(store)).toEqual(expected);
    expect(store.latestStepAttempts(['a']).get('a')?.get('p=3')).toMatchObject({ status: 'FAILURE', reason: 'boom' });
    expect(store.latestMaterializationHeads(['a']).get('a')?.get('p=1')?.metadata).toEqual({
      source_version: { type: 'text', value: 's' },
    });
    store.close();
  });

  it('logs changes in a database written before the log (schema 9): a check kept there is brought up to date', () => {
    const path = join(dir, 'fairway.db');
    const old = new Database(path);
    applyMigrations(old, path, MIGRATIONS.slice(0, 9));
    const head = old.prepare(
      `INSERT INTO asset_partitions (asset_key, partition_key, materialization_id) VALUES ('a', ?, ?)`,
    );
    head.run('p=1', 1);
    head.run('p=2', 2);
    const generation = old.prepare("SELECT generation FROM materialized_key_generations WHERE asset_key = 'a'");
    expect(generation.pluck().get()).toBe(2);
    old
      .prepare(
        `INSERT INTO known_key_checks (asset_key, generation, known, missing, extra) VALUES ('a', 2, 'list', ?, '[]')`,
      )
      .run(JSON.stringify(['p=3']));
    old.close();
    const store = openStore(path);
    const check = { generation: 2, known: 'list', missing: ['p=3'], extra: [] };
    expect(store.knownKeyCheck('a')).toEqual({ generation: 2, kept: check });
    recordFirst(store, 'a', 'p=3');
    expect(store.knownKeyCheck('a')).toEqual({
      generation: 3,
      kept: check,
      changes: [{ partition: 'p=3', added: true }],
    });
    store.close();
  });
});
