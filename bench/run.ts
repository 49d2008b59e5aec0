/**
 * Entry of `npm run bench -- <suite> [options]`. Suites:
 *   core   graph load, status, staleness, single-asset materialize and a 1,000-asset run, vs Dagster
 *   ui     lineage page first render in Chromium and /api/graph under 50 clients, vs dagster-webserver
 *   silver the Spark Silver job on a ~100 MB course export (MB/s, rounds/min, rows/s), vs a DuckDB pass
 *   increment  N course-day partitions Bronze → Gold from a fresh state dir, then one more partition
 *          (wall, CPU, peak RSS of the whole process tree); `--repo DIR` measures another checkout
 *   partitions  one asset with 1k … 1M course × day partitions: status, a new partition, a daemon tick, the
 *          asset page (whole process; `--repo DIR` measures another checkout)
 *   cli    start-up of --help, list and status (whole process, ratios to `node -e 0`), one or more checkouts
 *   table  re-print the table of a results file: `npm run bench -- table bench/results/core-<date>.json`
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type CoreResults, formatTable } from './core/format-table.ts';
import { runCoreBench } from './core/run-core-bench.ts';
import { formatIncrementTable, type IncrementResults, runIncrementBench } from './increment/run-increment-bench.ts';
import { formatPartitionTable, type PartitionResults, runPartitionBench } from './partitions/run-partition-bench.ts';
import { formatSilverTable, type SilverResults } from './silver/format-silver-table.ts';
import { runSilverBench } from './silver/run-silver-bench.ts';
import { formatUiTable, type UiResults } from './ui/format-ui-table.ts';
import { runUiBench } from './ui/run-ui-bench.ts';

const USAGE = `usage: npm run bench -- core [--sizes 1000,10000] [--skip-dagster] [--dagster-full-sizes 1000]
                              [--dagster-timeout 600] [--repeats 3] [--single-repeats 5] [--run-repeats 3]
                              [--out bench/results/core-<date>.json]
       npm run bench -- ui [--sizes 2000,10000] [--skip-dagster] [--dagster-timeout 600] [--repeats 3]
                            [--clients 50] [--requests 300] [--dagster-requests 100] [--out bench/results/ui-<date>.json]
       npm run bench -- silver [--scale-mb 100] [--format csv|both] [--repeats 1] [--skip-duckdb]
                                [--spark-dir spark] [--out bench/results/silver-<date>.json]
       npm run bench -- increment [--sizes 5,50,200] [--repo DIR] [--label after] [--keep] [--out FILE]
       npm run bench -- partitions [--sizes 1000,10000,100000,1000000] [--chain] [--repo DIR] [--label after]
                                    [--repeats 3] [--timeout 900] [--seed-cache DIR] [--out FILE]
       npm run bench -- cli [--repo DIR --label NAME]… [--repeats 5] [--out FILE]
       npm run bench -- table <results.json> [<results.json> …]`;

const numbers = (s: string) => s.split(',').filter(Boolean).map(Number);

async function main(argv: string[]): Promise<number> {
  // its own options (several --repo / --label)
  if (argv[0] === 'cli') return (await import('./cli/run-cli-bench.ts')).runCliBench(argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      sizes: { type: 'string' },
      'skip-dagster': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'dagster-full-sizes': { type: 'string', default: '1000' },
      'dagster-timeout': { type: 'string', default: '600' },
      repeats: { type: 'string', default: '3' },
      'single-repeats': { type: 'string', default: '5' },
      'run-repeats': { type: 'string', default: '3' },
      clients: { type: 'string', default: '50' },
      requests: { type: 'string', default: '300' },
      'dagster-requests': { type: 'string', default: '100' },
      'scale-mb': { type: 'string', default: '100' },
      format: { type: 'string', default: 'csv' },
      'skip-duckdb': { type: 'boolean', default: false },
      'spark-dir': { type: 'string' },
      out: { type: 'string' },
      repo: { type: 'string' },
      label: { type: 'string' },
      chain: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '900' },
      'seed-cache': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [suite, file] = positionals;
  if (values.help || !suite) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  if (suite === 'table' && file) {
    const all = positionals.slice(1).map((f) => JSON.parse(readFileSync(f, 'utf8')) as { suite?: string });
    if (all.every((r) => r.suite === 'partitions')) {
      process.stdout.write(`${formatPartitionTable(all as PartitionResults[])}\n`);
      return 0;
    }
    if (all.every((r) => r.suite === 'increment')) {
      process.stdout.write(`${formatIncrementTable(all as IncrementResults[])}\n`);
      return 0;
    }
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { suite?: string };
    const table =
      parsed.suite === 'ui'
        ? formatUiTable(parsed as UiResults)
        : parsed.suite === 'silver'
          ? formatSilverTable(parsed as SilverResults)
          : formatTable(parsed as CoreResults);
    process.stdout.write(`${table}\n`);
    return 0;
  }
  if (suite === 'ui') {
    const results = await runUiBench({
      sizes: numbers(values.sizes ?? '2000,10000'),
      skipDagster: values['skip-dagster'],
      dagsterTimeoutS: Number(values['dagster-timeout']),
      repeats: Number(values.repeats),
      clients: Number(values.clients),
      requests: Number(values.requests),
      dagsterRequests: Number(values['dagster-requests']),
      ...(values.out ? { out: values.out } : {}),
    });
    process.stdout.write(`${formatUiTable(results as unknown as UiResults)}\n`);
    return 0;
  }
  if (suite === 'silver') {
    if (values.format !== 'csv' && values.format !== 'both') {
      process.stderr.write(`--format must be csv or both, got '${values.format}'\n`);
      return 2;
    }
    // a Silver run takes minutes: one run unless --repeats is given explicitly
    const repeatsGiven = argv.some((a) => a === '--repeats' || a.startsWith('--repeats='));
    const results = await runSilverBench({
      scaleMb: Number(values['scale-mb']),
      format: values.format,
      repeats: repeatsGiven ? Number(values.repeats) : 1,
      skipDuckdb: values['skip-duckdb'],
      ...(values['spark-dir'] ? { sparkDir: values['spark-dir'] } : {}),
      ...(values.out ? { out: values.out } : {}),
    });
    process.stdout.write(`${formatSilverTable(results as unknown as SilverResults)}\n`);
    return 0;
  }
  if (suite === 'increment') {
    const sizes = numbers(values.sizes ?? '5,50,200');
    if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
      process.stderr.write(`--sizes must be positive integers, got '${values.sizes}'\n`);
      return 2;
    }
    const results = await runIncrementBench({
      sizes,
      repo: values.repo ?? '.',
      label: values.label ?? (values.repo ? values.repo : 'this checkout'),
      keep: values.keep,
      ...(values.out ? { out: values.out } : {}),
    });
    process.stdout.write(`${formatIncrementTable([results])}\n`);
    return 0;
  }
  if (suite === 'partitions') {
    const sizes = numbers(values.sizes ?? '1000,10000,100000,1000000');
    if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
      process.stderr.write(`--sizes must be positive integers, got '${values.sizes}'\n`);
      return 2;
    }
    const results = await runPartitionBench({
      sizes,
      repo: resolve(values.repo ?? '.'),
      label: values.label ?? 'this-checkout',
      chain: values.chain,
      repeats: Number(values.repeats),
      timeoutS: Number(values.timeout),
      ...(values['seed-cache'] ? { seedCache: resolve(values['seed-cache']) } : {}),
      ...(values.out ? { out: values.out } : {}),
    });
    process.stdout.write(`${formatPartitionTable([results])}\n`);
    return 0;
  }
  if (suite !== 'core') {
    process.stderr.write(`unknown suite '${suite}'\n${USAGE}\n`);
    return 2;
  }
  const results = await runCoreBench({
    sizes: numbers(values.sizes ?? '1000,10000'),
    skipDagster: values['skip-dagster'],
    dagsterFullSizes: numbers(values['dagster-full-sizes']),
    dagsterTimeoutS: Number(values['dagster-timeout']),
    repeats: Number(values.repeats),
    singleRepeats: Number(values['single-repeats']),
    runRepeats: Number(values['run-repeats']),
    ...(values.out ? { out: values.out } : {}),
  });
  process.stdout.write(`${formatTable(results as unknown as CoreResults)}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
