import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { md } from '../definitions/index.ts';
import {
  type CheckEvaluationRecord,
  defaultStorePath,
  type EventRecord,
  type MaterializationRecord,
  openStore,
  type RunRecord,
  type StepAttemptRecord,
  type Store,
  StoreError,
} from './index.ts';

const run = (run_id: string, over: Partial<RunRecord> = {}): RunRecord => ({
  run_id,
  selection: 'silver.*',
  partition: null,
  stale_only: false,
  status: 'QUEUED',
  reason: null,
  pid: null,
  hostname: null,
  created_at: '2024-05-01T00:00:00.000Z',
  started_at: null,
  finished_at: null,
  heartbeat_at: null,
  plan: [{ asset_key: 'silver.a', partition_key: '' }],
  tags: { trigger: 'cli' },
  ...over,
});

const event = (run_id: string, over: Partial<EventRecord> = {}): EventRecord => ({
  run_id,
  ts: '2024-05-01T00:00:00.000Z',
  type: 'STEP_START',
  asset_key: 'silver.a',
  partition_key: '',
  level: 'info',
  message: 'started',
  data: { n: 1 },
  ...over,
});

const mat = (asset_key: string, partition_key: string, over: Partial<MaterializationRecord> = {}) =>
  ({
    asset_key,
    partition_key,
    run_id: 'r1',
    ts: '2024-05-01T00:00:00.000Z',
    data_version: 'dv1',
    code_version: 'cv1',
    input_versions: { 'bronze.x': 'v0' },
    deps: ['bronze.x'],
    metadata: { rows: md.rowCount(10), note: md.text('ok') },
    ...over,
  }) satisfies MaterializationRecord;

const attempt = (asset_key: string, partition_key: string, over: Partial<StepAttemptRecord> = {}) =>
  ({
    asset_key,
    partition_key,
    run_id: 'r1',
    status: 'SUCCESS',
    started_at: '2024-05-01T00:00:00.000Z',
    finished_at: '2024-05-01T00:00:01.000Z',
    duration_ms: 1000,
    attempts: 1,
    reason: null,
    ...over,
  }) satisfies StepAttemptRecord;

const check = (asset_key: string, check_name: string, over: Partial<CheckEvaluationRecord> = {}) =>
  ({
    asset_key,
    partition_key: '',
    check_name,
    run_id: 'r1',
    ts: '2024-05-01T00:00:00.000Z',
    passed: true,
    severity: 'error',
    blocking: true,
    failures: 0,
    description: null,
    metadata: {},
    ...over,
  }) satisfies CheckEvaluationRecord;

let store: Store;
beforeEach(() => {
  store = openStore(':memory:');
});
afterEach(() => store.close());

