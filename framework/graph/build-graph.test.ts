import { describe, expect, it } from 'vitest';
import { type AssetDefinition, asset, type Definitions, defineAssets } from '../definitions/index.ts';
import { DefinitionError } from '../errors/index.ts';
import { buildGraph } from './index.ts';

const noop = () => undefined;
const a = (key: string, deps: string[] = []) => asset({ key, deps, codeVersion: 'v1', materialize: noop });

function cycleError(assets: AssetDefinition[]): DefinitionError {
  try {
    buildGraph(defineAssets({ assets }));
  } catch (e) {
    expect(e).toBeInstanceOf(DefinitionError);
    return e as DefinitionError;
  }
  throw new Error('expected a cycle error');
}

describe('buildGraph', () => {
  it('reports the full cycle path starting at its smallest key, with files and keys', () => {
    const e = cycleError([a('c.z', ['b.y']), a('b.y', ['a.x']), a('a.x', ['c.z']), a('d.w', ['a.x'])]);
    expect(e.code).toBe('ASSET_CYCLE');
    expect(e.message).toBe(
      'Assets form a cycle: a.x → b.y → c.z → a.x (declared in framework/graph/build-graph.test.ts). ' +
        'Remove one of these dependencies.',
    );
    expect(e.details.asset_keys).toEqual(['a.x', 'b.y', 'c.z']);
    expect(e.details.files).toEqual(['framework/graph/build-graph.test.ts']);
  });

  it('reports a self-dependency as a cycle', () => {
    const e = cycleError([a('a.x', ['a.x'])]);
    expect(e.message).toContain('Assets form a cycle: a.x → a.x (');
  });

  it('finds a cycle that is not reachable from the first key', () => {
    const e = cycleError([a('a.root'), a('m.one', ['m.two']), a('m.two', ['m.one']), a('z.leaf', ['a.root'])]);
    expect(e.details.asset_keys).toEqual(['m.one', 'm.two']);
  });

  it('rejects a hand-built definition set with an unknown dep', () => {
    const defs: Definitions = { assets: new Map([['a.x', a('a.x', ['a.y'])]]), resources: undefined, hooks: {} };
    expect(() => buildGraph(defs)).toThrow(/Asset 'a.y' is not defined \(referenced by 'a.x'/);
  });

  it('builds an empty graph', () => {
    const g = buildGraph(defineAssets({ assets: [] }));
    expect(g.keys()).toEqual([]);
    expect(g.generations()).toEqual([]);
    expect(g.topologicalOrder()).toEqual([]);
  });

  it('builds 10,000 assets with ~3 parents each into correct, sorted generations', () => {
    // Deterministic LCG so the graph is the same on every run.
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const n = 10_000;
    const keys = Array.from({ length: n }, (_, i) => `layer${i % 7}.asset_${String(i).padStart(5, '0')}`);
    const deps: string[][] = keys.map((_, i) => {
      const picked = new Set<string>();
      for (let j = 0; j < 3 && i > 0; j++) picked.add(keys[Math.floor(random() * i)]!);
      return [...picked];
    });
    // Hand-built definitions: asset() would capture 10k stack traces for no benefit here.
    const assets = new Map<string, AssetDefinition>(
      keys.map((key, i) => [key, { key, deps: deps[i]!, codeVersion: 'v1', sourceFile: 'gen.ts', materialize: noop }]),
    );
    const graph = buildGraph({ assets, resources: undefined, hooks: {} });
    const generations = graph.generations();

    // Reference levels: deps always point at earlier indexes, so one pass in index order suffices.
    const expectedLevel = new Map<string, number>();
    keys.forEach((key, i) => {
      expectedLevel.set(key, Math.max(-1, ...deps[i]!.map((d) => expectedLevel.get(d)!)) + 1);
    });
    const level = new Map<string, number>();
    generations.forEach((keysAtLevel, l) => {
      expect(keysAtLevel).toEqual([...keysAtLevel].sort());
      for (const k of keysAtLevel) level.set(k, l);
    });
    expect(level.size).toBe(n);
    expect(level).toEqual(expectedLevel);
    keys.forEach((key, i) => {
      for (const d of deps[i]!) expect(level.get(d)!).toBeLessThan(level.get(key)!);
    });
    const order = graph.topologicalOrder();
    expect(order).toEqual(generations.flat());
    expect(graph.roots()).toEqual(generations[0]);
  });
});
