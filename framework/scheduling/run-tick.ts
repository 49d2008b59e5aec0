import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { ulid } from 'ulid';
import { alertConfigFrom, freshnessAlerts, sendAlerts } from '../alerts/index.ts';
import { type EventSink, type LaunchResult, launchRun, type RunContext } from '../execution/index.ts';
import {
  type FreshnessResult,
  loadFreshness,
  NEVER,
  PENDING_CURSOR,
  SOURCE_ARRIVALS_CURSOR,
  settlingSources,
} from '../freshness/index.ts';
import { isProcessAlive } from '../judging/index.ts';
import { resolveSelection } from '../selection/index.ts';
import { exceptionsOf } from '../staleness/index.ts';
import type { SchedulerDecisionRecord, SchedulerTickRecord, Store } from '../storage/index.ts';
import { dueSchedules, scheduleCursor } from './due-schedules.ts';
import { type PlannedRun, planTick, type SchedulerOptions } from './plan-tick.ts';

/** The daemon's singleton lease: only its holder ticks. */
export const DAEMON_LEASE = 'fairway-daemon';

export interface TickOptions {
  now: Date;
  /** Who ticks (`hostname:pid:ulid`); must hold the daemon lease. */
  holder: string;
  options: SchedulerOptions;
  /** Lease time-to-live; another daemon takes over once it lapses (default 3 intervals, at least 60 s). */
  leaseTtlMs?: number;
  /**
   * `asset|partition` → run id of runs this process launched and that have not finished. The tick
   * adds the runs it launches; the owner removes them when they settle. Such runs may not be in the
   * store yet, so they count as running.
   */
  inFlight?: Map<string, string>;
  /** Cancels the runs launched by this tick. */
  signal?: AbortSignal;
  onEvent?: EventSink;
  /** Called after the decisions are recorded, before each launch (fault injection in tests). */
  beforeLaunch?: (launch: LaunchRequest) => void;
}

export interface LaunchRequest {
  run_id: string;
  selection: string;
  partition: string | null;
  steps: { asset_key: string; partition_key: string }[];
}

export interface TickOutcome {
  tick_id: number;
  /** `SKIPPED`: the tick was done before (same tick id). `NOT_LEADER`: another daemon holds the lease. */
  status: 'SUCCESS' | 'RESUMED' | 'SKIPPED' | 'NOT_LEADER';
  decisions: SchedulerDecisionRecord[];
  launched: { request: LaunchRequest; result: Promise<LaunchResult> }[];
  freshness?: FreshnessResult;
}

/** Tick ids are the tick's start in epoch ms: `floor(now / interval) * interval`. */
export const tickIdOf = (now: Date, intervalMs: number) => Math.floor(now.getTime() / intervalMs) * intervalMs;

/**
 * One daemon tick: evaluate freshness and source arrivals, plan, record the tick and every decision,
 * then launch the planned runs (waiting until each run is recorded, not until it finishes). Idempotent
 * per tick id: a tick that crashed after recording its decisions is resumed — runs recorded but never
 * created are launched with their recorded ids — and a finished tick is skipped, so a restart never
 * launches twice.
 */
