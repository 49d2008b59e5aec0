import type { Logger } from 'pino';
import { type AssetKey, type Definitions, listOf } from '../definitions/index.ts';
import type { RecordMap } from '../staleness/index.ts';
import type { MaterializationRecord } from '../storage/index.ts';
import { evaluateAssetChecks } from './evaluate-checks.ts';
import type { EventLoopWatchdog } from './event-loop-watchdog.ts';
import type { EventSink } from './events.ts';
import { materializeStep } from './materialize-step.ts';
import { type ExecutionPlan, outputsOf, type PlanGraph, type PlannedStep, stepId } from './plan.ts';

export { stepDirName } from './materialize-step.ts';

export interface ExecuteOptions {
  runId: string;
  plan: ExecutionPlan;
  graph: PlanGraph;
  defs: Definitions<unknown>;
  /** Latest materializations before the run; updated in memory as steps finish. */
  materializations: Map<AssetKey, RecordMap>;
  partitions: ReadonlyMap<AssetKey, readonly string[]>;
  stateDir: string;
  emit: EventSink;
  log: Logger;
  signal: AbortSignal;
  concurrency?: number;
  /**
   * Upstream assets outside this plan whose latest blocking check failed: asset key → reason.
   * Steps depending on them are skipped, so a failed gate keeps holding until the upstream is fixed.
   */
  upstreamGates?: ReadonlyMap<AssetKey, string>;
  /** Injectable for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Stops the process when a step with a timeout blocks the event loop past it (`launchRun` passes one). */
  watchdog?: EventLoopWatchdog;
  /**
   * Materializations held back until their publisher's checks passed (write-audit-publish), by the
   * publishing asset; `executePlan` makes one per run.
   */
  unpublished?: Map<AssetKey, HeldMaterialization[]>;
}

/** A materialization held until its publisher published; `gate`: its partition's own blocking check failed. */
interface HeldMaterialization {
  record: MaterializationRecord;
  gate: string | null;
}

export type StepOutcome = 'SUCCESS' | 'FAILURE' | 'SKIPPED' | 'CANCELED';

export interface ExecuteResult {
  status: 'SUCCESS' | 'FAILURE' | 'CANCELED';
  reason: string | null;
  /** By step id; a batch has one entry per partition (`asset[partition]`). */
  outcomes: Map<string, { status: StepOutcome; reason: string | null }>;
}

const defaultSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

/** A step's unit of outcome: one partition of a materialize step, or a checks step. */
interface Member {
  id: string;
  kind: PlannedStep['kind'];
  asset_key: AssetKey;
  partition_key: string;
}

/** A materialize step's members: each output (one, or a multi-asset's) of each partition. */
const membersOf = (step: PlannedStep): Member[] =>
  step.kind === 'checks'
    ? [{ id: step.id, kind: 'checks', asset_key: step.asset_key, partition_key: '' }]
    : step.partitions.flatMap((p) =>
        outputsOf(step, p).map((asset_key) => ({
          id: stepId(asset_key, p.key),
          kind: 'materialize' as const,
          asset_key,
          partition_key: p.key,
        })),
      );

/**
 * Runs a plan: steps start when their upstream steps succeeded, at most `concurrency` at a time (and
 * at most a pool's slots for the steps of a pool), each with its retry policy and timeout. A batched
 * step starts once all its upstream steps have finished and runs the partitions whose own upstream
 * succeeded. Failures and blocking check failures skip everything downstream with the reason. Emits
 * events; persists nothing itself.
 */
