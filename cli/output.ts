import pc from 'picocolors';
import type { StatusKind } from '../framework/staleness/index.ts';

export { printJson, textTable } from '../framework/terminal/index.ts';

export function colorStatus(status: StatusKind | string): string {
  switch (status) {
    case 'FRESH':
    case 'SUCCESS':
      return pc.green(status);
    case 'STALE':
    case 'SKIPPED':
    case 'QUEUED':
      return pc.yellow(status);
    case 'MISSING':
    case 'NOT_STARTED':
      return pc.dim(status);
    case 'FAILED':
    case 'FAILURE':
    case 'CANCELED':
      return pc.red(status);
    case 'RUNNING':
    case 'STARTED':
      return pc.cyan(status);
    default:
      return status;
  }
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} m ${Math.round((ms % 60_000) / 1000)} s`;
}

/** One event of a run's log, as `fairway logs` prints it (with `--follow` too). */
export function eventLine(e: {
  ts: string;
  level: string;
  asset_key: string | null;
  partition_key: string | null;
  message: string;
}): string {
  const where = e.asset_key ? ` ${e.asset_key}${e.partition_key ? ` [${e.partition_key}]` : ''}` : '';
  return `${e.ts} ${e.level.padEnd(5)}${where}: ${e.message}\n`;
}