export async function runTick(ctx: RunContext, opts: TickOptions): Promise<TickOutcome> {
  const { store } = ctx;
  const { now, options: o } = opts;
  const tickId = tickIdOf(now, o.intervalMs);
  const ttl = opts.leaseTtlMs ?? Math.max(3 * o.intervalMs, 60_000);
  const log = ctx.log.child({ tick_id: tickId });
  if (!acquireDaemonLease(store, log, opts.holder, ttl, now)) {
    return { tick_id: tickId, status: 'NOT_LEADER', decisions: [], launched: [] };
  }
  const nowIso = now.toISOString();
  const { tick, created } = store.beginTick({
    tick_id: tickId,
    holder: opts.holder,
    status: 'STARTED',
    started_at: nowIso,
    finished_at: null,
    evaluated: {},
    error: null,
  });
  if (!created) {
    if (tick.status === 'SUCCESS') return { tick_id: tickId, status: 'SKIPPED', decisions: [], launched: [] };
    return await resume(ctx, tick, opts);
  }

  try {
    const state = await loadFreshness(ctx, now);
    const alerting = alertConfigFrom();
    if (alerting) await sendAlerts(alerting, freshnessAlerts(store, ctx.graph, alerting, state.freshness), log);
    store.setCursor(SOURCE_ARRIVALS_CURSOR, JSON.stringify(state.arrivals));
    store.setCursor(PENDING_CURSOR, JSON.stringify(state.pending));
    const running = new Map(opts.inFlight ?? []);
    const active = store.activeRuns();
    for (const run of active) for (const s of run.plan) running.set(`${s.asset_key}|${s.partition_key}`, run.run_id);

    const keys = ctx.graph.keys();
    const medians = new Map<string, number>();
    for (const [key, list] of store.recentDurations(keys, 5)) medians.set(key, median(list));
    const launches = launchCounts(ctx, state);
    const plan = planTick({
      now,
      graph: ctx.graph,
      partitions: state.partitions,
      staleness: state.staleness,
      freshness: state.freshness,
      running,
      settling: settlingSources(state.arrivals, now, o.settleMs),
      durations: medians,
      launches,
      activeRuns: active.length,
      options: o,
    });

    const runIds = plan.runs.map(() => ulid(now.getTime()));
    const decisions: SchedulerDecisionRecord[] = plan.decisions.map((d) => {
      const run = d.run === null ? undefined : plan.runs[d.run]!;
      return {
        tick_id: tickId,
        asset_key: d.asset_key,
        partition_key: d.partition_key,
        action: d.action,
        reason: d.reason,
        due_at: d.due_at,
        expected_ms: d.expected_ms,
        run_id: run ? runIds[d.run!]! : null,
        selection: run?.selection ?? null,
        run_partition: run?.partition ?? null,
        created_at: nowIso,
      };
    });
    const requests: LaunchRequest[] = plan.runs.map((r: PlannedRun, i) => ({ run_id: runIds[i]!, ...r }));

    // Plain cron schedules: one run per due schedule, unless its assets are busy or no slot is free.
    let slots = Math.max(0, o.maxConcurrentRuns - active.length - plan.runs.length);
    const schedules = ctx.defs.schedules ?? [];
    const cursors = new Map(schedules.map((s) => [s.name, store.getCursor(scheduleCursor(s.name))]));
    const { due, start } = dueSchedules(schedules, cursors, now);
    for (const [name, at] of start) store.setCursor(scheduleCursor(name), at);
    const busyKeys = new Set([...running.keys()].map((id) => id.slice(0, id.indexOf('|'))));
    for (const d of plan.runs) for (const s of d.steps) busyKeys.add(s.asset_key);
    for (const { schedule, tick: at } of due) {
      const selected = resolveSelection(ctx.graph, schedule.selection);
      const busy = selected.find((k) => busyKeys.has(k));
      const base = {
        tick_id: tickId,
        asset_key: scheduleCursor(schedule.name),
        partition_key: '',
        due_at: at,
        expected_ms: null,
        created_at: nowIso,
      };
      if (busy || slots === 0) {
        const why = busy
          ? `'${busy}' is being materialized`
          : `the concurrency limit is reached (${o.maxConcurrentRuns} runs)`;
        decisions.push({
          ...base,
          action: 'wait',
          reason: `schedule '${schedule.name}' ('${schedule.cron}' ${schedule.timezone}) tick ${at} waits: ${why}`,
          run_id: null,
          selection: null,
          run_partition: null,
        });
        continue;
      }
      slots--;
      const request: LaunchRequest = {
        run_id: ulid(now.getTime()),
        selection: schedule.selection,
        partition: schedule.partition ?? null,
        steps: [],
      };
      requests.push(request);
      decisions.push({
        ...base,
        action: 'launch',
        reason: `schedule '${schedule.name}' ('${schedule.cron}' ${schedule.timezone}) ticked at ${at}`,
        run_id: request.run_id,
        selection: request.selection,
        run_partition: request.partition,
      });
    }

    store.recordDecisions(decisions);
    const evaluated = summarize(state.freshness, Object.keys(state.arrivals).length);
    const recorded = store.tickDecisions([tickId]);
    for (const d of recorded) {
      if (d.asset_key.startsWith('schedule:') && d.action === 'launch' && d.due_at)
        store.setCursor(d.asset_key, d.due_at);
    }
    const launched = await launchAll(ctx, opts, tickId, requests);
    store.finishTick(tickId, { status: 'SUCCESS', finished_at: new Date().toISOString(), error: null, evaluated });
    log.info({ decisions: recorded.length, runs: launched.length, ...evaluated.counts }, 'daemon tick');
    return { tick_id: tickId, status: 'SUCCESS', decisions: recorded, launched, freshness: state.freshness };
  } catch (e) {
    // Decisions already recorded stay; the same tick id resumes them. Runs launched so far are kept.
    store.finishTick(tickId, { status: 'FAILURE', finished_at: new Date().toISOString(), error: (e as Error).message });
    throw e;
  }
}

