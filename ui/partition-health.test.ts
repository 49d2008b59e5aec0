import { describe, expect, it } from 'vitest';
import {
  dailyPartitions,
  listResolvedKeys,
  multiPartitions,
  staticPartitions,
} from '../framework/definitions/index.ts';
import { type PartitionStatus, SparseMap } from '../framework/staleness/index.ts';
import { partitionHealth } from './partition-health.ts';

type Status = PartitionStatus['status'];
const STATES: Status[] = ['FRESH', 'STALE', 'MISSING', 'FAILED', 'RUNNING'];
const status = (s: Status): PartitionStatus => ({ status: s, causes: [], dataVersion: null, materializedAt: null });

/** The page's counts by the definition: every partition's status read one by one. */
function reference(parts: ReadonlyMap<string, PartitionStatus>, dimensions: string[]) {
  const value = (key: string, dim: string) =>
    key
      .split(',')
      .map((kv) => kv.split('='))
      .find(([k]) => k === dim)?.[1]
      ?.trim();
  const columnDim = dimensions.at(-1)!;
  const groupDim = dimensions.length > 1 ? dimensions[0] : undefined;
  const counts: Record<string, number> = {};
  const columns = new Map<string, Record<string, number>>();
  const groups = new Map<string, Record<string, number>>();
  const add = (m: Map<string, Record<string, number>>, k: string, s: string) => {
    const c = m.get(k) ?? {};
    c[s] = (c[s] ?? 0) + 1;
    m.set(k, c);
  };
  for (const [key, s] of parts) {
    counts[s.status] = (counts[s.status] ?? 0) + 1;
    add(columns, value(key, columnDim) ?? key, s.status);
    if (groupDim) add(groups, value(key, groupDim) ?? '', s.status);
  }
  return { counts, columns, groups };
}

/** A small deterministic generator (no dependency on Math.random: a failure reproduces). */
function random(seed: number) {
  let x = seed;
  return (n: number) => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x % n;
  };
}

describe('partitionHealth', () => {
  it('counts by day and by course as reading every status would, sparse or not, canonical keys or not', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const r = random(seed);
      const twoDims = seed % 4 !== 0;
      const keys = new Set<string>();
      for (let i = 0; i < 50 + r(300); i++) {
        const day = `2025-0${1 + r(3)}-${String(1 + r(28)).padStart(2, '0')}`;
        const course = `c${r(12)}`;
        const odd = r(20);
        if (!twoDims) keys.add(odd === 0 ? `day=${day} ` : `day=${day}`);
        else if (odd === 0)
          keys.add(`ingest_date=${day},course_id=${course}`); // dimensions out of order
        else if (odd === 1)
          keys.add(`course_id=${course}`); // a dimension missing
        else if (odd === 2) keys.add(`course_id= ${course},ingest_date=${day}`);
        else keys.add(`course_id=${course},ingest_date=${day}`);
      }
      const sorted = [...keys].sort();
      const all = new Map(sorted.map((k) => [k, status(r(3) === 0 ? STATES[r(5)]! : 'FRESH')]));
      const exceptions = new Map([...all].filter(([, s]) => s.status !== 'FRESH'));
      const sparse = new SparseMap(sorted, exceptions, () => status('FRESH'));
      const dims = twoDims ? ['course_id', 'ingest_date'] : ['day'];
      const want = reference(all, dims);
      for (const parts of [all, sparse]) {
        const got = partitionHealth(parts, dims);
        expect(got.total).toBe(sorted.length);
        expect(got.counts).toEqual(want.counts);
        expect(got.columns.unit).toBe('value');
        expect(Object.fromEntries(got.columns.buckets.map((b) => [b.label, b.counts]))).toEqual(
          Object.fromEntries(want.columns),
        );
        expect(got.columns.buckets.map((b) => b.label)).toEqual([...want.columns.keys()].sort());
        if (!twoDims) {
          expect(got.groups).toBeNull();
          continue;
        }
        expect(got.groups!.total).toBe(want.groups.size);
        expect(Object.fromEntries(got.groups!.rows.map((row) => [row.value, row.counts]))).toEqual(
          Object.fromEntries(want.groups),
        );
      }
    }
  });

  it('counts a course × day list whose runs repeat one sequence of days, with keys that break it', () => {
    const keys = new Set<string>();
    for (let c = 0; c < 6; c++) {
      for (let d = 1; d <= 28; d++) keys.add(`course_id=c${c},ingest_date=2025-02-${String(d).padStart(2, '0')}`);
    }
    // a day only some courses have, a value with a space, one longer, another dimension after the day
    keys.add('course_id=c2,ingest_date=2025-02-15b');
    keys.add('course_id=c3,ingest_date= 2025-02-16');
    keys.add('course_id=c4,ingest_date=2025-02-1');
    keys.add('course_id=c4,ingest_date=2025-02-17,extra=x');
    keys.add('course_id=c5,ingest_date=2025-02-18 ');
    const sorted = [...keys].sort();
    const all = new Map(sorted.map((k, i) => [k, status(i % 7 === 0 ? 'STALE' : 'FRESH')]));
    const want = reference(all, ['course_id', 'ingest_date']);
    const got = partitionHealth(all, ['course_id', 'ingest_date']);
    expect(Object.fromEntries(got.columns.buckets.map((b) => [b.label, b.counts]))).toEqual(
      Object.fromEntries(want.columns),
    );
    expect(Object.fromEntries(got.groups!.rows.map((row) => [row.value, row.counts]))).toEqual(
      Object.fromEntries(want.groups),
    );
  });

  it('counts a listed course × day grid from its values, as reading every key would', () => {
    const def = multiPartitions(staticPartitions('course_id', []), dailyPartitions('ingest_date', '2025-01-01'));
    for (let seed = 1; seed <= 30; seed++) {
      const r = random(seed);
      // values a key could read otherwise (a comma, spaces around) must not be counted from the grid
      const odd = ['c,9', ' c8', 'c7 '];
      const courses = [...new Set(Array.from({ length: r(8) }, () => (r(6) === 0 ? odd[r(3)]! : `c${r(20)}`)))].sort();
      const end = `2025-0${1 + r(2)}-${String(1 + r(28)).padStart(2, '0')}`;
      const keys = listResolvedKeys(def, {
        kind: 'dimensions',
        dimensions: [{ values: courses }, { start: '2025-01-01', end }],
      });
      const exceptions = new Map(keys.filter(() => r(9) === 0).map((k) => [k, status(STATES[1 + r(4)]!)]));
      const sparse = new SparseMap(keys, exceptions, () => status('FRESH'));
      for (const dims of [
        ['course_id', 'ingest_date'],
        ['ingest_date', 'course_id'],
      ]) {
        const want = reference(sparse, dims);
        const got = partitionHealth(sparse, dims);
        expect(got.counts).toEqual(keys.length > 0 ? want.counts : {});
        expect(Object.fromEntries(got.columns.buckets.map((b) => [b.label, b.counts]))).toEqual(
          Object.fromEntries(want.columns),
        );
        expect(Object.fromEntries(got.groups!.rows.map((row) => [row.value, row.counts]))).toEqual(
          Object.fromEntries(want.groups),
        );
      }
    }
  });
});
