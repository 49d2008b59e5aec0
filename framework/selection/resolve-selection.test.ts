import { describe, expect, it } from 'vitest';
import { type AssetSpec, asset, defineAssets } from '../definitions/index.ts';
import { SelectionError } from '../errors/index.ts';
import { buildGraph } from '../graph/index.ts';
import { resolveSelection } from './index.ts';

type Spec = Omit<AssetSpec, 'materialize' | 'deps'> & { deps?: string[] };
const specs: Spec[] = [
  {
    key: 'bronze.raw_events',
    group: 'bronze',
    kinds: ['spark', 'iceberg'],
    owners: ['team:data'],
    tags: { pii: 'true', source: 'sensor' },
  },
  { key: 'bronze.raw_courses', group: 'bronze', kinds: ['csv'], tags: { source: 'upload' } },
  { key: 'silver.fact_telemetry_event', deps: ['bronze.raw_events'], group: 'silver', kinds: ['spark', 'iceberg'] },
  { key: 'silver.dim_course', deps: ['bronze.raw_courses'], group: 'silver', kinds: ['dbt'], tags: { pii: 'false' } },
  {
    key: 'gold.pace_summary_by_round',
    deps: ['silver.fact_telemetry_event', 'silver.dim_course'],
    group: 'gold',
    kinds: ['dbt'],
    owners: ['alice@example.com', 'team:data'],
  },
  { key: 'gold.course_report', deps: ['silver.dim_course'], group: 'gold', kinds: ['dbt'] },
  { key: 'gold.telemetry_rollup', deps: ['silver.fact_telemetry_event'], group: 'gold', tags: { tier: 'critical' } },
  { key: 'ml.pace_model', deps: ['gold.pace_summary_by_round'], kinds: ['python'] },
];
const graphOf = (list: Spec[]) =>
  buildGraph(
    defineAssets({ assets: list.map((s) => asset({ ...s, codeVersion: 'v1', materialize: () => undefined })) }),
  );
const graph = graphOf(specs);
const select = (selection: string) => resolveSelection(graph, selection);

const ALL = [
  'bronze.raw_courses',
  'bronze.raw_events',
  'silver.dim_course',
  'silver.fact_telemetry_event',
  'gold.course_report',
  'gold.pace_summary_by_round',
  'gold.telemetry_rollup',
  'ml.pace_model',
];