/** A daemon lease holder (`hostname:pid:ulid`, see `Daemon`) whose process on this host is gone. */
function isDeadHolder(holder: string): boolean {
  const m = /^(.+):(\d+):[0-9A-Z]{26}$/.exec(holder);
  return m !== null && m[1] === hostname() && !isProcessAlive(Number(m[2]));
}

/**
 * Takes the daemon lease, or renews it. A lease held by a daemon process on this host that died (kill -9)
 * is taken over at once instead of after its time-to-live, so a restarted daemon resumes its tick.
 */
function acquireDaemonLease(store: Store, log: Logger, holder: string, ttlMs: number, now: Date): boolean {
  if (store.acquireLease(DAEMON_LEASE, holder, ttlMs, now)) return true;
  const current = store.leaseHolder(DAEMON_LEASE);
  if (current === undefined || !isDeadHolder(current)) return false;
  const taken = store.acquireLease(DAEMON_LEASE, holder, ttlMs, now, current);
  if (taken) log.warn({ previous_holder: current }, 'daemon lease taken over from a daemon process that died');
  return taken;
}

/** Relaunches the runs of a crashed tick that were recorded but never created. */
async function resume(ctx: RunContext, tick: SchedulerTickRecord, opts: TickOptions): Promise<TickOutcome> {
  const { store } = ctx;
  const decisions = store.tickDecisions([tick.tick_id]);
  const inFlight = new Set(opts.inFlight?.values() ?? []);
  const requests = new Map<string, LaunchRequest>();
  for (const d of decisions) {
    if (d.action !== 'launch' || !d.run_id || !d.selection) continue;
    if (d.asset_key.startsWith('schedule:') && d.due_at) store.setCursor(d.asset_key, d.due_at);
    if (inFlight.has(d.run_id) || store.getRun(d.run_id)) continue;
    const r = requests.get(d.run_id) ?? {
      run_id: d.run_id,
      selection: d.selection,
      partition: d.run_partition,
      steps: [],
    };
    if (!d.asset_key.startsWith('schedule:')) r.steps.push({ asset_key: d.asset_key, partition_key: d.partition_key });
    requests.set(d.run_id, r);
  }
  const launched = await launchAll(ctx, opts, tick.tick_id, [...requests.values()]);
  store.finishTick(tick.tick_id, {
    status: 'SUCCESS',
    finished_at: new Date().toISOString(),
    error: null,
    evaluated: { ...tick.evaluated, resumed_by: opts.holder, relaunched: [...requests.keys()] },
  });
  ctx.log.warn({ tick_id: tick.tick_id, relaunched: requests.size }, 'daemon tick resumed after a crash');
  return { tick_id: tick.tick_id, status: 'RESUMED', decisions, launched };
}