describe('runs', () => {
  it('creates, reads back and updates a run', () => {
    store.createRun(run('01A', { stale_only: true, partition: '2024-05-01' }));
    expect(store.getRun('01A')).toEqual(run('01A', { stale_only: true, partition: '2024-05-01' }));
    store.updateRun('01A', { status: 'STARTED', pid: 42, hostname: 'h', tags: { a: 'b' }, stale_only: false });
    expect(store.getRun('01A')).toMatchObject({ status: 'STARTED', pid: 42, hostname: 'h', tags: { a: 'b' } });
    expect(store.getRun('01A')?.stale_only).toBe(false);
    expect(store.getRun('missing')).toBeUndefined();
  });

  it('rejects duplicate run ids and updates of unknown runs', () => {
    store.createRun(run('01A'));
    expect(() => store.createRun(run('01A'))).toThrow(expect.objectContaining({ code: 'STORE_RUN_EXISTS' }));
    expect(() => store.updateRun('nope', { status: 'SUCCESS' })).toThrow(StoreError);
    expect(() => store.heartbeat('nope', 'x')).toThrow(/Run 'nope' does not exist/);
  });

  it('pages runs newest first, filtered by status', () => {
    for (const id of ['01A', '01B', '01C', '01D', '01E']) {
      store.createRun(run(id, { status: id === '01C' ? 'SUCCESS' : 'QUEUED' }));
    }
    const first = store.listRuns({ limit: 2 });
    expect(first.items.map((r) => r.run_id)).toEqual(['01E', '01D']);
    expect(first.next).toBe('01D');
    const second = store.listRuns({ limit: 2, before: '01D' });
    expect(second.items.map((r) => r.run_id)).toEqual(['01C', '01B']);
    const last = store.listRuns({ limit: 2, before: '01B' });
    expect(last).toEqual({ items: [expect.objectContaining({ run_id: '01A' })], next: null });
    expect(store.listRuns({ limit: 10, status: 'SUCCESS' }).items.map((r) => r.run_id)).toEqual(['01C']);
    expect(store.listRuns({ limit: 3, status: 'QUEUED' }).next).toBe('01B');
  });

  it('lists active runs and records heartbeats', () => {
    store.createRun(run('01A', { status: 'STARTED' }));
    store.createRun(run('01B', { status: 'QUEUED' }));
    store.createRun(run('01C', { status: 'FAILURE', reason: 'boom' }));
    expect(store.activeRuns().map((r) => r.run_id)).toEqual(['01A', '01B']);
    store.heartbeat('01A', '2024-05-01T00:00:05.000Z');
    expect(store.getRun('01A')?.heartbeat_at).toBe('2024-05-01T00:00:05.000Z');
  });
});

describe('events', () => {
  it('appends a batch, returns increasing ids, and reads after an id', () => {
    const ids = store.appendEvents([event('r1'), event('r1', { type: 'STEP_END' }), event('r2')]);
    expect(ids).toHaveLength(3);
    expect(ids[1]! > ids[0]! && ids[2]! > ids[1]!).toBe(true);
    expect(store.appendEvents([])).toEqual([]);
    const all = store.getEvents('r1');
    expect(all).toEqual([
      { ...event('r1'), event_id: ids[0] },
      { ...event('r1', { type: 'STEP_END' }), event_id: ids[1] },
    ]);
    expect(store.getEvents('r1', { afterId: ids[0] }).map((e) => e.type)).toEqual(['STEP_END']);
    expect(store.getEvents('r1', { limit: 1 }).map((e) => e.event_id)).toEqual([ids[0]]);
  });
});

describe('materializations', () => {
  it('returns the latest per (asset, partition) for many keys at once', () => {
    store.recordMaterialization(mat('silver.a', '2024-05-01', { data_version: 'a1-old' }));
    store.recordMaterialization(mat('silver.a', '2024-05-02', { data_version: 'a2' }));
    store.recordMaterialization(mat('silver.b', '', { data_version: 'b-old' }));
    store.recordMaterialization(mat('silver.a', '2024-05-01', { data_version: 'a1-new' }));
    const bId = store.recordMaterialization(mat('silver.b', '', { data_version: 'b-new' }));
    store.recordMaterialization(mat('silver.c', '', { data_version: 'c' }));

    const latest = store.latestMaterializations(['silver.a', 'silver.b', 'silver.missing']);
    expect([...latest.keys()]).toEqual(['silver.a', 'silver.b']);
    expect(latest.get('silver.a')?.get('2024-05-01')?.data_version).toBe('a1-new');
    expect(latest.get('silver.a')?.get('2024-05-02')?.data_version).toBe('a2');
    expect(latest.get('silver.b')?.get('')).toEqual({ ...mat('silver.b', '', { data_version: 'b-new' }), id: bId });
    expect(store.latestMaterializations([])).toEqual(new Map());
  });

  it('reads heads: the latest records with only the source version of their metadata', () => {
    store.recordMaterialization(mat('bronze.f', 'p1', { data_version: 'old' }));
    store.recordMaterialization(
      mat('bronze.f', 'p1', { data_version: 'new', metadata: { source_version: md.text('sv-2'), rows: md.int(3) } }),
    );
    store.recordMaterialization(mat('bronze.f', 'p2', { data_version: 'x' }));
    store.recordMaterialization(mat('silver.run', 'p1', { run_id: 'r2' }));
    store.recordMaterialization(mat('silver.run', 'p2', { run_id: 'r3' }));
    const heads = store.latestMaterializationHeads(['bronze.f']).get('bronze.f')!;
    const full = store.latestMaterializations(['bronze.f']).get('bronze.f')!;
    expect([...heads.keys()]).toEqual([...full.keys()]);
    expect(heads.get('p1')).toEqual({ ...full.get('p1'), metadata: { source_version: md.text('sv-2') } });
    expect(heads.get('p2')).toEqual({ ...full.get('p2'), metadata: {} });
    expect(store.materializationsOfRun('r3').map((m) => [m.asset_key, m.partition_key])).toEqual([
      ['silver.run', 'p2'],
    ]);
  });

  it('pages history newest first, optionally by partition', () => {
    const ids = ['p1', 'p2', 'p1', 'p2', 'p1'].map((p) => store.recordMaterialization(mat('silver.a', p)));
    store.recordMaterialization(mat('silver.other', 'p1'));
    const first = store.materializationHistory('silver.a', { limit: 2 });
    expect(first.items.map((m) => m.id)).toEqual([ids[4], ids[3]]);
    expect(first.next).toBe(ids[3]);
    const rest = store.materializationHistory('silver.a', { limit: 10, before: ids[3] });
    expect(rest).toEqual({ items: [ids[2], ids[1], ids[0]].map((id) => expect.objectContaining({ id })), next: null });
    const p1 = store.materializationHistory('silver.a', { partition: 'p1', limit: 10 });
    expect(p1.items.map((m) => m.id)).toEqual([ids[4], ids[2], ids[0]]);
  });
});

