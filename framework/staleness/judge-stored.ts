import type { AssetDefinition, AssetKey, KeyList } from '../definitions/index.ts';
import { keyArray, listOf, partitionMappingOf } from '../definitions/index.ts';
import type { MaterializationRecord, StepAttemptRecord, Store } from '../storage/index.ts';
import type { PartitionStatus } from './causes.ts';
import {
  type StalenessGraph,
  type StalenessInput,
  type StalenessResult,
  stalenessLookup,
  statusOf,
  unionPartitions,
} from './compute-staleness.ts';
import { knownAndMaterialized } from './known-materialized.ts';
import { SparseMap, sortedIncludes } from './sparse-map.ts';
import { type RecordMap, StoredRecords } from './stored-records.ts';

interface StoredStalenessInput {
  store: Store;
  graph: StalenessGraph;
  /** The assets to judge, closed under upstream. */
  keys: readonly AssetKey[];
  /** Known partition keys per partitioned asset. */
  partitions: ReadonlyMap<AssetKey, readonly string[]>;
  observations?: ReadonlyMap<AssetKey, ReadonlyMap<string, string>>;
  /**
   * Assets judged before from the same store contents, partitions and observations (a long-lived process's
   * cache): taken as they are instead of judged again.
   */
  prior?: StoredStaleness;
}

export interface StoredStaleness {
  /** With partitions being materialized now as RUNNING. */
  staleness: StalenessResult;
  /** The same without RUNNING: what each partition is behind on even while a run catches it up (freshness). */
  settled: StalenessResult;
  materializations: Map<AssetKey, RecordMap>;
  /** Latest attempts, of the partitions that were judged in JavaScript only for large assets. */
  attempts: Map<AssetKey, ReadonlyMap<string, StepAttemptRecord>>;
}

const FRESH_CAUSES: never[] = [];

/**
 * Staleness straight from the store, in time that depends on what is not fresh rather than on history.
 * For a partitioned asset whose upstreams are read 1:1 or are unpartitioned, SQLite finds the partitions
 * that may not be FRESH (`Store.stalenessCandidates`: a different code version or deps list, a newer failed
 * or a running attempt, an input version that is not the upstream's current one); those, the known
 * partitions never materialized and those whose upstream partition is stale or missing are judged by the
 * same `statusOf` as `computeStaleness`; every other partition is FRESH without being read. Other assets
 * (observed sources, `all`-mapped readers) are judged as `computeStaleness` does.
 */
export function judgeStored(input: StoredStalenessInput): StoredStaleness {
  const { store, graph } = input;
  const wanted = new Set(input.keys);
  const out: StoredStaleness = {
    staleness: new Map(),
    settled: new Map(),
    materializations: new Map(),
    attempts: new Map(),
  };
  const base = { graph, partitions: input.partitions, materializations: out.materializations };
  const lookup = stalenessLookup(base);
  const observations = input.observations ?? new Map();
  const prior = input.prior;
  for (const key of graph.topologicalOrder()) {
    if (!wanted.has(key)) continue;
    if (prior?.staleness.has(key)) {
      out.staleness.set(key, prior.staleness.get(key)!);
      out.settled.set(key, prior.settled.get(key)!);
      out.materializations.set(key, prior.materializations.get(key)!);
      out.attempts.set(key, prior.attempts.get(key)!);
      continue;
    }
    const asset = graph.definition(key);
    // as listed: a lazy list's keys are made only if a judgement walks them
    const known = listOf(input.partitions, key);
    const sparse = sparseCandidates(store, graph, asset, known, out);
    const judged = sparse ? sparse.judge : undefined;
    let keys: KeyList;
    let heads: Map<string, MaterializationRecord>;
    let attempts: ReadonlyMap<string, StepAttemptRecord>;
    if (sparse) {
      keys = sparse.keys;
      heads = store.latestMaterializationHeads([key], { partitions: sparse.judge }).get(key) ?? new Map();
      attempts = store.latestStepAttempts([key], { partitions: sparse.judge }).get(key) ?? new Map();
      out.materializations.set(key, new StoredRecords(store, key, sparse.materialized, heads));
    } else {
      heads = store.latestMaterializationHeads([key]).get(key) ?? new Map();
      attempts = store.latestStepAttempts([key]).get(key) ?? new Map();
      keys = asset.partitions ? unionPartitions(known && keyArray(known), heads) : [''];
      out.materializations.set(key, heads);
    }
    out.attempts.set(key, attempts);
    const running = new Set<string>();
    for (const [p, a] of attempts) if (a.status === 'RUNNING') running.add(`${key}|${p}`);
    const records = out.materializations.get(key)!;
    const judgeAll = (result: StalenessResult, withRunning: boolean) => {
      const stalenessInput: StalenessInput = {
        ...base,
        attempts: out.attempts,
        observations,
        ...(withRunning ? { running } : {}),
      };
      const statuses = new Map<string, PartitionStatus>();
      for (const p of judged ?? keys) {
        const s = statusOf(asset, p, records.get(p), stalenessInput, result, lookup);
        if (!judged || s.status !== 'FRESH') statuses.set(p, s);
      }
      const fresh = (p: string): PartitionStatus => freshStatus(records, p);
      result.set(key, judged ? new SparseMap(keys, statuses, fresh) : statuses);
    };
    judgeAll(out.staleness, true);
    judgeAll(out.settled, false);
  }
  return out;
}

