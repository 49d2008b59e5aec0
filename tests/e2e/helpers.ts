import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Options } from 'execa';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fairwayBin = join(repoRoot, 'bin', 'fairway.js');

/** Copies the example project into a temp dir so a test may edit it. */
export function tempExampleProject(): { dir: string; definitions: string; stateDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fairway-e2e-'));
  cpSync(join(repoRoot, 'examples', 'hello'), join(dir, 'examples', 'hello'), { recursive: true });
  const definitions = join(dir, 'examples', 'hello', 'definitions.ts');
  const text = readFileSync(definitions, 'utf8')
    .replaceAll("'../../framework/", `'${repoRoot}/framework/`)
    .replace("join(here, '..', '..', 'spark')", JSON.stringify(join(repoRoot, 'spark')));
  writeFileSync(definitions, text);
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  return { dir, definitions, stateDir: join(dir, '.fairway') };
}

/**
 * Runs the real CLI as a user would. NO_COLOR: picocolors colours output whenever `CI` is set, and
 * tests match plain text.
 */
export function fairway(args: string[], opts: Options & { cwd: string }) {
  return execa('node', [fairwayBin, ...args], {
    reject: false,
    ...opts,
    env: { FAIRWAY_LOG_LEVEL: 'warn', NO_COLOR: '1', ...opts.env },
  });
}
