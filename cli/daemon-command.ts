import { UsageError } from '../framework/errors/index.ts';
import { definitionsReloader, type Project } from '../framework/project/index.ts';
import { Daemon, formatMs, type SchedulerOptions, type TickOutcome } from '../framework/scheduling/index.ts';
import { parseRetention } from './gc-command.ts';
import { parsePortFlag, untilStopSignal } from './long-running.ts';

export interface DaemonFlags {
  interval?: string;
  once?: boolean;
  maxRuns?: string;
  settle?: string;
  retain?: string;
}

function positive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number; got '${value}'.`);
  return n;
}

/** Scheduler options from the command-line flags. */
export function schedulerFlags(flags: DaemonFlags): Partial<SchedulerOptions> {
  const interval = positive(flags.interval, '--interval');
  const maxRuns = positive(flags.maxRuns, '--max-runs');
  const settle = flags.settle === '0' ? 0 : positive(flags.settle, '--settle');
  return {
    ...(interval ? { intervalMs: interval * 1000 } : {}),
    ...(maxRuns ? { maxConcurrentRuns: Math.floor(maxRuns) } : {}),
    ...(settle !== undefined ? { settleMs: settle * 1000 } : {}),
  };
}

function printTick(o: TickOutcome): void {
  const when = new Date(o.tick_id).toISOString();
  if (o.status === 'NOT_LEADER') {
    process.stderr.write(`${when} standby: another daemon holds the lease\n`);
    return;
  }
  for (const d of o.decisions) {
    if (d.action === 'defer') continue;
    const target = d.partition_key ? `${d.asset_key} [${d.partition_key}]` : d.asset_key;
    const run = d.run_id ? ` run ${d.run_id}` : '';
    process.stderr.write(
      `${when} ${d.action.padEnd(6)} ${target}${run}: ${d.reason}${d.expected_ms ? ` (~${formatMs(d.expected_ms)})` : ''}\n`,
    );
  }
}

/** `--retain 30d`: the run history the daemon keeps (it forgets older runs once a day). */
const retention = (flags: DaemonFlags) =>
  flags.retain === undefined ? {} : { retainMs: parseRetention(flags.retain, '--retain') };

/** Starts a daemon for `project`; stops it on SIGINT/SIGTERM (the current tick finishes first). */
export async function startDaemon(
  project: Project,
  flags: DaemonFlags,
): Promise<{ daemon: Daemon; done: Promise<void> }> {
  const daemon = new Daemon(project, {
    ...schedulerFlags(flags),
    ...retention(flags),
    refresh: definitionsReloader(project),
    onTick: printTick,
  });
  return { daemon, done: daemon.run() };
}

/** `fairway daemon`: ticks until SIGINT/SIGTERM, or once with `--once` (waiting for its runs). */
export async function daemonCommand(project: Project, flags: DaemonFlags): Promise<number> {
  if (flags.once) {
    const daemon = new Daemon(project, {
      ...schedulerFlags(flags),
      ...retention(flags),
      refresh: definitionsReloader(project),
      onTick: printTick,
    });
    const outcome = await daemon.tick();
    await daemon.drain();
    await daemon.stop();
    return outcome.status === 'NOT_LEADER' ? 1 : 0;
  }
  const { daemon, done } = await startDaemon(project, flags);
  process.stderr.write(
    `Fairway daemon ${daemon.holder}: tick every ${formatMs(daemon.options.intervalMs)}, at most ${daemon.options.maxConcurrentRuns} runs (Ctrl-C to stop)\n`,
  );
  await untilStopSignal();
  process.stderr.write('stopping the daemon (finishing the current tick, then its runs)…\n');
  await daemon.stop();
  await done;
  return 0;
}

/** `fairway dev`: the UI and the daemon in one process. */
export async function devCommand(
  project: Project,
  flags: DaemonFlags & { port?: string; host?: string },
): Promise<number> {
  const { startServer } = await import('../ui/index.ts');
  const server = await startServer(project, {
    port: parsePortFlag(flags.port),
    ...(flags.host ? { host: flags.host } : {}),
  });
  const { daemon, done } = await startDaemon(project, flags);
  await untilStopSignal();
  process.stderr.write('stopping the daemon and the UI…\n');
  await daemon.stop();
  await done;
  await server.close();
  return 0;
}
