import { existsSync, statSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { rowTotals } from '../execution/index.ts';
import type { Project, StatusCache } from '../project/index.ts';
import { loadStatus } from '../project/index.ts';
import { exceptionsOf, statusCounts } from '../staleness/index.ts';
import { RUN_STATUSES } from '../states/index.ts';

/** Step durations, in seconds: from a tenth of a second to a couple of hours. */
const DURATION_BUCKETS = [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200];
/** Recent successful steps per asset that the duration histogram is built from. */
const RECENT_STEPS = 50;
const PARTITION_STATES = ['FRESH', 'STALE', 'MISSING', 'FAILED', 'RUNNING'] as const;

/**
 * The project's state in the Prometheus text format, read from the store when scraped (nothing is kept in
 * the process, so the CLI, the UI and the daemon answer the same): runs by status, the duration of each
 * asset's recent successful steps, partitions by state, freshness (partitions per state, seconds to the
 * nearest deadline), the daemon's last tick and the store's size. `cache`: the UI's judged state.
 */
export async function renderMetrics(
  project: Project,
  opts: { cache?: StatusCache; now?: Date } = {},
): Promise<{ contentType: string; text: string }> {
  const now = opts.now ?? new Date();
  const registry = new Registry();
  const { store, graph } = project;

  const runs = new Gauge({
    name: 'fairway_runs',
    help: 'Runs recorded, by status',
    labelNames: ['status'],
    registers: [registry],
  });
  const byStatus = store.runCountsByStatus();
  for (const s of RUN_STATUSES) runs.set({ status: s }, byStatus[s] ?? 0);

  const durations = new Histogram({
    name: 'fairway_step_duration_seconds',
    help: `Duration of the last ${RECENT_STEPS} successful steps of each asset`,
    labelNames: ['asset'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const keys = graph.keys();
  for (const [asset, list] of store.recentDurations(keys, RECENT_STEPS)) {
    for (const ms of list) durations.observe({ asset }, ms / 1000);
  }

  const rows = new Counter({
    name: 'fairway_rows_total',
    help: 'Rows reported by the materializations of each asset: written (row_count), quarantined, duplicates_removed',
    labelNames: ['asset', 'kind'],
    registers: [registry],
  });
  for (const asset of keys) {
    for (const [kind, n] of Object.entries(rowTotals(store, asset))) rows.inc({ asset, kind }, n);
  }

  const status = await loadStatus(project, keys, { freshnessAt: now, ...(opts.cache ? { cache: opts.cache } : {}) });
  const partitions = new Gauge({
    name: 'fairway_asset_partitions',
    help: 'Partitions of each asset (1 for an unpartitioned one) by state',
    labelNames: ['asset', 'state'],
    registers: [registry],
  });
  for (const [asset, parts] of status.staleness) {
    const { counts } = statusCounts(parts);
    for (const s of PARTITION_STATES) partitions.set({ asset, state: s.toLowerCase() }, counts[s] ?? 0);
  }

  const freshness = new Gauge({
    name: 'fairway_freshness_partitions',
    help: 'Partitions of each asset with a freshness policy by freshness state',
    labelNames: ['asset', 'state'],
    registers: [registry],
  });
  const deadline = new Gauge({
    name: 'fairway_freshness_seconds_to_deadline',
    help: 'Seconds until the nearest deadline of data pending for the asset (negative: overdue)',
    labelNames: ['asset'],
    registers: [registry],
  });
  for (const [asset, parts] of status.freshness ?? []) {
    const counts = { fresh: parts.size, warn: 0, overdue: 0 };
    let nearest: number | undefined;
    for (const [, f] of exceptionsOf(parts, (x) => x.state === 'FRESH')) {
      counts.fresh--;
      counts[f.state === 'WARN' ? 'warn' : 'overdue']++;
      if (f.dueAt) nearest = Math.min(nearest ?? Number.POSITIVE_INFINITY, Date.parse(f.dueAt));
    }
    for (const [state, n] of Object.entries(counts)) freshness.set({ asset, state }, n);
    if (nearest !== undefined) deadline.set({ asset }, (nearest - now.getTime()) / 1000);
  }

  // no daemon has ticked in this store: no daemon series (a 0 would read as "ticked just now")
  const [tick] = store.listTicks({ limit: 1 }).items;
  if (tick) {
    new Gauge({
      name: 'fairway_daemon_tick_age_seconds',
      help: "Seconds since the daemon's last tick started (its lag when it grows past the interval)",
      registers: [registry],
    }).set((now.getTime() - Date.parse(tick.started_at)) / 1000);
    if (tick.finished_at) {
      new Gauge({
        name: 'fairway_daemon_tick_duration_seconds',
        help: "The daemon's last tick's duration",
        registers: [registry],
      }).set((Date.parse(tick.finished_at) - Date.parse(tick.started_at)) / 1000);
    }
  }

  const bytes = new Gauge({
    name: 'fairway_store_bytes',
    help: 'Size of the SQLite store, with its write-ahead log',
    registers: [registry],
  });
  const size = (p: string) => (existsSync(p) ? statSync(p).size : 0);
  if (store.path !== ':memory:') bytes.set(size(store.path) + size(`${store.path}-wal`));

  return { contentType: registry.contentType, text: await registry.metrics() };
}
