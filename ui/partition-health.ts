import { type KeyList, keyGridOf } from '../framework/definitions/index.ts';
import { type PartitionStatus, SparseMap } from '../framework/staleness/index.ts';

type Counts = Partial<Record<PartitionStatus['status'], number>>;

/**
 * The partitions of an asset summed up for a page: counts by state, the same counts per value of the last
 * dimension (the days, as a bar over time; per month past `MAX_COLUMNS` days) and per value of the first
 * (e.g. each course), those with partitions not fresh first. What the asset page draws when there are too
 * many partitions for one cell each.
 */
export interface PartitionHealth {
  total: number;
  counts: Counts;
  columns: { dimension: string; unit: 'value' | 'month'; buckets: { label: string; counts: Counts }[] };
  /** Null for one-dimensional partitions. */
  groups: { dimension: string; total: number; rows: { value: string; not_fresh: number; counts: Counts }[] } | null;
}

const MAX_COLUMNS = 400;
const MAX_GROUP_ROWS = 50;
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The value of dimension `dim` in a partition key (`a=1,b=2`), without parsing the whole key. */
function dimensionValue(key: string, dim: string): string | undefined {
  const prefix = `${dim}=`;
  let start = prefix.length;
  if (!key.startsWith(prefix)) {
    const at = key.indexOf(`,${prefix}`);
    if (at < 0) return undefined;
    start = at + 1 + prefix.length;
  }
  const end = key.indexOf(',', start);
  return (end < 0 ? key.slice(start) : key.slice(start, end)).trim();
}

const ORDER: PartitionStatus['status'][] = ['FRESH', 'STALE', 'MISSING', 'FAILED', 'RUNNING'];

/** The value of the dimension after the first comma, when the key is canonical `a=x,b=y` (else undefined). */
function secondValue(key: string, comma: number, prefix: string): string | undefined {
  if (comma < 0 || !key.startsWith(prefix, comma + 1) || key.indexOf(',', comma + 1) >= 0) return undefined;
  return key.slice(comma + 1 + prefix.length).trim();
}

/**
 * Partitions per value of the last dimension (`columns`) and of the first (`groups`), counted from the keys
 * alone. Keys come sorted, so a run of one first value is counted once, and the runs of a course × day list
 * repeat one sequence of days: a key whose last value is the one at its position in the run before is
 * counted without being cut. A key not in canonical form is read value by value.
 */
function countKeys(keys: Iterable<string>, columnDim: string, groupDim: string | undefined) {
  const slots = new Map<string, number>(); // column value → index in `counts`
  const counts: number[] = [];
  const count = (label: string) => {
    let slot = slots.get(label);
    if (slot === undefined) {
      slot = counts.length;
      slots.set(label, slot);
      counts.push(0);
    }
    counts[slot]!++;
    return slot;
  };
  const groups = new Map<string, number>();
  const groupPrefix = groupDim === undefined ? '' : `${groupDim}=`;
  const columnPrefix = `${columnDim}=`;
  let run = ''; // `first=value,` of the current run of keys
  let runValue = '';
  let runCount = 0;
  let at = 0; // position in the run
  const sequence: { tail: string; slot: number }[] = []; // tail: `last=value`
  const flush = () => {
    if (runCount > 0) groups.set(runValue, (groups.get(runValue) ?? 0) + runCount);
    runCount = 0;
  };
  for (const key of keys) {
    if (groupDim === undefined) {
      count(dimensionValue(key, columnDim) ?? key);
      continue;
    }
    if (run === '' || !key.startsWith(run)) {
      flush();
      const comma = key.indexOf(',');
      const value = dimensionValue(key, groupDim) ?? '';
      // a canonical key starts with its first dimension: the run is its text up to the comma
      run =
        key.startsWith(groupPrefix) && comma > 0 && value === key.slice(groupPrefix.length, comma).trim()
          ? key.slice(0, comma + 1)
          : '';
      runValue = value;
      at = 0;
    }
    runCount++;
    if (run === '') {
      flush();
      count(dimensionValue(key, columnDim) ?? key);
      continue;
    }
    const seen = sequence[at];
    if (seen && key.length === run.length + seen.tail.length && key.endsWith(seen.tail)) {
      counts[seen.slot]!++;
    } else {
      const label = secondValue(key, run.length - 1, columnPrefix);
      const slot = count(label ?? dimensionValue(key, columnDim) ?? key);
      // remembered only when the value is the key's whole tail as it is (no comma, nothing trimmed)
      if (label !== undefined && key.length === run.length + columnPrefix.length + label.length) {
        sequence[at] = { tail: columnPrefix + label, slot };
      }
    }
    at++;
  }
  flush();
  const columns = new Map<string, number>();
  for (const [label, slot] of slots) columns.set(label, counts[slot]!);
  return { columns, groups };
}

