import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { ulid } from 'ulid';
import { alertConfigFrom, runAlerts, sendAlerts } from '../alerts/index.ts';
import type { AssetKey, Definitions, RejectedInput, RunSummary } from '../definitions/index.ts';
import { writtenTogether } from '../definitions/index.ts';
import { FrameworkError, UsageError } from '../errors/index.ts';
import { onFatalStop } from '../fatal-stop/index.ts';
import type { AssetGraph } from '../graph/index.ts';
import { describeGroup, liveChildGroups, loadJudgedState, reapDeadRuns } from '../judging/index.ts';
import { resolveSelection } from '../selection/index.ts';
import { type StalenessResult, upstreamPartitionsOf } from '../staleness/index.ts';
import type { ChildProcessRecord, PartitionLock, RunRecord, Store } from '../storage/index.ts';
import { EventLoopWatchdog, fileOfStore } from './event-loop-watchdog.ts';
import type { EventSink } from './events.ts';
import { type ExecuteResult, executePlan } from './execute-plan.ts';
import { buildPlan, type ExecutionPlan, plannedTargets } from './plan.ts';
import { recordEventsTo } from './record-events.ts';
import { runFolder, runSummaryPath } from './run-folder.ts';
import { buildRunSummary } from './run-summary.ts';
import { stopBlockedRun } from './stop-blocked-run.ts';
import { followChildGroups, stopLeftoverGroups } from './track-child-process.ts';

/** What a run needs from the loaded project. */
export interface RunContext {
  stateDir: string;
  store: Store;
  defs: Definitions<unknown>;
  graph: AssetGraph;
  log: Logger;
}

export interface LaunchOptions {
  selection: string;
  partition?: string;
  /** Only these asset partitions of the selection (e.g. what a daemon tick decided to launch). */
  only?: readonly { asset_key: AssetKey; partition_key: string }[];
  staleOnly?: boolean;
  concurrency?: number;
  /** How long to wait for another run holding the same asset partitions (default 10 s). */
  lockWaitMs?: number;
  signal?: AbortSignal;
  onEvent?: EventSink;
  /** Called once the plan is known, before execution. */
  onPlan?: (plan: ExecutionPlan, run: RunRecord) => void;
  tags?: Record<string, string>;
  runId?: string;
}

export interface LaunchResult {
  run: RunRecord;
  plan: ExecutionPlan;
  result: ExecuteResult;
  summary: RunSummary;
  summaryPath: string;
}

/**
 * Thrown when another run holds an asset partition this run needs: a live run, or a dead one whose steps'
 * process groups (`orphans`) are still running and may still be writing.
 */
