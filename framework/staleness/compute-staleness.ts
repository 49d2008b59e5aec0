import type { AssetDefinition, AssetKey } from '../definitions/index.ts';
import { hashText, partitionMappingOf, SOURCE_VERSION_KEY } from '../definitions/index.ts';
import type { MaterializationRecord, StepAttemptRecord } from '../storage/index.ts';
import type { PartitionStatus, StaleCause } from './causes.ts';
import { StoredRecords } from './stored-records.ts';

/** The slice of the asset graph staleness needs. */
export interface StalenessGraph {
  topologicalOrder(keys?: Iterable<string>): string[];
  parents(key: string): string[];
  definition(key: string): AssetDefinition<AssetKey, unknown>;
}

export interface StalenessInput {
  graph: StalenessGraph;
  /** Known partition keys per partitioned asset (unpartitioned assets need no entry). */
  partitions: ReadonlyMap<AssetKey, readonly string[]>;
  materializations: ReadonlyMap<AssetKey, ReadonlyMap<string, MaterializationRecord>>;
  attempts: ReadonlyMap<AssetKey, ReadonlyMap<string, StepAttemptRecord>>;
  /** Observed source versions of assets with `observe` (asset → partition → version). */
  observations?: ReadonlyMap<AssetKey, ReadonlyMap<string, string>>;
  /** `asset_key|partition_key` of steps queued or running now. */
  running?: ReadonlySet<string>;
  /** Restrict to these assets (their upstreams are evaluated as needed). */
  keys?: Iterable<AssetKey>;
}

export type StalenessResult = Map<AssetKey, ReadonlyMap<string, PartitionStatus>>;

export interface ResolvedInput {
  key: AssetKey;
  partitions: string[];
  dataVersion: string | null;
}

const EMPTY = new Map<string, MaterializationRecord>();

/** The partitions of `dep` that a step of `asset` for `partition` consumes. */
export function upstreamPartitionsOf(
  asset: AssetDefinition<AssetKey, unknown>,
  dep: AssetDefinition<AssetKey, unknown>,
  partition: string,
  depPartitions: readonly string[],
): string[] {
  if (!dep.partitions) return [''];
  return partitionMappingOf(asset, dep) === 'identity' ? [partition] : [...depPartitions];
}

/** Combined data version of a set of upstream partitions, or null when none is materialized. */
export function combinedVersion(
  records: ReadonlyMap<string, MaterializationRecord>,
  partitions: string[],
): string | null {
  // records read from the store on demand give their versions without whole records
  const versionOf =
    records instanceof StoredRecords
      ? (p: string) => records.dataVersionOf(p)
      : (p: string) => records.get(p)?.data_version;
  if (partitions.length === 1) return versionOf(partitions[0]!) ?? null;
  const pairs = partitions
    .filter((p) => records.has(p))
    .sort()
    .map((p) => `${p}=${versionOf(p)}`);
  return pairs.length === 0 ? null : `all:${hashText(...pairs)}`;
}

/** What a step of `asset` for `partition` would consume now. Used by the executor and by staleness. */
export function resolveInputs(
  asset: AssetDefinition<AssetKey, unknown>,
  partition: string,
  lookup: {
    definition(key: string): AssetDefinition<AssetKey, unknown>;
    partitions: ReadonlyMap<AssetKey, readonly string[]>;
    materializations: ReadonlyMap<AssetKey, ReadonlyMap<string, MaterializationRecord>>;
  },
): ResolvedInput[] {
  return asset.deps.map((key) => {
    const dep = lookup.definition(key);
    const records = lookup.materializations.get(key) ?? EMPTY;
    const known = lookup.partitions.get(key) ?? [...records.keys()];
    const partitions = upstreamPartitionsOf(asset, dep, partition, known);
    return { key, partitions, dataVersion: combinedVersion(records, partitions) };
  });
}

/**
 * Computes MISSING / FRESH / STALE / FAILED / RUNNING with causes for every partition of the
 * requested assets. A pure function of its inputs; evaluated in topological order, each upstream once.
 */
export function computeStaleness(input: StalenessInput): StalenessResult {
  const { graph } = input;
  const wanted = input.keys ? new Set(input.keys) : undefined;
  const order = graph.topologicalOrder();
  const needed = wanted ? closureUpstream(graph, wanted) : undefined;
  const result: StalenessResult = new Map();
  const lookup = stalenessLookup(input);
  for (const key of order) {
    if (needed && !needed.has(key)) continue;
    const asset = graph.definition(key);
    const records = input.materializations.get(key) ?? EMPTY;
    const partitions = asset.partitions ? unionPartitions(input.partitions.get(key), records) : [''];
    const statuses = new Map<string, PartitionStatus>();
    for (const partition of partitions) {
      statuses.set(partition, statusOf(asset, partition, records.get(partition), input, result, lookup));
    }
    result.set(key, statuses);
  }
  if (wanted) for (const key of [...result.keys()]) if (!wanted.has(key)) result.delete(key);
  return result;
}

function closureUpstream(graph: StalenessGraph, keys: Set<string>): Set<string> {
  const seen = new Set<string>();
  const stack = [...keys];
  while (stack.length > 0) {
    const k = stack.pop()!;
    if (seen.has(k)) continue;
    seen.add(k);
    stack.push(...graph.parents(k));
  }
  return seen;
}

