import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ulid } from 'ulid';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  asset,
  dailyPartitions,
  defineAssets,
  type FreshnessPolicy,
  multiPartitions,
  staticPartitions,
} from '../definitions/index.ts';
import type { RunContext } from '../execution/index.ts';
import { loadFreshness } from '../freshness/index.ts';
import { buildGraph } from '../graph/index.ts';
import { openStore, type Store } from '../storage/index.ts';
import {
  DAEMON_LEASE,
  Daemon,
  DEFAULT_SCHEDULER_OPTIONS,
  runTick,
  type SchedulerOptions,
  type TickOutcome,
} from './index.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'fairway-daemon-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const MIN = 60_000;
const DAY = '2026-11-24';
const at = (hhmm: string) => new Date(`${DAY}T${hhmm}:00.000Z`);
/** Simulated step durations: a step moves the (fake) clock forward, as if it took that long. */
const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);

const silverLag: FreshnessPolicy = { maxLag: { warnAfterMinutes: 20, failAfterMinutes: 30 } };
// Gold covers "yesterday" (data that arrived before midnight Chicago time) by 06:00 Chicago time.
const goldByMorning: FreshnessPolicy = {
  deadline: { cron: '0 6 * * *', timezone: 'America/Chicago', dataCutoffMinutes: 360, warnBeforeMinutes: 60 },
};

/** bronze.files (one partition per inbox day, observed) → silver.clean (identity) → gold.report (all). */
function lakehouse(store: Store, opts: { failSilver?: () => boolean } = {}) {
  const inbox = new Map<string, string>();
  const counts = new Map<string, number>();
  const count = (id: string) => counts.set(id, (counts.get(id) ?? 0) + 1);
  const days = staticPartitions('day', () => [...inbox.keys()].sort());
  const files = asset({
    key: 'bronze.files',
    partitions: days,
    codeVersion: 'c',
    observe: ({ partition }) => inbox.get(partition.day!),
    materialize: (ctx) => {
      advance(1 * MIN);
      count(`bronze.files[${ctx.partitionKey}]`);
      return { dataVersion: inbox.get(ctx.partition.day!)! };
    },
  });
  const clean = asset({
    key: 'silver.clean',
    deps: [files],
    partitions: days,
    codeVersion: 'c',
    freshness: silverLag,
    materialize: (ctx) => {
      advance(3 * MIN);
      if (opts.failSilver?.()) throw new Error('bad rows');
      count(`silver.clean[${ctx.partitionKey}]`);
      return { dataVersion: `clean-${ctx.upstream['bronze.files']!.dataVersion}` };
    },
  });
  const report = asset({
    key: 'gold.report',
    deps: [clean],
    codeVersion: 'c',
    freshness: goldByMorning,
    materialize: () => {
      advance(2 * MIN);
      count('gold.report');
      return {};
    },
  });
  const defs = defineAssets({ assets: [files, clean, report] });
  const ctx: RunContext = { stateDir, store, defs, graph: buildGraph(defs), log: pino({ level: 'silent' }) };
  return { ctx, inbox, counts };
}

const options: SchedulerOptions = { ...DEFAULT_SCHEDULER_OPTIONS, intervalMs: 5 * MIN, settleMs: MIN };

async function tickAndWait(ctx: RunContext, now: Date, extra: Partial<Parameters<typeof runTick>[1]> = {}) {
  const outcome = await runTick(ctx, { now, holder: 'test', options, ...extra });
  await Promise.allSettled(outcome.launched.map((l) => l.result));
  return outcome;
}

let store: Store;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(at('00:00'));
  store = openStore(':memory:');
});
afterEach(() => {
  store.close();
  vi.useRealTimers();
});