/**
 * `countKeys` of a key list listed as a grid of `groupDim` × `columnDim` values, from the values alone: each
 * column value once per group, each group value once per column. Undefined when a key could read otherwise
 * (a value with a comma or spaces around it), or the list is no such grid.
 */
function countGrid(keys: KeyList, columnDim: string, groupDim: string | undefined) {
  const grid = keyGridOf(keys);
  if (!grid || grid.dimensions[0] !== groupDim || grid.dimensions[1] !== columnDim) return undefined;
  const plain = (v: string) => !v.includes(',') && v.trim() === v;
  if (!grid.first.every(plain) || !grid.second.every(plain)) return undefined;
  const columns = new Map<string, number>();
  const groups = new Map<string, number>();
  if (grid.first.length === 0 || grid.second.length === 0) return { columns, groups };
  for (const y of grid.second) columns.set(y, (columns.get(y) ?? 0) + grid.first.length);
  for (const x of grid.first) groups.set(x, (groups.get(x) ?? 0) + grid.second.length);
  return { columns, groups };
}

/** Counts by status: the partitions not FRESH as listed, the rest of `total` FRESH; in one order. */
function withFresh(total: number, notFresh: Counts | undefined): Counts {
  const out: Counts = {};
  let n = 0;
  for (const st of ORDER) if (st !== 'FRESH' && notFresh?.[st]) n += notFresh[st];
  for (const st of ORDER) {
    const v = st === 'FRESH' ? total - n : (notFresh?.[st] ?? 0);
    if (v > 0) out[st] = v;
  }
  return out;
}

const add = (m: Map<string, Counts>, key: string, status: PartitionStatus['status']) => {
  const c = m.get(key) ?? {};
  c[status] = (c[status] ?? 0) + 1;
  m.set(key, c);
};

export function partitionHealth(parts: ReadonlyMap<string, PartitionStatus>, dimensions: string[]): PartitionHealth {
  const columnDim = dimensions.at(-1) ?? '';
  const groupDim = dimensions.length > 1 ? dimensions[0]! : undefined;
  // totals from the keys, then the partitions not FRESH (a sparse map's exceptions): no status object per partition
  const totals =
    (parts instanceof SparseMap && countGrid(parts.keyList, columnDim, groupDim)) ||
    countKeys(parts.keys(), columnDim, groupDim);
  const notFresh: Counts = {};
  const columnNotFresh = new Map<string, Counts>();
  const groupNotFresh = new Map<string, Counts>();
  const entries = parts instanceof SparseMap ? (parts.exceptions as ReadonlyMap<string, PartitionStatus>) : parts;
  for (const [key, s] of entries) {
    if (s.status === 'FRESH') continue;
    notFresh[s.status] = (notFresh[s.status] ?? 0) + 1;
    add(columnNotFresh, dimensionValue(key, columnDim) ?? key, s.status);
    if (groupDim) add(groupNotFresh, dimensionValue(key, groupDim) ?? '', s.status);
  }
  const byColumn = new Map<string, Counts>();
  for (const [label, n] of totals.columns) byColumn.set(label, withFresh(n, columnNotFresh.get(label)));
  let labels = [...byColumn.keys()].sort();
  let unit: 'value' | 'month' = 'value';
  if (labels.length > MAX_COLUMNS && labels.every((l) => ISO_DAY.test(l))) {
    unit = 'month';
    const months = new Map<string, Counts>();
    for (const [day, c] of byColumn) {
      const m = months.get(day.slice(0, 7)) ?? {};
      for (const [st, n] of Object.entries(c) as [PartitionStatus['status'], number][]) m[st] = (m[st] ?? 0) + n;
      months.set(day.slice(0, 7), m);
    }
    byColumn.clear();
    for (const [k, v] of months) byColumn.set(k, v);
    labels = [...byColumn.keys()].sort();
  }
  const notFreshOf = (c: Counts) => Object.entries(c).reduce((sum, [st, n]) => (st === 'FRESH' ? sum : sum + n), 0);
  const rows = [...totals.groups.entries()]
    .map(([value, n]) => {
      const c = withFresh(n, groupNotFresh.get(value));
      return { value, not_fresh: notFreshOf(c), counts: c };
    })
    .sort((a, b) => b.not_fresh - a.not_fresh || (a.value < b.value ? -1 : 1));
  return {
    total: parts.size,
    counts: withFresh(parts.size, notFresh),
    columns: { dimension: columnDim, unit, buckets: labels.map((label) => ({ label, counts: byColumn.get(label)! })) },
    groups: groupDim ? { dimension: groupDim, total: rows.length, rows: rows.slice(0, MAX_GROUP_ROWS) } : null,
  };
}
