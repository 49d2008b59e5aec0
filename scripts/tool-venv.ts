import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { defaultCacheDir } from '../framework/integrations/spark/index.ts';
import { withLock } from '../framework/lock/index.ts';

/**
 * A venv under the Fairway cache (`<cache>/tools/<name>`) with `pins` installed from PyPI, built once (under a
 * lock: processes that need it at the same time wait for one build); returns its bin directory.
 *
 * @example
 * const bin = await toolVenv('ruff-0.17.6', ['ruff==0.17.6']);
 */
export async function toolVenv(name: string, pins: string[]): Promise<string> {
  const venv = join(defaultCacheDir(), 'tools', name);
  const marker = join(venv, '.fairway-complete');
  if (!existsSync(marker)) {
    mkdirSync(join(venv, '..'), { recursive: true });
    await withLock(`${venv}.lock`, async () => {
      if (existsSync(marker)) return; // another process built it while we waited
      await execa('python3', ['-m', 'venv', '--clear', venv]);
      await execa(join(venv, 'bin', 'pip'), ['install', '-q', ...pins]);
      writeFileSync(marker, `${new Date().toISOString()}\n`);
    });
  }
  return join(venv, 'bin');
}