describe('step attempts', () => {
  it('keeps one row per run step, updated in place, and the latest across runs', () => {
    store.recordStepAttempt(attempt('silver.a', 'p1', { run_id: 'r1', status: 'RUNNING', duration_ms: null }));
    store.recordStepAttempt(attempt('silver.a', 'p1', { run_id: 'r1', status: 'SUCCESS', attempts: 2 }));
    store.recordStepAttempt(attempt('silver.a', 'p2', { run_id: 'r1' }));
    store.recordStepAttempt(attempt('silver.a', 'p1', { run_id: 'r2', status: 'FAILURE', reason: 'oom' }));
    store.recordStepAttempt(attempt('silver.b', '', { run_id: 'r2' }));

    expect(store.stepAttemptsOfRun('r1')).toEqual([
      attempt('silver.a', 'p1', { run_id: 'r1', attempts: 2 }),
      attempt('silver.a', 'p2', { run_id: 'r1' }),
    ]);
    const latest = store.latestStepAttempts(['silver.a', 'silver.b']);
    expect(latest.get('silver.a')?.get('p1')).toMatchObject({ run_id: 'r2', status: 'FAILURE', reason: 'oom' });
    expect(latest.get('silver.a')?.get('p2')).toMatchObject({ run_id: 'r1', status: 'SUCCESS' });
    expect(latest.get('silver.b')?.size).toBe(1);
  });

  it('returns recent successful durations per asset, newest first', () => {
    const durations = [100, 200, 300, 400];
    durations.forEach((d, i) => {
      store.recordStepAttempt(attempt('silver.a', `p${i}`, { duration_ms: d }));
    });
    store.recordStepAttempt(attempt('silver.a', 'px', { status: 'FAILURE', duration_ms: 9999 }));
    store.recordStepAttempt(attempt('silver.b', '', { duration_ms: 50 }));
    const result = store.recentDurations(['silver.a', 'silver.b', 'silver.none'], 3);
    expect(result).toEqual(
      new Map([
        ['silver.a', [400, 300, 200]],
        ['silver.b', [50]],
      ]),
    );
    expect(store.recentDurations(['silver.a'], 0)).toEqual(new Map());
    expect(store.recentDurations(['silver.b', 'silver.a', 'silver.a'], 2)).toEqual(
      new Map([
        ['silver.a', [400, 300]],
        ['silver.b', [50]],
      ]),
    );
  });
});

