/**
 * Text output for commands: Fairway's own (cli/) and those a definitions module contributes (`hooks.commands`,
 * e.g. `fairway stack`), so every command prints tables and JSON alike.
 */

/** Prints a JSON document on stdout (for `--json`). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape codes
const visibleWidth = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').length;

/** A plain left-aligned table, columns two spaces apart; colour codes do not count toward a width. */
export function textTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, visibleWidth(c));
    });
  }
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - visibleWidth(c)))).join('  '))
    .join('\n');
}
