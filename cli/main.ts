import { Command, CommanderError } from 'commander';
import pc from 'picocolors';
import { isFrameworkError, UsageError } from '../framework/errors/index.ts';
import type { Project } from '../framework/project/index.ts';
import { printJson, textTable } from './output.ts';

// Every command's code is imported by its action, not here: `--help` loads none of it, and `list` or
// `status` none of what `materialize`, `query`, `ui` or `stack` need (execa, the S3 SDK, trino-client,
// hono, elkjs). tests/e2e/cli-imports.test.ts keeps it so.
const commands = () => import('./commands.ts');

interface GlobalFlags {
  definitions?: string;
  stateDir?: string;
  verbose?: boolean;
}

/** Exit codes: 0 ok, 1 a run failed, 2 usage or definition error. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('fairway')
    .description('Software-defined assets for a local-first lakehouse: materialize, inspect and explain your data.')
    .option('--definitions <file>', 'definitions module (default: assets/index.ts or $FAIRWAY_DEFINITIONS)')
    .option('--state-dir <dir>', 'state directory (default: .fairway or $FAIRWAY_HOME)')
    .option('-v, --verbose', 'log lifecycle events (info level) to stderr')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(pc.red(str)) })
    .showHelpAfterError('(run with --help for usage)');

  const withProject = async (fn: (p: Project) => Promise<number> | number) => {
    const g = program.opts<GlobalFlags>();
    const tty = Boolean(process.stderr.isTTY);
    const [{ configureRootLogger }, { loadProject }] = await Promise.all([
      import('../framework/logging/index.ts'),
      import('../framework/project/index.ts'),
    ]);
    configureRootLogger({ level: process.env.FAIRWAY_LOG_LEVEL ?? (g.verbose || !tty ? 'info' : 'warn') });
    const project = await loadProject({
      ...(g.definitions ? { definitions: g.definitions } : {}),
      ...(g.stateDir ? { stateDir: g.stateDir } : {}),
    });
    try {
      exitCode = await fn(project);
    } finally {
      project.close();
    }
  };

  program
    .command('materialize')
    .description('Materialize the selected assets in dependency order')
    .argument(
      '<selection>',
      "asset selection, e.g. 'silver.fact_telemetry_event', '+gold.*', 'group:silver and not kind:dbt'",
    )
    .option(
      '-p, --partition <partition>',
      'only these partitions, e.g. course_id=erinhills,ingest_date=2026-11-24 or a day range ingest_date=2025-01-01...2025-03-31',
    )
    .option('--stale-only', 'skip asset partitions that are already FRESH')
    .option('-c, --concurrency <n>', 'steps to run at once (default 2)')
    .option(
      '--lock-wait <s>',
      'seconds to wait for another run holding the same partitions (default 10; 0 fails at once)',
    )
    .option('--json', 'print the run summary as JSON on stdout')
    .addHelpText(
      'after',
      '\nExit codes: 0 success, 1 run failed or canceled, 2 usage or definition error, 137 stopped: a step blocked the process with synchronous code past its timeoutMs (the run is recorded as FAILURE).',
    )
    .action((selection: string, flags) =>
      withProject(async (p) => (await import('./materialize-command.ts')).materializeCommand(p, selection, flags)),
    );

  program
    .command('status')
    .description('Show FRESH / STALE / MISSING / FAILED / RUNNING per asset, with the first cause')
    .argument('[selection]', 'asset selection (default: all)')
    .option('--partitions', 'list partitions (at most --limit per asset)')
    .option(
      '--partition <filter>',
      "only matching partitions, counted and listed (and only they are read): 'course_id=erinhills', 'ingest_date=2025-01-01...2025-01-31'",
    )
    .option(
      '--state <states>',
      'list only partitions in these states: fresh, stale, missing, failed, running (comma-separated)',
    )
    .option('--limit <n>', 'at most n listed partitions per asset (default 100; 0 lists all)')
    .option('--json', 'machine-readable output (partitions only when listed)')
    .addHelpText(
      'after',
      '\nWithout --partitions, --partition or --state each partitioned asset shows counts by state, so status stays short with many partitions.',
    )
    .action((selection: string | undefined, flags) =>
      withProject(async (p) => (await commands()).statusCommand(p, selection, flags)),
    );

  program
    .command('why')
    .description('Explain why an asset is not fresh, down to the root cause')
    .argument('<key>', 'asset key')
    .option('-p, --partition <partition>', 'partition to explain (default: the first one that is not fresh)')
    .option('--json', 'machine-readable output')
    .action((key: string, flags) => withProject(async (p) => (await commands()).whyCommand(p, key, flags)));

  program
    .command('list')
    .description('List assets with group, kinds, deps and partitions')
    .argument('[selection]', 'asset selection (default: all)')
    .option('--json', 'machine-readable output')
    .action((selection: string | undefined, flags) =>
      withProject(async (p) => (await import('./list-command.ts')).listCommand(p, selection, flags)),
    );

  program
    .command('runs')
    .description('List recent runs, newest first')
    // the values are checked by the command against the stored statuses (any case); the help names them
    .option('--status <status>', 'only runs with this status: queued, started, success, failure or canceled')
    .option('--limit <n>', 'how many (default 20)')
    .option('--json', 'machine-readable output')
    .action((flags) => withProject(async (p) => (await commands()).runsCommand(p, flags)));

  program
    .command('cancel')
    .description('Cancel a queued or running run, whichever process runs it (CLI, daemon or UI)')
    .argument('<run-id>', 'run id (see fairway runs)')
    .option('--wait <s>', 'seconds to wait for the run to stop (default 60; 0 only asks)')
    .option('--json', 'machine-readable output')
    .action((runId: string, flags: { wait?: string; json?: boolean }) =>
      withProject(async (p) => (await import('./cancel-command.ts')).cancelCommand(p, runId, flags)),
    );

  program
    .command('logs')
    .description("Show a run's event log, or a step's compute log with --step")
    .argument('<run-id>', 'run id (see fairway runs)')
    .option('--step <asset>', 'asset key (or key[partition]) whose compute log to print')
    .option('-f, --follow', 'print events and compute logs as they are written, until the run has finished')
    .option('--json', 'machine-readable output')
    .action((runId: string, flags) => withProject(async (p) => (await commands()).logsCommand(p, runId, flags)));

  program
    .command('metrics')
    .description(
      'Print the Prometheus metrics (runs, step durations, partitions and freshness by state, daemon, store)',
    )
    .action(() =>
      withProject(async (p) => {
        const { renderMetrics } = await import('../framework/observability/index.ts');
        process.stdout.write((await renderMetrics(p)).text);
        return 0;
      }),
    );

  program
    .command('gc')
    .description(
      'Forget the history of runs finished before a window (events, compute logs, run folders, replaced ' +
        'records) and compact the database; the latest state of every asset partition stays',
    )
    .requiredOption('--older-than <duration>', 'window to keep, e.g. 30d, 12h (0s: all finished runs)')
    .option('--dry-run', 'count what would go, change nothing')
    .option('--no-vacuum', 'skip compacting the database file afterwards')
    .option('--json', 'machine-readable output')
    .action((flags: { olderThan: string; dryRun?: boolean; vacuum?: boolean; json?: boolean }) =>
      withProject(async (p) => (await import('./gc-command.ts')).gcCommand(p, flags)),
    );

  program
    .command('config')
    .description('Print the resolved configuration of the definitions, with secrets masked')
    .option('--json', 'machine-readable output')
    .action((flags: { json?: boolean }) =>
      withProject(async (p) => {
        const lineage = await import('../framework/lineage/index.ts');
        // the framework's own settings beside the definitions', secrets masked alike
        const cfg = {
          ...(p.defs.hooks.describeConfig?.() ?? {}),
          openlineage: lineage.describeOpenLineageConfig(lineage.openLineageConfigFrom()),
        };
        if (flags.json) printJson(cfg);
        else process.stdout.write(`${JSON.stringify(cfg, null, 2)}\n`);
        return 0;
      }),
    );

  program
    .command('ui')
    .description('Serve the web UI: lineage graph, asset pages, runs (Ctrl-C to stop)')
    .option('--port <n>', 'port to listen on (default 3000; 0 picks a free one)')
    .option('--host <host>', 'interface to bind (default 127.0.0.1; anything else is reachable from other machines)')
    .action((flags: { port?: string; host?: string }) =>
      withProject(async (p) => {
        // Loaded on demand so other commands never pay for the web stack.
        const { uiCommand } = await import('./ui-command.ts');
        return uiCommand(p, flags);
      }),
    );

  const daemonOptions = (c: Command) =>
    c
      .option('--interval <s>', 'seconds between ticks (default 30)')
      .option('--max-runs <n>', 'runs active at once, across all launchers (default 2)')
      .option('--settle <s>', 'seconds a changed source must stay unchanged before it is materialized (default 60)')
      .option('--retain <duration>', 'run history to keep, e.g. 30d: older runs are forgotten once a day (fairway gc)');

  daemonOptions(
    program
      .command('daemon')
      .description('Keep assets within their freshness policies and fire schedules (Ctrl-C stops after the tick)'),
  )
    .option('--once', 'run one tick, wait for the runs it launched, and exit')
    .action((flags) => withProject(async (p) => (await import('./daemon-command.ts')).daemonCommand(p, flags)));

  daemonOptions(program.command('dev').description('Serve the UI and run the daemon together (Ctrl-C to stop)'))
    .option('--port <n>', 'UI port (default 3000; 0 picks a free one)')
    .option('--host <host>', 'interface to bind (default 127.0.0.1)')
    .action((flags) => withProject(async (p) => (await import('./daemon-command.ts')).devCommand(p, flags)));

  program
    .command('query')
    .description(
      "Run SQL on the profile's query engine (embedded: DuckDB over the Iceberg tables, Spark for what it cannot run; local: Trino; aws: Athena)",
    )
    .argument('<sql...>', 'one or more SQL statements')
    .option('--max-rows <n>', 'at most n rows per statement (default 10000; 0 returns all)')
    .option('--engine <name>', 'force an engine where the profile offers a choice (embedded: duckdb or spark)')
    .option('--json', 'machine-readable output')
    .action((statements: string[], flags: { json?: boolean; maxRows?: string; engine?: string }) =>
      withProject(async (p) => {
        if (!p.defs.hooks.query) throw new UsageError('These definitions have no query engine (no `query` hook).');
        const maxRows = Number(flags.maxRows ?? 10_000);
        if (!Number.isInteger(maxRows) || maxRows < 0)
          throw new UsageError(`--max-rows must be a whole number ≥ 0 (0 returns all); got '${flags.maxRows}'.`);
        const results = await p.defs.hooks.query(statements, {
          maxRows,
          ...(flags.engine ? { engine: flags.engine } : {}),
          onNotice: (message) => process.stderr.write(`${message}\n`),
        });
        // never cut silently: say what was left out and how to get it
        for (const [i, r] of results.entries()) {
          if (r.total_rows === undefined) continue;
          process.stderr.write(
            `statement ${i + 1}: ${r.rows.length} of ${r.total_rows} rows returned; ${r.total_rows - r.rows.length} cut at --max-rows ${maxRows} (--max-rows 0 returns all)\n`,
          );
        }
        if (flags.json) printJson(results);
        else {
          for (const r of results) {
            process.stdout.write(
              `${textTable([r.columns, ...r.rows.map((row) => row.map((v) => (v === null ? 'NULL' : String(v))))])}\n(${r.rows.length} rows)\n`,
            );
          }
        }
        return 0;
      }),
    );

  program
    .command('store')
    .description('Maintain the state database (runs, events and per-partition state in fairway.db)')
    .command('rebuild')
    .description(
      'Rebuild the per-partition state (latest materialization, attempt, checks) from the event history; safe any time',
    )
    .option('--json', 'machine-readable output')
    .action((flags: { json?: boolean }) =>
      withProject((p) => {
        const started = performance.now();
        const counts = p.store.rebuildPartitionState();
        const seconds = Math.round(performance.now() - started) / 1000;
        if (flags.json) printJson({ ...counts, seconds });
        else
          process.stdout.write(
            `Rebuilt the state of ${counts.partitions} asset partitions and ${counts.checks} check results from the history in ${seconds} s.\n`,
          );
        return 0;
      }),
    );

  program
    .command('bootstrap')
    .description('Install what the materializers need (Python venv, Java jars); idempotent')
    .option('--quiet', 'print nothing on success')
    .action((flags: { quiet?: boolean }) =>
      withProject(async (p) => {
        await p.defs.hooks.bootstrap?.((m) => {
          if (!flags.quiet) process.stderr.write(`${m}\n`);
        });
        if (!flags.quiet) process.stderr.write('bootstrap complete\n');
        return 0;
      }),
    );

  const builtins = new Set(program.commands.map((c) => c.name()));
  // The command is the first token that is neither a global option nor its value.
  let at = 0;
  while (at < argv.length && argv[at]!.startsWith('-')) {
    const flag = argv[at]!;
    if ((flag === '--definitions' || flag === '--state-dir') && at + 1 < argv.length) {
      program.setOptionValue(flag === '--definitions' ? 'definitions' : 'stateDir', argv[at + 1]);
      at += 2;
    } else {
      if (flag === '-v' || flag === '--verbose') program.setOptionValue('verbose', true);
      at++;
    }
  }
  const first = argv[at];
  const rest = argv.slice(at + 1);
  const isExtension = first !== undefined && !builtins.has(first) && first !== 'help';
  try {
    if (isExtension) {
      // Commands contributed by the definitions (hooks.commands): resolved after loading them.
      await withProject(async (p) => {
        const commands = p.defs.hooks.commands ?? {};
        const command = commands[first];
        if (!command) {
          const { didYouMean } = await import('../framework/definitions/index.ts');
          const known = [...builtins, ...Object.keys(commands)].sort();
          throw new UsageError(`Unknown command '${first}'.${didYouMean(first, known)} Commands: ${known.join(', ')}.`);
        }
        if (rest.includes('--help') || rest.includes('-h')) {
          process.stdout.write(`Usage: fairway ${first} ${command.usage ?? ''}\n\n${command.description}\n`);
          return 0;
        }
        return command.run(rest, { stateDir: p.stateDir });
      });
      return exitCode;
    }
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0 ? 0 : 2;
    }
    if (isFrameworkError(e)) {
      process.stderr.write(`${pc.red('error')} [${e.code}]: ${e.message}\n`);
      if (process.env.FAIRWAY_DEBUG && e.cause)
        process.stderr.write(`${String((e.cause as Error).stack ?? e.cause)}\n`);
      return 2;
    }
    process.stderr.write(`${pc.red('error')}: ${(e as Error).message ?? String(e)}\n`);
    if (process.env.FAIRWAY_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    process.stderr.write(
      'This is a bug in Fairway or in an asset definition; rerun with FAIRWAY_DEBUG=1 for the stack trace.\n',
    );
    return 2;
  }
}
