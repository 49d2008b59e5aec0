import { type AssetKey, type KeyList, listOf } from '../definitions/index.ts';
import type { PartitionListMemo } from '../judging/index.ts';
import type { StoredStaleness } from '../staleness/index.ts';

type Observations = ReadonlyMap<AssetKey, ReadonlyMap<string, string>>;

/** What the kept judgements were made from. */
interface Generation {
  stamp: string;
  /** The lists as listed (a lazy list is compared as it is, its keys not made). */
  partitions: Map<AssetKey, KeyList | undefined>;
  observations: Map<AssetKey, ReadonlyMap<string, string> | undefined>;
  state: StoredStaleness;
}

/**
 * What `loadStatus` keeps between the calls of a long-lived process (the UI server), for one project: the
 * partition lists, and each asset's judged staleness while nothing it was judged from has changed — the
 * store's contents (`Store.changeStamp`: any commit, by any process), the known partitions (discovery is
 * called every time; an open day range ends today) and the source observations (`observe` is called every
 * time). Freshness, which depends on the clock, is evaluated on every call. Calls run one at a time, so
 * requests arriving together share one judgement.
 */
export class StatusCache {
  readonly partitionLists: PartitionListMemo = new Map();
  #generation: Generation | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  /** Runs `fn` once the calls before it are done. */
  serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The judgements that still hold for a call over `keys` (closed under upstream) with these inputs, or
   * undefined (and everything kept is forgotten) when any of them differs from what they were made from.
   */
  prior(
    stamp: string,
    keys: readonly AssetKey[],
    partitions: ReadonlyMap<AssetKey, readonly string[]>,
    observations: Observations,
  ): StoredStaleness | undefined {
    const g = this.#generation;
    if (!g) return undefined;
    const holds =
      g.stamp === stamp &&
      keys.every(
        (k) =>
          !g.state.staleness.has(k) ||
          (g.partitions.get(k) === listOf(partitions, k) &&
            sameObservations(g.observations.get(k), observations.get(k))),
      );
    if (!holds) this.#generation = undefined;
    return holds ? g.state : undefined;
  }

  /** Keeps the judgements of a call (made with `prior` when it held, so they add to it). */
  keep(
    stamp: string,
    keys: readonly AssetKey[],
    partitions: ReadonlyMap<AssetKey, readonly string[]>,
    observations: Observations,
    state: StoredStaleness,
  ): void {
    const g =
      this.#generation?.stamp === stamp
        ? this.#generation
        : {
            stamp,
            partitions: new Map(),
            observations: new Map(),
            state: { staleness: new Map(), settled: new Map(), materializations: new Map(), attempts: new Map() },
          };
    for (const k of keys) {
      if (g.state.staleness.has(k) || !state.staleness.has(k)) continue;
      g.partitions.set(k, listOf(partitions, k));
      g.observations.set(k, observations.get(k));
      g.state.staleness.set(k, state.staleness.get(k)!);
      g.state.settled.set(k, state.settled.get(k)!);
      g.state.materializations.set(k, state.materializations.get(k)!);
      g.state.attempts.set(k, state.attempts.get(k)!);
    }
    this.#generation = g;
  }
}

function sameObservations(
  a: ReadonlyMap<string, string> | undefined,
  b: ReadonlyMap<string, string> | undefined,
): boolean {
  if (a === b) return true;
  if (!a || !b || a.size !== b.size) return false;
  for (const [p, v] of a) if (b.get(p) !== v) return false;
  return true;
}
