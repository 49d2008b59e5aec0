import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { asset } from '../definitions/index.ts';
import { isGroupAlive, reapDeadRuns } from '../judging/index.ts';
import { defaultStorePath, openStore } from '../storage/index.ts';
import { runPlanForTest, runRecordForTest } from './run-plan-for-test.ts';
import { stopBlockedRun } from './stop-blocked-run.ts';

const dir = mkdtempSync(join(tmpdir(), 'fairway-watchdog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FIXTURE = fileURLToPath(new URL('./fixtures/busy-loop-run.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the fixture in its own process: the watchdog ends the whole process, which must not be vitest's. */
async function busyLoopRun(stateDir: string, timeoutMs: number, busyMs: number, child = false) {
  const started = Date.now();
  const p = spawn(
    process.execPath,
    ['--import', 'tsx', FIXTURE, stateDir, String(timeoutMs), String(busyMs), ...(child ? ['--child'] : [])],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (c: Buffer) => (stdout += String(c)));
  p.stderr.on('data', (c: Buffer) => (stderr += String(c)));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((ok) =>
    p.on('close', (c, s) => ok([c, s])),
  );
  return { code, signal, stdout, stderr, ms: Date.now() - started };
}

describe('a step that blocks the event loop past its timeout', () => {
  it('stops the process, records the step and the run FAILURE with the cause, stops its children and frees its locks', async () => {
    const stateDir = join(dir, 'stopped');
    // the busy loop would last 20 s; its timeout is 300 ms
    const r = await busyLoopRun(stateDir, 300, 20_000, true);
    expect(r.signal, r.stderr).toBe('SIGKILL'); // exit code 137, as a shell reports it
    expect(r.ms).toBeLessThan(15_000);
    const cause =
      'timed out after 300 ms; its materializer blocked the event loop (synchronous code), so Fairway stopped the process; make it async or move the work to a subprocess';
    expect(r.stderr).toContain(`error: bronze.busy [store=north] ${cause}. Run `);
    expect(r.stderr).toContain('is recorded as FAILURE. Exit code 137.');
    const pgid = Number(/child (\d+)/.exec(r.stdout)?.[1]);
    expect(pgid).toBeGreaterThan(0);

    const store = openStore(defaultStorePath(stateDir));
    try {
      const [run] = store.listRuns({ limit: 10 }).items;
      expect(run).toMatchObject({ status: 'FAILURE', reason: `bronze.busy [store=north] ${cause}` });
      expect(run!.finished_at).not.toBeNull();
      expect(store.stepAttemptsOfRun(run!.run_id)).toMatchObject([
        { asset_key: 'bronze.busy', partition_key: 'store=north', status: 'FAILURE', reason: cause },
      ]);
      // the step's child group is stopped (SIGTERMed by the watchdog, else by its own watchdog process)
      const killedAt = Date.now();
      while (isGroupAlive(pgid) && Date.now() - killedAt < 10_000) await new Promise((ok) => setTimeout(ok, 100));
      expect(isGroupAlive(pgid)).toBe(false);

      // its partition is free once the group is gone: the next command's reap releases it
      reapDeadRuns(store);
      const target = [{ asset_key: 'bronze.busy', partition_key: 'store=north' }];
      expect(store.claimPartitions('probe', target)).toEqual([]);
      store.releasePartitions('probe');
    } finally {
      store.close();
    }
  });

  it('fails a step that returns past its timeout before the watchdog acts', async () => {
    const busy = (ms: number) => () => {
      const end = Date.now() + ms;
      while (Date.now() < end) {}
      return {};
    };
    const r = await runPlanForTest(
      [asset({ key: 'bronze.busy', codeVersion: 'v1', timeoutMs: 100, materialize: busy(400) })],
      dir,
    );
    expect(r.status).toEqual({ 'bronze.busy': 'FAILURE' });
    expect(r.reason('bronze.busy')).toMatch(
      /^timed out after 100 ms: it returned after \d+ ms, having blocked the event loop \(synchronous code\) past its timeout; make it async or move the work to a subprocess$/,
    );
    expect(r.events.some((e) => e.type === 'MATERIALIZATION')).toBe(false);
  });

  it('records the step that set the watchdog off, the others past their deadline and the rest apart', () => {
    const path = join(dir, 'records.db');
    const store = openStore(path);
    const targets = ['a', 'b', 'c'].map((p) => ({ asset_key: 'bronze.x', partition_key: `p=${p}` }));
    const run = runRecordForTest('r1', { plan: targets });
    store.createRun(run);
    expect(store.claimPartitions('r1', targets)).toEqual([]);
    for (const t of targets) {
      const attempt = { ...t, run_id: 'r1', started_at: run.started_at, finished_at: null, duration_ms: null };
      store.recordStepAttempt({ ...attempt, attempts: 1, status: 'RUNNING', reason: null });
    }
    const blocked = (p: string) => ({
      members: [{ asset_key: 'bronze.x', partition_key: `p=${p}` }],
      stepReason: `${p} blocked it`,
      alsoLateReason: `${p} ran out of time`,
      runReason: `bronze.x [p=${p}] blocked it`,
    });
    expect(stopBlockedRun(path, 'r1', [blocked('a'), blocked('b')])).toBe(
      'bronze.x [p=a] blocked it (1 more step(s) ran out of time meanwhile)',
    );
    try {
      expect(store.getRun('r1')).toMatchObject({
        status: 'FAILURE',
        reason: 'bronze.x [p=a] blocked it (1 more step(s) ran out of time meanwhile)',
      });
      expect(store.stepAttemptsOfRun('r1').map((a) => [a.partition_key, a.status, a.reason])).toEqual([
        ['p=a', 'FAILURE', 'a blocked it'],
        ['p=b', 'FAILURE', 'b ran out of time'],
        [
          'p=c',
          'FAILURE',
          "the run's process was stopped: bronze.x [p=a] blocked it (1 more step(s) ran out of time meanwhile)",
        ],
      ]);
      expect(store.claimPartitions('probe', targets)).toEqual([]); // no child group: released at once
    } finally {
      store.close();
    }
  });
});
