import type { AssetDefinition, AssetKey } from '../definitions/index.ts';
import { dimensionNames, normalizePartitionKey, partitionMappingOf, writtenTogether } from '../definitions/index.ts';
import { UsageError } from '../errors/index.ts';
import { matchesPartitionFilter, parsePartitionFilter } from '../judging/index.ts';
import type { PartitionStatus, StalenessResult } from '../staleness/index.ts';
import { SparseMap, sortedIncludes, upstreamPartitionsOf } from '../staleness/index.ts';

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
  /**
   * A multi-asset step's outputs planned for this partition, each with the steps it waits for: upstream
   * steps and the members of this step it depends on (`dbt` models on each other). Absent for one asset.
   */
  outputs?: Record<AssetKey, string[]>;
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
    s.partitions.flatMap((p) => outputsOf(s, p).map((asset_key) => ({ asset_key, partition_key: p.key }))),
  );
}

/** The outputs a step writes for one of its partitions. */
export const outputsOf = (step: PlannedStep, p: PlannedPartition): AssetKey[] =>
  p.outputs ? Object.keys(p.outputs) : step.outputs;

/**
 * Ids that record a step's outcome: one per output and partition of a materialize step (`asset[partition]`),
 * else the step's.
 */
export const memberIds = (step: PlannedStep): string[] =>
  step.kind === 'checks' ? [step.id] : step.partitions.flatMap((p) => outputsOf(step, p).map((o) => stepId(o, p.key)));

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const hasAssetScopedChecks = (asset: AssetDefinition<AssetKey, unknown>) =>
  (asset.checks ?? []).some((c) => c.scope === 'asset');

/**
 * The planned assets as units of one step each (an asset, or the planned outputs of a multi-asset), in an
 * order where every unit comes after the units it depends on. Outputs keep their topological order.
 */
function planningUnits(graph: PlanGraph, ordered: readonly AssetKey[]): AssetKey[][] {
  const unitOf = (k: AssetKey) => graph.definition(k).multi?.name ?? `asset:${k}`;
  const units = new Map<string, AssetKey[]>();
  for (const k of ordered) units.set(unitOf(k), [...(units.get(unitOf(k)) ?? []), k]);
  if (units.size === ordered.length) return ordered.map((k) => [k]);
  // Kahn over units, always taking the ready unit whose first output comes first: plain graphs keep their
  // order, and the cost stays O(units log units + edges) for big graphs.
  const names = [...units.keys()];
  const rank = new Map(names.map((u, i) => [u, i]));
  const inPlan = new Set(ordered);
  const waiting = new Map<string, number>(names.map((u) => [u, 0]));
  const dependents = new Map<string, string[]>();
  for (const [u, keys] of units) {
    const deps = new Set(
      keys.flatMap((k) =>
        graph
          .definition(k)
          .deps.filter((d) => inPlan.has(d))
          .map(unitOf),
      ),
    );
    deps.delete(u);
    waiting.set(u, deps.size);
    for (const d of deps) dependents.set(d, [...(dependents.get(d) ?? []), u]);
  }
  const ready = names.filter((u) => waiting.get(u) === 0); // sorted by rank
  const out: AssetKey[][] = [];
  while (ready.length > 0) {
    const next = ready.shift()!;
    out.push(units.get(next)!);
    for (const d of dependents.get(next) ?? []) {
      const left = waiting.get(d)! - 1;
      waiting.set(d, left);
      if (left === 0) {
        const at = ready.findIndex((r) => rank.get(r)! > rank.get(d)!);
        ready.splice(at === -1 ? ready.length : at, 0, d);
      }
    }
  }
  if (out.length < units.size) {
    const stuck = names.filter((u) => waiting.get(u)! > 0);
    throw new UsageError(
      `The selection cannot be ordered: ${stuck.join(', ')} depend on each other through assets outside a multi-asset; a multi-asset's outputs must not feed another asset that feeds the same multi-asset.`,
    );
  }
  return out;
}

