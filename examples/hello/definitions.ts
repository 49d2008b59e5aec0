/**
 * A small example graph that exercises every framework feature without Spark:
 * static partitions, identity and all-upstream mappings, a subprocess step speaking the pipes
 * protocol (Python), checks (blocking and warn), retries, a data version from content, and table
 * hooks (`tableOf` / `readTable`) over its CSV files for the UI's table previews.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  asset,
  defineAssets,
  md,
  staticPartitions,
  type TableRead,
  type TableRef,
} from '../../framework/definitions/index.ts';
import { FrameworkError } from '../../framework/errors/index.ts';
import { reportedChecks, runPipesProcess } from '../../framework/pipes/index.ts';

// this folder, also when the checkout's build runs the example compiled (dist/examples/hello/definitions.js)
const here = dirname(fileURLToPath(import.meta.url.replace(/\/dist\/(examples\/hello\/definitions)\.js$/, '/$1.ts')));
const dataDir = () => process.env.HELLO_DATA_DIR ?? join(process.cwd(), '.fairway', 'hello-data');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Records when a step ran, so tests can assert two runs never overlap on one asset. */
function trace(event: string) {
  const file = process.env.HELLO_TRACE_FILE;
  if (file) appendFileSync(file, `${JSON.stringify({ event, pid: process.pid, t: Date.now() })}\n`);
}

const stores = staticPartitions('store', ['north', 'south']);

export const rawOrders = asset({
  key: 'bronze.raw_orders',
  description: 'Orders exported by each store, copied as they are.',
  group: 'bronze',
  kinds: ['file'],
  owners: ['data-eng@example.com'],
  tags: { layer: 'bronze' },
  partitions: stores,
  materialize: async (ctx) => {
    trace(`start ${ctx.partitionKey}`);
    const slowMs = Number(process.env.HELLO_SLOW_MS ?? 0);
    if (slowMs > 0) await sleep(slowMs);
    const store = ctx.partition.store!;
    const rows = Array.from({ length: store === 'north' ? 5 : 3 }, (_, i) => `${store},${i},${(i + 1) * 10}`);
    const extra = process.env.HELLO_EXTRA_ROWS ?? '';
    const text = `store,order,amount\n${rows.join('\n')}\n${extra}`;
    mkdirSync(dataDir(), { recursive: true });
    writeFileSync(join(dataDir(), `orders-${store}.csv`), text);
    trace(`end ${ctx.partitionKey}`);
    return {
      dataVersion: createHash('sha256').update(text).digest('hex').slice(0, 16),
      metadata: { row_count: md.rowCount(rows.length), path: md.path(join(dataDir(), `orders-${store}.csv`)) },
    };
  },
});

export const cleanOrders = asset({
  key: 'silver.clean_orders',
  description: 'Orders with amounts validated, computed by a Python subprocess over the pipes protocol.',
  group: 'silver',
  kinds: ['python'],
  deps: [rawOrders],
  partitions: stores,
  codeFiles: [join(here, 'clean_orders.py')],
  checks: [{ name: 'amounts_positive', blocking: true, severity: 'error' }],
  retry: { maxRetries: 1, backoffMs: 50 },
  materialize: async (ctx) => {
    const store = ctx.partition.store!;
    const result = await runPipesProcess({
      command: process.env.FAIRWAY_PYTHON ?? 'python3',
      args: [
        join(here, 'clean_orders.py'),
        join(dataDir(), `orders-${store}.csv`),
        join(dataDir(), `clean-${store}.csv`),
      ],
      context: {
        run_id: ctx.runId,
        asset_key: ctx.assetKey,
        partition_key: ctx.partitionKey,
        partition: ctx.partition,
      },
      stepDir: ctx.stepDir,
      env: { ...process.env, PYTHONPATH: join(here, '..', '..', 'spark') },
      signal: ctx.signal,
      log: ctx.log,
      onOutput: (line) => ctx.computeLog(line),
      onChildProcess: ctx.onChildProcess,
    });
    if (result.exitCode !== 0) {
      const err = result.messages.find((m) => m.type === 'error');
      throw new Error(
        `clean_orders.py exited with ${result.exitCode}${err?.type === 'error' ? `: ${err.message}` : ''}`,
      );
    }
    const mat = result.messages.find((m) => m.type === 'materialization');
    const checks = reportedChecks(result.messages);
    return {
      ...(mat?.type === 'materialization' && mat.data_version ? { dataVersion: mat.data_version } : {}),
      metadata: {
        ...(mat?.type === 'materialization' ? mat.metadata : {}),
        malformed_messages: md.int(result.malformed.length),
      },
      checks,
    };
  },
});

