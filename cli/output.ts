import pc from 'picocolors';
import type { StatusKind } from '../framework/staleness/index.ts';

export { printJson, textTable } from '../framework/terminal/index.ts';

/** The colour of each status word: green done, yellow waiting or behind, dim absent, red failed, cyan busy. */
const STATUS_COLOURS = new Map<string, (s: string) => string>(
  (
    [
      [pc.green, ['FRESH', 'SUCCESS']],
      [pc.yellow, ['STALE', 'SKIPPED', 'QUEUED']],
      [pc.dim, ['MISSING', 'NOT_STARTED']],
      [pc.red, ['FAILED', 'FAILURE', 'CANCELED']],
      [pc.cyan, ['RUNNING', 'STARTED']],
    ] as const
  ).flatMap(([colour, words]) => words.map((w) => [w, colour] as const)),
);

export function colorStatus(status: StatusKind | string): string {
  return STATUS_COLOURS.get(status)?.(status) ?? status;
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
