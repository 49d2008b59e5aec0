import { describe, expect, it } from 'vitest';
import { asset, dailyPartitions, defineAssets, multiPartitions, staticPartitions } from '../definitions/index.ts';
import { UsageError } from '../errors/index.ts';
import { buildGraph } from '../graph/index.ts';
import type { PartitionStatus, StalenessResult } from '../staleness/index.ts';
import { buildPlan, type PlanInput } from './index.ts';

const noop = () => undefined;
const days = dailyPartitions('d', '2026-01-01', '2026-01-02');
const courses = staticPartitions('course_id', ['erinhills', 'pebble']);

/**
 * bronze.days → silver.days (identity) → gold.total (unpartitioned, all);
 * bronze.multi (course × day) → silver.multi (identity); bronze.ref (unpartitioned).
 */
const graph = buildGraph(
  defineAssets({
    assets: [
      asset({ key: 'bronze.days', partitions: days, materialize: noop }),
      asset({ key: 'silver.days', deps: ['bronze.days'], partitions: days, materialize: noop }),
      asset({ key: 'gold.total', deps: ['silver.days', 'bronze.ref'], materialize: noop }),
      asset({ key: 'bronze.ref', materialize: noop }),
      asset({ key: 'bronze.multi', partitions: multiPartitions(courses, days), materialize: noop }),
      asset({
        key: 'silver.multi',
        deps: ['bronze.multi'],
        partitions: multiPartitions(courses, days),
        materialize: noop,
      }),
    ],
  }),
);

const D1 = 'd=2026-01-01';
const D2 = 'd=2026-01-02';
const multiKeys = ['erinhills', 'pebble'].flatMap((c) => [`course_id=${c},${D1}`, `course_id=${c},${D2}`]);
const partitions = new Map<string, readonly string[]>([
  ['bronze.days', [D2, D1]],
  ['silver.days', [D1, D2]],
  ['bronze.multi', multiKeys],
  ['silver.multi', multiKeys],
]);

const plan = (input: Partial<PlanInput> = {}) => buildPlan({ graph, selected: graph.keys(), partitions, ...input });
/** The fields this file is about (other step fields belong to other features). */
const steps = (input: Partial<PlanInput> = {}) =>
  plan(input).steps.map(({ id, asset_key, partition_key, after }) => ({ id, asset_key, partition_key, after }));
