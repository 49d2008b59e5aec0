import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DAEMON_LEASE } from '../../framework/scheduling/index.ts';
import { defaultStorePath, openStore, type Store } from '../../framework/storage/index.ts';
import { fairway, repoRoot } from './helpers.ts';

/**
 * The example graph with freshness policies, and a source version read from a file (the "inbox").
 * `LAG_MINUTES` sets the lag windows; `HOLD_AFTER_OBSERVATIONS=n` makes every `observe` after the n-th
 * hang (and write `held`): a daemon stuck after recording its decisions, while launching its runs.
 */
function scheduledExample() {
  const dir = mkdtempSync(join(tmpdir(), 'fairway-scheduling-'));
  const hello = join(repoRoot, 'examples', 'hello', 'definitions.ts');
  const framework = join(repoRoot, 'framework', 'definitions', 'index.ts');
  const definitions = join(dir, 'definitions.ts');
  writeFileSync(join(dir, 'source.txt'), 'v1');
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(
    definitions,
    `import { readFileSync, writeFileSync } from 'node:fs';
import { defineAssets } from '${framework}';
import { cleanOrders, ordersReport, ordersSummary, rawOrders } from '${hello}';
const lag = { maxLag: { warnAfterMinutes: 0, failAfterMinutes: Number(process.env.LAG_MINUTES ?? 1) } };
let observations = 0;
const observe = async () => {
  if (++observations > Number(process.env.HOLD_AFTER_OBSERVATIONS ?? Infinity)) {
    writeFileSync('${join(dir, 'held')}', String(process.pid));
    await new Promise(() => setInterval(() => {}, 60_000));
  }
  return readFileSync('${join(dir, 'source.txt')}', 'utf8');
};
export default defineAssets({
  assets: [
    { ...rawOrders, observe },
    { ...cleanOrders, freshness: lag },
    { ...ordersSummary, freshness: lag },
    ordersReport,
  ],
});
`,
  );
  const stateDir = join(dir, '.fairway');
  const run = (args: string[], env: Record<string, string> = {}, opts: { forceKillAfterDelay?: false } = {}) =>
    fairway(['--definitions', definitions, '--state-dir', stateDir, ...args], {
      cwd: dir,
      env: { HELLO_DATA_DIR: join(dir, 'data'), ...env },
      ...opts,
    });
  /** Reads the state database directly (the ticks and decisions tables have no CLI). */
  const inStore = <T>(read: (store: Store) => T): T | undefined => {
    if (!existsSync(defaultStorePath(stateDir))) return undefined;
    const store = openStore(defaultStorePath(stateDir));
    try {
      return read(store);
    } finally {
      store.close();
    }
  };
  const runs = async () => {
    const r = await run(['runs', '--json', '--limit', '100']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    return (
      JSON.parse(String(r.stdout)) as {
        items: {
          run_id: string;
          status: string;
          reason: string | null;
          plan: { asset_key: string; partition_key: string }[];
        }[];
      }
    ).items;
  };
  return { dir, definitions, stateDir, run, inStore, runs };
}

/** Polls `probe` every 100 ms until it returns something truthy. */
async function until<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 120_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** No asset partition is in the plan of two runs. */
function expectNoDuplicateSteps(runs: { plan: { asset_key: string; partition_key: string }[] }[]) {
  const steps = runs.flatMap((r) => r.plan.map((s) => `${s.asset_key}|${s.partition_key}`));
  expect(steps.length).toBeGreaterThan(0);
  expect(new Set(steps).size).toBe(steps.length);
}

describe('fairway daemon on the example graph', () => {
  const p = scheduledExample();
  const tick = async (env: Record<string, string> = {}) => {
    const r = await p.run(['daemon', '--once', '--interval', '1', '--settle', '0'], env);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    return String(r.stderr);
  };
  /** Waits until a new one-second tick window starts, so the next `--once` is a new tick, not a skipped one. */
  const nextTickWindow = async () => {
    const last = p.inStore((s) => s.listTicks({ limit: 1 }).items[0]?.tick_id) ?? 0;
    await until('the next tick window', () => Date.now() >= last + 1_000);
    return last;
  };

  it('plans upstream partitions first, then the all-partition downstream, then nothing', async () => {
    const first = await tick();
    // The most urgent target pulls in its stale upstream partitions: one run per store.
    expect(first).toMatch(
      /launch +silver\.clean_orders \[store=north\] run \w+: needed by gold\.orders_summary, which would be overdue/,
    );
    expect(first).toMatch(/launch +bronze\.raw_orders \[store=south\] run \w+: needed by gold\.orders_summary/);
    expect(first).toMatch(/wait +gold\.orders_summary: .*its upstream steps run first/);
    expect((await p.runs()).map((r) => r.status)).toEqual(['SUCCESS', 'SUCCESS']);

    await nextTickWindow();
    const second = await tick();
    expect(second).toMatch(/launch +gold\.orders_summary run/);
    expect((await p.runs()).length).toBe(3);

    const before = await nextTickWindow();
    expect(await tick()).not.toMatch(/launch/);
    // That tick did run (a new tick id, not a skipped one) and decided nothing needs a run.
    const last = p.inStore((s) => s.listTicks({ limit: 1 }).items[0])!;
    expect(last.tick_id).toBeGreaterThan(before);
    expect(last.status).toBe('SUCCESS');
    expect(p.inStore((s) => s.tickDecisions([last.tick_id]).filter((d) => d.action === 'launch'))).toEqual([]);
    expect((await p.runs()).length).toBe(3);

    const status = await p.run(['status']);
    expect(String(status.stdout)).toMatch(/FRESHNESS/);
    expect(String(status.stdout)).toMatch(/silver\.clean_orders +FRESH +FRESH/);
  });

  it('picks up a changed source and explains the freshness in why', async () => {
    writeFileSync(join(p.dir, 'source.txt'), 'v2');
    // A lag of 0.6 s: due at once whatever the recorded step durations are (under load they vary), so
    // the daemon must launch on this tick instead of deferring.
    const env = { LAG_MINUTES: '0.01' };
    const why = await p.run(['why', 'silver.clean_orders', '--partition', 'store=north'], env);
    expect(String(why.stdout)).toMatch(
      /freshness: (FRESH|WARN|OVERDUE), .*source data of 'bronze\.raw_orders' \[store=north\] arrived/,
    );
    await nextTickWindow();
    const t = await tick(env);
    expect(t).toMatch(
      /launch +bronze\.raw_orders \[store=north\] run \w+: needed by .*source data of 'bronze\.raw_orders' \[store=north\] arrived/,
    );
    // Both stores read the one source file: each gets one run.
    const all = await p.runs();
    expect(all.length).toBe(5);
    expect(all.every((r) => r.status === 'SUCCESS')).toBe(true);
    expectNoDuplicateSteps(all.slice(0, 2));
  });
});

describe('a real daemon process killed and restarted', () => {
  it('SIGKILL after a tick recorded its decisions, before its runs existed: the restart resumes it, each run once', async () => {
    const p = scheduledExample();
    const day = 86_400_000;
    // The restart must land in the same tick (one per UTC day here): keep clear of midnight.
    await until('a tick window with room for a kill and a restart', () => day - (Date.now() % day) > 5 * 60_000, day);
    const args = ['daemon', '--interval', '86400', '--settle', '0'];
    const daemon = p.run(args, { HOLD_AFTER_OBSERVATIONS: '2' });
    // Two observations plan the tick; the launches observe again and hang there.
    await until('the daemon to hang while launching its runs', () => existsSync(join(p.dir, 'held')));
    const killed = p.inStore((s) => {
      const tick = s.listTicks({ limit: 1 }).items[0]!;
      return { tick, decisions: s.tickDecisions([tick.tick_id]), runs: s.listRuns({ limit: 10 }).items };
    })!;
    expect(killed.tick.status).toBe('STARTED');
    expect(killed.runs).toEqual([]);
    const recorded = killed.decisions.filter((d) => d.action === 'launch');
    const runIds = [...new Set(recorded.map((d) => d.run_id!))].sort();
    expect(runIds.length).toBe(2); // one run per store
    expect(recorded.length).toBe(4); // bronze and silver of each store

    daemon.kill('SIGKILL');
    expect((await daemon).signal).toBe('SIGKILL');

    const restart = await p.run(['daemon', '--once', '--interval', '86400', '--settle', '0']);
    expect(restart.exitCode, String(restart.stderr)).toBe(0);
    expect(String(restart.stderr)).toMatch(/daemon lease taken over from a daemon process that died/);
    expect(String(restart.stderr)).toMatch(/daemon tick resumed after a crash/);

    const after = await p.runs();
    expect(after.map((r) => r.run_id).sort()).toEqual(runIds); // the recorded ids, nothing else
    expect(after.map((r) => r.status)).toEqual(['SUCCESS', 'SUCCESS']);
    expectNoDuplicateSteps(after);
    const tick = p.inStore((s) => s.listTicks({ limit: 5 }).items)!;
    expect(tick.length).toBe(1);
    expect(tick[0]!).toMatchObject({ tick_id: killed.tick.tick_id, status: 'SUCCESS' });
    expect((tick[0]!.evaluated.relaunched as string[]).sort()).toEqual(runIds);

    // The same tick again is done: nothing more is launched.
    const again = await p.run(['daemon', '--once', '--interval', '86400', '--settle', '0']);
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect((await p.runs()).length).toBe(2);
  });

  it('SIGKILL while its runs execute: they are reaped as FAILED and not launched again by the restart', async () => {
    const p = scheduledExample();
    const daemon = p.run(['daemon', '--interval', '3600', '--settle', '0'], { HELLO_SLOW_MS: '120000' });
    const started = await until('both runs to be executing, their tick done', () =>
      p.inStore((s) => {
        const active = s.listRuns({ limit: 10 }).items.filter((r) => r.status === 'STARTED');
        const tickDone = s.listTicks({ limit: 1 }).items[0]?.status === 'SUCCESS';
        return active.length === 2 && tickDone ? active : undefined;
      }),
    );
    daemon.kill('SIGKILL');
    expect((await daemon).signal).toBe('SIGKILL');

    // A new tick: it reaps the dead runs, and backs off instead of launching their steps again at once.
    const restart = await p.run(['daemon', '--once', '--interval', '1', '--settle', '0']);
    expect(restart.exitCode, String(restart.stderr)).toBe(0);
    expect(String(restart.stderr)).not.toMatch(/ launch /);
    expect(String(restart.stderr)).toMatch(
      /wait +.*launched 1 time\(s\) without becoming fresh \(run \w+ failed: .*died/,
    );
    const after = await p.runs();
    expect(after.map((r) => r.run_id).sort()).toEqual(started.map((r) => r.run_id).sort());
    for (const r of after) {
      expect(r.status).toBe('FAILURE');
      expect(r.reason).toMatch(/died without finishing/);
    }
    expectNoDuplicateSteps(after);
    expect(p.inStore((s) => s.listTicks({ limit: 5 }).items.map((t) => t.status))).toEqual(['SUCCESS', 'SUCCESS']);
  });

  it('SIGTERM: finishes the current tick and its runs, hands the lease back and exits 0', async () => {
    const p = scheduledExample();
    const daemon = p.run(
      ['daemon', '--interval', '3600', '--settle', '0'],
      { HELLO_SLOW_MS: '2000' },
      {
        forceKillAfterDelay: false,
      },
    );
    await until('a run to be executing', () =>
      p.inStore((s) => s.listRuns({ limit: 10 }).items.some((r) => r.status === 'STARTED')),
    );
    daemon.kill('SIGTERM');
    const stopped = await daemon;
    expect(stopped.exitCode, String(stopped.stderr)).toBe(0);
    expect(String(stopped.stderr)).toMatch(/stopping the daemon/);
    const after = await p.runs();
    expect(after.map((r) => r.status)).toEqual(['SUCCESS', 'SUCCESS']);
    expectNoDuplicateSteps(after);
    expect(p.inStore((s) => s.listTicks({ limit: 5 }).items.map((t) => t.status))).toEqual(['SUCCESS']);
    expect(p.inStore((s) => s.leaseHolder(DAEMON_LEASE))).toBeUndefined();
  });
});
