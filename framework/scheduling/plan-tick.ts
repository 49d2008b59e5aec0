import type { AssetKey } from '../definitions/index.ts';
import type { FreshnessResult, PartitionFreshness } from '../freshness/index.ts';
import { exceptionsOf, type StalenessGraph, type StalenessResult, upstreamPartitionsOf } from '../staleness/index.ts';

export interface SchedulerOptions {
  /** Time between ticks; also the safety margin when deciding how early to start. */
  intervalMs: number;
  /** Runs (the daemon's and everyone else's) active at once; the daemon launches only into free slots. */
  maxConcurrentRuns: number;
  /** Expected step duration for an asset with no successful attempt yet. */
  defaultDurationMs: number;
  /** Retry delay after the first launch that did not make a step fresh; doubles per launch, capped. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** A changed source version must stay unchanged this long before it is materialized. */
  settleMs: number;
}

export const DEFAULT_SCHEDULER_OPTIONS: SchedulerOptions = {
  intervalMs: 30_000,
  maxConcurrentRuns: 2,
  defaultDurationMs: 60_000,
  backoffBaseMs: 60_000,
  backoffMaxMs: 60 * 60_000,
  settleMs: 60_000,
};

export interface StepRef {
  asset_key: AssetKey;
  partition_key: string;
}

/** One run to launch: `launchRun({ selection, partition, staleOnly: true })` runs exactly `steps`. */
export interface PlannedRun {
  selection: string;
  /** Partition filter, or null for the run of unpartitioned assets. */
  partition: string | null;
  steps: StepRef[];
}

export interface PlannedDecision extends StepRef {
  action: 'launch' | 'wait' | 'defer';
  reason: string;
  due_at: string | null;
  expected_ms: number | null;
  /** Index into `runs` for `launch`. */
  run: number | null;
}

export interface TickPlanInput {
  now: Date;
  graph: StalenessGraph;
  partitions: ReadonlyMap<AssetKey, readonly string[]>;
  /** Computed without `running`. */
  staleness: StalenessResult;
  freshness: FreshnessResult;
  /** `asset|partition` → id of an active (or just launched) run that has the step in its plan. */
  running: ReadonlyMap<string, string>;
  /** `asset|partition` of source changes still settling → when they settle (ISO). */
  settling: ReadonlyMap<string, string>;
  /** Median duration of recent successful steps per asset (ms). */
  durations: ReadonlyMap<AssetKey, number>;
  /** Daemon launches of a step since its latest materialization: how many, and the latest (ISO). */
  launches: ReadonlyMap<string, { count: number; last: string }>;
  /** Runs active now, whoever launched them. */
  activeRuns: number;
  options: SchedulerOptions;
}

export interface TickPlan {
  decisions: PlannedDecision[];
  runs: PlannedRun[];
}

const sid = (key: string, partition: string) => `${key}|${partition}`;
const label = (key: string, partition: string) => (partition === '' ? key : `${key} [${partition}]`);
const minute = (ms: number) => `${new Date(ms).toISOString().slice(0, 16)}Z`;

/** `95_000` → `1m35s`. */
export function formatMs(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  return `${Math.floor(m / 60)}h${m % 60 ? `${m % 60}m` : ''}`;
}

/** Delay before launching a step again after `count` launches that did not make it fresh. */
export const backoffMs = (count: number, o: SchedulerOptions) =>
  Math.min(o.backoffMaxMs, o.backoffBaseMs * 2 ** Math.max(0, count - 1));

/** The run group of batched assets' steps: all their due partitions in one run. */
const BATCH_GROUP = '*batch*';

/** Partitioned assets that batch, and the partitioned assets upstream of them. */
function batchedAndTheirUpstream(graph: TickPlanInput['graph']): Set<AssetKey> {
  const out = new Set<AssetKey>();
  for (const key of graph.topologicalOrder().reverse()) {
    if (!graph.definition(key).batch && !out.has(key)) continue;
    out.add(key);
    for (const p of graph.parents(key)) if (graph.definition(p).partitions) out.add(p);
  }
  return out;
}

/**
 * Plans one tick: for each asset partition with pending data under a freshness policy (most urgent
 * first), the steps not FRESH that it needs — itself and its stale upstream partitions — launched
 * only once starting later would miss the deadline (expected critical-path duration plus one
 * interval). Steps running, settling or backing off hold their target; free run slots bound the
 * launches. A pure function: the caller records the decisions, then launches the runs.
 */
