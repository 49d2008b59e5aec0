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

const add = (m: Map<string, Counts>, key: string, status: PartitionStatus['status']) => {
  const c = m.get(key) ?? {};
  c[status] = (c[status] ?? 0) + 1;
  m.set(key, c);
};

export function partitionHealth(parts: ReadonlyMap<string, PartitionStatus>, dimensions: string[]): PartitionHealth {
  const counts: Counts = {};
  const byColumn = new Map<string, Counts>();
  const byGroup = new Map<string, Counts>();
  const columnDim = dimensions.at(-1) ?? '';
  const groupDim = dimensions.length > 1 ? dimensions[0]! : undefined;
  // a sparse map's partitions are FRESH unless excepted: walk its keys, not a status object per partition
  const statusOf =
    parts instanceof SparseMap
      ? (key: string) => (parts.exceptions.get(key) as PartitionStatus | undefined)?.status ?? 'FRESH'
      : (key: string) => parts.get(key)!.status;
  for (const key of parts.keys()) {
    const status = statusOf(key);
    counts[status] = (counts[status] ?? 0) + 1;
    add(byColumn, dimensionValue(key, columnDim) ?? key, status);
    if (groupDim) add(byGroup, dimensionValue(key, groupDim) ?? '', status);
  }
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
  const notFresh = (c: Counts) => Object.entries(c).reduce((sum, [st, n]) => (st === 'FRESH' ? sum : sum + n), 0);
  const rows = [...byGroup.entries()]
    .map(([value, c]) => ({ value, not_fresh: notFresh(c), counts: c }))
    .sort((a, b) => b.not_fresh - a.not_fresh || (a.value < b.value ? -1 : 1));
  return {
    total: parts.size,
    counts,
    columns: { dimension: columnDim, unit, buckets: labels.map((label) => ({ label, counts: byColumn.get(label)! })) },
    groups: groupDim ? { dimension: groupDim, total: rows.length, rows: rows.slice(0, MAX_GROUP_ROWS) } : null,
  };
}