export const ordersSummary = asset({
  key: 'gold.orders_summary',
  description: 'Total amount per store, over all stores.',
  group: 'gold',
  kinds: ['typescript'],
  deps: [cleanOrders],
  checks: [
    {
      name: 'has_two_stores',
      severity: 'warn',
      evaluate: (ctx) => {
        const stores = ctx.metadata.stores;
        return { passed: stores?.type === 'int' && stores.value === 2 };
      },
    },
  ],
  materialize: () => {
    const totals: Record<string, number> = {};
    for (const store of ['north', 'south']) {
      const lines = readFileSync(join(dataDir(), `clean-${store}.csv`), 'utf8')
        .trim()
        .split('\n')
        .slice(1);
      totals[store] = lines.reduce((sum, l) => sum + Number(l.split(',')[2]), 0);
    }
    writeFileSync(join(dataDir(), 'summary.json'), JSON.stringify(totals));
    return { metadata: { stores: md.int(Object.keys(totals).length), totals: md.json(totals) } };
  },
});

export const ordersReport = asset({
  key: 'gold.orders_report',
  description: 'A markdown report of the summary.',
  group: 'gold',
  kinds: ['markdown'],
  deps: [ordersSummary],
  materialize: () => {
    const totals = JSON.parse(readFileSync(join(dataDir(), 'summary.json'), 'utf8')) as Record<string, number>;
    const text = Object.entries(totals)
      .map(([s, t]) => `- ${s}: ${t}`)
      .join('\n');
    return { metadata: { report: md.markdown(text) } };
  },
});

/** The example's "tables": the CSV files of both stores (and the summary JSON), read as an engine would. */
const TABLE_FILES: Record<string, string[]> = {
  'bronze.raw_orders': ['orders-north.csv', 'orders-south.csv'],
  'silver.clean_orders': ['clean-north.csv', 'clean-south.csv'],
  'gold.orders_summary': ['summary.json'],
};

function readTable(ref: TableRef, opts: { limit: number }): TableRead {
  const files = (TABLE_FILES[ref.table] ?? []).map((f) => join(dataDir(), f)).filter((f) => existsSync(f));
  if (files.length === 0) {
    throw new FrameworkError('TABLE_NOT_FOUND', `No files of '${ref.table}' in ${dataDir()} yet.`);
  }
  const texts = files.map((f) => readFileSync(f, 'utf8'));
  let columns: string[];
  let rows: unknown[][];
  if (ref.table === 'gold.orders_summary') {
    columns = ['store', 'total'];
    rows = Object.entries(JSON.parse(texts[0]!) as Record<string, number>);
  } else {
    columns = texts[0]!.split(/\r?\n/)[0]!.split(',');
    rows = texts.flatMap((t) =>
      t
        .trim()
        .split(/\r?\n/)
        .slice(1)
        .map((line) => line.split(',').map((v, i) => (i === 0 ? v : Number(v)))),
    );
  }
  return {
    engine: 'files',
    rowCount: rows.length,
    snapshotId: createHash('sha256').update(texts.join('\0')).digest('hex').slice(0, 16),
    maxEventTime: null,
    preview: { columns, rows: rows.slice(0, opts.limit) },
  };
}

export default defineAssets({
  assets: [rawOrders, cleanOrders, ordersSummary, ordersReport],
  hooks: {
    // gold.orders_report is markdown in metadata: no table.
    tableOf: (key) => (TABLE_FILES[key] ? { table: key } : undefined),
    readTable: async (ref, opts) => readTable(ref, opts),
  },
});