/** A FRESH partition's status; its record is read only if a caller asks for its version or time. */
function freshStatus(records: ReadonlyMap<string, MaterializationRecord>, partition: string): PartitionStatus {
  return {
    status: 'FRESH',
    causes: FRESH_CAUSES,
    get dataVersion() {
      return records.get(partition)?.data_version ?? null;
    },
    get materializedAt() {
      return records.get(partition)?.ts ?? null;
    },
  };
}

/**
 * For an asset SQLite can pre-judge: its known and materialized partitions, and the ones to judge in
 * JavaScript. Undefined when the asset must be judged whole (unpartitioned, observed, an `all`-mapped
 * partitioned upstream, or an unpartitioned upstream that is stale or missing: then every partition is).
 */
function sparseCandidates(
  store: Store,
  graph: StalenessGraph,
  asset: AssetDefinition<AssetKey, unknown>,
  known: KeyList | undefined,
  done: StoredStaleness,
): { keys: KeyList; materialized: KeyList; judge: string[] } | undefined {
  if (!asset.partitions || asset.observe) return undefined;
  const identityDeps: string[] = [];
  const fixedDeps: { key: string; dataVersion: string | null }[] = [];
  for (const depKey of asset.deps) {
    const dep = graph.definition(depKey);
    if (dep.partitions) {
      if (partitionMappingOf(asset, dep) !== 'identity') return undefined;
      identityDeps.push(depKey);
      continue;
    }
    for (const result of [done.staleness, done.settled]) {
      const s = result.get(depKey)?.get('')?.status;
      if (s === 'STALE' || s === 'MISSING') return undefined;
    }
    fixedDeps.push({ key: depKey, dataVersion: done.materializations.get(depKey)?.get('')?.data_version ?? null });
  }
  const { union: keys, missing, materialized } = knownAndMaterialized(store, asset.key, known ?? []);
  const judge = new Set(missing);
  const spec = { codeVersion: asset.codeVersion, depsJson: JSON.stringify(asset.deps), identityDeps, fixedDeps };
  for (const p of store.stalenessCandidates(asset.key, spec)) judge.add(p);
  // an upstream partition that is stale or missing makes its 1:1 reader stale (`upstream_stale`)
  for (const depKey of identityDeps) {
    for (const result of [done.staleness, done.settled]) {
      const statuses = result.get(depKey);
      const notFresh = statuses instanceof SparseMap ? statuses.exceptions : (statuses ?? new Map());
      for (const [p, s] of notFresh) {
        if ((s.status === 'STALE' || s.status === 'MISSING') && sortedIncludes(keys, p)) judge.add(p);
      }
    }
  }
  return { keys, materialized, judge: [...judge].sort() };
}