describe('check evaluations', () => {
  it('returns the latest per (asset, partition, check) and per run', () => {
    store.recordCheckEvaluations([
      check('silver.a', 'not_null', { passed: false, failures: 3 }),
      check('silver.a', 'unique'),
      check('silver.a', 'not_null', { partition_key: 'p2' }),
    ]);
    store.recordCheckEvaluations([
      check('silver.a', 'not_null', { run_id: 'r2', passed: true, metadata: { n: md.int(1) } }),
    ]);
    store.recordCheckEvaluations([]);
    const latest = store.latestCheckEvaluations(['silver.a']);
    expect(latest.map((c) => [c.partition_key, c.check_name, c.run_id, c.passed])).toEqual([
      ['', 'not_null', 'r2', true],
      ['', 'unique', 'r1', true],
      ['p2', 'not_null', 'r1', true],
    ]);
    expect(latest[0]?.metadata).toEqual({ n: md.int(1) });
    const r1 = store.checkEvaluationsOfRun('r1');
    expect(r1).toHaveLength(3);
    expect(r1[0]).toEqual({ ...check('silver.a', 'not_null', { passed: false, failures: 3 }), id: r1[0]?.id });
  });
});

describe('compute logs', () => {
  it('records logs per run and updates the size of a known path', () => {
    const log = { run_id: 'r1', asset_key: 'silver.a', partition_key: '', path: 'logs/r1/a.out', stream: 'stdout' };
    store.recordComputeLog({ ...log, bytes: 10 });
    store.recordComputeLog({ ...log, path: 'logs/r1/a.err', stream: 'stderr', bytes: 0 });
    store.recordComputeLog({ ...log, bytes: 25 });
    expect(store.computeLogs('r1')).toEqual([
      { ...log, bytes: 25 },
      { ...log, path: 'logs/r1/a.err', stream: 'stderr', bytes: 0 },
    ]);
    expect(store.computeLogs('r2')).toEqual([]);
  });
});

describe('partition locks', () => {
  const t = (asset_key: string, partition_key: string) => ({ asset_key, partition_key });

  it('claims for one run and reports conflicts to another without claiming anything', () => {
    expect(store.claimPartitions('r1', [t('silver.a', 'p1'), t('silver.a', 'p2')])).toEqual([]);
    // Idempotent for the same run, also with overlap.
    expect(store.claimPartitions('r1', [t('silver.a', 'p2'), t('silver.a', 'p3')])).toEqual([]);

    const conflicts = store.claimPartitions('r2', [t('silver.a', 'p3'), t('silver.b', ''), t('silver.a', 'p1')]);
    expect(conflicts).toEqual([
      { ...t('silver.a', 'p1'), run_id: 'r1' },
      { ...t('silver.a', 'p3'), run_id: 'r1' },
    ]);
    // silver.b was free but must not have been claimed by the failed attempt.
    expect(store.claimPartitions('r3', [t('silver.b', '')])).toEqual([]);

    store.releasePartitions('r1');
    expect(store.claimPartitions('r2', [t('silver.a', 'p3'), t('silver.a', 'p1')])).toEqual([]);
    expect(store.claimPartitions('r2', [])).toEqual([]);
    // Duplicate targets in one call are fine.
    expect(store.claimPartitions('r4', [t('silver.x', ''), t('silver.x', '')])).toEqual([]);
  });
});

describe('child processes of steps', () => {
  const child = (run_id: string, pgid: number, partition_key = '') => ({
    run_id,
    pgid,
    asset_key: 'silver.a',
    partition_key,
    started_at: '2026-01-01T00:00:00.000Z',
  });

  it('records groups per run, reads them for some runs or all, and forgets one or all of a run', () => {
    store.recordChildProcess(child('r2', 30));
    store.recordChildProcess(child('r1', 20));
    store.recordChildProcess(child('r1', 10));
    store.recordChildProcess(child('r1', 10, 'p2')); // the same group again replaces it
    expect(store.childProcesses()).toEqual([child('r1', 10, 'p2'), child('r1', 20), child('r2', 30)]);
    expect(store.childProcesses(['r2', 'nope'])).toEqual([child('r2', 30)]);
    expect(store.childProcesses([])).toEqual([]);
    store.forgetChildProcesses('r1', 20);
    expect(store.childProcesses(['r1'])).toEqual([child('r1', 10, 'p2')]);
    store.forgetChildProcesses('r1');
    expect(store.childProcesses()).toEqual([child('r2', 30)]);
  });
});

