import { type AssetDefinition, type AssetKey, didYouMean } from '../definitions/index.ts';
import { FrameworkError } from '../errors/index.ts';

/** Each asset's direct neighbours in one direction: its parents (upstream) or its children (downstream). */
export type Neighbours = ReadonlyMap<AssetKey, ReadonlySet<AssetKey>>;

/**
 * The asset DAG (edges upstream → downstream) with the queries planning, staleness and selection need.
 * Immutable once built; build it with `buildGraph`. Every list it returns is sorted so output is stable.
 * Two maps of sets, not a graph library: the queries are a few walks, and a graph package is ~5 ms of every
 * command's start (bench/README.md, session 17).
 */
export class AssetGraph<R = unknown> {
  readonly #parents: Neighbours;
  readonly #children: Neighbours;
  readonly #assets: ReadonlyMap<AssetKey, AssetDefinition<AssetKey, R>>;
  readonly #keys: readonly string[];
  #generations: string[][] | undefined;
  #position: Map<string, number> | undefined;

  /** Use `buildGraph`, which validates the graph is acyclic. */
  constructor(
    edges: { parents: Neighbours; children: Neighbours },
    assets: ReadonlyMap<AssetKey, AssetDefinition<AssetKey, R>>,
  ) {
    this.#parents = edges.parents;
    this.#children = edges.children;
    this.#assets = assets;
    this.#keys = [...edges.parents.keys()].sort();
  }

  get size(): number {
    return this.#keys.length;
  }

  keys(): string[] {
    return [...this.#keys];
  }

  has(key: string): boolean {
    return this.#parents.has(key);
  }

  definition(key: string): AssetDefinition<AssetKey, R> {
    this.#assertKey(key);
    return this.#assets.get(key)!;
  }

  parents(key: string): string[] {
    this.#assertKey(key);
    return [...this.#parents.get(key)!].sort();
  }

  children(key: string): string[] {
    this.#assertKey(key);
    return [...this.#children.get(key)!].sort();
  }

  /** Assets with no upstream. */
  roots(): string[] {
    return this.#keys.filter((k) => this.#parents.get(k)!.size === 0);
  }

  /** Assets nothing depends on. */
  sinks(): string[] {
    return this.#keys.filter((k) => this.#children.get(k)!.size === 0);
  }

  /**
   * Ancestors of `from` (one key or several) up to `depth` hops, all of them when `depth` is undefined.
   * The starting keys themselves are not included.
   */
  upstream(from: string | Iterable<string>, depth?: number): Set<string> {
    return this.#walk(from, depth, 'in');
  }

  /** Descendants of `from`, like `upstream` in the other direction. */
  downstream(from: string | Iterable<string>, depth?: number): Set<string> {
    return this.#walk(from, depth, 'out');
  }

  /** Topological generations: roots first, each asset one level after its deepest parent, each level sorted. */
  generations(): string[][] {
    return this.#levels().map((level) => [...level]);
  }

  /**
   * Keys in deterministic topological order (generation, then key). With `keys`, only those keys, in the
   * order they take in the whole graph.
   */
  topologicalOrder(keys?: Iterable<string>): string[] {
    if (keys === undefined) return this.#levels().flat();
    const position = this.#positions();
    const subset = new Set<string>();
    for (const k of keys) {
      this.#assertKey(k);
      subset.add(k);
    }
    return [...subset].sort((a, b) => position.get(a)! - position.get(b)!);
  }

  #levels(): string[][] {
    this.#generations ??= generationsOf(this.#keys, this.#parents, this.#children);
    return this.#generations;
  }

  #positions(): Map<string, number> {
    if (!this.#position) {
      this.#position = new Map();
      for (const k of this.#levels().flat()) this.#position.set(k, this.#position.size);
    }
    return this.#position;
  }

  #walk(from: string | Iterable<string>, depth: number | undefined, direction: 'in' | 'out'): Set<string> {
    const starts = typeof from === 'string' ? [from] : [...from];
    const seen = new Set<string>();
    for (const k of starts) {
      this.#assertKey(k);
      seen.add(k);
    }
    const found = new Set<string>();
    let frontier = [...seen];
    // Breadth-first, level by level, so each asset is reached at its shortest distance from any start.
    for (let hop = 0; frontier.length > 0 && (depth === undefined || hop < depth); hop++) {
      const next: string[] = [];
      const visit = (neighbor: string) => {
        if (seen.has(neighbor)) return;
        seen.add(neighbor);
        found.add(neighbor);
        next.push(neighbor);
      };
      const neighbours = direction === 'in' ? this.#parents : this.#children;
      for (const k of frontier) neighbours.get(k)!.forEach(visit);
      frontier = next;
    }
    return found;
  }

  #assertKey(key: string): void {
    if (!this.#parents.has(key)) {
      throw new FrameworkError('ASSET_NOT_FOUND', `Asset '${key}' is not defined.${didYouMean(key, this.#keys)}`, {
        details: { asset_key: key },
      });
    }
  }
}

/**
 * Kahn's algorithm a level at a time: the roots, then every asset whose parents are all in earlier levels.
 * Each level sorted. The graph is acyclic (buildGraph checks), so every key is placed.
 */
function generationsOf(keys: readonly AssetKey[], parents: Neighbours, children: Neighbours): AssetKey[][] {
  const waitingFor = new Map(keys.map((k) => [k, parents.get(k)!.size]));
  const levels: AssetKey[][] = [];
  let level = keys.filter((k) => waitingFor.get(k) === 0);
  while (level.length > 0) {
    levels.push(level);
    const next: AssetKey[] = [];
    for (const k of level) {
      for (const child of children.get(k)!) {
        const left = waitingFor.get(child)! - 1;
        waitingFor.set(child, left);
        if (left === 0) next.push(child);
      }
    }
    level = next.sort();
  }
  return levels;
}
