import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AssetDefinition,
  asset,
  dailyPartitions,
  defineAssets,
  type RunSummary,
  staticPartitions,
} from '../definitions/index.ts';
import { buildGraph } from '../graph/index.ts';
import { CHILD_GROUP_GRACE_MS, isGroupAlive, isProcessAlive, liveChildGroups, reapDeadRuns } from '../judging/index.ts';
import { openStore, type RunRecord, type Store } from '../storage/index.ts';
import { launchRun, PartitionBusyError, type RunContext } from './index.ts';
import { runRecordForTest } from './run-plan-for-test.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'fairway-launch-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

let store: Store;
beforeEach(() => {
  store = openStore(':memory:');
});
afterEach(() => store.close());

function project(assets: AssetDefinition[], onRunComplete?: (s: RunSummary) => void): RunContext {
  const defs = defineAssets({ assets, ...(onRunComplete ? { hooks: { onRunComplete } } : {}) });
  return { stateDir, store, defs, graph: buildGraph(defs), log: pino({ level: 'silent' }) };
}

const chain = (fail = false) => [
  asset({ key: 'bronze.a', codeVersion: 'v1', materialize: () => ({ dataVersion: 'a1' }) }),
  asset({
    key: 'silver.b',
    deps: ['bronze.a'],
    codeVersion: 'v1',
    materialize: () => {
      if (fail) throw new Error('bad rows');
      return {};
    },
  }),
];

function fakeRun(runId: string, patch: Partial<RunRecord> = {}): RunRecord {
  const run = runRecordForTest(runId, patch);
  store.createRun(run);
  return run;
}

