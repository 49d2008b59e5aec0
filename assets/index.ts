/**
 * The Fairway lakehouse: Bronze round exports → Silver (Spark + Sedona on Iceberg) → dbt gate → Gold.
 * `fairway` loads this module by default; the profile comes from `FAIRWAY_PROFILE` (default embedded).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineAssets, lazyCommand, type QueryOptions } from '../framework/definitions/index.ts';
import { UsageError } from '../framework/errors/index.ts';
import { rootLogger } from '../framework/logging/index.ts';
import { type DefinitionsContext, stateDirOf } from '../framework/project/index.ts';
import { bronzeAssets } from './bronze.ts';
import { loadGoldAssets } from './gold.ts';
import { AWS_COMMAND, SAMPLE_COMMAND, STACK_COMMAND } from './lib/command-info.ts';
import { maskSecrets } from './lib/config.ts';
import { openLakehouse } from './lib/lakehouse.ts';
import { lakehouseLineageDatasets } from './lib/lineage-datasets.ts';
import { guardLocalStack, stackConfigOf, stackServicesDown } from './lib/stack.ts';
import { lakehouseTableOf, readLakehouseTable } from './lib/tables.ts';
import { silverAssets } from './silver.ts';

// <root>/assets/index.ts, or compiled by the checkout's build to <root>/dist/assets/index.js
const projectRoot = join(dirname(fileURLToPath(import.meta.url)), import.meta.url.endsWith('.js') ? '../..' : '..');

export default async function lakehouse(ctx?: DefinitionsContext) {
  // the CLI's state dir (--state-dir, FAIRWAY_HOME): inbox, storage, warehouse and dbt state all live there
  const stateDir = ctx?.stateDir ?? stateDirOf(process.cwd());
  const lake = openLakehouse(projectRoot, stateDir);
  const cfg = lake.config;
  const bronze = bronzeAssets(lake);
  // dbt: Gold models as assets, and the tests on the Silver sources as Silver's blocking gate.
  const gold = await loadGoldAssets(cfg, {
    stateDir,
    objectStore: lake.store,
    courses: lake.courses,
    runtime: () => lake.sparkRuntime(),
    onProgress: (m) => rootLogger().info({ step: 'dbt' }, m),
  });
  const silver = silverAssets(lake, bronze[0]!, projectRoot, gold.silverGate);
  // the query engines' clients are imported when a query runs, not by every command
  const query = async (statements: string[], opts: QueryOptions = {}) => {
    if (cfg.query.engine === 'athena') {
      if (opts.engine !== undefined && opts.engine !== 'athena')
        throw new UsageError(`--engine ${opts.engine}: this profile (${cfg.file}) queries Athena only.`);
      const { queryAthena } = await import('./lib/aws/athena.ts');
      return queryAthena(cfg, statements, opts);
    }
    const { queryEmbedded, queryTrino } = await import('./lib/query.ts');
    if (cfg.query.engine !== 'trino') return queryEmbedded(lake, projectRoot, statements, opts);
    if (opts.engine !== undefined && opts.engine !== 'trino')
      throw new UsageError(`--engine ${opts.engine}: this profile (${cfg.file}) queries Trino only.`);
    // Checked first: with S3 down, Trino's own retries take minutes before it reports an error.
    const down = await stackServicesDown(cfg, stateDir, ['s3', 'rest', 'trino'], 'The query needs');
    if (down) throw down;
    return queryTrino(cfg, statements, {
      ...opts,
      diagnose: (failure) =>
        stackServicesDown(cfg, stateDir, ['s3', 'rest'], 'Trino failed the query; it needs', failure),
    });
  };
  const tableOf = lakehouseTableOf(
    silver.map((a) => a.key),
    gold.project,
  );
  return defineAssets({
    assets: guardLocalStack(cfg, stateDir, [...bronze, ...silver, ...gold.goldAssets]),
    resources: { lake },
    pools: { spark: cfg.spark.slots },
    hooks: {
      onRunComplete: async (summary) => {
        const prefix = cfg.prefixes.observability ? cfg.prefixes.observability.replace(/\/?$/, '/') : '';
        await lake.store.ensureBucket(cfg.buckets.observability);
        await lake.store.put(
          cfg.buckets.observability,
          `${prefix}runs/${summary.run_id}.json`,
          `${JSON.stringify(summary, null, 2)}\n`,
          {
            contentType: 'application/json',
          },
        );
      },
      describeConfig: () => maskSecrets(cfg),
      query,
      tableOf,
      lineageDatasetOf: lakehouseLineageDatasets(
        cfg,
        tableOf,
        bronze.map((a) => a.key),
      ),
      readTable: async (table, { limit }) => {
        // embedded: DuckDB answers the table-read statements; a statement it hands to Spark makes the read Spark's
        const { readsWithoutSpark } = await import('./lib/query.ts');
        let engine: string = cfg.query.engine === 'spark' && readsWithoutSpark(cfg) ? 'duckdb' : cfg.query.engine;
        const onNotice = (message: string) => {
          engine = 'spark';
          rootLogger().warn({ table: table.table }, message);
        };
        const read = await readLakehouseTable(cfg.query.engine, (sql) => query(sql, { onNotice }), table, limit);
        return { ...read, engine };
      },
      assetPage: {
        leadingMetrics: ['row_count', 'quarantined_rows', 'duplicates_removed', 'duration_ms'],
        // the sketch is JSX (hono): imported when a page is drawn, so commands never load the web stack
        sections: async (latest) => (await import('./lib/asset-page.tsx')).lakehouseSections(latest),
      },
      commands: {
        stack: lazyCommand(STACK_COMMAND, async () =>
          (await import('../stack/index.ts')).stackCommand((dir) => stackConfigOf(cfg, dir)),
        ),
        sample: lazyCommand(SAMPLE_COMMAND, async () =>
          (await import('./lib/sample-data/index.ts')).sampleCommand(cfg),
        ),
        aws: lazyCommand(AWS_COMMAND, async () =>
          (await import('./lib/aws/aws-command.ts')).awsCommand(lake, projectRoot),
        ),
      },
      noDataHint: `Put round exports in ${cfg.inboxDir}/<course_id>/<YYYY-MM-DD>/, or load the sample with 'fairway sample'.`,
      bootstrap: async (onProgress) => {
        const runtime = await lake.sparkRuntime(onProgress);
        onProgress(`python: ${runtime.python}`);
        onProgress(`jars: ${runtime.jars.length} in ${dirname(runtime.jars[0] ?? '')}`);
      },
    },
  });
}
