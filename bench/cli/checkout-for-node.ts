/**
 * A checkout of `<commit>` for the CLI bench on one Node line, as a user's `npm ci` on that Node makes it: the
 * commit's files (`git archive`), node_modules as links to this checkout's packages except better-sqlite3,
 * copied with the addon built for that Node's ABI in its `build/Release` (for Node 24:
 * `npm run test:unit:node24` compiles it into the Fairway cache), then `dist/` built. Running Node 24 in this
 * checkout through scripts/node-line-preload.cjs instead puts a resolve hook on every module Node resolves.
 *
 *   node --import tsx bench/cli/checkout-for-node.ts <commit> <dest> [--node <path of the node binary>]
 *   <node> --import tsx bench/run.ts cli --repo <dest-before> --label before --repo <dest-after> --label after
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { installedBetterSqlite3, nodeLineAddonPath } from '../../scripts/node-line-addon.ts';

const root = resolve(import.meta.dirname, '..', '..');

function run(command: string, args: string[], opts: { cwd?: string; input?: Buffer } = {}): Buffer {
  const r = spawnSync(command, args, { cwd: opts.cwd ?? root, input: opts.input, maxBuffer: 1 << 30 });
  if (r.status !== 0) {
    process.stderr.write(`checkout-for-node: '${command} ${args.join(' ')}' failed: ${String(r.stderr).trim()}\n`);
    process.exit(1);
  }
  return r.stdout;
}

const { positionals, values } = parseArgs({ allowPositionals: true, options: { node: { type: 'string' } } });
const [commit, destArg] = positionals;
if (!commit || !destArg) {
  process.stderr.write('usage: node --import tsx bench/cli/checkout-for-node.ts <commit> <dest> [--node <path>]\n');
  process.exit(2);
}
const dest = resolve(destArg);
const node = values.node ?? process.execPath;
const abi = run(node, ['-p', 'process.versions.modules']).toString().trim();

rmSync(dest, { recursive: true, force: true });
mkdirSync(dest, { recursive: true });
run('tar', ['-x', '-C', dest], { input: run('git', ['archive', commit]) });

const modules = join(dest, 'node_modules');
mkdirSync(modules);
for (const name of readdirSync(join(root, 'node_modules'))) {
  if (name !== 'better-sqlite3') symlinkSync(join(root, 'node_modules', name), join(modules, name));
}
cpSync(installedBetterSqlite3().dir, join(modules, 'better-sqlite3'), { recursive: true });
if (abi !== process.versions.modules) {
  const addon = nodeLineAddonPath(abi);
  if (!existsSync(addon)) {
    process.stderr.write(
      `checkout-for-node: no better-sqlite3 addon for ABI ${abi} at ${addon}: run \`npm run test:unit:node24\` once\n`,
    );
    process.exit(1);
  }
  copyFileSync(addon, join(modules, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'));
}
run(node, ['scripts/build.mjs'], { cwd: dest });
process.stderr.write(`checkout-for-node: ${commit} in ${dest}, node_modules for ABI ${abi}, dist/ built\n`);