/** Turns a selection into ordered steps (topological, sorted within a level, partitions sorted). */
export function buildPlan(input: PlanInput): ExecutionPlan {
  const filter = input.partitionFilter ? parsePartitionFilter(input.partitionFilter) : undefined;
  const selected = new Set(input.selected);
  const alsoWritten = new Set<AssetKey>();
  for (const key of input.selected) {
    for (const other of writtenTogether(input.graph.definition(key))) if (!selected.has(other)) alsoWritten.add(other);
  }
  const ordered = input.graph.topologicalOrder([...selected, ...alsoWritten]);
  const steps: PlannedStep[] = [];
  const inPlan = new Set<string>();
  let skippedFresh = 0;
  let filterMatchedSomething = filter === undefined;
  /** Why the filter, read as one new partition, is not a valid partition (told when nothing matched). */
  let invalid: string | undefined;
  /** Dimensions of the selected partitioned assets, to reject a filter naming none of them (a typo). */
  const selectedDims = new Set<string>();
  /** Partitions planned per asset, which may include valid ones not known yet (e.g. a new day). */
  const planned = new Map<AssetKey, readonly string[]>();
  /** Partitions with a materialize step in this plan, per asset ("" unpartitioned). */
  const stepped = new Map<AssetKey, Set<string>>();
  for (const unit of planningUnits(input.graph, ordered)) {
    const key = unit[0]!;
    const asset = input.graph.definition(key);
    let partitions: readonly string[] = [''];
    if (asset.partitions) {
      for (const name of dimensionNames(asset.partitions)) selectedDims.add(name);
      const known = unit.length === 1 ? (input.partitions.get(key) ?? []) : undefined;
      // one asset's list is usually sorted already: a million keys through a Set and a sort cost ~0.3 s; the
      // list its sparse status map holds is sorted (and taken as it is, not copied)
      partitions =
        known && (isSparseKeyList(input.staleness?.get(key), known) || isStrictlySorted(known))
          ? known
          : [...new Set(unit.flatMap((o) => input.partitions.get(o) ?? []))].sort();
      if (filter) {
        // (partitions here may be only those a --partition filter let through: see partition-scope.ts)
        const exact = filter.exact && Object.keys(filter.dims).length > 0;
        partitions = partitions.filter((p) => matchesPartitionFilter(p, filter));
        if (partitions.length === 0 && exact) {
          // A fully specified partition not yet known (e.g. a new day): accept it if it is valid.
          try {
            const normalized = normalizePartitionKey(asset.partitions, input.partitionFilter!, key);
            partitions = [normalized];
          } catch (e) {
            invalid ??= (e as Error).message;
            partitions = [];
          }
        }
        if (partitions.length > 0) filterMatchedSomething = true;
      }
    }
    // restricted to the partitions named for any output (a multi-asset's are written together)
    const allowed = unit.flatMap((o) => input.restrict?.get(o) ?? []);
    if (allowed.length > 0) partitions = partitions.filter((p) => allowed.some((a) => a.has(p)));
    for (const o of unit) planned.set(o, partitions);
    const allOrNothing = writtenTogether(asset).length > 1;
    const kept: PlannedPartition[] = [];
    /** Per output, the partitions it is planned for (its checks step waits for those). */
    const plannedOf = new Map<AssetKey, string[]>(unit.map((o) => [o, []]));
    // made when a partition needs them: an `all` mapping reads a dependency's every partition
    const depLists = new Map<AssetKey, string[]>();
    const depPartitions = (d: AssetKey) => {
      let list = depLists.get(d);
      if (!list) {
        list = [...new Set([...(input.partitions.get(d) ?? []), ...(planned.get(d) ?? [])])];
        depLists.set(d, list);
      }
      return list;
    };
    const judged =
      input.staleOnly && !allOrNothing && unit.length === 1 ? mayNeedStep(input, stepped, key, partitions) : undefined;
    if (judged) skippedFresh += partitions.length - judged.length;
    for (const p of judged ?? partitions) {
      const members: Record<AssetKey, string[]> = {};
      const fresh: AssetKey[] = [];
      for (const o of unit) {
        const def = input.graph.definition(o);
        const after: string[] = [];
        for (const depKey of def.deps) {
          const dep = input.graph.definition(depKey);
          for (const q of upstreamPartitionsOf(def, dep, p, depPartitions(depKey))) {
            const id = stepId(depKey, q);
            if (inPlan.has(id) || members[depKey]) after.push(id);
          }
          // checks of an upstream hold back its downstream (of all outputs written with it)
          for (const s of writtenTogether(dep)) if (inPlan.has(checksStepId(s))) after.push(checksStepId(s));
        }
        // Stale-only leaves FRESH members out, unless an upstream step of this plan will change their input.
        const upstreamChanges = after.some((id) => !id.endsWith('#checks'));
        if (input.staleOnly && input.staleness?.get(o)?.get(p)?.status === 'FRESH' && !upstreamChanges) {
          fresh.push(o);
          if (!allOrNothing) continue;
        }
        members[o] = after;
      }
      if (allOrNothing && fresh.length === unit.length) {
        skippedFresh += unit.length;
        continue;
      }
      skippedFresh += allOrNothing ? 0 : fresh.length;
      const outputs = Object.keys(members);
      if (outputs.length === 0) continue;
      for (const o of outputs) {
        inPlan.add(stepId(o, p));
        plannedOf.get(o)!.push(p);
        const set = stepped.get(o) ?? new Set<string>();
        stepped.set(o, set.add(p));
      }
      const internal = new Set(outputs.map((o) => stepId(o, p)));
      const after = [...new Set(Object.values(members).flat())].filter((id) => !internal.has(id));
      kept.push(unit.length === 1 ? { key: p, after } : { key: p, after, outputs: members });
    }
    const batched = asset.batch !== undefined;
    for (const group of chunk(kept, asset.batch?.maxPartitions ?? 1)) {
      const outputs = unit.filter((o) => group.some((g) => !g.outputs || g.outputs[o]));
      // named after its first output as declared (the Silver job: the fact table); outputs in topological order
      const primary = asset.multi?.outputs.find((o) => outputs.includes(o)) ?? outputs[0]!;
      steps.push({
        id: batchStepId(primary, group),
        kind: 'materialize',
        asset_key: primary,
        outputs,
        partition_key: group[0]!.key,
        partitions: group,
        batched: batched || unit.length > 1,
        after: [...new Set(group.flatMap((g) => g.after))],
      });
    }
    for (const o of unit) {
      const done = plannedOf.get(o)!;
      if (done.length === 0 || !hasAssetScopedChecks(input.graph.definition(o))) continue;
      inPlan.add(checksStepId(o));
      steps.push({
        id: checksStepId(o),
        kind: 'checks',
        asset_key: o,
        outputs: [o],
        partition_key: '',
        partitions: [],
        batched: false,
        after: done.map((p) => stepId(o, p)),
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
      `No partition of the selected assets matches '${input.partitionFilter}'.${invalid ? ` ${invalid}` : ''} Run 'fairway status --partitions' to list known partitions.`,
    );
  }
  return { steps, skippedFresh, ...(alsoWritten.size > 0 ? { alsoWritten: [...alsoWritten].sort() } : {}) };
}

/** Whether `keys` is the key list of a sparse status map (sorted, once each). */
const isSparseKeyList = (statuses: ReadonlyMap<string, unknown> | undefined, keys: readonly string[]) =>
  statuses instanceof SparseMap && statuses.isKeyList(keys);

function isStrictlySorted(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! >= keys[i]!) return false;
  return true;
}

/**
 * With stale-only, the partitions of a one-asset unit that may need a step: those not FRESH in its sparse
 * status map (its exceptions, and any it does not hold) and those whose upstream partition has a step in
 * this plan. Every other partition is FRESH with no upstream change, which the full walk would skip one
 * by one: at a million partitions that walk made a status object for each. Undefined when the asset's
 * statuses are not a sparse map or an upstream step reaches every partition (an unpartitioned upstream or
 * an `all` mapping with a step): then every partition is walked.
 */
function mayNeedStep(
  input: PlanInput,
  stepped: ReadonlyMap<AssetKey, ReadonlySet<string>>,
  key: AssetKey,
  partitions: readonly string[],
): string[] | undefined {
  const statuses = input.staleness?.get(key);
  if (!(statuses instanceof SparseMap)) return undefined;
  const asset = input.graph.definition(key);
  const out = new Set<string>();
  for (const depKey of asset.deps) {
    const steps = stepped.get(depKey);
    if (!steps || steps.size === 0) continue;
    const dep = input.graph.definition(depKey);
    if (!dep.partitions || partitionMappingOf(asset, dep) !== 'identity') return undefined;
    for (const p of steps) if (sortedIncludes(partitions, p)) out.add(p);
  }
  const sparse = statuses as SparseMap<PartitionStatus>;
  for (const p of sparse.exceptions.keys()) if (sortedIncludes(partitions, p)) out.add(p);
  if (sparse.isKeyList(partitions)) return [...out].sort(); // it holds every planned partition
  // planned partitions the map does not hold have no status: walked (one merge of two sorted lists)
  const held = sparse.keys();
  let next = held.next();
  for (const p of partitions) {
    while (!next.done && next.value < p) next = held.next();
    if (next.done || next.value !== p) out.add(p);
  }
  return [...out].sort();
}
