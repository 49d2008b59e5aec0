import { type DimensionFilter, isIsoDay, parsePartitionKey } from '../definitions/index.ts';
import { UsageError } from '../errors/index.ts';

export type { DimensionFilter };

/** A parsed `--partition` filter: `dim=value` or `dim=first...last` pairs, any subset of the dimensions. */
export interface PartitionFilter {
  text: string;
  dims: Record<string, DimensionFilter>;
  /** No ranges: the text may name one partition exactly (e.g. a day not seen yet). */
  exact: boolean;
}

const RANGE = '...';

export function parsePartitionFilter(text: string): PartitionFilter {
  const dims: Record<string, DimensionFilter> = {};
  for (const [dim, raw] of Object.entries(parsePartitionKey(text))) {
    if (!raw.includes(RANGE)) {
      dims[dim] = { value: raw };
      continue;
    }
    const [from = '', to = '', ...rest] = raw.split(RANGE);
    if (rest.length > 0 || !isIsoDay(from) || !isIsoDay(to)) {
      throw new UsageError(
        `'${dim}=${raw}' is not a day range: use ${dim}=YYYY-MM-DD...YYYY-MM-DD (both days included).`,
      );
    }
    if (from > to) throw new UsageError(`The range '${dim}=${raw}' ends before it starts.`);
    dims[dim] = { from, to };
  }
  return { text, dims, exact: Object.values(dims).every((d) => 'value' in d) };
}

/** Whether a canonical partition key matches; dimensions the partition does not have are ignored. */
export function matchesPartitionFilter(partition: string, filter: PartitionFilter): boolean {
  const values = parsePartitionKey(partition);
  return Object.entries(filter.dims).every(([dim, f]) => {
    const v = values[dim];
    if (v === undefined) return true;
    return 'value' in f ? v === f.value : v >= f.from && v <= f.to;
  });
}
