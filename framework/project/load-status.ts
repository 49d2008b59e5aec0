import type { AssetKey } from '../definitions/index.ts';
import type { FreshnessResult } from '../freshness/index.ts';
import type { StalenessResult } from '../staleness/index.ts';
import type { MaterializationRecord } from '../storage/index.ts';
import type { Project } from './load-project.ts';
import type { StatusCache } from './status-cache.ts';

export interface ProjectStatus {
  staleness: StalenessResult;
  materializations: Map<AssetKey, ReadonlyMap<string, MaterializationRecord>>;
  partitions: Map<AssetKey, string[]>;
  /** FRESH / WARN / OVERDUE of the assets with a freshness policy, when asked for (`freshnessAt`). */
  freshness?: FreshnessResult;
}

export interface LoadStatusOptions {
  /** Also evaluate freshness policies at this time, from the same records and source observations. */
  freshnessAt?: Date;
  /** A `--partition` filter: only the matching partitions (and their upstream partitions) are read and judged. */
  partition?: string;
  /** A long-lived process's cache (the UI): judgements are kept while what they were made from holds. */
  cache?: StatusCache;
}

/**
 * Status of the given assets (default all) from stored records: a handful of batch queries, and one
 * `observe` per source partition (shared with the freshness evaluation when `freshnessAt` is given).
 */
export async function loadStatus(
  project: Project,
  keys?: AssetKey[],
  opts: LoadStatusOptions = {},
): Promise<ProjectStatus> {
  const { cache } = opts;
  if (cache && opts.partition === undefined) return cache.serialize(() => load(project, keys, opts, cache));
  return load(project, keys, opts, undefined);
}

async function load(
  project: Project,
  keys: AssetKey[] | undefined,
  opts: LoadStatusOptions,
  cache: StatusCache | undefined,
): Promise<ProjectStatus> {
  const wanted = keys ?? project.graph.keys();
  const relevant = new Set<AssetKey>(wanted);
  if (keys) for (const k of keys) for (const u of project.graph.upstream(k)) relevant.add(u);
  const all = [...relevant];
  // imported here, not by this module: loading a project (`fairway list`) needs neither judging nor freshness
  const [{ loadJudgedState }, { freshnessFrom }] = await Promise.all([
    import('../judging/index.ts'),
    import('../freshness/index.ts'),
  ]);
  const { partitions, observations, judged } = await loadJudgedState(project, wanted, all, {
    partition: opts.partition,
    memo: cache,
  });
  const { materializations, attempts } = judged;
  const staleness = keys ? onlyKeys(judged.staleness, keys) : judged.staleness;
  const hasPolicy = wanted.some((k) => project.graph.definition(k).freshness);
  const freshness =
    opts.freshnessAt && hasPolicy
      ? freshnessFrom(
          project,
          { keys: all, partitions, materializations, attempts, observations, settled: judged.settled },
          opts.freshnessAt,
        ).freshness
      : undefined;
  return { staleness, materializations, partitions, ...(freshness ? { freshness } : {}) };
}

function onlyKeys(result: StalenessResult, keys: AssetKey[]): StalenessResult {
  return new Map(keys.flatMap((k) => (result.has(k) ? [[k, result.get(k)!] as const] : [])));
}