const ids = (input: Partial<PlanInput> = {}) => plan(input).steps.map((s) => s.id);

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('buildPlan', () => {
  it('orders steps topologically, keys sorted within a level, partitions sorted', () => {
    expect(ids()).toEqual([
      `bronze.days[${D1}]`,
      `bronze.days[${D2}]`,
      ...multiKeys.map((p) => `bronze.multi[${p}]`),
      'bronze.ref',
      `silver.days[${D1}]`,
      `silver.days[${D2}]`,
      ...multiKeys.map((p) => `silver.multi[${p}]`),
      'gold.total',
    ]);
  });

  it('plans only the selected assets, in graph order', () => {
    expect(ids({ selected: ['gold.total', 'bronze.ref'] })).toEqual(['bronze.ref', 'gold.total']);
  });

  it('orders identity-mapped steps after the same partition and all-mapped steps after every partition', () => {
    const after = new Map(plan().steps.map((s) => [s.id, s.after]));
    expect(after.get(`silver.days[${D2}]`)).toEqual([`bronze.days[${D2}]`]);
    expect(after.get(`silver.multi[course_id=pebble,${D1}]`)).toEqual([`bronze.multi[course_id=pebble,${D1}]`]);
    expect(after.get('gold.total')).toEqual([`silver.days[${D1}]`, `silver.days[${D2}]`, 'bronze.ref']);
    expect(after.get(`bronze.days[${D1}]`)).toEqual([]);
  });

  it('leaves out edges to steps outside the plan', () => {
    expect(steps({ selected: ['gold.total'] })).toEqual([
      { id: 'gold.total', asset_key: 'gold.total', partition_key: '', after: [] },
    ]);
  });

  it('filters partitions by a partial key', () => {
    expect(ids({ selected: ['bronze.multi', 'bronze.days'], partitionFilter: 'course_id=pebble' })).toEqual([
      `bronze.days[${D1}]`,
      `bronze.days[${D2}]`,
      `bronze.multi[course_id=pebble,${D1}]`,
      `bronze.multi[course_id=pebble,${D2}]`,
    ]);
    expect(ids({ selected: ['bronze.multi'], partitionFilter: D2 })).toEqual([
      `bronze.multi[course_id=erinhills,${D2}]`,
      `bronze.multi[course_id=pebble,${D2}]`,
    ]);
  });

  it('filters partitions by a full key', () => {
    expect(ids({ selected: ['bronze.multi'], partitionFilter: `${D1},course_id=erinhills` })).toEqual([
      `bronze.multi[course_id=erinhills,${D1}]`,
    ]);
  });

  it('takes a range of days, both ends included, alone or with another dimension', () => {
    const known = new Map<string, readonly string[]>([
      ...partitions,
      ['bronze.days', ['d=2026-01-01', 'd=2026-01-02', 'd=2026-01-03', 'd=2026-01-04']],
    ]);
    expect(ids({ selected: ['bronze.days'], partitions: known, partitionFilter: 'd=2026-01-02...2026-01-03' })).toEqual(
      ['bronze.days[d=2026-01-02]', 'bronze.days[d=2026-01-03]'],
    );
    expect(ids({ selected: ['bronze.multi'], partitionFilter: 'course_id=pebble,d=2026-01-01...2026-01-01' })).toEqual([
      `bronze.multi[course_id=pebble,${D1}]`,
    ]);
    expect(() => plan({ selected: ['bronze.days'], partitionFilter: 'd=2026-02-01...2026-02-03' })).toThrow(
      /No partition of the selected assets matches/,
    );
  });

  it.each([
    ['not days', 'd=a...b', /'d=a\.\.\.b' is not a day range: use d=YYYY-MM-DD\.\.\.YYYY-MM-DD/],
    ['an open end', 'd=2026-01-01...', /is not a day range/],
    ['reversed', 'd=2026-01-02...2026-01-01', /ends before it starts/],
  ])('refuses a range that is %s', (_, partitionFilter, message) => {
    expect(() => plan({ selected: ['bronze.days'], partitionFilter })).toThrow(UsageError);
    expect(() => plan({ selected: ['bronze.days'], partitionFilter })).toThrow(message);
  });

  it('accepts a valid partition that is not known yet, and orders all-mapped downstreams after it', () => {
    expect(steps({ selected: ['bronze.days', 'silver.days', 'gold.total'], partitionFilter: 'd=2026-01-03' })).toEqual([
      { id: 'bronze.days[d=2026-01-03]', asset_key: 'bronze.days', partition_key: 'd=2026-01-03', after: [] },
      {
        id: 'silver.days[d=2026-01-03]',
        asset_key: 'silver.days',
        partition_key: 'd=2026-01-03',
        after: ['bronze.days[d=2026-01-03]'],
      },
      { id: 'gold.total', asset_key: 'gold.total', partition_key: '', after: ['silver.days[d=2026-01-03]'] },
    ]);
  });

  it.each([
    ['an unknown value of one dimension of two', ['bronze.multi'], 'course_id=augusta'],
    ['an impossible day', ['bronze.multi', 'bronze.days'], 'd=2026-02-30'],
    ['a path traversal', ['bronze.multi', 'bronze.days'], 'd=../etc'],
    ['a value that is not a declared static key', ['bronze.multi'], 'course_id=north..south,d=2026-01-01'],
    ['a day before the first one', ['bronze.days'], 'd=2025-12-31'],
    ['a dimension no selected asset has', ['bronze.multi', 'bronze.days'], 'cours_id=pebble'],
    ['a misspelt dimension next to a real one', ['bronze.multi'], 'course_id=pebble,dat=2026-01-01'],
  ])('rejects %s', (_name, selected, filter) => {
    const e = usageError(() => plan({ selected, partitionFilter: filter }));
    expect(e.message).toContain(`'${filter}'`);
  });

  it('says why a partition that is not known yet is not valid either', () => {
    const e = usageError(() =>
      plan({ selected: ['bronze.multi'], partitionFilter: 'course_id=north..south,d=2026-01-01' }),
    );
    expect(e.message).toContain(
      "'north..south' is not a 'course_id' of 'bronze.multi': its keys are erinhills, pebble.",
    );
  });

  it('rejects a partition filter when nothing selected is partitioned', () => {
    usageError(() => plan({ selected: ['bronze.ref'], partitionFilter: D1 }));
  });

  it('leaves FRESH partitions out with staleOnly and counts them', () => {
    const status = (s: PartitionStatus['status']): PartitionStatus => ({
      status: s,
      causes: [],
      dataVersion: null,
      materializedAt: null,
    });
    const staleness: StalenessResult = new Map([
      [
        'bronze.days',
        new Map([
          [D1, status('FRESH')],
          [D2, status('STALE')],
        ]),
      ],
      ['bronze.ref', new Map([['', status('FRESH')]])],
      ['gold.total', new Map([['', status('FAILED')]])],
    ]);
    const selected = ['bronze.days', 'bronze.ref', 'gold.total'];
    const p = plan({ selected, staleOnly: true, staleness });
    expect(p.steps.map((s) => s.id)).toEqual([`bronze.days[${D2}]`, 'gold.total']);
    expect(p.skippedFresh).toBe(2);
    expect(plan({ selected, staleness }).steps).toHaveLength(4);
  });
});
