import { parseArgs } from 'node:util';
import type { ExtensionCommand } from '../framework/definitions/index.ts';
import { UsageError } from '../framework/errors/index.ts';
import { printJson, textTable } from '../framework/terminal/index.ts';
import {
  groupOf,
  SERVICE_NAMES,
  type ServiceName,
  STACK_GROUPS,
  type StackConfig,
  type StackGroup,
} from './services.ts';
import { type ServiceStatus, stackDown, stackHealthy, stackLogs, stackStatus, stackUp } from './stack.ts';

const SERVICES = `${SERVICE_NAMES.join('|')}|spark`;
const USAGE = `up [--only s3,rest,trino,spark] | down [${SERVICES}] | status | logs [${SERVICE_NAMES.join('|')}] [--json] [--lines N]`;

/** `--only a,b`: the groups named, each known. */
function parseOnly(raw: string): StackGroup[] {
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !STACK_GROUPS.includes(n as StackGroup));
  if (names.length === 0 || unknown.length > 0) {
    throw new UsageError(
      `--only takes a comma-separated list of ${STACK_GROUPS.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}.`,
    );
  }
  return names as StackGroup[];
}

function statusTable(rows: ServiceStatus[]): string {
  const head = ['SERVICE', 'PID', 'PORT', 'HEALTH', 'STARTUP', 'DETAIL'];
  const body = rows.map((r) => [
    r.service,
    r.pid === null ? '-' : String(r.pid),
    String(r.port),
    r.healthy ? 'healthy' : r.enabled ? 'DOWN' : 'off',
    r.startup_ms == null ? '-' : `${(r.startup_ms / 1000).toFixed(1)}s`,
    r.detail,
  ]);
  return textTable([head, ...body]);
}

/**
 * `fairway stack …`: the local profile's servers as native processes on 127.0.0.1. `config` is
 * resolved lazily so `fairway stack --help` works on any profile.
 */
export function stackCommand(config: (stateDir: string) => StackConfig): ExtensionCommand {
  return {
    description:
      'Install (into ~/.cache/fairway/stack) and run the local profile’s servers on 127.0.0.1: ' +
      'the S3 server (SeaweedFS), the Iceberg REST catalog, Trino and a Spark standalone cluster (master + worker; ' +
      'FAIRWAY_STACK_SERVICES or `up --only` leaves some out). Pid files and logs: <state dir>/stack/.',
    usage: USAGE,
    run: async (args, ctx) => {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { json: { type: 'boolean' }, lines: { type: 'string' }, only: { type: 'string' } },
      });
      const [sub, service, ...extra] = positionals;
      const base = config(ctx.stateDir);
      if (values.only !== undefined && sub !== 'up') throw new UsageError('--only goes with `stack up`.');
      const cfg = values.only === undefined ? base : { ...base, services: parseOnly(values.only) };
      const progress = (m: string) => process.stderr.write(`stack ${m}\n`);
      const print = (rows: ServiceStatus[]) =>
        values.json ? printJson(rows) : process.stdout.write(`${statusTable(rows)}\n`);
      if (extra.length > 0 || (service && sub !== 'logs' && sub !== 'down')) {
        throw new UsageError(`Too many arguments. Usage: fairway stack ${USAGE}`);
      }
      const group = service === 'spark' && sub === 'down';
      if (service !== undefined && !group && !SERVICE_NAMES.includes(service as ServiceName)) {
        throw new UsageError(`Unknown service '${service}'. Services: ${SERVICE_NAMES.join(', ')} (down: also spark).`);
      }
      switch (sub) {
        case 'up': {
          const rows = await stackUp(cfg, { onProgress: progress });
          print(rows);
          return stackHealthy(rows) ? 0 : 1;
        }
        case 'down': {
          const only = group
            ? SERVICE_NAMES.filter((n) => groupOf(n) === 'spark')
            : service
              ? [service as ServiceName]
              : undefined;
          const result = await stackDown(cfg, { onProgress: progress, ...(only ? { only } : {}) });
          if (values.json) printJson(result);
          return 0;
        }
        case 'status': {
          const rows = await stackStatus(cfg);
          print(rows);
          return stackHealthy(rows) ? 0 : 1;
        }
        case 'logs': {
          const lines = Number(values.lines ?? 100);
          if (!Number.isInteger(lines) || lines < 1) throw new UsageError('--lines takes a positive integer.');
          process.stdout.write(`${stackLogs(cfg, service as ServiceName | undefined, lines)}\n`);
          return 0;
        }
        default:
          throw new UsageError(
            `${sub === undefined ? 'Missing subcommand' : `Unknown subcommand '${sub}'`}. Usage: fairway stack ${USAGE}`,
          );
      }
    },
  };
}