describe('daemon over a simulated day', () => {
  it('meets every policy, materializes only what is needed, and explains each run', async () => {
    const { ctx, inbox, counts } = lakehouse(store);
    const arrivals: [string, string, string][] = [
      ['01:02', 'd1', 'a'],
      ['01:14', 'd1', 'b'], // rewritten inside the lag window: one materialization covers both
      ['09:00', 'd2', 'a'],
      ['14:02', 'd3', 'part'], // still being written at the next tick
      ['14:07', 'd3', 'final'],
      ['20:00', 'd1', 'c'], // a late correction of an old day
    ];
    const outcomes: TickOutcome[] = [];
    const overdue: string[] = [];
    for (let t = at('00:00').getTime(); t < at('00:00').getTime() + 24 * 60 * MIN; t += options.intervalMs) {
      // Files written between ticks land at their own minute.
      for (const [hhmm, day, version] of arrivals) {
        const ms = at(hhmm).getTime();
        if (ms > t - options.intervalMs && ms <= t) inbox.set(day, version);
      }
      vi.setSystemTime(Math.max(t, Date.now()));
      outcomes.push(await tickAndWait(ctx, new Date()));
      const { freshness } = await loadFreshness(ctx, new Date());
      for (const [key, byPartition] of freshness)
        for (const [p, f] of byPartition)
          if (f.state === 'OVERDUE') overdue.push(`${key}[${p}] at ${new Date().toISOString()}: ${f.text}`);
    }

    expect(overdue).toEqual([]);
    expect(Object.fromEntries(counts)).toEqual({
      'bronze.files[day=d1]': 2,
      'silver.clean[day=d1]': 2,
      'bronze.files[day=d2]': 1,
      'silver.clean[day=d2]': 1,
      'bronze.files[day=d3]': 1,
      'silver.clean[day=d3]': 1,
      'gold.report': 1,
    });
    // The partially written file was acted on once, at its final content.
    const d3 = store.latestMaterializations(['bronze.files']).get('bronze.files')!.get('day=d3')!;
    expect(d3.metadata.source_version).toEqual({ type: 'text', value: 'final' });

    // Every run is explained by the launch decisions recorded before it.
    const runs = store.listRuns({ limit: 100 }).items;
    expect(runs.length).toBe(5);
    const decisions = store.tickDecisions(outcomes.map((o) => o.tick_id));
    for (const run of runs) {
      expect(run.status).toBe('SUCCESS');
      const why = decisions.filter((d) => d.run_id === run.run_id);
      expect(why.map((d) => d.action)).toEqual(why.map(() => 'launch'));
      expect(why.map((d) => `${d.asset_key}|${d.partition_key}`).sort()).toEqual(
        run.plan.map((s) => `${s.asset_key}|${s.partition_key}`).sort(),
      );
    }
    const gold = decisions.find((d) => d.asset_key === 'gold.report' && d.action === 'launch')!;
    // Remembered across ticks: Gold's lag counts from the file's arrival, not from Silver catching up.
    expect(gold.reason).toBe(
      "gold.report would be overdue at 2026-11-24T12:00Z (source data of 'bronze.files' [day=d1] arrived at 2026-11-24T01:05Z); expected duration 1m",
    );
    const silver = decisions.find((d) => d.asset_key === 'silver.clean' && d.action === 'launch')!;
    expect(silver.reason).toMatch(
      /^silver\.clean \[day=d1\] would be overdue at 2026-11-24T01:35Z \(source data of 'bronze\.files' \[day=d1\] arrived at 2026-11-24T01:05Z\); expected duration /,
    );
    expect(decisions.find((d) => d.asset_key === 'bronze.files' && d.action === 'launch')!.reason).toMatch(
      /^needed by silver\.clean \[day=d1\], which would be overdue at 2026-11-24T01:35Z/,
    );
    // Lazy: before launching, the daemon deferred with the time it would start by.
    expect(decisions.some((d) => d.action === 'defer' && /starting by/.test(d.reason))).toBe(true);
    // Every tick was recorded with what it evaluated.
    expect(store.listTicks({ limit: 1000 }).items.length).toBe(outcomes.length);
  });

  it('waits for a source file to settle before materializing it', async () => {
    const { ctx, inbox, counts } = lakehouse(store);
    inbox.set('d1', 'v1');
    await tickAndWait(ctx, at('00:00')); // first seen: the lag clock starts
    vi.setSystemTime(at('00:25'));
    inbox.set('d1', 'v2'); // still being written when the daemon would start
    const waiting = await tickAndWait(ctx, at('00:25'), { options: { ...options, settleMs: 2 * MIN } });
    expect(waiting.launched).toEqual([]);
    expect(waiting.decisions.find((d) => d.asset_key === 'silver.clean')!.reason).toMatch(
      /source files of upstream bronze\.files \[day=d1\] changed recently; waiting until 2026-11-24T00:27:00.000Z/,
    );
    vi.setSystemTime(at('00:30'));
    const settled = await tickAndWait(ctx, at('00:30'), { options: { ...options, settleMs: 2 * MIN } });
    expect(settled.launched.length).toBe(1);
    expect(counts.get('bronze.files[day=d1]')).toBe(1);
  });
});