export function planTick(input: TickPlanInput): TickPlan {
  const { graph, staleness, options: o } = input;
  const now = input.now.getTime();
  const decisions = new Map<string, PlannedDecision>();
  const runs: PlannedRun[] = [];
  const runOfGroup = new Map<string, number>();
  const runOfStep = new Map<string, number>();
  let slots = Math.max(0, o.maxConcurrentRuns - input.activeRuns);
  const order = new Map(graph.topologicalOrder().map((k, i) => [k, i]));
  const batchFed = batchedAndTheirUpstream(graph);

  const targets: { key: AssetKey; partition: string; f: PartitionFreshness }[] = [];
  for (const [key, byPartition] of input.freshness) {
    for (const [partition, f] of exceptionsOf(byPartition, (x) => !x.dueAt)) targets.push({ key, partition, f });
  }
  targets.sort((a, b) =>
    a.f.dueAt! < b.f.dueAt!
      ? -1
      : a.f.dueAt! > b.f.dueAt!
        ? 1
        : sid(a.key, a.partition) < sid(b.key, b.partition)
          ? -1
          : 1,
  );

  const isDone = (key: string, partition: string) => {
    const s = staleness.get(key)?.get(partition)?.status;
    return s === 'FRESH' || s === 'RUNNING';
  };
  /**
   * Runs are one per partition, except that a batched asset's partitions share one run (with the
   * partitions upstream of them), so they batch into one step.
   */
  const groupOf = (s: StepRef) =>
    graph.definition(s.asset_key).partitions ? (batchFed.has(s.asset_key) ? BATCH_GROUP : s.partition_key) : '';
  /** The needed steps upstream of (and including) a target, each with its needed upstream steps. */
  const neededSteps = (key: string, partition: string) => {
    const steps = new Map<string, { step: StepRef; upstream: string[] }>();
    const visit = (k: string, p: string) => {
      const id = sid(k, p);
      if (steps.has(id)) return;
      const entry = { step: { asset_key: k, partition_key: p }, upstream: [] as string[] };
      steps.set(id, entry);
      const asset = graph.definition(k);
      for (const depKey of asset.deps) {
        for (const q of upstreamPartitionsOf(asset, graph.definition(depKey), p, input.partitions.get(depKey) ?? [])) {
          if (isDone(depKey, q)) continue;
          entry.upstream.push(sid(depKey, q));
          visit(depKey, q);
        }
      }
    };
    visit(key, partition);
    return [...steps.entries()].sort(([a, x], [b, y]) => {
      const d = order.get(x.step.asset_key)! - order.get(y.step.asset_key)!;
      return d !== 0 ? d : a < b ? -1 : 1;
    });
  };

  /** The first decision per step stands, except that a launch replaces a defer or wait: the step does run
   * (pulled in as another target's upstream), and a resumed tick relaunches exactly the recorded launches. */
  const decide = (d: PlannedDecision) => {
    const id = sid(d.asset_key, d.partition_key);
    const earlier = decisions.get(id);
    if (!earlier || (d.action === 'launch' && earlier.action !== 'launch')) decisions.set(id, d);
  };

  for (const t of targets) {
    if (isDone(t.key, t.partition)) continue;
    const needed = neededSteps(t.key, t.partition);
    const byId = new Map(needed);
    const stepOf = (id: string) => byId.get(id)!.step;
    const dueAt = Date.parse(t.f.dueAt!);
    const target = label(t.key, t.partition);
    const base = { asset_key: t.key, partition_key: t.partition, due_at: t.f.dueAt, run: null };

    // Expected time to a fresh target: the critical path, plus a tick for each hop between runs.
    const finish = new Map<string, number>();
    for (const [id, { step, upstream }] of needed) {
      const own = input.durations.get(step.asset_key) ?? o.defaultDurationMs;
      let start = 0;
      for (const u of upstream) {
        const hop = groupOf(stepOf(u)) !== groupOf(step) ? o.intervalMs : 0;
        start = Math.max(start, (finish.get(u) ?? 0) + hop);
      }
      finish.set(id, start + own);
    }
    const expected = finish.get(sid(t.key, t.partition)) ?? o.defaultDurationMs;
    const day = t.f.day;
    const why = `${day ? `the deadline of ${day.dimension} ${day.value}; ` : ''}${t.f.pending!.what}`;
    const overdueWords = now >= dueAt ? `is overdue since ${minute(dueAt)}` : `would be overdue at ${minute(dueAt)}`;

    const blocked = blocker(needed, t, input, now);
    if (blocked) {
      decide({ ...base, action: 'wait', reason: `${target} ${overdueWords}; ${blocked}`, expected_ms: expected });
      continue;
    }
    const startBy = dueAt - expected - o.intervalMs;
    if (now < startBy) {
      decide({
        ...base,
        action: 'defer',
        reason: `${target} is due by ${minute(dueAt)} (${why}); expected duration ${formatMs(expected)}, starting by ${minute(startBy)}`,
        expected_ms: expected,
      });
      continue;
    }

    // Launch the groups (one run per partition, one for unpartitioned steps) whose needs are all inside.
    const groups = new Map<string, string[]>();
    for (const [id, { step }] of needed) groups.set(groupOf(step), [...(groups.get(groupOf(step)) ?? []), id]);
    const waitingFor: string[] = [];
    let limited = false;
    for (const [group, ids] of groups) {
      const ready = ids.every((id) => byId.get(id)!.upstream.every((u) => groupOf(stepOf(u)) === group));
      if (!ready) {
        waitingFor.push(...ids);
        continue;
      }
      let run = runOfGroup.get(group);
      if (run === undefined) {
        if (slots === 0) {
          limited = true;
          continue;
        }
        slots--;
        run =
          runs.push({ selection: '', partition: group === '' || group === BATCH_GROUP ? null : group, steps: [] }) - 1;
        runOfGroup.set(group, run);
      }
      for (const id of ids) {
        if (runOfStep.has(id)) continue;
        runOfStep.set(id, run);
        runs[run]!.steps.push(stepOf(id));
      }
    }
    const targetId = sid(t.key, t.partition);
    for (const [id, { step }] of needed) {
      const run = runOfStep.get(id);
      if (run === undefined) continue;
      const reason =
        id === targetId
          ? `${target} ${overdueWords} (${why}); expected duration ${formatMs(expected)}`
          : `needed by ${target}, which ${overdueWords} (${why}); expected duration ${formatMs(expected)}`;
      decide({ ...step, action: 'launch', reason, due_at: t.f.dueAt, expected_ms: expected, run });
    }
    if (!runOfStep.has(targetId)) {
      const reason = limited
        ? `the concurrency limit is reached (${o.maxConcurrentRuns} runs)`
        : `its upstream steps run first (${waitingFor.length > 0 ? 'launched this tick' : 'in another run'}); it starts on a later tick`;
      decide({ ...base, action: 'wait', reason: `${target} ${overdueWords}; ${reason}`, expected_ms: expected });
    }
  }

  for (const run of runs) {
    const keys = [...new Set(run.steps.map((s) => s.asset_key))].sort((a, b) => order.get(a)! - order.get(b)!);
    run.selection = keys.join(' ');
  }
  return { decisions: [...decisions.values()], runs };
}

