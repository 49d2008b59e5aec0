/**
 * ruff, the Python linter and formatter (rules in ruff.toml), pinned and installed on first use into a tool venv
 * in the Fairway cache, so that `npm run lint` works on a fresh clone.
 * Usage: node --import tsx scripts/ruff.ts [check | fix | <ruff arguments>]
 *   check (default): lint, and fail on a file `ruff format` would change (npm run lint)
 *   fix: apply the safe lint fixes, then format (npm run format)
 */
import { join } from 'node:path';
import { execa } from 'execa';
import { toolVenv } from './tool-venv.ts';

/** ruff 0.17.6: the newest release when pinned. A new pin may reformat files: run `npm run format` with it. */
export const RUFF_VERSION = '0.17.6';

const ruff = join(await toolVenv(`ruff-${RUFF_VERSION}`, [`ruff==${RUFF_VERSION}`]), 'ruff');
const [command = 'check', ...rest] = process.argv.slice(2);
const steps: Record<string, string[][]> = {
  check: [
    ['check', ...rest],
    ['format', '--check', ...rest],
  ],
  fix: [
    ['check', '--fix', ...rest],
    ['format', ...rest],
  ],
};
// every step runs (a lint error does not hide the files to format); the first failure is the exit code
for (const args of steps[command] ?? [[command, ...rest]]) {
  const r = await execa(ruff, args, { stdio: 'inherit', reject: false });
  if (r.exitCode !== 0 && !process.exitCode) process.exitCode = r.exitCode ?? 1;
}