describe('a deadline keyed on the partition day', () => {
  it("waits for the day to end, then meets the next morning's deadline with one run per partition", async () => {
    // Yesterday's course_id × ingest_date partition is in Silver by 06:00 Chicago time (12:00Z).
    const byMorning: FreshnessPolicy = {
      deadline: { cron: '0 6 * * *', timezone: 'America/Chicago', warnBeforeMinutes: 60 },
    };
    const inbox = new Map<string, string>();
    const counts = new Map<string, number>();
    const partitions = multiPartitions(
      staticPartitions('course_id', ['erinhills']),
      dailyPartitions('ingest_date', '2026-11-24'),
      () => [...inbox.keys()].sort(),
    );
    const files = asset({
      key: 'bronze.files',
      partitions,
      codeVersion: 'c',
      observe: ({ partitionKey }) => inbox.get(partitionKey),
      materialize: (ctx) => ({ dataVersion: inbox.get(ctx.partitionKey)! }),
    });
    const events = asset({
      key: 'silver.events',
      deps: [files],
      partitions,
      codeVersion: 'c',
      freshness: byMorning,
      materialize: (ctx) => {
        counts.set(ctx.partitionKey, (counts.get(ctx.partitionKey) ?? 0) + 1);
        return {};
      },
    });
    const defs = defineAssets({ assets: [files, events] });
    const ctx: RunContext = { stateDir, store, defs, graph: buildGraph(defs), log: pino({ level: 'silent' }) };
    const o = { ...options, intervalMs: 15 * MIN };
    const d24 = 'course_id=erinhills,ingest_date=2026-11-24';

    const launches: string[] = [];
    const states = new Set<string>();
    const ticks: number[] = [];
    for (let t = at('00:00').getTime(); t <= Date.parse('2026-11-25T13:00:00.000Z'); t += o.intervalMs) {
      if (t === at('08:00').getTime()) inbox.set(d24, 'v1'); // 02:00 in Chicago, during the day itself
      vi.setSystemTime(t);
      const outcome = await runTick(ctx, { now: new Date(t), holder: 'test', options: o });
      await Promise.all(outcome.launched.map((l) => l.result));
      ticks.push(outcome.tick_id);
      if (outcome.launched.length > 0) launches.push(new Date(t).toISOString());
      const f = (await loadFreshness(ctx, new Date(t))).freshness.get('silver.events')?.get(d24);
      if (f) states.add(f.state);
    }
    // Lazy until its own deadline (arrival-based, it would have been due at 12:00Z on the 24th).
    expect(launches).toEqual(['2026-11-25T11:45:00.000Z']);
    expect(counts.get(d24)).toBe(1);
    expect(states).toEqual(new Set(['FRESH', 'WARN']));
    const decisions = store.tickDecisions(ticks).filter((d) => d.asset_key === 'silver.events');
    expect(decisions.find((d) => d.action === 'defer')!.reason).toBe(
      `silver.events [${d24}] is due by 2026-11-25T12:00Z (the deadline of ingest_date 2026-11-24; ` +
        `source data of 'bronze.files' [${d24}] arrived at 2026-11-24T08:00Z); expected duration 2m, starting by 2026-11-25T11:43Z`,
    );
    expect(decisions.find((d) => d.action === 'launch')!.reason).toMatch(
      /^silver\.events \[.*\] would be overdue at 2026-11-25T12:00Z \(the deadline of ingest_date 2026-11-24;/,
    );
  });
});

describe('batched assets', () => {
  it('launches the due partitions of a batched asset in one run, so they share one step', async () => {
    const inbox = new Map<string, string>([
      ['d1', 'v1'],
      ['d2', 'v1'],
      ['d3', 'v1'],
    ]);
    const days = staticPartitions('day', () => [...inbox.keys()]);
    const calls: string[][] = [];
    const files = asset({
      key: 'bronze.files',
      partitions: days,
      codeVersion: 'c',
      observe: ({ partition }) => inbox.get(partition.day!),
      materialize: (ctx) => ({ dataVersion: inbox.get(ctx.partition.day!)! }),
    });
    const clean = asset({
      key: 'silver.clean',
      deps: [files],
      partitions: days,
      codeVersion: 'c',
      batch: { maxPartitions: 100 },
      freshness: silverLag,
      materialize: (ctx) => {
        calls.push(ctx.partitions.map((p) => p.key));
        return { partitions: Object.fromEntries(ctx.partitions.map((p) => [p.key, {}])) };
      },
    });
    const defs = defineAssets({ assets: [files, clean] });
    const ctx: RunContext = { stateDir, store, defs, graph: buildGraph(defs), log: pino({ level: 'silent' }) };
    for (let t = at('00:00').getTime(); t <= at('01:00').getTime(); t += options.intervalMs) {
      vi.setSystemTime(t);
      await tickAndWait(ctx, new Date(t));
    }
    expect(calls).toEqual([['day=d1', 'day=d2', 'day=d3']]);
    const silverRuns = store
      .listRuns({ limit: 100 })
      .items.filter((r) => r.plan.some((s) => s.asset_key === 'silver.clean'));
    expect(silverRuns).toHaveLength(1);
    const silverSteps = silverRuns[0]!.plan.filter((s) => s.asset_key === 'silver.clean');
    expect(silverSteps.map((s) => s.partition_key).sort()).toEqual(['day=d1', 'day=d2', 'day=d3']);
  });
});

describe('daemon robustness', () => {
  it('resumes a tick that crashed between recording its decisions and launching: one run, not two', async () => {
    const { ctx, inbox, counts } = lakehouse(store);
    inbox.set('d1', 'v1');
    await tickAndWait(ctx, at('00:00'));
    vi.setSystemTime(at('00:30'));
    const crash = () => {
      throw new Error('killed mid-tick');
    };
    await expect(runTick(ctx, { now: at('00:30'), holder: 'test', options, beforeLaunch: crash })).rejects.toThrow(
      'killed mid-tick',
    );
    const recorded = store.tickDecisions([at('00:30').getTime()]).filter((d) => d.action === 'launch');
    expect(recorded.length).toBe(2); // bronze.files and silver.clean [day=d1], one run
    const runId = recorded[0]!.run_id!;
    expect(store.getRun(runId)).toBeUndefined();

    // The restarted daemon lands in the same tick once the crashed one's lease lapsed: it launches the
    // recorded run, under its recorded id.
    store.releaseLease(DAEMON_LEASE, 'test');
    const resumed = await tickAndWait(ctx, at('00:30'), { holder: 'restarted' });
    expect(resumed.status).toBe('RESUMED');
    expect(resumed.launched.map((l) => l.request.run_id)).toEqual([runId]);
    expect(store.getRun(runId)!.status).toBe('SUCCESS');

    // The same tick again, and later ticks, launch nothing more.
    expect((await tickAndWait(ctx, at('00:30'), { holder: 'restarted' })).status).toBe('SKIPPED');
    vi.setSystemTime(at('00:35'));
    expect((await tickAndWait(ctx, at('00:35'), { holder: 'restarted' })).launched).toEqual([]);
    expect(store.listRuns({ limit: 10 }).items.length).toBe(1);
    expect(counts.get('silver.clean[day=d1]')).toBe(1);
  });

  it('never launches a partition already running, even before its run is recorded', async () => {
    const { ctx, inbox } = lakehouse(store);
    inbox.set('d1', 'v1');
    await tickAndWait(ctx, at('00:00'));
    const inFlight = new Map<string, string>();
    vi.setSystemTime(at('00:30'));
    const first = await runTick(ctx, { now: at('00:30'), holder: 'test', options, inFlight });
    expect(first.launched.length).toBe(1);
    // The next tick starts while the first run is still being set up.
    const second = await runTick(ctx, { now: at('00:35'), holder: 'test', options, inFlight });
    expect(second.launched).toEqual([]);
    expect(second.decisions.find((d) => d.asset_key === 'silver.clean')!.reason).toMatch(
      /is being materialized by run/,
    );
    await Promise.all(first.launched.map((l) => l.result));
  });

  it('retries a failing asset with exponential backoff, not in a tight loop', async () => {
    let failing = true;
    const { ctx, inbox } = lakehouse(store, { failSilver: () => failing });
    inbox.set('d1', 'v1');
    const launchedAt: string[] = [];
    for (let t = at('00:00').getTime(); t <= at('03:00').getTime(); t += options.intervalMs) {
      vi.setSystemTime(Math.max(t, Date.now()));
      const o = await tickAndWait(ctx, new Date());
      if (o.launched.length > 0) launchedAt.push(new Date(t).toISOString().slice(11, 16));
    }
    // Launched at the deadline, then after 1, 2, 4 and 8 minutes of backoff (rounded up to ticks), then 16, 32, 64.
    expect(launchedAt.length).toBeLessThanOrEqual(8);
    expect(launchedAt.length).toBeGreaterThanOrEqual(4);
    const gaps = launchedAt.slice(1).map((h, i) => Date.parse(`${DAY}T${h}Z`) - Date.parse(`${DAY}T${launchedAt[i]}Z`));
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThanOrEqual(gaps[i - 1]!);
    const waits = store
      .tickDecisions(store.listTicks({ limit: 100 }).items.map((t) => t.tick_id))
      .filter((d) => d.action === 'wait');
    expect(waits.some((d) => /failed: bad rows\); retrying after .* \(backoff\)/.test(d.reason))).toBe(true);
    failing = false;
  });

  it('lets only one of two daemons tick: the other waits until the lease is handed back', async () => {
    const path = join(stateDir, 'lease.db');
    const storeA = openStore(path);
    const storeB = openStore(path);
    try {
      const a = new Daemon(lakehouse(storeA).ctx, { ...options, clock: () => new Date() });
      const b = new Daemon(lakehouse(storeB).ctx, { ...options, clock: () => new Date() });
      expect((await a.tick()).status).toBe('SUCCESS');
      expect((await b.tick()).status).toBe('NOT_LEADER');
      vi.setSystemTime(at('00:05'));
      expect((await b.tick()).status).toBe('NOT_LEADER');
      expect((await a.tick()).status).toBe('SUCCESS');
      await a.stop();
      expect(storeB.acquireLease(DAEMON_LEASE, 'probe', 1, new Date())).toBe(true);
      storeB.releaseLease(DAEMON_LEASE, 'probe');
      vi.setSystemTime(at('00:10'));
      expect((await b.tick()).status).toBe('SUCCESS');
      await b.stop();
    } finally {
      storeA.close();
      storeB.close();
    }
  });

  it('takes the lease over at once from a daemon process on this host that died, not from a live one', async () => {
    const { ctx } = lakehouse(store);
    const dead = spawnSync(process.execPath, ['-e', '']).pid!; // exited: its pid is free
    const hour = 60 * MIN;
    store.acquireLease(DAEMON_LEASE, `${hostname()}:${dead}:${ulid()}`, hour, at('00:00'));
    expect((await tickAndWait(ctx, at('00:00'), { holder: 'restarted' })).status).toBe('SUCCESS');
    expect(store.leaseHolder(DAEMON_LEASE)).toBe('restarted');

    store.releaseLease(DAEMON_LEASE, 'restarted');
    store.acquireLease(DAEMON_LEASE, `${hostname()}:${process.pid}:${ulid()}`, hour, at('00:05'));
    expect((await tickAndWait(ctx, at('00:05'), { holder: 'restarted' })).status).toBe('NOT_LEADER');
  });

  it('stops cleanly: the current tick finishes, its runs complete, the lease is handed back', async () => {
    const { ctx, inbox } = lakehouse(store);
    inbox.set('d1', 'v1');
    vi.setSystemTime(at('01:00')); // first seen now; the daemon will not start before 01:2x
    const daemon = new Daemon(ctx, { ...options, maxConcurrentRuns: 1 });
    const loop = daemon.run();
    await vi.waitFor(() => expect(store.listTicks({ limit: 1 }).items.length).toBe(1));
    await daemon.stop(1_000);
    await loop;
    expect(store.listTicks({ limit: 5 }).items.map((t) => t.status)).toEqual(['SUCCESS']);
    expect(store.acquireLease(DAEMON_LEASE, 'next', 1_000, new Date())).toBe(true);
  });
});
