import { resolve, sep } from 'node:path';
import type { Metadata, PartitionsDefinition } from '../framework/definitions/index.ts';
import { UsageError } from '../framework/errors/index.ts';
import { reapDeadRuns } from '../framework/judging/index.ts';
import { loadStatus, type Project, type StatusCache } from '../framework/project/index.ts';
import {
  describeCause,
  exceptionsOf,
  explainStatus,
  type PartitionStatus,
  type StatusKind,
  StoredRecords,
  statusCounts,
  type WhyLine,
} from '../framework/staleness/index.ts';
import type { CheckEvaluationRecord, ComputeLogRecord, MaterializationRecord } from '../framework/storage/index.ts';
import type { AssetSummary, FreshnessDetail } from './api-schemas.ts';
import { NotFoundError } from './errors.ts';
import { freshnessDetail, freshnessSummary } from './freshness-view.ts';
import { type PartitionHealth, partitionHealth } from './partition-health.ts';

const SEVERITY: StatusKind[] = ['FAILED', 'RUNNING', 'STALE', 'MISSING', 'FRESH'];

/** The worst status across an asset's partitions, with counts and the first cause in words. */
export function summarizeStatus(parts: ReadonlyMap<string, PartitionStatus> | undefined) {
  const { counts, firstWithCause } = statusCounts(parts);
  const cause = firstWithCause?.[1].causes[0];
  const status = SEVERITY.find((s) => counts[s]) ?? 'MISSING';
  return { status, counts, first_cause: cause ? describeCause(cause) : null };
}

/** The newest of an asset's latest materializations (read from the store when they are not all loaded). */
function latestOf(
  store: Project['store'],
  key: string,
  byPartition: ReadonlyMap<string, MaterializationRecord> | undefined,
): MaterializationRecord | null {
  if (byPartition instanceof StoredRecords) {
    return byPartition.size === 0 ? null : (store.materializationHistory(key, { limit: 1 }).items[0] ?? null);
  }
  let best: MaterializationRecord | null = null;
  for (const m of byPartition?.values() ?? []) if (!best || m.ts > best.ts) best = m;
  return best;
}