/**
 * Launches the requests (without waiting for the runs) and resolves once each run is recorded in the
 * store (or failed to start): only then is the tick finished, so a crash before leaves it resumable.
 */
async function launchAll(
  ctx: RunContext,
  opts: TickOptions,
  tickId: number,
  requests: LaunchRequest[],
): Promise<TickOutcome['launched']> {
  const created: Promise<void>[] = [];
  const launched = requests.map((request) => {
    opts.beforeLaunch?.(request);
    const ids =
      request.steps.length > 0
        ? request.steps.map((s) => `${s.asset_key}|${s.partition_key}`)
        : [`run:${request.run_id}|`];
    for (const id of ids) opts.inFlight?.set(id, request.run_id);
    let recorded = () => {};
    created.push(new Promise<void>((resolve) => (recorded = resolve)));
    const result = launchRun(ctx, {
      selection: request.selection,
      ...(request.partition ? { partition: request.partition } : {}),
      ...(request.steps.length > 0 ? { only: request.steps } : {}),
      staleOnly: true,
      runId: request.run_id,
      // The planner already avoided running steps; a lock held now is a race, better retried next tick.
      lockWaitMs: 0,
      tags: { 'fairway/daemon_tick': String(tickId) },
      onPlan: () => recorded(),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    });
    result.then(recorded, (e: unknown) => {
      recorded();
      ctx.log.warn({ run_id: request.run_id, err: (e as Error).message }, 'daemon run could not start');
    });
    return { request, result };
  });
  await Promise.all(created);
  return launched;
}

/** Launches per step since its latest materialization, for steps not fresh now (backoff input). */
function launchCounts(
  ctx: RunContext,
  state: Awaited<ReturnType<typeof loadFreshness>>,
): Map<string, { count: number; last: string }> {
  const notFresh = new Set<string>();
  for (const [key, byPartition] of state.staleness) {
    for (const _ of exceptionsOf(byPartition, (s) => s.status === 'FRESH')) {
      notFresh.add(key);
      break;
    }
  }
  const out = new Map<string, { count: number; last: string }>();
  for (const d of ctx.store.launchDecisionsSince([...notFresh], NEVER)) {
    const since = state.materializations.get(d.asset_key)?.get(d.partition_key)?.ts ?? NEVER;
    if (d.created_at <= since) continue;
    if (state.staleness.get(d.asset_key)?.get(d.partition_key)?.status === 'FRESH') continue;
    const id = `${d.asset_key}|${d.partition_key}`;
    const prev = out.get(id);
    out.set(id, { count: (prev?.count ?? 0) + 1, last: d.created_at });
  }
  return out;
}

function median(list: number[]): number {
  const sorted = [...list].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function summarize(freshness: FreshnessResult, pendingSources: number) {
  const counts = { fresh: 0, warn: 0, overdue: 0, pending_sources: pendingSources };
  const notFresh: { asset_key: string; partition_key: string; state: string; due_at: string | null }[] = [];
  for (const [key, byPartition] of freshness) {
    // the partitions with nothing pending (all but a few, at scale) are FRESH: counted, not walked
    let walked = 0;
    for (const [p, f] of exceptionsOf(byPartition, (x) => x.state === 'FRESH')) {
      walked++;
      counts[f.state === 'WARN' ? 'warn' : 'overdue']++;
      if (notFresh.length < 200) notFresh.push({ asset_key: key, partition_key: p, state: f.state, due_at: f.dueAt });
    }
    counts.fresh += byPartition.size - walked;
  }
  return { counts, assets: freshness.size, not_fresh: notFresh };
}
