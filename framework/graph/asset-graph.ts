import type { DirectedGraph } from 'graphology';
import { topologicalGenerations } from 'graphology-dag';
import { type AssetDefinition, type AssetKey, didYouMean } from '../definitions/index.ts';
import { FrameworkError } from '../errors/index.ts';

/**
 * The asset DAG (edges upstream → downstream) with the queries planning, staleness and selection need.
 * Immutable once built; build it with `buildGraph`. Every list it returns is sorted so output is stable.
 */
export class AssetGraph<R = unknown> {
  readonly #graph: DirectedGraph;
  readonly #assets: ReadonlyMap<AssetKey, AssetDefinition<AssetKey, R>>;
  readonly #keys: readonly string[];
  #generations: string[][] | undefined;
  #position: Map<string, number> | undefined;

  /** Use `buildGraph`, which validates the graph is acyclic. */
  constructor(graph: DirectedGraph, assets: ReadonlyMap<AssetKey, AssetDefinition<AssetKey, R>>) {
    this.#graph = graph;
    this.#assets = assets;
    this.#keys = graph.nodes().sort();
  }

  get size(): number {
    return this.#keys.length;
  }

  keys(): string[] {
    return [...this.#keys];
  }

  has(key: string): boolean {
    return this.#graph.hasNode(key);
  }

  definition(key: string): AssetDefinition<AssetKey, R> {
    this.#assertKey(key);
    return this.#assets.get(key)!;
  }

  parents(key: string): string[] {
    this.#assertKey(key);
    return this.#graph.inNeighbors(key).sort();
  }

  children(key: string): string[] {
    this.#assertKey(key);
    return this.#graph.outNeighbors(key).sort();
  }

  /** Assets with no upstream. */
  roots(): string[] {
    return this.#keys.filter((k) => this.#graph.inDegree(k) === 0);
  }

  /** Assets nothing depends on. */
  sinks(): string[] {
    return this.#keys.filter((k) => this.#graph.outDegree(k) === 0);
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
    this.#generations ??= topologicalGenerations(this.#graph).map((level) => level.sort());
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
      for (const k of frontier) {
        if (direction === 'in') this.#graph.forEachInNeighbor(k, visit);
        else this.#graph.forEachOutNeighbor(k, visit);
      }
      frontier = next;
    }
    return found;
  }

  #assertKey(key: string): void {
    if (!this.#graph.hasNode(key)) {
      throw new FrameworkError('ASSET_NOT_FOUND', `Asset '${key}' is not defined.${didYouMean(key, this.#keys)}`, {
        details: { asset_key: key },
      });
    }
  }
}
