import type { AssetKey, TableRead, TableRef } from '../framework/definitions/index.ts';
import { didYouMean } from '../framework/definitions/index.ts';
import { FrameworkError } from '../framework/errors/index.ts';
import type { Project } from '../framework/project/index.ts';
import type { TableMetadata, TablePreview } from './api-schemas.ts';
import { NotFoundError } from './errors.ts';

/** The most rows a preview returns. Every read fetches this many, so one engine session serves any limit. */
export const PREVIEW_MAX_ROWS = 100;
/** How long a read is reused: the embedded profile's Spark takes ~20 s (more on a busy machine) to answer. */
export const TABLE_CACHE_MS = 60_000;

interface Loaded {
  ref: TableRef;
  read: TableRead;
  readAt: string;
}

/** The table an asset writes, when the definitions can both name and read it; undefined otherwise. */
export function tableRefOf(project: Project, key: AssetKey): TableRef | undefined {
  const { tableOf, readTable } = project.defs.hooks;
  return readTable ? tableOf?.(key) : undefined;
}

/**
 * Table metadata and previews through the definitions' `tableOf` / `readTable` hooks. Reads run one at
 * a time (an embedded Spark session is a JVM of its own), concurrent requests for one asset share a
 * read, and a read is reused for `ttlMs`. Failed reads are not kept.
 */
export function tableReader(project: Project, ttlMs = TABLE_CACHE_MS) {
  const log = project.log.child({ component: 'ui-tables' });
  const cache = new Map<AssetKey, { promise: Promise<Loaded>; settledAt?: number }>();
  let queue: Promise<unknown> = Promise.resolve();

  const refOf = (key: AssetKey): TableRef => {
    if (!project.graph.has(key)) {
      const keys = project.graph.topologicalOrder();
      throw new NotFoundError(`Asset '${key}' is not defined.${didYouMean(key, keys)}`, { asset_key: key });
    }
    const ref = tableRefOf(project, key);
    if (!ref) {
      throw new NotFoundError(
        `Asset '${key}' has no table to read: only assets that write a table (Iceberg tables, dbt models) ` +
          'have table metadata and previews.',
        { asset_key: key },
      );
    }
    return ref;
  };

  const readNow = async (key: AssetKey, ref: TableRef): Promise<Loaded> => {
    const started = Date.now();
    try {
      const read = await project.defs.hooks.readTable!(ref, { limit: PREVIEW_MAX_ROWS });
      log.info(
        {
          asset_key: key,
          table: ref.table,
          engine: read.engine,
          row_count: read.rowCount,
          duration_ms: Date.now() - started,
        },
        'table read',
      );
      return { ref, read, readAt: new Date().toISOString() };
    } catch (e) {
      if (e instanceof FrameworkError && e.code === 'TABLE_NOT_FOUND') {
        throw new NotFoundError(
          `Table '${ref.table}' of asset '${key}' does not exist yet: materialize it first (fairway materialize ${key}).`,
          { asset_key: key, table: ref.table },
        );
      }
      throw e;
    }
  };

  const load = (key: AssetKey): Promise<Loaded> => {
    const ref = refOf(key);
    const hit = cache.get(key);
    if (hit && (hit.settledAt === undefined || Date.now() - hit.settledAt < ttlMs)) return hit.promise;
    const promise = queue.then(() => readNow(key, ref));
    queue = promise.catch(() => undefined);
    const entry: { promise: Promise<Loaded>; settledAt?: number } = { promise };
    cache.set(key, entry);
    promise.then(
      () => {
        entry.settledAt = Date.now();
      },
      () => {
        if (cache.get(key) === entry) cache.delete(key);
      },
    );
    return promise;
  };

  return {
    async metadata(key: AssetKey): Promise<TableMetadata> {
      const { ref, read, readAt } = await load(key);
      return {
        asset_key: key,
        table: ref.table,
        time_column: ref.timeColumn ?? null,
        engine: read.engine,
        row_count: read.rowCount,
        snapshot_id: read.snapshotId,
        max_event_time: read.maxEventTime,
        read_at: readAt,
      };
    },
    async preview(key: AssetKey, limit: number): Promise<TablePreview> {
      const { ref, read, readAt } = await load(key);
      return {
        asset_key: key,
        table: ref.table,
        engine: read.engine,
        limit,
        columns: read.preview.columns,
        rows: read.preview.rows.slice(0, limit),
        read_at: readAt,
      };
    },
  };
}
