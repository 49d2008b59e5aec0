import pc from 'picocolors';
import type { StatusKind } from '../framework/staleness/index.ts';

export { printJson, textTable } from '../framework/terminal/index.ts';

/** The colour of each status word: green done, yellow waiting or behind, dim absent, red failed, cyan busy. */
const STATUS_COLOURS: Record<string, (s: string) => string> = {
  ...Object.fromEntries(['FRESH', 'SUCCESS'].map((s) => [s, pc.green])),
  ...Object.fromEntries(['STALE', 'SKIPPED', 'QUEUED'].map((s) => [s, pc.yellow])),
  ...Object.fromEntries(['MISSING', 'NOT_STARTED'].map((s) => [s, pc.dim])),
  ...Object.fromEntries(['FAILED', 'FAILURE', 'CANCELED'].map((s) => [s, pc.red])),
  ...Object.fromEntries(['RUNNING', 'STARTED'].map((s) => [s, pc.cyan])),
};

export function colorStatus(status: StatusKind | string): string {
  return STATUS_COLOURS[status]?.(status) ?? status;
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
