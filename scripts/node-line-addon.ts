import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultCacheDir } from '../framework/integrations/spark/index.ts';

const root = join(import.meta.dirname, '..');

/** The installed better-sqlite3's folder and version. */
export function installedBetterSqlite3(): { dir: string; version: string } {
  const dir = join(root, 'node_modules', 'better-sqlite3');
  return { dir, version: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version as string };
}

/**
 * Where better-sqlite3's addon built for another Node line's ABI is kept (scripts/unit-node24.ts compiles it
 * there once; bench/cli/checkout-for-node.ts copies it into a checkout for that line).
 */
export function nodeLineAddonPath(abi: string): string {
  const { version } = installedBetterSqlite3();
  return join(
    defaultCacheDir(),
    'native',
    `better-sqlite3-${version}-abi${abi}-${process.platform}-${process.arch}`,
    'better_sqlite3.node',
  );
}
