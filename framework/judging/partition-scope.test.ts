import { describe, expect, it } from 'vitest';
import { asset, dailyPartitions, defineAssets, multiAsset } from '../definitions/index.ts';
import { buildGraph } from '../graph/index.ts';
import { loadPartitionScope } from './partition-scope.ts';

const days = dailyPartitions('d', '2026-01-01', '2026-03-31');
const materialize = () => ({});
const defs = defineAssets({
  assets: [
    asset({ key: 'bronze.d', codeVersion: 'v1', partitions: days, materialize }),
    ...multiAsset({
      name: 'silver_job',
      deps: ['bronze.d'],
      partitions: days,
      codeVersion: 'v1',
      outputs: [{ key: 'silver.facts' }, { key: 'silver.rejects' }],
      materialize: () => ({ outputs: {} }),
    }),
    asset({ key: 'gold.all', deps: ['silver.facts'], codeVersion: 'v1', materialize }),
  ],
});
const graph = buildGraph(defs);
const scope = (selected: string[]) => {
  const relevant = new Set(selected);
  for (const k of selected) for (const u of graph.upstream(k)) relevant.add(u);
  for (const k of [...relevant]) for (const o of graph.definition(k).multi?.outputs ?? []) relevant.add(o);
  return loadPartitionScope(defs, graph, selected, [...relevant], 'd=2026-02-01...2026-02-03');
};

describe('loadPartitionScope', () => {
  it('cuts a selected asset, what is written with it and its 1:1 upstreams to the filter', async () => {
    const s = await scope(['silver.facts']);
    expect([...s.scoped].sort()).toEqual(['bronze.d', 'silver.facts', 'silver.rejects']);
    expect(s.scopeKeys).toEqual(['d=2026-02-01', 'd=2026-02-02', 'd=2026-02-03']);
    expect(s.partitions.get('silver.rejects')).toEqual(s.scopeKeys);
  });

  it('keeps whole what a selected reader reads through an all mapping, and everything above it', async () => {
    const s = await scope(['silver.facts', 'gold.all']);
    expect([...s.scoped].sort()).toEqual(['silver.rejects']);
    expect(s.partitions.get('silver.facts')).toHaveLength(90);
    expect(s.partitions.get('bronze.d')).toHaveLength(90);
  });
});