describe('resolveSelection', () => {
  it('selects everything with * in topological order, sorted within each level', () => {
    expect(select('*')).toEqual(ALL);
  });

  it('selects exact keys, case-insensitively', () => {
    expect(select('silver.dim_course')).toEqual(['silver.dim_course']);
    expect(select('SILVER.Dim_Course')).toEqual(['silver.dim_course']);
  });

  it('matches * globs over the full key, dots included', () => {
    expect(select('silver.*')).toEqual(['silver.dim_course', 'silver.fact_telemetry_event']);
    expect(select('*telemetry*')).toEqual(['silver.fact_telemetry_event', 'gold.telemetry_rollup']);
    expect(select('*pace*')).toEqual(['gold.pace_summary_by_round', 'ml.pace_model']);
    expect(select('*course')).toEqual(['silver.dim_course']);
    expect(select('key:gold.*_r*')).toEqual([
      'gold.course_report',
      'gold.pace_summary_by_round',
      'gold.telemetry_rollup',
    ]);
    expect(select('key:ml.pace_model')).toEqual(['ml.pace_model']);
  });

  it('walks upstream with +key, N+key and ++key', () => {
    expect(select('+gold.pace_summary_by_round')).toEqual([
      'silver.dim_course',
      'silver.fact_telemetry_event',
      'gold.pace_summary_by_round',
    ]);
    expect(select('2+ml.pace_model')).toEqual([
      'silver.dim_course',
      'silver.fact_telemetry_event',
      'gold.pace_summary_by_round',
      'ml.pace_model',
    ]);
    expect(select('++ml.pace_model')).toEqual([
      'bronze.raw_courses',
      'bronze.raw_events',
      'silver.dim_course',
      'silver.fact_telemetry_event',
      'gold.pace_summary_by_round',
      'ml.pace_model',
    ]);
    expect(select('0+ml.pace_model')).toEqual(['ml.pace_model']);
  });

  it('walks downstream with key+, key+N and key++', () => {
    expect(select('bronze.raw_events+')).toEqual(['bronze.raw_events', 'silver.fact_telemetry_event']);
    expect(select('bronze.raw_events+2')).toEqual([
      'bronze.raw_events',
      'silver.fact_telemetry_event',
      'gold.pace_summary_by_round',
      'gold.telemetry_rollup',
    ]);
    expect(select('bronze.raw_courses++')).toEqual([
      'bronze.raw_courses',
      'silver.dim_course',
      'gold.course_report',
      'gold.pace_summary_by_round',
      'ml.pace_model',
    ]);
  });

  it('walks both ways, and from every member of a parenthesised expression or function', () => {
    expect(select('+silver.dim_course+')).toEqual([
      'bronze.raw_courses',
      'silver.dim_course',
      'gold.course_report',
      'gold.pace_summary_by_round',
    ]);
    expect(select('+(group:silver)')).toEqual([
      'bronze.raw_courses',
      'bronze.raw_events',
      'silver.dim_course',
      'silver.fact_telemetry_event',
    ]);
    expect(select('+group:silver')).toEqual(select('+(group:silver)'));
    expect(select('(bronze.raw_courses or ml.pace_model)+')).toEqual([
      'bronze.raw_courses',
      'silver.dim_course',
      'ml.pace_model',
    ]);
    expect(select('sinks(*)+')).toEqual(['gold.course_report', 'gold.telemetry_rollup', 'ml.pace_model']);
  });

  it('matches attributes', () => {
    expect(select('group:gold')).toEqual(['gold.course_report', 'gold.pace_summary_by_round', 'gold.telemetry_rollup']);
    expect(select('group:*l*')).toEqual([
      'silver.dim_course',
      'silver.fact_telemetry_event',
      'gold.course_report',
      'gold.pace_summary_by_round',
      'gold.telemetry_rollup',
    ]);
    expect(select('kind:iceberg')).toEqual(['bronze.raw_events', 'silver.fact_telemetry_event']);
    expect(select('tag:pii')).toEqual(['bronze.raw_events', 'silver.dim_course']);
    expect(select('tag:pii=true')).toEqual(['bronze.raw_events']);
    expect(select('tag:source=u*')).toEqual(['bronze.raw_courses']);
    expect(select('tag:"tier=critical"')).toEqual(['gold.telemetry_rollup']);
    expect(select('owner:team:data')).toEqual(['bronze.raw_events', 'gold.pace_summary_by_round']);
    expect(select('owner:alice@example.com')).toEqual(['gold.pace_summary_by_round']);
  });

  it('combines with and, or, not, parentheses and precedence', () => {
    expect(select('kind:dbt and not group:gold')).toEqual(['silver.dim_course']);
    expect(select('kind:spark or kind:python')).toEqual([
      'bronze.raw_events',
      'silver.fact_telemetry_event',
      'ml.pace_model',
    ]);
    expect(select('not *')).toEqual([]);
    expect(select('NOT group:bronze AND NOT group:silver AnD not group:gold')).toEqual(['ml.pace_model']);
    // and binds tighter than or.
    expect(select('group:bronze or kind:dbt and group:silver')).toEqual([
      'bronze.raw_courses',
      'bronze.raw_events',
      'silver.dim_course',
    ]);
    expect(select('(group:bronze or kind:dbt) and group:silver')).toEqual(['silver.dim_course']);
    // not binds tighter than and.
    expect(select('not group:gold and kind:dbt')).toEqual(['silver.dim_course']);
    expect(select('not (group:gold and kind:dbt)')).toHaveLength(6);
  });

  it('treats a comma or whitespace separated list as or', () => {
    const expected = ['bronze.raw_courses', 'gold.telemetry_rollup', 'ml.pace_model'];
    expect(select('ml.pace_model gold.telemetry_rollup bronze.raw_courses')).toEqual(expected);
    expect(select('ml.pace_model,gold.telemetry_rollup, bronze.raw_courses')).toEqual(expected);
    expect(select('ml.pace_model  gold.telemetry_rollup or bronze.raw_courses')).toEqual(expected);
  });

  it('finds roots and sinks within the expression', () => {
    expect(select('roots(*)')).toEqual(graph.roots());
    expect(select('sinks(*)')).toEqual(graph.sinks());
    expect(select('roots(group:gold or ml.*)')).toEqual([
      'gold.course_report',
      'gold.pace_summary_by_round',
      'gold.telemetry_rollup',
    ]);
    expect(select('sinks(++gold.pace_summary_by_round)')).toEqual(['gold.pace_summary_by_round']);
    expect(select('roots(silver.dim_course++)')).toEqual(['silver.dim_course']);
    expect(select('sinks(group:silver)')).toEqual(['silver.dim_course', 'silver.fact_telemetry_event']);
    expect(select('roots(group:nope)')).toEqual([]);
  });

  it('returns [] when a pattern or attribute matches nothing', () => {
    expect(select('group:nope')).toEqual([]);
    expect(select('nope.*')).toEqual([]);
    expect(select('tag:pii=maybe')).toEqual([]);
    expect(select('+(kind:rust)+')).toEqual([]);
  });

  it('rejects an unknown exact key, pointing at it with a suggestion', () => {
    const text = 'group:gold or +silver.fact_telemetry_evnt';
    let error: unknown;
    try {
      select(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SelectionError);
    expect((error as SelectionError).position).toBe(15);
    expect((error as SelectionError).message).toBe(
      "Asset 'silver.fact_telemetry_evnt' is not defined. Did you mean 'silver.fact_telemetry_event'?\n" +
        `  ${text}\n  ${' '.repeat(15)}^`,
    );
    expect(() => select('key:gold.nothing_like_it')).toThrow(/^Asset 'gold.nothing_like_it' is not defined\.\n/);
    expect(() => select('roots(group:gold and xx.yy)')).toThrow(SelectionError);
  });

  it('is deterministic whatever the declaration or operand order', () => {
    const shuffled = graphOf([...specs].reverse());
    for (const text of ['*', 'group:gold or +silver.dim_course', 'sinks(*)', '++ml.pace_model', 'not kind:dbt']) {
      expect(resolveSelection(shuffled, text)).toEqual(select(text));
    }
    expect(select('ml.pace_model or bronze.raw_events')).toEqual(select('bronze.raw_events or ml.pace_model'));
    expect(select('kind:dbt and group:gold')).toEqual(select('group:gold and kind:dbt'));
  });
});