/** A pid that surely belonged to a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' });
  expect(child.status).toBe(0);
  return child.pid!;
}

describe('launchRun with a --partition filter', () => {
  const days = dailyPartitions('d', '2026-01-01', '2026-01-20');
  let builds: Record<string, number>;
  let delivery = 1;
  const counted =
    (key: string, dataVersion: (p: string) => string = (p) => `${key}:${p}`) =>
    (ctx: { partitionKey: string }) => {
      builds[key] = (builds[key] ?? 0) + 1;
      return { dataVersion: dataVersion(ctx.partitionKey) };
    };
  const lake = () =>
    project([
      asset({
        key: 'bronze.d',
        codeVersion: 'v1',
        partitions: days,
        materialize: counted('bronze.d', (p) => `${p}#${delivery}`),
      }),
      asset({
        key: 'silver.d',
        deps: ['bronze.d'],
        codeVersion: 'v1',
        partitions: days,
        materialize: counted('silver.d'),
      }),
      asset({ key: 'gold.all', deps: ['silver.d'], codeVersion: 'v1', materialize: counted('gold.all', () => 'g') }),
    ]);
  beforeEach(() => {
    builds = {};
  });

  it('judges a day of 1:1 assets from that day alone, and an asset read whole from all its partitions', async () => {
    const ctx = lake();
    await launchRun(ctx, { selection: '*' });
    expect(builds).toEqual({ 'bronze.d': 20, 'silver.d': 20, 'gold.all': 1 });
    builds = {};
    // nothing changed: a day's stale-only run finds nothing to do, Gold included (it is read over all days)
    const quiet = await launchRun(ctx, { selection: '*', staleOnly: true, partition: 'd=2026-01-05' });
    expect(quiet.plan.steps).toEqual([]);
    expect(builds).toEqual({});
    // that day's Bronze changes: its Silver is stale, no other day is touched
    delivery = 2;
    await launchRun(ctx, { selection: 'bronze.d', partition: 'd=2026-01-05' });
    builds = {};
    const day = await launchRun(ctx, { selection: 'silver.d', staleOnly: true, partition: 'd=2026-01-05' });
    expect(day.plan.steps.map((s) => s.id)).toEqual(['silver.d[d=2026-01-05]']);
    expect(builds).toEqual({ 'silver.d': 1 });
  });

  it('plans a whole partition nothing lists yet, a day after the last listed one', async () => {
    const ctx = lake();
    const r = await launchRun(ctx, { selection: 'bronze.d', partition: 'd=2026-01-21' });
    expect(r.plan.steps.map((s) => s.id)).toEqual(['bronze.d[d=2026-01-21]']);
    expect(r.run.status).toBe('SUCCESS');
  });
});

describe('launchRun and rejected inputs', () => {
  it('runs everything, then fails naming what an asset refused; a run without that asset is untouched', async () => {
    let asked = 0;
    const ctx = project([
      asset({
        key: 'bronze.files',
        codeVersion: 'v1',
        materialize: () => ({ dataVersion: 'f1' }),
        rejectedInputs: async ({ runId }) => {
          asked++;
          return [
            { path: 'inbox/erin hills', reason: 'course_id must be a safe name', report: `rejected/${runId}` },
            { path: 'inbox/x/2025-02-30', reason: 'not a real day' },
          ];
        },
      }),
      asset({ key: 'gold.other', codeVersion: 'v1', materialize: () => ({}) }),
    ]);
    const r = await launchRun(ctx, { selection: '*' });
    expect(r.run.status).toBe('FAILURE');
    expect(r.run.reason).toBe(
      `2 input(s) rejected before any step: inbox/erin hills (course_id must be a safe name) and 1 more; reports in rejected/${r.run.run_id}. Fix or remove them and run again`,
    );
    expect(r.summary.steps.map((s) => [s.asset_key, s.status])).toEqual([
      ['bronze.files', 'SUCCESS'],
      ['gold.other', 'SUCCESS'],
    ]);
    const other = await launchRun(ctx, { selection: 'gold.other' });
    expect(other.run.status).toBe('SUCCESS');
    expect(asked).toBe(1);
  });
});

describe('launchRun', () => {
  it('with no data yet, skips what has nothing to build from and says so, without failing the run', async () => {
    const none = staticPartitions('store', async () => []);
    const defs = defineAssets({
      assets: [
        asset({ key: 'bronze.files', codeVersion: 'v1', partitions: none, materialize: () => ({}) }),
        asset({ key: 'gold.report', deps: ['bronze.files'], codeVersion: 'v1', materialize: () => ({}) }),
        asset({ key: 'gold.after', deps: ['gold.report'], codeVersion: 'v1', materialize: () => ({}) }),
      ],
      hooks: { noDataHint: 'Put files in the inbox.' },
    });
    const ctx: RunContext = { stateDir, store, defs, graph: buildGraph(defs), log: pino({ level: 'silent' }) };
    const { run, summary } = await launchRun(ctx, { selection: '*' });
    expect(run.status).toBe('SUCCESS');
    expect(run.reason).toBe(
      '2 step(s) skipped: upstream bronze.files has no partitions yet: no data to build from. Put files in the inbox.',
    );
    expect(summary.steps.map((s) => [s.asset_key, s.status])).toEqual([
      ['gold.report', 'SKIPPED'],
      ['gold.after', 'SKIPPED'],
    ]);
  });

  it("a run held back by an earlier run's failed gate fails naming it, not with an empty reason", async () => {
    const gated = [
      asset({ key: 'bronze.a', codeVersion: 'v1', materialize: () => ({ dataVersion: 'a1' }) }),
      asset({
        key: 'silver.b',
        deps: ['bronze.a'],
        codeVersion: 'v1',
        checks: [
          {
            name: 'no_nulls',
            scope: 'asset',
            blocking: true,
            severity: 'error',
            evaluate: () => ({ passed: false, failures: 2 }),
          },
        ],
        materialize: () => ({}),
      }),
      asset({ key: 'gold.c', deps: ['silver.b'], codeVersion: 'v1', materialize: () => ({}) }),
    ];
    const ctx = project(gated);
    const first = await launchRun(ctx, { selection: '*' });
    expect(first.summary.status).toBe('FAILURE');
    const second = await launchRun(ctx, { selection: 'gold.c' });
    expect(second.run.status).toBe('FAILURE');
    expect(second.run.reason).toMatch(
      /^1 step\(s\) skipped: upstream silver.b: its blocking check 'no_nulls' failed in run/,
    );
  });

  it('records materializations, attempts and events, writes summary.json and calls onRunComplete', async () => {
    const summaries: RunSummary[] = [];
    const ctx = project(chain(), (s) => void summaries.push(s));
    const { run, result, summary, summaryPath, plan } = await launchRun(ctx, { selection: '*' });

    expect(result.status).toBe('SUCCESS');
    expect(plan.steps.map((s) => s.id)).toEqual(['bronze.a', 'silver.b']);
    expect(run).toMatchObject({ status: 'SUCCESS', reason: null, pid: process.pid });
    expect(run.finished_at).not.toBeNull();
    expect(store.getRun(run.run_id)!.status).toBe('SUCCESS');

    const mats = store.latestMaterializations(['bronze.a', 'silver.b']);
    expect(mats.get('bronze.a')!.get('')).toMatchObject({ run_id: run.run_id, data_version: 'a1' });
    expect(mats.get('silver.b')!.get('')).toMatchObject({ run_id: run.run_id, input_versions: { 'bronze.a': 'a1' } });

    const attempts = store.stepAttemptsOfRun(run.run_id);
    expect(attempts.map((a) => [a.asset_key, a.status, a.attempts])).toEqual([
      ['bronze.a', 'SUCCESS', 1],
      ['silver.b', 'SUCCESS', 1],
    ]);

    const types = store.getEvents(run.run_id).map((e) => e.type);
    expect(types[0]).toBe('RUN_STARTED');
    expect(types.at(-1)).toBe('RUN_FINISHED');
    expect(types.filter((t) => t === 'MATERIALIZATION')).toHaveLength(2);

    expect(summaryPath).toBe(join(stateDir, 'runs', run.run_id, 'summary.json'));
    expect(JSON.parse(readFileSync(summaryPath, 'utf8'))).toEqual(summary);
    expect(summary).toMatchObject({ run_id: run.run_id, status: 'SUCCESS', selection: '*' });
    expect(summary.steps.map((s) => [s.asset_key, s.status, s.data_version])).toEqual([
      ['bronze.a', 'SUCCESS', 'a1'],
      ['silver.b', 'SUCCESS', mats.get('silver.b')!.get('')!.data_version],
    ]);
    expect(summaries).toEqual([summary]);
    // Locks are released once the run is over.
    expect(store.claimPartitions('other', [{ asset_key: 'bronze.a', partition_key: '' }])).toEqual([]);
  });

  it('records a failed run with its reason and still writes the summary', async () => {
    const { run, summary } = await launchRun(project(chain(true)), { selection: '*' });
    expect(run).toMatchObject({ status: 'FAILURE', reason: '1 step(s) failed: silver.b' });
    expect(summary.steps.find((s) => s.asset_key === 'silver.b')).toMatchObject({
      status: 'FAILURE',
      reason: 'bad rows',
    });
  });

  it('plans nothing with staleOnly after a successful run, counting the fresh assets', async () => {
    const ctx = project(chain());
    await launchRun(ctx, { selection: '*' });
    const again = await launchRun(ctx, { selection: '*', staleOnly: true });
    expect(again.plan.steps).toEqual([]);
    expect(again.plan.skippedFresh).toBe(2);
    expect(again.run.status).toBe('SUCCESS');
  });

  it('keeps the run going when onRunComplete throws', async () => {
    const ctx = project(chain(), () => {
      throw new Error('bucket unreachable');
    });
    const { run } = await launchRun(ctx, { selection: '*' });
    expect(run.status).toBe('SUCCESS');
  });

  it('gives up with PartitionBusyError naming the live run that holds a partition', async () => {
    const ctx = project(chain());
    fakeRun('01HOLDER');
    expect(store.claimPartitions('01HOLDER', [{ asset_key: 'silver.b', partition_key: '' }])).toEqual([]);

    const started = Date.now();
    const error = await launchRun(ctx, { selection: '*', lockWaitMs: 300, runId: '01WAITER' }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(error).toBeInstanceOf(PartitionBusyError);
    expect((error as PartitionBusyError).code).toBe('PARTITION_BUSY');
    expect((error as Error).message).toContain('Asset silver.b is being materialized by run 01HOLDER');
    expect(store.getRun('01WAITER')).toMatchObject({ status: 'FAILURE' });
    expect(store.getRun('01WAITER')!.reason).toContain('01HOLDER');
    expect(store.getRun('01HOLDER')!.status).toBe('STARTED');
    expect(store.latestMaterializations(['bronze.a']).size).toBe(0);
  });
});

describe('reapDeadRuns', () => {
  it('fails a run whose process died, fails its running attempts and releases its locks', () => {
    const pid = deadPid();
    fakeRun('01DEAD', { pid });
    store.recordStepAttempt({
      asset_key: 'bronze.a',
      partition_key: '',
      run_id: '01DEAD',
      status: 'RUNNING',
      started_at: new Date().toISOString(),
      finished_at: null,
      duration_ms: null,
      attempts: 1,
      reason: null,
    });
    expect(store.claimPartitions('01DEAD', [{ asset_key: 'bronze.a', partition_key: '' }])).toEqual([]);
    expect(store.claimPartitions('01OTHER', [{ asset_key: 'bronze.a', partition_key: '' }])).toHaveLength(1);

    const reaped = reapDeadRuns(store);

    expect(reaped.map((r) => [r.run_id, r.status])).toEqual([['01DEAD', 'FAILURE']]);
    const run = store.getRun('01DEAD')!;
    expect(run.status).toBe('FAILURE');
    expect(run.reason).toContain(`pid ${pid}`);
    expect(run.reason).toContain('died');
    expect(run.finished_at).not.toBeNull();
    const [attempt] = store.stepAttemptsOfRun('01DEAD');
    expect(attempt).toMatchObject({ status: 'FAILURE', reason: expect.stringContaining("the run's process died") });
    expect(store.getEvents('01DEAD').map((e) => e.type)).toEqual(['RUN_FINISHED']);
    expect(store.claimPartitions('01OTHER', [{ asset_key: 'bronze.a', partition_key: '' }])).toEqual([]);
    expect(reapDeadRuns(store)).toEqual([]);
  });

  it('leaves live runs alone: this process, and another live process with a fresh heartbeat', async () => {
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      fakeRun('01MINE');
      fakeRun('01ALIVE', { pid: sleeper.pid! });
      expect(reapDeadRuns(store)).toEqual([]);
      expect(store.getRun('01ALIVE')!.status).toBe('STARTED');
    } finally {
      sleeper.kill();
    }
  });

  describe('with the process groups its steps started', () => {
    const target = [{ asset_key: 'bronze.a', partition_key: '' }];
    const ctx = () => project(chain());
    /** A real process group that outlives the test's "dead run": `sleep` in a group of its own. */
    const liveGroup = () => {
      const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
      const exited = once(child, 'exit');
      const stop = () => {
        child.kill('SIGKILL');
        return exited;
      };
      return { pgid: child.pid!, stop };
    };
    const record = (runId: string, pgid: number) =>
      store.recordChildProcess({
        run_id: runId,
        pgid,
        asset_key: 'bronze.a',
        partition_key: '',
        started_at: new Date().toISOString(),
      });

    it('keeps the locks of a dead run while a group lives, refuses a re-run naming it, releases once it is gone', async () => {
      const group = liveGroup();
      try {
        fakeRun('01DEAD', { pid: deadPid() });
        expect(store.claimPartitions('01DEAD', target)).toEqual([]);
        record('01DEAD', group.pgid);

        expect(reapDeadRuns(store).map((r) => r.run_id)).toEqual(['01DEAD']);
        expect(store.getRun('01DEAD')!.status).toBe('FAILURE');
        expect(store.claimPartitions('01OTHER', target)).toEqual([{ ...target[0], run_id: '01DEAD' }]);
        expect(store.getEvents('01DEAD').at(-1)!.message).toContain(
          `process group(s) its steps started are gone: ${group.pgid}`,
        );

        const error = await launchRun(ctx(), { selection: 'bronze.a', lockWaitMs: 0, runId: '01RERUN' }).catch(
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(PartitionBusyError);
        expect((error as Error).message).toContain('Asset bronze.a is still locked by run 01DEAD');
        expect((error as Error).message).toContain(`process group ${group.pgid} (bronze.a, started`);
        expect((error as Error).message).toContain(`wait a few seconds for it to stop, or kill -- -${group.pgid}`);
        expect(reapDeadRuns(store)).toEqual([]); // later reaps keep holding while it lives
        expect(store.claimPartitions('01OTHER', target)).toHaveLength(1);

        await group.stop();
        expect(isProcessAlive(-group.pgid)).toBe(false);
        const rerun = await launchRun(ctx(), { selection: 'bronze.a', lockWaitMs: 0, runId: '01RERUN2' });
        expect(rerun.run.status).toBe('SUCCESS');
        expect(store.childProcesses()).toEqual([]);
      } finally {
        await group.stop();
      }
    });

    it('records the groups a step reports through ctx.onChildProcess until it says they exited', async () => {
      const during: unknown[] = [];
      const reporting = asset({
        key: 'bronze.a',
        codeVersion: 'v1',
        materialize: (c) => {
          const forget = c.onChildProcess!(4242);
          during.push(...store.childProcesses());
          forget();
          forget();
          return {};
        },
      });
      const { run } = await launchRun(project([reporting]), { selection: '*', runId: '01REPORTS' });
      expect(run.status).toBe('SUCCESS');
      expect(during).toEqual([
        { run_id: '01REPORTS', pgid: 4242, asset_key: 'bronze.a', partition_key: '', started_at: expect.any(String) },
      ]);
      expect(store.childProcesses()).toEqual([]);
      expect(store.getEvents('01REPORTS').filter((e) => e.message.startsWith('process group 4242'))).toHaveLength(2);
    });

    it('counts a group of zombies as gone (an orphan waits as one until init reaps it, maybe never)', async () => {
      // the child leads a group of its own and exits; its parent never waits for it
      const script = [
        'import os, sys, time',
        'pid = os.fork()',
        'if pid == 0:',
        '    os.setpgid(0, 0)',
        '    os._exit(0)',
        'print(pid, flush=True)',
        'time.sleep(30)',
      ].join('\n');
      const parent = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'] });
      try {
        const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
        const pgid = Number(line.toString().trim());
        let zombie = false;
        for (let i = 0; i < 50 && !zombie; i++) {
          zombie = readFileSync(`/proc/${pgid}/stat`, 'utf8').includes(') Z ');
          if (!zombie) await new Promise((r) => setTimeout(r, 20));
        }
        expect(zombie).toBe(true);
        expect(isProcessAlive(-pgid)).toBe(true); // signal 0 still finds it
        expect(isGroupAlive(pgid)).toBe(false);
      } finally {
        parent.kill('SIGKILL');
      }
    });

    it('releases at once when the recorded group is already gone', () => {
      fakeRun('01DEAD', { pid: deadPid() });
      expect(store.claimPartitions('01DEAD', target)).toEqual([]);
      record('01DEAD', deadPid());
      reapDeadRuns(store);
      expect(store.claimPartitions('01OTHER', target)).toEqual([]);
      expect(store.childProcesses()).toEqual([]);
    });

    it('leaves the groups of a live run alone, and trusts no group past the grace (its id may be reused)', async () => {
      const group = liveGroup();
      try {
        fakeRun('01MINE');
        record('01MINE', group.pgid);
        expect(reapDeadRuns(store)).toEqual([]);
        expect(store.childProcesses(['01MINE'])).toHaveLength(1);

        const lastBeat = new Date(Date.now() - CHILD_GROUP_GRACE_MS - 1_000).toISOString();
        fakeRun('01OLD', { pid: deadPid(), heartbeat_at: lastBeat });
        expect(store.claimPartitions('01OLD', target)).toEqual([]);
        record('01OLD', group.pgid);
        expect(liveChildGroups(store.getRun('01OLD')!, store.childProcesses(['01OLD']))).toEqual([]);
        reapDeadRuns(store);
        expect(store.claimPartitions('01OTHER', target)).toEqual([]);
        expect(store.childProcesses().map((c) => c.run_id)).toEqual(['01MINE']);
      } finally {
        await group.stop();
      }
    });

    it('a step that ended while its child still runs: the run stops the group before it frees the locks', async () => {
      // a child that ignores SIGTERM, reported by a step that returns (times out) without waiting for it
      let pgid = 0;
      const stubborn = asset({
        key: 'bronze.a',
        codeVersion: 'v1',
        timeoutMs: 300,
        materialize: (c) => {
          const child = spawn('sh', ['-c', 'trap "" TERM; sleep 30'], { detached: true, stdio: 'ignore' });
          child.unref();
          pgid = child.pid!;
          c.onChildProcess?.(pgid);
          return new Promise(() => {}); // runs into its timeout; the child lives on
        },
      });
      process.env.FAIRWAY_CHILD_STOP_GRACE_S = '1';
      try {
        const started = Date.now();
        const { run } = await launchRun(project([stubborn]), { selection: 'bronze.a', runId: '01STUBBORN' });
        expect(run.status).toBe('FAILURE');
        expect(isGroupAlive(pgid)).toBe(false); // stopped (SIGKILL after the 1 s grace) before the run returned
        expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
        expect(store.claimPartitions('01OTHER', target)).toEqual([]); // and only then were the locks free
      } finally {
        delete process.env.FAIRWAY_CHILD_STOP_GRACE_S;
        if (pgid && isGroupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
      }
    });
  });

  it('fails a run on another host whose heartbeat is stale', () => {
    const old = new Date(Date.now() - 5 * 60_000).toISOString();
    fakeRun('01REMOTE', { hostname: 'elsewhere', pid: 1, heartbeat_at: old });
    fakeRun('01REMOTE_FRESH', { hostname: 'elsewhere', pid: 1 });
    const reaped = reapDeadRuns(store);
    expect(reaped.map((r) => r.run_id)).toEqual(['01REMOTE']);
    expect(store.getRun('01REMOTE')!.reason).toMatch(/^no heartbeat for 300 s/);
  });
});