/**
 * Known partitions and those with records, once each, sorted. Both usually arrive sorted (days in order,
 * the store's records by key): then a merge, not a set and a sort of a million keys.
 */
export function unionPartitions(known: readonly string[] | undefined, records: ReadonlyMap<string, unknown>): string[] {
  const a = known ?? [];
  const b = [...records.keys()];
  if (!isSorted(a) || !isSorted(b)) return [...new Set([...a, ...b])].sort();
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i++]! : b[j++]!;
    if (out.length === 0 || out[out.length - 1] !== next) out.push(next);
  }
  return out;
}

function isSorted(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return false;
  return true;
}

/** What `statusOf` reads besides the partition's own records; made once, not per partition. */
export interface Lookup {
  definition(key: string): AssetDefinition<AssetKey, unknown>;
  partitions: ReadonlyMap<AssetKey, readonly string[]>;
  materializations: ReadonlyMap<AssetKey, ReadonlyMap<string, MaterializationRecord>>;
  /** Deps added and removed since a recorded deps list, per list (records share equal lists). */
  depsChanges: WeakMap<readonly string[], Map<AssetKey, { added: string[]; removed: string[] }>>;
}

/** Made once per evaluation: at a million partitions per-partition closures alone cost seconds. */
export function stalenessLookup(input: Pick<StalenessInput, 'graph' | 'partitions' | 'materializations'>): Lookup {
  return {
    definition: (k) => input.graph.definition(k),
    partitions: input.partitions,
    materializations: input.materializations,
    depsChanges: new WeakMap(),
  };
}

function depsChanged(asset: AssetDefinition<AssetKey, unknown>, recorded: readonly string[], lookup: Lookup) {
  let byAsset = lookup.depsChanges.get(recorded);
  if (!byAsset) {
    byAsset = new Map();
    lookup.depsChanges.set(recorded, byAsset);
  }
  let change = byAsset.get(asset.key);
  if (!change) {
    change = {
      added: asset.deps.filter((d) => !recorded.includes(d)),
      removed: recorded.filter((d) => !asset.deps.includes(d)),
    };
    byAsset.set(asset.key, change);
  }
  return change;
}

/** The status of one partition from its latest record, attempt and upstream statuses (`done`). */
export function statusOf(
  asset: AssetDefinition<AssetKey, unknown>,
  partition: string,
  latest: MaterializationRecord | undefined,
  input: StalenessInput,
  done: StalenessResult,
  lookup: Lookup,
): PartitionStatus {
  const base = { dataVersion: latest?.data_version ?? null, materializedAt: latest?.ts ?? null };
  if (input.running?.has(`${asset.key}|${partition}`)) return { status: 'RUNNING', causes: [], ...base };
  const attempt = input.attempts.get(asset.key)?.get(partition);
  // A step canceled before it started (no attempt made) changed nothing: it is not a failure.
  const canceledUnstarted = attempt?.status === 'CANCELED' && attempt.attempts === 0;
  const failed =
    attempt !== undefined &&
    (attempt.status === 'FAILURE' || (attempt.status === 'CANCELED' && !canceledUnstarted)) &&
    (latest === undefined || (attempt.finished_at ?? '') > latest.ts);
  const causes: StaleCause[] = [];
  if (failed) causes.push({ kind: 'last_attempt_failed', run_id: attempt.run_id, reason: attempt.reason });
  if (!latest) {
    causes.push({ kind: 'never_materialized' });
    return { status: failed ? 'FAILED' : 'MISSING', causes, ...base };
  }
  if (latest.code_version !== asset.codeVersion) {
    causes.push({ kind: 'code_version_changed', from: latest.code_version, to: asset.codeVersion });
  }
  const observed = input.observations?.get(asset.key)?.get(partition);
  if (observed !== undefined) {
    const md = latest.metadata[SOURCE_VERSION_KEY];
    const recorded = md?.type === 'text' ? md.value : null;
    if (recorded !== observed) causes.push({ kind: 'source_changed', recorded, observed });
  }
  const { added, removed } = depsChanged(asset, latest.deps, lookup);
  if (added.length > 0 || removed.length > 0)
    causes.push({ kind: 'deps_changed', added: [...added], removed: [...removed] });
  const inputs = asset.deps.length === 0 ? [] : resolveInputs(asset, partition, lookup);
  for (const inp of inputs) {
    const consumed = latest.input_versions[inp.key] ?? null;
    if (consumed !== inp.dataVersion) {
      const records = input.materializations.get(inp.key) ?? EMPTY;
      const newer = inp.partitions.filter((p) => p !== '' && (records.get(p)?.ts ?? '') > latest.ts);
      causes.push(
        newer.length > 0 && inp.partitions.length > 1
          ? { kind: 'upstream_partitions_changed', upstream: inp.key, partitions: newer }
          : { kind: 'upstream_data_changed', upstream: inp.key, consumed, current: inp.dataVersion },
      );
    }
    const upstreamStatuses = done.get(inp.key);
    for (const p of inp.partitions) {
      const s = upstreamStatuses?.get(p);
      if (s && (s.status === 'STALE' || s.status === 'MISSING')) {
        causes.push({ kind: 'upstream_stale', upstream: inp.key, partition: p, status: s.status });
        break;
      }
    }
  }
  if (failed) return { status: 'FAILED', causes, ...base };
  return { status: causes.length > 0 ? 'STALE' : 'FRESH', causes, ...base };
}
