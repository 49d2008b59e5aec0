/**
 * The lakehouse's tables as the UI sees them: which asset writes which Iceberg table (and its event-time
 * column), and how to read a table's row count, current snapshot, max event time and first rows on the
 * profile's engine — Spark SQL (embedded), Trino (local) or Athena (aws, Trino's SQL).
 */
import type { AssetKey, QueryResult, TableRead, TableRef } from '../../framework/definitions/index.ts';
import { FrameworkError } from '../../framework/errors/index.ts';
import type { DbtProject } from '../../framework/integrations/dbt/index.ts';
import { lazySchema } from '../../framework/validation/index.ts';

type Query = (statements: string[]) => Promise<QueryResult[]>;

const IDENT = /^[a-z_][a-z0-9_]*$/;
/** Table names and columns go into SQL text: only plain lowercase identifiers pass. */
const TableRefSchema = lazySchema((z) =>
  z.object({
    table: z.string().regex(/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/, "a lowercase 'namespace.table'"),
    timeColumn: z.string().regex(IDENT, 'a lowercase column name').optional(),
  }),
);
const LimitSchema = lazySchema((z) => z.number().int().min(1).max(10_000));
/**
 * dbt's `event_time` model config (dbt ≥ 1.9): the column saying when each row's event happened, or none.
 * Checked without zod: the definitions read it at load, for every command.
 */
const isEventTime = (v: unknown): v is string | null | undefined =>
  v == null || (typeof v === 'string' && IDENT.test(v));
/** Silver's tables record when each GPS fix was taken. */
const SILVER_TIME_COLUMN = 'fix_timestamp';

/**
 * Asset → table: the Silver assets' Iceberg tables (event time `fix_timestamp`) and every dbt model that
 * builds a relation, with the column its `event_time` config names. Bronze (files) has no table.
 */
export function lakehouseTableOf(
  silverKeys: readonly AssetKey[],
  gold: Pick<DbtProject, 'spec' | 'manifest'>,
): (assetKey: AssetKey) => TableRef | undefined {
  const tables = new Map<AssetKey, TableRef>();
  for (const key of silverKeys) tables.set(key, { table: key, timeColumn: SILVER_TIME_COLUMN });
  for (const model of gold.spec.models) {
    if (model.materialized === 'ephemeral') continue;
    const eventTime = gold.manifest.nodes[model.uniqueId]?.config.event_time;
    if (!isEventTime(eventTime)) {
      throw new FrameworkError(
        'DBT_EVENT_TIME_INVALID',
        `dbt model '${model.name}' (${model.originalFilePath}) has event_time ${JSON.stringify(eventTime)}; it must name one lowercase column.`,
        { details: { asset_key: model.assetKey } },
      );
    }
    tables.set(model.assetKey, { table: model.assetKey, ...(eventTime ? { timeColumn: eventTime } : {}) });
  }
  return (key) => tables.get(key);
}

const CountRowSchema = lazySchema((z) => z.tuple([z.coerce.number().int().min(0), z.coerce.number().nullable()]));
const SnapshotRowSchema = lazySchema((z) => z.tuple([z.coerce.string()]));
/** Trino's `DESCRIBE`: column name and type first. */
const DescribeRowsSchema = lazySchema((z) => z.array(z.tuple([z.string(), z.string()]).rest(z.unknown())));

/** Builds the statements and reads the answers of one engine's SQL dialect. */
interface Dialect {
  /** `SELECT count(*), <max event time as a number>` over the table. */
  counts(table: string, timeColumn: string | undefined): string;
  /** Converts the max-event-time number to milliseconds since the epoch. */
  epochMs(value: number): number;
  /** The current snapshot id of the `main` branch as text, from the Iceberg `refs` metadata table. */
  snapshot(table: string): string;
}

const SPARK: Dialect = {
  counts: (t, c) =>
    `SELECT count(*), ${c ? `unix_micros(CAST(max(${c}) AS timestamp))` : 'CAST(NULL AS bigint)'} FROM ${t}`,
  epochMs: (us) => us / 1000,
  snapshot: (t) => `SELECT CAST(snapshot_id AS string) FROM ${t}.refs WHERE name = 'main'`,
};

const TRINO: Dialect = {
  counts: (t, c) =>
    `SELECT count(*), ${c ? `to_unixtime(CAST(max("${c}") AS timestamp(6) with time zone))` : 'CAST(NULL AS double)'} FROM ${t}`,
  epochMs: (s) => s * 1000,
  snapshot: (t) => {
    const [ns, name] = t.split('.');
    return `SELECT CAST(snapshot_id AS varchar) FROM ${ns}."${name}$refs" WHERE name = 'main'`;
  },
};

/**
 * Trino answers in JSON, where BIGINT (H3 cells) loses digits in JavaScript and VARBINARY comes as
 * base64: the preview casts those to text (hex for binary, as Spark's query job prints it).
 */
async function trinoPreviewSql(query: Query, table: string, limit: number): Promise<string> {
  const [described] = await query([`DESCRIBE ${table}`]);
  const columns = DescribeRowsSchema().parse(described?.rows ?? []);
  const list = columns.map(([name, type]) => {
    const col = `"${name.replaceAll('"', '""')}"`;
    if (type === 'bigint') return `CAST(${col} AS varchar) AS ${col}`;
    if (type === 'varbinary') return `to_hex(${col}) AS ${col}`;
    return col;
  });
  return `SELECT ${list.join(', ') || '*'} FROM ${table} LIMIT ${limit}`;
}

/**
 * Reads one table on the profile's engine: the embedded profile runs the three Spark SQL statements in one
 * process (DuckDB, which has Spark's `unix_micros` and `<table>.refs`; Spark, ~20 s to start, for anything
 * DuckDB cannot run); Trino first describes the table to keep 64-bit values exact in the preview.
 */
export async function readLakehouseTable(
  engine: 'spark' | 'trino' | 'athena',
  query: Query,
  ref: TableRef,
  limit: number,
): Promise<TableRead> {
  const { table, timeColumn } = TableRefSchema().parse(ref);
  const n = LimitSchema().parse(limit);
  const dialect = engine === 'spark' ? SPARK : TRINO;
  // Athena answers in text, cast after the column types (assets/lib/aws/athena.ts): BIGINT stays exact as it is
  const preview = engine === 'trino' ? await trinoPreviewSql(query, table, n) : `SELECT * FROM ${table} LIMIT ${n}`;
  const [counts, snapshot, rows] = await query([dialect.counts(table, timeColumn), dialect.snapshot(table), preview]);
  const [rowCount, maxEvent] = CountRowSchema().parse(counts?.rows[0]);
  const snapshotRow = snapshot?.rows[0];
  return {
    engine,
    rowCount,
    snapshotId: snapshotRow ? SnapshotRowSchema().parse(snapshotRow)[0] : null,
    maxEventTime: maxEvent === null ? null : new Date(dialect.epochMs(maxEvent)).toISOString(),
    preview: { columns: rows?.columns ?? [], rows: (rows?.rows ?? []).slice(0, n) },
  };
}