export class PartitionBusyError extends FrameworkError {
  constructor(locks: PartitionLock[], orphans: ChildProcessRecord[] = []) {
    const first = locks[0]!;
    const what = `Asset ${first.asset_key}${first.partition_key ? ` [${first.partition_key}]` : ''}`;
    const more = locks.length > 1 ? ` (and ${locks.length - 1} more partition(s) are held)` : '';
    const message =
      orphans.length === 0
        ? `${what} is being materialized by run ${first.run_id}${more}. ` +
          `Wait for it to finish ('fairway runs') or cancel it, then try again.`
        : `${what} is still locked by run ${first.run_id}${more}: its process died, but the process group ` +
          `${orphans.map(describeGroup).join(', ')} that its step started is still running and may still be ` +
          `writing. It is stopped within seconds of its run's death: wait a few seconds for it to stop, or ` +
          `${orphans.map((o) => `kill -- -${o.pgid}`).join('; ')}, then try again.`;
    super('PARTITION_BUSY', message, {
      details: { locks, ...(orphans.length ? { pgids: orphans.map((o) => o.pgid) } : {}) },
    });
    this.name = 'PartitionBusyError';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How often a running run beats its heartbeat and looks for a cancel request. */
const CANCEL_POLL_MS = 1_000;

/** Plans the selection (optionally stale-only), runs it with locks and heartbeats, and records everything. */
export async function launchRun(ctx: RunContext, opts: LaunchOptions): Promise<LaunchResult> {
  const { store, defs, graph } = ctx;
  const alerting = alertConfigFrom(); // a bad FAIRWAY_ALERT_* value stops the run before it starts
  // loaded on use (the CLI's light commands never pay for it); a bad FAIRWAY_OPENLINEAGE_* value stops it too
  const lineageModule = await import('../lineage/index.ts');
  const lineageConfig = lineageModule.openLineageConfigFrom();
  const selected = resolveSelection(graph, opts.selection);
  if (selected.length === 0) {
    throw new UsageError(`The selection '${opts.selection}' matches no asset. Run 'fairway list' to see the assets.`);
  }
  const relevant = new Set<AssetKey>(selected);
  for (const k of selected) for (const u of graph.upstream(k)) relevant.add(u);
  // the outputs written with a relevant asset: the planner plans them too, and needs their staleness
  for (const k of [...relevant]) for (const o of writtenTogether(graph.definition(k))) relevant.add(o);
  const keys = [...relevant];
  const { partitions, judged } = await loadJudgedState(ctx, selected, keys, {
    partition: opts.partition,
    observe: opts.staleOnly ?? false,
  });
  // without RUNNING: another run's partitions are judged on their records (the locks keep runs apart)
  const { materializations, settled: staleness } = judged;
  const planInput = {
    graph,
    partitions,
    ...(opts.partition ? { partitionFilter: opts.partition } : {}),
    staleOnly: opts.staleOnly ?? false,
    staleness,
  };
  const only = opts.only ? byAsset(opts.only) : undefined;
  let plan = buildPlan({ ...planInput, selected, ...(only ? { restrict: only } : {}) });
  const missing = missingUpstream(graph, plan, new Set(selected), partitions, staleness);
  if (missing.size > 0) {
    const restrict = new Map([...(only ?? []), ...missing]);
    plan = buildPlan({ ...planInput, selected: [...selected, ...missing.keys()], restrict });
  }

  const upstreamGates = failedUpstreamGates(store, graph, plan);
  const runId = opts.runId ?? ulid();
  const now = new Date().toISOString();
  const run: RunRecord = {
    run_id: runId,
    selection: opts.selection,
    partition: opts.partition ?? null,
    stale_only: opts.staleOnly ?? false,
    status: 'QUEUED',
    reason: null,
    pid: process.pid,
    hostname: hostname(),
    created_at: now,
    started_at: null,
    finished_at: null,
    heartbeat_at: now,
    plan: plannedTargets(plan),
    tags: opts.tags ?? {},
  };
  store.createRun(run);
  const log = ctx.log.child({ run_id: runId });
  opts.onPlan?.(plan, run);

  const controller = new AbortController();
  // The heartbeat also picks up a cancel asked for by another process (`fairway cancel`, the UI). It stays
  // referenced on purpose: it holds the process open while the run lasts, so a materializer whose promise
  // never settles runs into its timeout (or waits for a cancel) instead of Node exiting with code 13.
  const heartbeat = setInterval(() => {
    store.heartbeat(runId, new Date().toISOString());
    const request = controller.signal.aborted ? undefined : store.cancelRequest(runId);
    if (request) controller.abort(new Error(request.reason));
  }, CANCEL_POLL_MS);
  try {
    await claimWithWait(store, runId, run.plan, opts.lockWaitMs ?? 10_000);
  } catch (e) {
    clearInterval(heartbeat);
    store.updateRun(runId, { status: 'FAILURE', reason: (e as Error).message, finished_at: new Date().toISOString() });
    throw e;
  }

  const startedAt = new Date().toISOString();
  store.updateRun(runId, { status: 'STARTED', started_at: startedAt });
  run.status = 'STARTED';
  run.started_at = startedAt;
  const onAbort = () => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  // if the process must stop at once (an uncaught error), the run is recorded FAILURE, not left STARTED
  const storePath = fileOfStore(store);
  const unregisterFatalStop = onFatalStop(runId, (reason) => {
    if (storePath)
      stopBlockedRun(storePath, runId, [
        { members: [], stepReason: reason, alsoLateReason: reason, runReason: reason },
      ]);
  });
  // started only when a step with a timeout runs
  const watchdog = new EventLoopWatchdog({ runId, store, log });
  const lineage = lineageConfig
    ? lineageModule.startRunLineage(lineageConfig, {
        runId,
        plan,
        graph,
        hooks: defs.hooks,
        stateDir: ctx.stateDir,
        log,
      })
    : undefined;
  const forward: EventSink | undefined = lineage
    ? (e) => {
        lineage.onEvent(e);
        opts.onEvent?.(e);
      }
    : opts.onEvent;
  const groups = followChildGroups(recordEventsTo(store, forward));
  let result: ExecuteResult;
  try {
    result = await executePlan({
      runId,
      plan,
      graph,
      defs,
      materializations,
      partitions,
      stateDir: ctx.stateDir,
      emit: groups.emit,
      log,
      signal: controller.signal,
      upstreamGates,
      watchdog,
      ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
    });
  } catch (e) {
    await lineage?.finish('FAILURE', (e as Error).message);
    throw e;
  } finally {
    await watchdog.stop();
    // a canceled or timed-out step's child may still be stopping: the locks wait for it
    const stopped = await stopLeftoverGroups(groups.live());
    if (stopped.length > 0)
      log.warn({ pgids: stopped }, 'stopped child process groups still running at the end of the run');
    clearInterval(heartbeat);
    opts.signal?.removeEventListener('abort', onAbort);
    store.releasePartitions(runId);
  }
  const rejected = await rejectedInputsOf(defs, plan, runId, log);
  if (rejected.length > 0) {
    // everything else ran; the run still fails so the bad inputs are seen
    const first = rejected[0]!;
    const more = rejected.length > 1 ? ` and ${rejected.length - 1} more` : '';
    const text = `${rejected.length} input(s) rejected before any step: ${first.path} (${first.reason})${more}${first.report ? `; reports in ${first.report}` : ''}. Fix or remove them and run again`;
    result = { ...result, status: result.status === 'CANCELED' ? 'CANCELED' : 'FAILURE' };
    result.reason = result.reason ? `${result.reason}; ${text}` : text;
  }
  const finishedAt = new Date().toISOString();
  store.updateRun(runId, { status: result.status, reason: result.reason, finished_at: finishedAt });
  await lineage?.finish(result.status, result.reason);
  unregisterFatalStop();
  const finished = store.getRun(runId)!;
  const summary = buildRunSummary(store, finished);
  const summaryPath = runSummaryPath(ctx.stateDir, runId);
  mkdirSync(runFolder(ctx.stateDir, runId), { recursive: true });
  writeFileSync(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
  if (alerting) await sendAlerts(alerting, runAlerts(store, ctx.graph, alerting, summary), log);
  if (defs.hooks.onRunComplete) {
    try {
      await defs.hooks.onRunComplete(summary);
    } catch (e) {
      log.error(
        { err: (e as Error).message },
        'onRunComplete hook failed; the run summary stays in the state directory',
      );
    }
  }
  return { run: finished, plan, result, summary, summaryPath };
}

/** What the planned assets refused before any step (`rejectedInputs`), each logged; a failing hook is one too. */
async function rejectedInputsOf(
  defs: Definitions<unknown>,
  plan: ExecutionPlan,
  runId: string,
  log: Logger,
): Promise<RejectedInput[]> {
  const out: RejectedInput[] = [];
  for (const key of new Set(plan.steps.map((s) => s.asset_key))) {
    const hook = defs.assets.get(key)?.rejectedInputs;
    if (!hook) continue;
    try {
      for (const r of await hook({ runId })) {
        log.warn({ asset_key: key, path: r.path, reason: r.reason, report: r.report }, 'input rejected');
        out.push(r);
      }
    } catch (e) {
      out.push({ path: key, reason: `checking its inputs failed: ${(e as Error).message}` });
    }
  }
  return out;
}

function byAsset(targets: readonly { asset_key: AssetKey; partition_key: string }[]): Map<AssetKey, Set<string>> {
  const out = new Map<AssetKey, Set<string>>();
  for (const t of targets) out.set(t.asset_key, (out.get(t.asset_key) ?? new Set()).add(t.partition_key));
  return out;
}

/**
 * Upstream partitions outside the selection that the plan needs but that were never materialized:
 * they are added to the run (a selected asset could not run without them). Walks up recursively.
 */
function missingUpstream(
  graph: AssetGraph,
  plan: ExecutionPlan,
  selected: ReadonlySet<AssetKey>,
  partitions: ReadonlyMap<AssetKey, readonly string[]>,
  staleness: StalenessResult,
): Map<AssetKey, Set<string>> {
  const missing = new Map<AssetKey, Set<string>>();
  const queue = plannedTargets(plan).map((s) => [s.asset_key, s.partition_key] as const);
  while (queue.length > 0) {
    const [key, partition] = queue.pop()!;
    const asset = graph.definition(key);
    for (const depKey of asset.deps) {
      if (selected.has(depKey)) continue;
      for (const q of upstreamPartitionsOf(asset, graph.definition(depKey), partition, partitions.get(depKey) ?? [])) {
        const status = staleness.get(depKey)?.get(q)?.status ?? 'MISSING';
        if (status !== 'MISSING' && status !== 'FAILED') continue;
        if (staleness.get(depKey)?.get(q)?.materializedAt) continue; // failed but has data: use it
        const set = missing.get(depKey) ?? new Set<string>();
        if (set.has(q)) continue;
        set.add(q);
        missing.set(depKey, set);
        queue.push([depKey, q]);
      }
    }
  }
  return missing;
}

/** Blocking error checks that failed on their latest evaluation, for upstream assets this plan does not rerun. */
function failedUpstreamGates(store: Store, graph: AssetGraph, plan: ExecutionPlan): Map<AssetKey, string> {
  const planned = new Set(plannedTargets(plan).map((t) => t.asset_key));
  const outside = new Set<AssetKey>();
  for (const k of planned) for (const d of graph.parents(k)) if (!planned.has(d)) outside.add(d);
  const gates = new Map<AssetKey, string>();
  if (outside.size === 0) return gates;
  // a multi-asset's outputs were written together: a failed gate on one holds them all
  const checked = new Set([...outside].flatMap((d) => writtenTogether(graph.definition(d))));
  for (const c of store.latestCheckEvaluations([...checked])) {
    if (c.passed || !c.blocking || c.severity !== 'error') continue;
    const failed = `blocking check '${c.check_name}' failed in run ${c.run_id}${c.failures != null ? ` (${c.failures} failing rows)` : ''}; fix the data and rematerialize ${c.asset_key}`;
    for (const k of writtenTogether(graph.definition(c.asset_key))) {
      if (!outside.has(k) || gates.has(k)) continue;
      gates.set(k, k === c.asset_key ? `its ${failed}` : `written with ${c.asset_key}, whose ${failed}`);
    }
  }
  return gates;
}

async function claimWithWait(
  store: Store,
  runId: string,
  targets: { asset_key: string; partition_key: string }[],
  waitMs: number,
): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const conflicts = store.claimPartitions(runId, targets);
    if (conflicts.length === 0) return;
    reapDeadRuns(store);
    if (Date.now() >= deadline) throw new PartitionBusyError(conflicts, orphansHolding(store, conflicts));
    await sleep(250);
  }
}

/** The live process groups of a dead run holding the first conflicting lock (it waits for them: `reapDeadRuns`). */
function orphansHolding(store: Store, conflicts: readonly PartitionLock[]): ChildProcessRecord[] {
  const holder = store.getRun(conflicts[0]!.run_id);
  if (!holder || holder.status === 'QUEUED' || holder.status === 'STARTED') return [];
  return liveChildGroups(holder, store.childProcesses([holder.run_id]));
}
