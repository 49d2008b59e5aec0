import type { AssetDefinition, AssetKey } from '../definitions/index.ts';
import { dimensionNames, normalizePartitionKey, siblingsOf } from '../definitions/index.ts';
import { UsageError } from '../errors/index.ts';
import type { StalenessResult } from '../staleness/index.ts';
import { upstreamPartitionsOf } from '../staleness/index.ts';
import { matchesPartitionFilter, parsePartitionFilter } from './partition-filter.ts';

export interface PlanGraph {
  topologicalOrder(keys?: Iterable<string>): string[];
  definition(key: string): AssetDefinition<AssetKey, unknown>;
}

export interface PlannedStep {
  /**
   * `asset_key`, `asset_key[partition]`, `asset_key[first … last]` for a batch of partitions, or
   * `asset_key#checks` for an asset-scoped check step.
   */
  id: string;
  /** `materialize` partitions, or evaluate the asset-scoped `checks` once all its partitions are done. */
  kind: 'materialize' | 'checks';
  /** The asset of the step; the first of `outputs` for a multi-asset. */
  asset_key: AssetKey;
  /** What a materialize step writes: `[asset_key]`, or every output of a multi-asset. `[asset_key]` for checks. */
  outputs: AssetKey[];
  /** The step's (first) partition; "" when unpartitioned and for checks. */
  partition_key: string;
  /**
   * What a materialize step covers: one partition, or several for an asset with a batch policy, each
   * with the ids of the upstream partition steps it waits for. Empty for checks.
   */
  partitions: PlannedPartition[];
  /** Whether the asset materializes in batches (its partitions run even when a sibling's upstream failed). */
  batched: boolean;
  /** Ids of the steps of this plan that must finish first. */
  after: string[];
}

export interface PlannedPartition {
  key: string;
  /** Upstream steps of this partition alone (a subset of the step's `after`). */
  after: string[];
}

export interface ExecutionPlan {
  steps: PlannedStep[];
  /** Selected asset partitions left out because they are FRESH (with `staleOnly`). */
  skippedFresh: number;
  /** Assets planned although not selected, because a multi-asset writes them with a selected one. */
  alsoWritten?: AssetKey[];
}

export interface PlanInput {
  graph: PlanGraph;
  selected: readonly AssetKey[];
  /** Known partitions per partitioned asset. */
  partitions: ReadonlyMap<AssetKey, readonly string[]>;
  /** `dim=value[,dim=value]`; may name a subset of an asset's dimensions. */
  partitionFilter?: string;
  staleOnly?: boolean;
  staleness?: StalenessResult;
  /** Only these partitions of these assets (for upstream partitions added because they are missing). */
  restrict?: ReadonlyMap<AssetKey, ReadonlySet<string>>;
}

export const stepId = (key: string, partition: string) => (partition === '' ? key : `${key}[${partition}]`);
export const checksStepId = (key: string) => `${key}#checks`;
const batchStepId = (key: string, partitions: readonly PlannedPartition[]) =>
  partitions.length === 1
    ? stepId(key, partitions[0]!.key)
    : `${key}[${partitions[0]!.key} … ${partitions.at(-1)!.key}]`;

/** The (asset, partition) pairs a plan materializes, batches expanded. */
export function plannedTargets(plan: ExecutionPlan): { asset_key: AssetKey; partition_key: string }[] {
  return plan.steps.flatMap((s) =>
    s.outputs.flatMap((asset_key) => s.partitions.map((p) => ({ asset_key, partition_key: p.key }))),
  );
}

/**
 * Ids that record a step's outcome: one per output and partition of a materialize step (`asset[partition]`),
 * else the step's.
 */
export const memberIds = (step: PlannedStep): string[] =>
  step.kind === 'checks' ? [step.id] : step.outputs.flatMap((o) => step.partitions.map((p) => stepId(o, p.key)));

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const hasAssetScopedChecks = (asset: AssetDefinition<AssetKey, unknown>) =>
  (asset.checks ?? []).some((c) => c.scope === 'asset');