/** Why the target cannot start now (a needed step running, settling or backing off), or null. */
function blocker(
  needed: [string, { step: StepRef }][],
  t: { key: string; partition: string },
  input: TickPlanInput,
  now: number,
): string | null {
  for (const [id, { step }] of needed) {
    const what = id === sid(t.key, t.partition) ? 'it' : `upstream ${label(step.asset_key, step.partition_key)}`;
    const run = input.running.get(id);
    if (run) return `${what} is being materialized by run ${run}`;
    const settles = input.settling.get(id);
    if (settles) return `the source files of ${what} changed recently; waiting until ${settles} for them to settle`;
    const launched = input.launches.get(id);
    if (launched) {
      const retryAt = Date.parse(launched.last) + backoffMs(launched.count, input.options);
      const failed = input.staleness
        .get(step.asset_key)
        ?.get(step.partition_key)
        ?.causes.find((c) => c.kind === 'last_attempt_failed');
      if (now < retryAt) {
        return (
          `${what} was launched ${launched.count} time(s) without becoming fresh` +
          `${failed?.kind === 'last_attempt_failed' ? ` (run ${failed.run_id} failed${failed.reason ? `: ${failed.reason}` : ''})` : ''}` +
          `; retrying after ${minute(retryAt)} (backoff)`
        );
      }
    }
  }
  return null;
}
