/**
 * The lakehouse's assets as OpenLineage datasets, named by the OpenLineage naming spec: a table by its Iceberg
 * catalog (namespace) and `<namespace>.<table>` (name); Bronze by where its objects are (`s3://<bucket>` and
 * the key prefix, or `file` and the directory on the embedded profile).
 */
import { join } from 'node:path';
import type { AssetKey, LineageDataset, TableRef } from '../../framework/definitions/index.ts';
import type { LakehouseConfig } from './config.ts';

/**
 * The catalog as a dataset namespace: `iceberg://<host:port>` of a REST catalog, `iceberg://glue.<region>` for
 * Glue, and for a JDBC catalog its database (`iceberg:///<path>/catalog.db` for the embedded SQLite file).
 */
function icebergNamespace(catalog: LakehouseConfig['catalog'], region: string): string {
  if (catalog.type === 'glue') return `iceberg://glue.${region}`;
  const uri = catalog.uri ?? '';
  if (catalog.type === 'rest') return `iceberg://${new URL(uri).host}`;
  const sqlite = /^jdbc:sqlite:(?:file:)?(.+)$/.exec(uri);
  if (sqlite) return `iceberg://${sqlite[1]!.startsWith('/') ? '' : '/'}${sqlite[1]}`;
  const other = /^jdbc:[a-z0-9]+:\/\/([^?;]+)/i.exec(uri);
  return `iceberg://${other ? other[1] : uri}`;
}

/** Bronze's landing area: `s3://<bucket>` + key prefix, or (local storage) `file` + its directory. */
function landingDataset(config: LakehouseConfig): LineageDataset {
  const prefix = config.prefixes.landing.replace(/^\/+|\/+$/g, '');
  if (config.storage.kind === 's3') return { namespace: `s3://${config.buckets.landing}`, name: prefix || '/' };
  return { namespace: 'file', name: join(config.storage.root!, config.buckets.landing, prefix) };
}

/** Asset → dataset: tables by catalog and table name, the Bronze assets by their landing area. */
export function lakehouseLineageDatasets(
  config: LakehouseConfig,
  tableOf: (key: AssetKey) => TableRef | undefined,
  bronzeKeys: readonly AssetKey[],
): (key: AssetKey) => LineageDataset | undefined {
  const catalog = icebergNamespace(config.catalog, config.s3.region);
  const bronze = new Set(bronzeKeys);
  return (key) => {
    if (bronze.has(key)) return landingDataset(config);
    const table = tableOf(key);
    return table ? { namespace: catalog, name: table.table } : undefined;
  };
}
