/**
 * The unit tests on Node 24, the second Node line CI runs (the first is the Node that runs npm).
 * Node 24 is the npm registry's `node-linux-<arch>` package, pinned in tools/node24 with its own lock and
 * installed there, not in the project: its `node` bin would otherwise replace the main Node in every npm
 * script. better-sqlite3's addon is compiled once for Node 24's ABI from the installed better-sqlite3
 * sources against the headers that package ships (no download), into the Fairway cache; a preload
 * (scripts/node-line-preload.cjs) makes better-sqlite3 load it. Extra arguments go to vitest.
 * Usage: node --import tsx scripts/unit-node24.ts [vitest args]
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { installedBetterSqlite3, nodeLineAddonPath } from './node-line-addon.ts';

const root = join(import.meta.dirname, '..');
const tools = join(root, 'tools', 'node24');
const pkg = `node-${process.platform}-${process.arch}`;
const say = (m: string) => process.stderr.write(`node24: ${m}\n`);
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  const r = spawnSync(command, args, { stdio: 'inherit', env });
  if (r.status !== 0)
    throw new Error(`'${command} ${args.join(' ')}' failed (${r.error?.message ?? `exit ${r.status}`})`);
}

const want = readJson(join(tools, 'package-lock.json')).packages[`node_modules/${pkg}`]?.version as string | undefined;
if (!want) {
  say(`no Node 24 package for ${process.platform}-${process.arch} in tools/node24 (Linux x64 and arm64 only): skipped`);
  process.exit(0);
}
const nodeDir = join(tools, 'node_modules', pkg);
if (!existsSync(join(nodeDir, 'package.json')) || readJson(join(nodeDir, 'package.json')).version !== want) {
  say(`installing Node ${want} (${pkg}, ~55 MB from the npm registry) into tools/node24`);
  run('npm', ['ci', '--prefix', tools, '--no-audit', '--no-fund']);
}
const node = join(nodeDir, 'bin', 'node');
const abi = spawnSync(node, ['-p', 'process.versions.modules'], { encoding: 'utf8' }).stdout.trim();

const { dir: sqliteDir, version: sqliteVersion } = installedBetterSqlite3();
const addon = nodeLineAddonPath(abi);
if (!existsSync(addon)) {
  const started = Date.now();
  say(`compiling better-sqlite3 ${sqliteVersion} for Node ${want} (ABI ${abi}) into ${dirname(addon)} (once, 1–3 min)`);
  // `npm rebuild` in a scratch prefix: the project's own build stays the main Node's
  const scratch = `${dirname(addon)}.tmp-${process.pid}`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(join(scratch, 'node_modules'), { recursive: true });
  writeFileSync(
    join(scratch, 'package.json'),
    JSON.stringify({ name: 'better-sqlite3-node24', private: true, allowScripts: { 'better-sqlite3': true } }),
  );
  const copy = join(scratch, 'node_modules', 'better-sqlite3');
  cpSync(sqliteDir, copy, { recursive: true, filter: (src) => src !== join(sqliteDir, 'build') });
  try {
    // headers from the Node package (node-gyp would download them otherwise); never a prebuilt download
    run('npm', ['rebuild', 'better-sqlite3', '--prefix', scratch, '--foreground-scripts'], {
      ...process.env,
      npm_config_nodedir: nodeDir,
      npm_config_build_from_source: 'true',
    });
    mkdirSync(dirname(addon), { recursive: true });
    renameSync(join(copy, 'build', 'Release', 'better_sqlite3.node'), addon);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  say(`compiled in ${Math.round((Date.now() - started) / 1000)} s`);
}

const preload = join(root, 'scripts', 'node-line-preload.cjs');
const r = spawnSync(
  node,
  [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--project', 'unit', ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      // tests that start `node` or process.execPath get Node 24 and the preload too
      PATH: `${join(nodeDir, 'bin')}:${process.env.PATH ?? ''}`,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require=${JSON.stringify(preload)}`.trim(),
      FAIRWAY_BETTER_SQLITE3_ADDON: addon,
      FAIRWAY_BETTER_SQLITE3_ABI: abi,
    },
  },
);
process.exitCode = r.status ?? 1;
