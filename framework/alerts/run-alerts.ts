import type { RunSummary } from '../definitions/index.ts';
import type { FreshnessResult } from '../freshness/index.ts';
import type { AssetGraph } from '../graph/index.ts';
import { exceptionsOf } from '../staleness/index.ts';
import type { Store } from '../storage/index.ts';
import type { AlertConfig } from './alert-config.ts';

/** One state change worth telling someone about. */
export interface Alert {
  kind: 'run_failure' | 'check_failure' | 'freshness_overdue';
  state: 'firing' | 'resolved';
  asset_key: string;
  /** The check, for `check_failure`. */
  check?: string;
  /** The run that showed it (run and check alerts), or null (freshness, seen by a daemon tick). */
  run_id: string | null;
  /** Partitions (or checks' partitions) it concerns in this run: how many, and the first few. */
  partitions: { count: number; first: string[] };
  message: string;
}

const FIRST = 5;
const cursorOf = (kind: Alert['kind'], asset: string, check?: string) =>
  `alert:${kind}:${asset}${check ? `:${check}` : ''}`;

/** Records a state change of (kind, asset, check) in the store's cursors and returns its alert, if it changed. */
function stateChange(
  store: Store,
  runId: string | null,
  kind: Alert['kind'],
  asset: string,
  check: string | undefined,
  failed: string[],
  passed: boolean,
  message: string,
): Alert | undefined {
  const cursor = cursorOf(kind, asset, check);
  const was: Alert['state'] = store.getCursor(cursor) === 'firing' ? 'firing' : 'resolved';
  const now = failed.length > 0 ? 'firing' : passed ? 'resolved' : was;
  if (now === was) return undefined;
  store.setCursor(cursor, now);
  return {
    kind,
    state: now,
    asset_key: asset,
    ...(check ? { check } : {}),
    run_id: runId,
    partitions: { count: failed.length, first: failed.slice(0, FIRST) },
    message,
  };
}

/** Whether `config` alerts on the asset (its group is listed, or no group is). */
const coveredBy = (graph: AssetGraph, config: AlertConfig) => (asset: string) =>
  config.groups.length === 0 || (graph.has(asset) && config.groups.includes(graph.definition(asset).group ?? ''));

/**
 * The alerts a finished run raises: per asset (of `config.groups`, or all), a step that failed where the last
 * alert said it was fine (`firing`), a step that succeeded where it said failing (`resolved`); the same for
 * each blocking check. One alert per state change, however many partitions changed — 650 failed partitions
 * are one message — and none while a failure simply repeats. The state lives in the store's cursors, so it
 * holds across processes (CLI, daemon, UI). Marks the new state as it goes.
 */
export function runAlerts(store: Store, graph: AssetGraph, config: AlertConfig, summary: RunSummary): Alert[] {
  const covered = coveredBy(graph, config);
  const alerts: Alert[] = [];
  const change = (...args: [Alert['kind'], string, string | undefined, string[], boolean, string]) => {
    const alert = stateChange(store, summary.run_id, ...args);
    if (alert) alerts.push(alert);
  };

  const steps = new Map<string, { failed: string[]; reason: string | null; ok: boolean }>();
  for (const s of summary.steps) {
    if (!covered(s.asset_key)) continue;
    const entry = steps.get(s.asset_key) ?? { failed: [], reason: null, ok: false };
    if (s.status === 'FAILURE') {
      entry.failed.push(s.partition_key);
      entry.reason ??= s.reason;
    } else if (s.status === 'SUCCESS') entry.ok = true;
    steps.set(s.asset_key, entry);
  }
  for (const [asset, s] of steps) {
    const where = s.failed.length > 1 ? ` (${s.failed.length} partitions)` : s.failed[0] ? ` [${s.failed[0]}]` : '';
    change(
      'run_failure',
      asset,
      undefined,
      s.failed,
      s.ok,
      s.failed.length > 0
        ? `${asset}${where} failed in run ${summary.run_id}: ${s.reason ?? 'see the run'}`
        : `${asset} succeeded again in run ${summary.run_id}`,
    );
  }

  const checks = new Map<string, { asset: string; check: string; failed: string[]; ok: boolean; text: string }>();
  for (const c of store.checkEvaluationsOfRun(summary.run_id)) {
    if (!c.blocking || !covered(c.asset_key)) continue;
    const key = `${c.asset_key}\u0000${c.check_name}`;
    const entry = checks.get(key) ?? { asset: c.asset_key, check: c.check_name, failed: [], ok: false, text: '' };
    if (c.passed) entry.ok = true;
    else {
      entry.failed.push(c.partition_key);
      entry.text ||= c.description ?? '';
    }
    checks.set(key, entry);
  }
  for (const c of checks.values()) {
    change(
      'check_failure',
      c.asset,
      c.check,
      c.failed,
      c.ok,
      c.failed.length > 0
        ? `blocking check ${c.check} on ${c.asset} failed in run ${summary.run_id}${c.text ? `: ${c.text}` : ''}; downstream steps were held back`
        : `blocking check ${c.check} on ${c.asset} passes again (run ${summary.run_id})`,
    );
  }
  return alerts;
}

/**
 * The alerts a daemon tick raises from freshness: an asset (of `config.groups`) with partitions past their
 * deadline (`firing`, once, with how many), and back within it (`resolved`). Partitions with nothing pending
 * are not walked (a sparse result at scale).
 */
export function freshnessAlerts(
  store: Store,
  graph: AssetGraph,
  config: AlertConfig,
  freshness: FreshnessResult,
): Alert[] {
  const covered = coveredBy(graph, config);
  const alerts: Alert[] = [];
  for (const [asset, byPartition] of freshness) {
    if (!covered(asset)) continue;
    const overdue: string[] = [];
    let dueAt: string | null = null;
    for (const [p, f] of exceptionsOf(byPartition, (x) => x.state === 'FRESH')) {
      if (f.state !== 'OVERDUE') continue;
      overdue.push(p);
      dueAt ??= f.dueAt;
    }
    const where = overdue.length > 1 ? ` (${overdue.length} partitions)` : overdue[0] ? ` [${overdue[0]}]` : '';
    const alert = stateChange(
      store,
      null,
      'freshness_overdue',
      asset,
      undefined,
      overdue,
      true,
      overdue.length > 0
        ? `${asset}${where} is overdue: its data was due by ${dueAt} and has not been materialized`
        : `${asset} is within its freshness policy again`,
    );
    if (alert) alerts.push(alert);
  }
  return alerts;
}