export function checkSummary(evals: CheckEvaluationRecord[]): AssetSummary['checks'] {
  let passed = 0;
  let warn = 0;
  let failed = 0;
  for (const e of evals) {
    if (e.passed) passed++;
    else if (e.severity === 'warn') warn++;
    else failed++;
  }
  const badge: AssetSummary['checks']['badge'] =
    failed > 0 ? 'failed' : warn > 0 ? 'warn' : passed > 0 ? 'passed' : null;
  return { passed, warn, failed, badge };
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/**
 * One row per asset: status, freshness, first cause, latest materialization and checks; a few batch queries.
 * `cache` keeps the judged staleness between requests while the store and the partitions do not change.
 */
export async function assetSummaries(project: Project, cache?: StatusCache): Promise<AssetSummary[]> {
  const st = await loadStatus(project, undefined, { freshnessAt: new Date(), ...(cache ? { cache } : {}) });
  const keys = project.graph.topologicalOrder();
  const checks = groupBy(project.store.latestCheckEvaluations(keys), (e) => e.asset_key);
  return keys.map((key) => {
    const def = project.graph.definition(key);
    const latest = latestOf(project.store, key, st.materializations.get(key));
    return {
      key,
      group: def.group ?? 'default',
      kinds: [...(def.kinds ?? [])],
      ...summarizeStatus(st.staleness.get(key)),
      latest_materialization: latest
        ? {
            ts: latest.ts,
            run_id: latest.run_id,
            partition_key: latest.partition_key,
            data_version: latest.data_version,
          }
        : null,
      checks: checkSummary(checks.get(key) ?? []),
      freshness: freshnessSummary(def, st.freshness?.get(key)),
    };
  });
}

export interface AssetDetail {
  key: string;
  description: string | null;
  group: string;
  kinds: string[];
  owners: string[];
  tags: Record<string, string>;
  code_version: string;
  source_file: string;
  /** Set when a multi-asset writes this asset: the step's name and every asset it writes (this one included). */
  written_by: { step: string; assets: string[] } | null;
  partitions_def: { kind: string; dimensions: string[] } | null;
  upstream: string[];
  downstream: string[];
  checks_defined: { name: string; severity: string; blocking: boolean; description: string | null }[];
  status: StatusKind;
  first_cause: string | null;
  latest: MaterializationRecord | null;
  /**
   * Every partition when there are at most `GRID_LIMIT` (the page draws one cell each); beyond that the
   * first `NOT_FRESH_LISTED` partitions that are not fresh, and `partition_health` sums up the rest.
   */
  partitions: {
    partition_key: string;
    status: StatusKind;
    data_version: string | null;
    materialized_at: string | null;
    cause: string | null;
  }[];
  partitions_total: number;
  partition_health: PartitionHealth | null;
  why: { partition_key: string; lines: WhyLine[] };
  checks: CheckEvaluationRecord[];
  /** Null when the asset has no freshness policy; `partitions` has one entry per partition ("" unpartitioned). */
  freshness: FreshnessDetail | null;
}

/** Up to this many partitions the asset page shows one cell each. */
export const GRID_LIMIT = 2_000;
const NOT_FRESH_LISTED = 200;

function listedPartitions(parts: ReadonlyMap<string, PartitionStatus>): [string, PartitionStatus][] {
  if (parts.size <= GRID_LIMIT) return [...parts.entries()];
  const out: [string, PartitionStatus][] = [];
  for (const entry of exceptionsOf(parts, (s) => s.status === 'FRESH')) {
    out.push(entry);
    if (out.length === NOT_FRESH_LISTED) break;
  }
  return out;
}

/** The health bar of a status map, made once per map (a cached judgement hands out the same map). */
const healthOfMap = new WeakMap<ReadonlyMap<string, PartitionStatus>, PartitionHealth>();

function healthOf(parts: ReadonlyMap<string, PartitionStatus>, dimensions: string[]): PartitionHealth {
  let health = healthOfMap.get(parts);
  if (!health) {
    health = partitionHealth(parts, dimensions);
    healthOfMap.set(parts, health);
  }
  return health;
}

const dimensionsOf = (pdef: PartitionsDefinition) =>
  pdef.kind === 'multi' ? pdef.dimensions.map((d) => d.name) : [pdef.name];

/**
 * Judges every asset into `cache` and sums up the health bar of each asset with too many partitions for a
 * grid, so the first pages opened are answered from them (`fairway ui` runs it once it listens).
 */
export async function warmAssetPages(project: Project, cache: StatusCache): Promise<void> {
  const st = await loadStatus(project, undefined, { cache });
  for (const key of project.graph.keys()) {
    const pdef = project.graph.definition(key).partitions;
    const parts = st.staleness.get(key);
    if (!pdef || !parts || parts.size <= GRID_LIMIT) continue;
    healthOf(parts, dimensionsOf(pdef));
    await new Promise((resolve) => setImmediate(resolve)); // let requests in between assets
  }
}

/** Everything the asset page and `GET /api/assets/:key` show (`cache`: as for `assetSummaries`). */
export async function assetDetail(
  project: Project,
  key: string,
  partition?: string,
  cache?: StatusCache,
): Promise<AssetDetail> {
  if (!project.graph.has(key)) throw new NotFoundError(`Asset '${key}' is not defined.`, { asset_key: key });
  const def = project.graph.definition(key);
  const st = await loadStatus(project, [key], { freshnessAt: new Date(), ...(cache ? { cache } : {}) });
  const parts = st.staleness.get(key) ?? new Map<string, PartitionStatus>();
  const summary = summarizeStatus(parts);
  const whyPartition =
    (partition !== undefined && parts.has(partition) ? partition : undefined) ??
    statusCounts(parts).firstNotFresh?.[0] ??
    parts.keys().next().value ??
    '';
  const pdef = def.partitions;
  return {
    key,
    description: def.description ?? null,
    group: def.group ?? 'default',
    kinds: [...(def.kinds ?? [])],
    owners: [...(def.owners ?? [])],
    tags: { ...(def.tags ?? {}) },
    code_version: def.codeVersion,
    source_file: def.sourceFile,
    written_by: def.multi ? { step: def.multi.name, assets: [...def.multi.outputs] } : null,
    partitions_def: pdef
      ? { kind: pdef.kind, dimensions: pdef.kind === 'multi' ? pdef.dimensions.map((d) => d.name) : [pdef.name] }
      : null,
    upstream: project.graph.parents(key),
    downstream: project.graph.children(key),
    checks_defined: (def.checks ?? []).map((c) => ({
      name: c.name,
      severity: c.severity ?? 'error',
      blocking: c.blocking ?? false,
      description: c.description ?? null,
    })),
    status: summary.status,
    first_cause: summary.first_cause,
    // The one record shown in full: its metadata is read here, not for every partition (loadStatus).
    latest: project.store.materializationHistory(key, { limit: 1 }).items[0] ?? null,
    partitions: listedPartitions(parts).map(([p, s]) => ({
      partition_key: p,
      status: s.status,
      data_version: s.dataVersion,
      materialized_at: s.materializedAt,
      cause: s.causes[0] ? describeCause(s.causes[0]) : null,
    })),
    partitions_total: pdef ? parts.size : 0,
    partition_health: pdef && parts.size > GRID_LIMIT ? healthOf(parts, dimensionsOf(pdef)) : null,
    why: { partition_key: whyPartition, lines: parts.size > 0 ? explainStatus(st.staleness, key, whyPartition) : [] },
    checks: project.store.latestCheckEvaluations([key]),
    freshness: freshnessDetail(def, st.freshness?.get(key)),
  };
}

/** Numeric metadata entries of a record, for plots. */
export function numericMetadata(metadata: Metadata): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (v.type === 'int' || v.type === 'float' || v.type === 'row_count') out[k] = v.value;
  }
  return out;
}