export async function executePlan(options: ExecuteOptions): Promise<ExecuteResult> {
  const opts: ExecuteOptions = { ...options, unpublished: options.unpublished ?? new Map() };
  const { plan, emit, runId } = opts;
  const concurrency = Math.max(1, opts.concurrency ?? 2);
  const sleep = opts.sleep ?? defaultSleep;
  const outcomes = new Map<string, { status: StepOutcome; reason: string | null }>();
  /** Steps whose data may not flow downstream: step id → reason. */
  const blocked = new Map<string, string>();
  const pending = [...plan.steps];
  const running = new Set<Promise<void>>();
  const poolUse = new Map<string, number>();

  emit({ type: 'RUN_STARTED', run_id: runId, steps: plan.steps.length });

  const finish = (
    member: Member,
    status: StepOutcome,
    reason: string | null,
    extra: Partial<{ attempts: number; started_at: string | null; duration_ms: number | null }> = {},
  ) => {
    outcomes.set(member.id, { status, reason });
    // `blocked` keeps the root cause, so a skip names the step that really failed, not the chain.
    if (status === 'FAILURE') blocked.set(member.id, `${member.id} failed: ${reason}`);
    else if (status === 'CANCELED') blocked.set(member.id, `${member.id} was canceled`);
    else if (status === 'SKIPPED' && !blocked.has(member.id))
      blocked.set(member.id, reason ?? `${member.id} was skipped`);
    emit({
      type: 'STEP_FINISHED',
      run_id: runId,
      ...(member.kind === 'checks' ? { kind: 'checks' as const } : {}),
      asset_key: member.asset_key,
      partition_key: member.partition_key,
      status,
      attempts: extra.attempts ?? 0,
      started_at: extra.started_at ?? null,
      duration_ms: extra.duration_ms ?? null,
      reason,
    });
  };

  /** Members skipped only because there is no data yet (and their downstream): not a failure of the run. */
  const noData = new Set<string>();

  const skip = (member: Member, blocker: string) => {
    const root = blocked.get(blocker)!;
    const why = root.startsWith('upstream ') ? root : `upstream ${root}`;
    blocked.set(member.id, why);
    if (noData.has(blocker)) noData.add(member.id);
    finish(member, 'SKIPPED', why);
  };

  /** A dep of `asset` that is partitioned but has no partition at all: nothing to build from yet. */
  /**
   * Why an asset's members cannot run at all in this run, per asset and computed once (the run loop asks again
   * for every pending step each time a step ends): an upstream with no partition yet (nothing to build from,
   * not a failure), or an upstream outside the run whose blocking check failed.
   */
  const heldBackOf = new Map<AssetKey, { reason: string; noData: boolean } | null>();
  const heldBack = (key: AssetKey) => {
    if (!heldBackOf.has(key)) {
      const deps = opts.graph.definition(key).deps;
      const empty = deps.find(
        (d) => opts.graph.definition(d).partitions !== undefined && (listOf(opts.partitions, d)?.length ?? 0) === 0,
      );
      const gated = deps.find((d) => opts.upstreamGates?.has(d));
      const hint = opts.defs.hooks.noDataHint ? ` ${opts.defs.hooks.noDataHint}` : '';
      heldBackOf.set(
        key,
        empty
          ? { reason: `upstream ${empty} has no partitions yet: no data to build from.${hint}`, noData: true }
          : gated
            ? { reason: `upstream ${gated}: ${opts.upstreamGates!.get(gated)}`, noData: false }
            : null,
      );
    }
    return heldBackOf.get(key)!;
  };

  const runChecks = async (step: PlannedStep) => {
    const started = new Date();
    emit({
      type: 'STEP_STARTED',
      kind: 'checks',
      run_id: runId,
      asset_key: step.asset_key,
      partition_key: '',
      attempt: 1,
    });
    const partitions = plan.steps
      .filter((s) => s.kind === 'materialize' && s.outputs.includes(step.asset_key))
      .flatMap((s) => s.partitions.map((p) => p.key))
      .filter((p) => {
        const id = stepId(step.asset_key, p);
        return outcomes.get(id)?.status === 'SUCCESS' && !blocked.has(id);
      });
    const target = { id: step.id, asset_key: step.asset_key, partition_key: '' };
    const gate = await evaluateAssetChecks(target, opts.graph.definition(step.asset_key), partitions, opts);
    const [member] = membersOf(step);
    finish(member!, 'SUCCESS', null, {
      attempts: 1,
      started_at: started.toISOString(),
      duration_ms: Date.now() - started.getTime(),
    });
    if (gate) blocked.set(step.id, gate);
  };

  const runMaterialize = async (step: PlannedStep, runnable: readonly Member[]) => {
    const started = new Date();
    const asset = opts.graph.definition(step.asset_key);
    const keys = [...new Set(runnable.map((m) => m.partition_key))];
    const outputs = step.outputs.filter((o) => runnable.some((m) => m.asset_key === o));
    const everyMember = runnable.length === keys.length * outputs.length;
    const only = everyMember ? undefined : new Set(runnable.map((m) => m.id));
    const results = await materializeStep(step, keys, outputs, asset, opts, sleep, only);
    const timing = { started_at: started.toISOString(), duration_ms: Date.now() - started.getTime() };
    for (const member of runnable) {
      const r = results.get(member.id) ?? { kind: 'canceled' as const, attempts: 0 };
      if (r.kind === 'canceled')
        finish(member, 'CANCELED', 'the run was canceled', { attempts: r.attempts, ...timing });
      else if (r.kind === 'failed') finish(member, 'FAILURE', r.error, { attempts: r.attempts, ...timing });
      else if (r.kind === 'skipped') {
        blocked.set(member.id, r.reason);
        finish(member, 'SKIPPED', r.reason, { attempts: r.attempts, ...timing });
      } else {
        finish(member, 'SUCCESS', null, { attempts: r.attempts, ...timing });
        if (r.gate) blocked.set(member.id, r.gate);
      }
    }
  };

  /**
   * What a pending step may do now: `null` to wait, or the members it runs and the members it skips with
   * the step id that blocks each. An ordinary step runs once every upstream step succeeded and is skipped
   * as a whole as soon as one is blocked. A batch, a multi-asset step and an asset's checks wait for all
   * their upstream steps, then run for what succeeded (a checks step over the partitions that succeeded)
   * and skip only what cannot run: a member whose own upstream is blocked, or (multi-asset) that depends on
   * a member of the step that is skipped.
   */
  const readiness = (step: PlannedStep): { run: Member[]; skipped: [Member, string][] } | null => {
    const members = membersOf(step).filter((m) => !outcomes.has(m.id));
    const allFinished = () => step.after.every((id) => outcomes.has(id));
    if (step.kind === 'checks') {
      if (!allFinished()) return null;
      const usable = step.after.some((id) => outcomes.get(id)?.status === 'SUCCESS' && !blocked.has(id));
      if (usable) return { run: members, skipped: [] };
      const blocker = step.after.find((id) => blocked.has(id)) ?? step.after[0]!;
      return { run: [], skipped: members.map((m) => [m, blocker]) };
    }
    if (step.batched) {
      if (!allFinished()) return null;
      const run: Member[] = [];
      const skipped: [Member, string][] = [];
      const skippedHere = new Set<string>();
      const byPartition = new Map(step.partitions.map((p) => [p.key, p]));
      for (const m of members) {
        const p = byPartition.get(m.partition_key)!;
        const after = p.outputs?.[m.asset_key] ?? p.after;
        const blocker = after.find((id) => blocked.has(id) || skippedHere.has(id));
        if (!blocker) run.push(m);
        else {
          skipped.push([m, blocker]);
          skippedHere.add(m.id);
        }
      }
      // outputs written together run or skip together: a partition with a blocked output skips them all
      const asset = opts.graph.definition(step.asset_key);
      if (asset.multi && !asset.multi.canSubset) {
        const blockerOf = new Map(skipped.map(([m, b]) => [m.partition_key, b]));
        const keep = run.filter((m) => !blockerOf.has(m.partition_key));
        for (const m of run) if (blockerOf.has(m.partition_key)) skipped.push([m, blockerOf.get(m.partition_key)!]);
        return { run: keep, skipped };
      }
      return { run, skipped };
    }
    const blocker = step.after.find((id) => blocked.has(id));
    if (blocker) return { run: [], skipped: members.map((m) => [m, blocker]) };
    if (!step.after.every((id) => outcomes.get(id)?.status === 'SUCCESS')) return null;
    return { run: members, skipped: [] };
  };

  /** Starts a step if it can run now; returns false when it must wait. Skips what cannot run at all. */
  const tryStart = (step: PlannedStep): boolean => {
    if (step.kind === 'materialize') {
      const members = membersOf(step);
      for (const m of members) {
        const held = outcomes.has(m.id) ? null : heldBack(m.asset_key);
        if (!held) continue;
        blocked.set(m.id, held.reason);
        if (held.noData) noData.add(m.id);
        finish(m, 'SKIPPED', held.reason);
      }
      if (members.every((m) => outcomes.has(m.id))) return true;
    }
    const ready = readiness(step);
    if (ready === null) return false;
    const runs = step.kind === 'checks' ? ready.skipped.length === 0 : ready.run.length > 0;
    const pool = opts.graph.definition(step.asset_key).pool;
    // Nothing is reported before the step can really start: a step waiting for a pool slot stays as it is.
    if (runs && pool && (poolUse.get(pool) ?? 0) >= (opts.defs.pools?.[pool] ?? 1)) return false;
    for (const [m, blocker] of ready.skipped) skip(m, blocker);
    if (!runs) return true;
    if (pool) poolUse.set(pool, (poolUse.get(pool) ?? 0) + 1);
    const work = step.kind === 'checks' ? runChecks(step) : runMaterialize(step, ready.run);
    const p: Promise<void> = work.finally(() => {
      running.delete(p);
      if (pool) poolUse.set(pool, poolUse.get(pool)! - 1);
    });
    running.add(p);
    return true;
  };

  while (pending.length > 0 || running.size > 0) {
    if (opts.signal.aborted) {
      for (const step of pending.splice(0)) {
        for (const m of membersOf(step))
          if (!outcomes.has(m.id)) finish(m, 'CANCELED', 'the run was canceled before this step started');
      }
    }
    let startedAny = false;
    for (let i = 0; i < pending.length && running.size < concurrency; ) {
      if (tryStart(pending[i]!)) {
        pending.splice(i, 1);
        startedAny = true;
      } else i++;
    }
    if (running.size > 0) await Promise.race(running);
    else if (!startedAny && pending.length > 0) {
      // Unreachable with a valid plan; guard against an infinite loop.
      for (const step of pending.splice(0)) {
        for (const m of membersOf(step))
          if (!outcomes.has(m.id)) finish(m, 'SKIPPED', 'its upstream steps never became ready');
      }
    }
  }

  // skips for want of data are told, not failed: an empty lakehouse is not broken
  for (const id of noData) blocked.delete(id);
  const statuses = [...outcomes.entries()].filter(([id]) => !noData.has(id)).map(([, o]) => o);
  let status: ExecuteResult['status'] = 'SUCCESS';
  let reason: string | null =
    noData.size > 0 ? `${noData.size} step(s) skipped: ${outcomes.get(noData.values().next().value!)!.reason}` : null;
  if (opts.signal.aborted || statuses.some((s) => s.status === 'CANCELED')) {
    status = 'CANCELED';
    // who canceled, when the signal says (SIGINT, `fairway cancel`, the UI, a daemon shutting down)
    const why = opts.signal.reason instanceof Error ? opts.signal.reason.message : undefined;
    reason = why?.startsWith('canceled') ? why : 'canceled by the user (Ctrl-C / SIGTERM / cancel request)';
  } else if (statuses.some((s) => s.status !== 'SUCCESS') || blocked.size > 0) {
    status = 'FAILURE';
    const failed = [...outcomes.entries()]
      .filter(([id, o]) => o.status === 'FAILURE' && !noData.has(id))
      .map(([id]) => id)
      .sort();
    const gated = [...blocked.entries()].filter(([id]) => outcomes.get(id)?.status === 'SUCCESS');
    // skipped without a failure of this run: held by something outside it (an earlier run's failed gate)
    const held = failed.length === 0 && gated.length === 0 ? statuses.filter((o) => o.status === 'SKIPPED') : [];
    reason = [
      failed.length > 0
        ? `${failed.length} step(s) failed: ${failed.slice(0, 5).join(', ')}${failed.length > 5 ? ` and ${failed.length - 5} more` : ''}`
        : '',
      gated.length > 0 ? `blocking check failed: ${gated.map(([, r]) => r).join('; ')}` : '',
      held.length > 0 ? `${held.length} step(s) skipped: ${held[0]!.reason}` : '',
    ]
      .filter(Boolean)
      .join('; ');
  }
  emit({ type: 'RUN_FINISHED', run_id: runId, status, reason });
  return { status, reason, outcomes };
}