describe('leases', () => {
  it('is exclusive until it expires, then can be taken over', () => {
    const t0 = new Date('2024-05-01T00:00:00Z');
    const at = (ms: number) => new Date(t0.getTime() + ms);
    expect(store.acquireLease('daemon', 'a', 1000, t0)).toBe(true);
    expect(store.acquireLease('daemon', 'b', 1000, at(500))).toBe(false);
    // The holder extends it.
    expect(store.acquireLease('daemon', 'a', 1000, at(900))).toBe(true);
    expect(store.acquireLease('daemon', 'b', 1000, at(1500))).toBe(false);
    // Expired (a's lease ran to 1900): b takes over, and a is now out.
    expect(store.acquireLease('daemon', 'b', 1000, at(1900))).toBe(true);
    expect(store.acquireLease('daemon', 'a', 1000, at(2000))).toBe(false);
    // Releasing by a non-holder does nothing; by the holder frees it.
    store.releaseLease('daemon', 'a');
    expect(store.acquireLease('daemon', 'a', 1000, at(2100))).toBe(false);
    store.releaseLease('daemon', 'b');
    expect(store.acquireLease('daemon', 'a', 1000, at(2100))).toBe(true);
    expect(store.acquireLease('other', 'b', 1000, at(2100))).toBe(true);
  });
});

describe('cursors', () => {
  it('gets and overwrites values', () => {
    expect(store.getCursor('sensor.s3')).toBeUndefined();
    store.setCursor('sensor.s3', 'a');
    store.setCursor('sensor.s3', 'b');
    expect(store.getCursor('sensor.s3')).toBe('b');
  });
});

describe('on a file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fairway-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates parent directories, uses WAL, and keeps data across reopen', () => {
    const path = defaultStorePath(join(dir, 'state', 'nested'));
    expect(path).toBe(join(dir, 'state', 'nested', 'fairway.db'));
    const a = openStore(path);
    expect(a.path).toBe(path);
    a.createRun(run('01A'));
    a.close();
    a.close();

    const raw = new Database(path);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    const b = openStore(path);
    expect(b.getRun('01A')?.run_id).toBe('01A');
    b.close();
  });

  it('names the table, row and column of a corrupted JSON column', () => {
    const path = join(dir, 'fairway.db');
    const a = openStore(path);
    const id = a.recordMaterialization(mat('silver.a', ''));
    a.createRun(run('01A'));
    const raw = new Database(path);
    raw.prepare('UPDATE materializations SET metadata = ? WHERE id = ?').run('{"rows":{"type":"nope"}}', id);
    raw.prepare('UPDATE runs SET tags = ? WHERE run_id = ?').run('{not json', '01A');
    raw.close();

    const error = (() => {
      try {
        a.latestMaterializations(['silver.a']);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'STORE_ROW_INVALID', details: { table: 'materializations', id } });
    expect((error as Error).message).toMatch(
      new RegExp(`Row id=${id} of table 'materializations' has an invalid 'metadata.rows(\\.type)?' column`),
    );
    expect(() => a.getRun('01A')).toThrow(
      /Row run_id=01A of table 'runs' has an invalid 'tags' column: not valid JSON/,
    );
    a.createRun(run('01B'));
    const again = new Database(path);
    again.prepare('UPDATE runs SET status = ? WHERE run_id = ?').run('WEIRD', '01B');
    again.close();
    expect(() => a.listRuns({ limit: 1 })).toThrow(/Row run_id=01B of table 'runs' has an invalid 'status' column/);
    a.close();
  });
});
