import pc from 'picocolors';
import type { StatusKind } from '../framework/staleness/index.ts';

/** Prints a JSON document on stdout (for `--json`). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

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

/** A plain left-aligned table; strips colour codes when measuring. */
export function table(rows: string[][]): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape codes
  const width = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').length;
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, width(c));
    });
  }
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - width(c)))).join('  '))
    .join('\n');
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
