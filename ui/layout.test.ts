import { describe, expect, it } from 'vitest';
import { asset, defineAssets } from '../framework/definitions/index.ts';
import { buildGraph } from '../framework/graph/index.ts';
import { computeLayout, ELK_MAX_NODES, layeredLayout } from './layout.ts';

function syntheticGraph(n: number) {
  const groups = ['bronze', 'silver', 'gold', 'platinum'];
  const per = n / groups.length;
  const assets = Array.from({ length: n }, (_, i) => {
    const g = Math.floor(i / per);
    const deps =
      g === 0 ? [] : [`${groups[g - 1]}.a${(i - per) | 0}`, `${groups[g - 1]}.a${(g - 1) * per + ((i * 7) % per)}`];
    return asset({
      key: `${groups[g]}.a${i}`,
      group: groups[g]!,
      deps: [...new Set(deps)],
      codeVersion: 'v1',
      materialize: () => ({}),
    });
  });
  return buildGraph(defineAssets({ assets }));
}

describe('computeLayout', () => {
  it('lays out 2,000 assets left to right in well under a second, every parent left of its child', async () => {
    const graph = syntheticGraph(2000);
    const t = performance.now();
    const layout = await computeLayout(graph);
    expect(performance.now() - t).toBeLessThan(2000);
    expect(layout.engine).toBe('layered');
    expect(layout.nodes).toHaveLength(2000);
    const x = new Map(layout.nodes.map((n) => [n.key, n.x]));
    for (const e of layout.edges) expect(x.get(e.from)!).toBeLessThan(x.get(e.to)!);
    expect(layout.groups.map((g) => g.name).sort()).toEqual(['bronze', 'gold', 'platinum', 'silver']);
    expect(layeredLayout(graph)).toEqual(layout);
  });

  it('uses elkjs for ordinary graphs', async () => {
    const layout = await computeLayout(syntheticGraph(20));
    expect(ELK_MAX_NODES).toBeGreaterThanOrEqual(20);
    expect(layout.engine).toBe('elk');
    const x = new Map(layout.nodes.map((n) => [n.key, n.x]));
    for (const e of layout.edges) expect(x.get(e.from)!).toBeLessThan(x.get(e.to)!);
    for (const n of layout.nodes) {
      const box = layout.groups.find((g) => n.key.startsWith(`${g.name}.`))!;
      expect(n.x).toBeGreaterThanOrEqual(box.x);
      expect(n.x + n.width).toBeLessThanOrEqual(box.x + box.width);
    }
  });
});
