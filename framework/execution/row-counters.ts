import { numericValue } from '../definitions/index.ts';
import type { MaterializationRecord, Store } from '../storage/index.ts';

/**
 * Rows per asset over all its materializations, kept as store cursors as each materialization is recorded
 * (a scrape reads a few numbers instead of decoding every partition's metadata). The metadata keys are a
 * convention: `row_count` (`md.rowCount`) rows written, `quarantined_rows`, `duplicates_removed`.
 */
export const ROW_KINDS = {
  row_count: 'written',
  quarantined_rows: 'quarantined',
  duplicates_removed: 'duplicates_removed',
} as const;

export type RowKind = (typeof ROW_KINDS)[keyof typeof ROW_KINDS];

const cursorOf = (asset: string, kind: RowKind) => `metrics:rows:${kind}:${asset}`;

/** Adds one materialization's row counts to its asset's totals. */
export function countRows(store: Store, record: MaterializationRecord): void {
  for (const [key, kind] of Object.entries(ROW_KINDS) as [keyof typeof ROW_KINDS, RowKind][]) {
    const entry = record.metadata[key];
    const n = entry ? numericValue(entry) : undefined;
    if (n === undefined || !Number.isFinite(n) || n === 0) continue;
    store.addToCursor(cursorOf(record.asset_key, kind), n);
  }
}

/** The totals of one asset, by kind (kinds never counted are left out). */
export function rowTotals(store: Store, asset: string): Partial<Record<RowKind, number>> {
  const out: Partial<Record<RowKind, number>> = {};
  for (const kind of Object.values(ROW_KINDS)) {
    const v = store.getCursor(cursorOf(asset, kind));
    if (v !== undefined) out[kind] = Number(v);
  }
  return out;
}
