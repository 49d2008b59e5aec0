/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { TableRef } from '../../framework/definitions/index.ts';
import { ID } from '../static/ids.js';

const LIMITS = [10, 20, 50, 100];

/**
 * The asset's table, read on demand (`ui/static/asset.js`): row count, current snapshot, max event time
 * and the first rows, from `/api/assets/:key/table` and `/preview`. Nothing runs until the button is
 * pressed: on the embedded profile a read starts a Spark session.
 */
export function TableSection(props: { assetKey: string; table: TableRef }) {
  const { assetKey, table } = props;
  return (
    <section
      id={ID.tableSection}
      data-key={assetKey}
      data-table={table.table}
      data-time-column={table.timeColumn ?? ''}
      data-state="idle"
    >
      <h2>Table</h2>
      <p class="muted small">
        <code>{table.table}</code>
        {table.timeColumn ? (
          <>
            {', event time '}
            <code>{table.timeColumn}</code>
          </>
        ) : null}
        {
          ". Read on the profile's query engine when you ask: Trino answers in a second or two, and so does the embedded profile (DuckDB over the Iceberg tables; Spark, about 20 s more, only for what DuckDB cannot read). A read is reused for a minute."
        }
      </p>
      <div class="table-controls">
        <button type="button" id={ID.tableLoad}>
          Load table
        </button>
        <label class="inline">
          {'rows '}
          <select id={ID.tableLimit} name="limit">
            {LIMITS.map((n) => (
              <option value={String(n)} selected={n === 20}>
                {String(n)}
              </option>
            ))}
          </select>
        </label>
        <span id={ID.tableStatus} class="muted" role="status" aria-live="polite" />
      </div>
      <table class="kv" id={ID.tableMeta} hidden />
      <div class="grid-scroll">
        <table class="list table-preview" id={ID.tablePreview} hidden />
      </div>
    </section>
  );
}
