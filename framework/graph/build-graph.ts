import { relative } from 'node:path';
import { type AssetKey, type Definitions, unknownDependency } from '../definitions/index.ts';
import { DefinitionError } from '../errors/index.ts';
import { AssetGraph, type Neighbours } from './asset-graph.ts';

/**
 * Builds the asset DAG from a definition set. Throws `DefinitionError` `ASSET_CYCLE` naming the full
 * cycle path when the dependencies loop.
 *
 * @example
 * const graph = buildGraph(defs);
 * graph.topologicalOrder(); // ['bronze.raw', 'silver.clean', ...]
 */
export function buildGraph<R = unknown>(defs: Definitions<R>): AssetGraph<R> {
  const keys = [...defs.assets.keys()].sort();
  const parents = new Map(keys.map((k) => [k, new Set<AssetKey>()]));
  const children = new Map(keys.map((k) => [k, new Set<AssetKey>()]));
  for (const a of defs.assets.values()) {
    for (const dep of a.deps) {
      // defineAssets already checks deps; this guards hand-built definition sets.
      if (!parents.has(dep)) throw unknownDependency(a, dep, keys);
      parents.get(a.key)!.add(dep);
      children.get(dep)!.add(a.key);
    }
  }
  const cycle = findCycle(children, keys);
  if (cycle) {
    const files = [...new Set(cycle.map((k) => displayPath(defs.assets.get(k)!.sourceFile)))];
    const path = [...cycle, cycle[0]].join(' → ');
    throw new DefinitionError(
      'ASSET_CYCLE',
      `Assets form a cycle: ${path} (declared in ${files.join(', ')}). Remove one of these dependencies.`,
      { asset_keys: cycle, files },
    );
  }
  return new AssetGraph({ parents, children }, defs.assets);
}

/** One cycle as a key path, found deterministically and rotated to start at its smallest key. */
function findCycle(children: Neighbours, sortedKeys: readonly AssetKey[]): AssetKey[] | undefined {
  const ON_PATH = 1;
  const DONE = 2;
  const state = new Map<AssetKey, number>();
  for (const root of sortedKeys) {
    if (state.has(root)) continue;
    // Iterative DFS: a long dependency chain must not overflow the call stack.
    const path: AssetKey[] = [root];
    const pending: Iterator<AssetKey>[] = [[...children.get(root)!].sort().values()];
    state.set(root, ON_PATH);
    while (path.length > 0) {
      const next = pending[pending.length - 1]!.next();
      if (next.done) {
        state.set(path.pop()!, DONE);
        pending.pop();
        continue;
      }
      const child = next.value;
      const s = state.get(child);
      if (s === ON_PATH) {
        const cycle = path.slice(path.indexOf(child));
        const start = cycle.indexOf([...cycle].sort()[0]!);
        return [...cycle.slice(start), ...cycle.slice(0, start)];
      }
      if (s === undefined) {
        state.set(child, ON_PATH);
        path.push(child);
        pending.push([...children.get(child)!].sort().values());
      }
    }
  }
  return undefined;
}

function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}
