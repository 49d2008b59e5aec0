import { describe, expect, it } from 'vitest';
import { asset, defineAssets } from '../definitions/index.ts';
import { FrameworkError } from '../errors/index.ts';
import { buildGraph } from './index.ts';

const noop = () => undefined;
const a = (key: string, deps: string[] = []) => asset({ key, deps, codeVersion: 'v1', materialize: noop });

//  bronze.raw_a   bronze.raw_b
//        \          /      \
//      silver.clean      silver.other
//        /      \               |
// gold.report  gold.summary ----+
const graph = buildGraph(
  defineAssets({
    assets: [
      a('gold.summary', ['silver.clean', 'silver.other']),
      a('gold.report', ['silver.clean']),
      a('silver.other', ['bronze.raw_b']),
      a('silver.clean', ['bronze.raw_b', 'bronze.raw_a']),
      a('bronze.raw_b'),
      a('bronze.raw_a'),
    ],
  }),
);

describe('AssetGraph', () => {
  it('lists keys, roots and sinks sorted', () => {
    expect(graph.size).toBe(6);
    expect(graph.keys()).toEqual([
      'bronze.raw_a',
      'bronze.raw_b',
      'gold.report',
      'gold.summary',
      'silver.clean',
      'silver.other',
    ]);
    expect(graph.roots()).toEqual(['bronze.raw_a', 'bronze.raw_b']);
    expect(graph.sinks()).toEqual(['gold.report', 'gold.summary']);
    expect(graph.has('silver.clean')).toBe(true);
    expect(graph.has('silver.nope')).toBe(false);
  });

  it('gives sorted parents and children', () => {
    expect(graph.parents('silver.clean')).toEqual(['bronze.raw_a', 'bronze.raw_b']);
    expect(graph.children('bronze.raw_b')).toEqual(['silver.clean', 'silver.other']);
    expect(graph.parents('bronze.raw_a')).toEqual([]);
  });

  it('walks upstream and downstream, transitively or to a depth, excluding the start', () => {
    expect([...graph.upstream('gold.summary')].sort()).toEqual([
      'bronze.raw_a',
      'bronze.raw_b',
      'silver.clean',
      'silver.other',
    ]);
    expect([...graph.upstream('gold.summary', 1)].sort()).toEqual(['silver.clean', 'silver.other']);
    expect(graph.upstream('gold.summary', 0).size).toBe(0);
    expect([...graph.downstream('bronze.raw_a')].sort()).toEqual(['gold.report', 'gold.summary', 'silver.clean']);
    expect([...graph.downstream('bronze.raw_a', 1)]).toEqual(['silver.clean']);
    expect(graph.downstream('gold.report').size).toBe(0);
  });

  it('walks from several keys at once, using the shortest distance', () => {
    expect([...graph.downstream(['bronze.raw_a', 'silver.other'], 1)].sort()).toEqual(['gold.summary', 'silver.clean']);
    // silver.clean is a start, so it is not reported even though gold.report's parent.
    expect([...graph.upstream(['gold.report', 'silver.clean'], 1)].sort()).toEqual(['bronze.raw_a', 'bronze.raw_b']);
  });

  it('computes sorted topological generations and orders', () => {
    expect(graph.generations()).toEqual([
      ['bronze.raw_a', 'bronze.raw_b'],
      ['silver.clean', 'silver.other'],
      ['gold.report', 'gold.summary'],
    ]);
    expect(graph.topologicalOrder()).toEqual(graph.generations().flat());
    expect(graph.topologicalOrder(['gold.summary', 'bronze.raw_b', 'silver.clean', 'bronze.raw_b'])).toEqual([
      'bronze.raw_b',
      'silver.clean',
      'gold.summary',
    ]);
  });

  it('returns copies that callers cannot use to corrupt the graph', () => {
    graph.generations()[0]!.push('x.y');
    graph.keys().pop();
    expect(graph.generations()[0]).toEqual(['bronze.raw_a', 'bronze.raw_b']);
    expect(graph.keys()).toHaveLength(6);
  });

  it('returns the definition of a key', () => {
    expect(graph.definition('silver.clean').deps).toEqual(['bronze.raw_b', 'bronze.raw_a']);
  });

  it('rejects unknown keys with a suggestion', () => {
    expect(() => graph.parents('silver.claen')).toThrow(FrameworkError);
    expect(() => graph.upstream(['silver.claen'])).toThrow(
      "Asset 'silver.claen' is not defined. Did you mean 'silver.clean'?",
    );
    expect(() => graph.topologicalOrder(['nope.x'])).toThrow(/'nope.x' is not defined/);
  });
});