/** Turns a selection into ordered steps (topological, sorted within a level, partitions sorted). */
export function buildPlan(input: PlanInput): ExecutionPlan {
  const filter = input.partitionFilter ? parsePartitionFilter(input.partitionFilter) : undefined;
  const selected = new Set(input.selected);
  const alsoWritten = new Set<AssetKey>();
  for (const key of input.selected) {
    for (const sibling of siblingsOf(input.graph.definition(key))) if (!selected.has(sibling)) alsoWritten.add(sibling);
  }
  const ordered = input.graph.topologicalOrder([...selected, ...alsoWritten]);
  /** Outputs of a multi-asset planned with an earlier sibling. */
  const withSibling = new Set<AssetKey>();
  const steps: PlannedStep[] = [];
  const inPlan = new Set<string>();
  let skippedFresh = 0;
  let filterMatchedSomething = filter === undefined;
  /** Dimensions of the selected partitioned assets, to reject a filter naming none of them (a typo). */
  const selectedDims = new Set<string>();
  /** Partitions planned per asset, which may include valid ones not known yet (e.g. a new day). */
  const planned = new Map<AssetKey, readonly string[]>();
  for (const key of ordered) {
    if (withSibling.has(key)) continue;
    const asset = input.graph.definition(key);
    // A multi-asset's outputs share deps and partitions: planned once, as one step writing them all.
    const outputs = [...siblingsOf(asset)];
    for (const o of outputs) withSibling.add(o);
    let partitions = [''];
    if (asset.partitions) {
      for (const name of dimensionNames(asset.partitions)) selectedDims.add(name);
      partitions = [...new Set(outputs.flatMap((o) => input.partitions.get(o) ?? []))].sort();
      if (filter) {
        const exact = filter.exact && partitions.length > 0 && Object.keys(filter.dims).length > 0;
        partitions = partitions.filter((p) => matchesPartitionFilter(p, filter));
        if (partitions.length === 0 && exact) {
          // A fully specified partition not yet known (e.g. a new day): accept it if it is valid.
          try {
            const normalized = normalizePartitionKey(asset.partitions, input.partitionFilter!, key);
            partitions = [normalized];
          } catch {
            partitions = [];
          }
        }
        if (partitions.length > 0) filterMatchedSomething = true;
      }
    }
    // restricted to the partitions named for any output (they are written together)
    const allowed = outputs.flatMap((o) => input.restrict?.get(o) ?? []);
    if (allowed.length > 0) partitions = partitions.filter((p) => allowed.some((a) => a.has(p)));
    for (const o of outputs) planned.set(o, partitions);
    const depPartitions = new Map(
      asset.deps.map((d) => [d, [...new Set([...(input.partitions.get(d) ?? []), ...(planned.get(d) ?? [])])]]),
    );
    const kept: PlannedPartition[] = [];
    for (const p of partitions) {
      const after: string[] = [];
      for (const depKey of asset.deps) {
        const dep = input.graph.definition(depKey);
        for (const q of upstreamPartitionsOf(asset, dep, p, depPartitions.get(depKey)!)) {
          const id = stepId(depKey, q);
          if (inPlan.has(id)) after.push(id);
        }
        // a multi-asset's checks hold back the downstream of all its outputs
        for (const s of siblingsOf(dep)) if (inPlan.has(checksStepId(s))) after.push(checksStepId(s));
      }
      // Stale-only leaves FRESH partitions out, unless an upstream step of this plan will change their input.
      const fresh = outputs.every((o) => input.staleness?.get(o)?.get(p)?.status === 'FRESH');
      const upstreamChanges = after.some((id) => !id.endsWith('#checks'));
      if (input.staleOnly && fresh && !upstreamChanges) {
        skippedFresh += outputs.length;
        continue;
      }
      for (const o of outputs) inPlan.add(stepId(o, p));
      kept.push({ key: p, after });
    }
    const batched = asset.batch !== undefined;
    for (const group of chunk(kept, asset.batch?.maxPartitions ?? 1)) {
      steps.push({
        id: batchStepId(key, group),
        kind: 'materialize',
        asset_key: key,
        outputs,
        partition_key: group[0]!.key,
        partitions: group,
        batched,
        after: [...new Set(group.flatMap((g) => g.after))],
      });
    }
    for (const o of outputs) {
      if (kept.length === 0 || !hasAssetScopedChecks(input.graph.definition(o))) continue;
      inPlan.add(checksStepId(o));
      steps.push({
        id: checksStepId(o),
        kind: 'checks',
        asset_key: o,
        outputs: [o],
        partition_key: '',
        partitions: [],
        batched: false,
        after: kept.map((p) => stepId(o, p.key)),
      });
    }
  }
  const strayDims = filter && selectedDims.size > 0 ? Object.keys(filter.dims).filter((d) => !selectedDims.has(d)) : [];
  if (strayDims.length > 0) {
    throw new UsageError(
      `The partition filter '${input.partitionFilter}' names dimension(s) ${strayDims.join(', ')}, which no selected asset has; expected ${[...selectedDims].sort().join(', ')}.`,
    );
  }
  if (!filterMatchedSomething) {
    throw new UsageError(
      `No partition of the selected assets matches '${input.partitionFilter}'. Run 'fairway status' to list known partitions.`,
    );
  }
  return { steps, skippedFresh, ...(alsoWritten.size > 0 ? { alsoWritten: [...alsoWritten].sort() } : {}) };
}