/** A page of runs, dead ones reaped first (FAILURE, not STARTED). */
export function listRuns(project: Project, query: Parameters<Project['store']['listRuns']>[0]) {
  reapDeadRuns(project.store);
  return project.store.listRuns(query);
}

export function runDetail(project: Project, runId: string) {
  reapDeadRuns(project.store); // a run whose process died shows FAILURE, not STARTED
  const run = project.store.getRun(runId);
  if (!run) throw new NotFoundError(`No run '${runId}'.`, { run_id: runId });
  const logs = project.store.computeLogs(runId);
  return {
    run,
    events: project.store.getEvents(runId),
    step_attempts: project.store.stepAttemptsOfRun(runId),
    checks: project.store.checkEvaluationsOfRun(runId),
    compute_logs: logs.map((l) => ({
      asset_key: l.asset_key,
      partition_key: l.partition_key,
      bytes: l.bytes,
      url: computeLogUrl(runId, l),
    })),
  };
}

export const computeLogUrl = (runId: string, l: Pick<ComputeLogRecord, 'asset_key' | 'partition_key'>) =>
  `/api/runs/${encodeURIComponent(runId)}/logs/${encodeURIComponent(l.asset_key)}${
    l.partition_key ? `?partition=${encodeURIComponent(l.partition_key)}` : ''
  }`;

/** Absolute path of a stored compute log; refuses any path that leaves the state directory. */
export function resolveLogPath(stateDir: string, stored: string): string {
  const root = resolve(stateDir);
  const full = resolve(root, stored);
  if (!full.startsWith(root + sep)) {
    throw new UsageError(`Refusing to read a compute log outside the state directory: '${stored}'.`);
  }
  return full;
}
