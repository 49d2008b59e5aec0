#!/usr/bin/env node
// Runs the CLI from the compiled JavaScript in dist/ (scripts/build.mjs). TypeScript is loaded only for a
// definitions file written in it (framework/project/typescript-loader.ts), not for Fairway itself.
//
// In a Fairway checkout (the sources are beside dist/) a source newer than the last build rebuilds dist/
// first (esbuild, about half a second), so an edited .ts file never runs stale; FAIRWAY_FROM_SOURCE=1 runs
// the TypeScript through tsx instead, as does a checkout whose sources do not compile.
// Built-ins from process.getBuiltinModule, not `import`: an ES import of node:fs builds its facade, which loads
// fs/promises, readline and the streams (see builtinsFromProcess in scripts/build.mjs).
const { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } =
  process.getBuiltinModule('node:fs');
const module = process.getBuiltinModule('node:module');
const { fileURLToPath } = process.getBuiltinModule('node:url');

module.enableCompileCache?.(); // Node ≥ 22.1: parsed and compiled modules cached on disk between runs
// Stack traces name the TypeScript file and line when Fairway prints them (FAIRWAY_DEBUG=1). Not otherwise: with
// source maps on, Node 20 reads and indexes every module's map as it loads it (~15 ms of a `list`).
// (NODE_OPTIONS=--enable-source-maps turns them on for any run.)
if (process.env.FAIRWAY_DEBUG) process.setSourceMapsEnabled(true);

const root = new URL('..', import.meta.url);
const at = (path) => new URL(path, root);
const pathOf = (path) => fileURLToPath(at(path));
const isCheckout = existsSync(at('cli/main.ts'));
/** Names under the compiled folders that the build skips (scripts/build.mjs `skipped`), besides `*.test.ts`. */
const SKIPPED = new Set(['__pycache__', 'node_modules', 'fixtures']);

let entry = at('dist/cli/index.js');
if (isCheckout && (process.env.FAIRWAY_FROM_SOURCE === '1' || !(await ensureBuilt()))) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = at('cli/index.ts');
}
const { installFatalHandlers, main } = await import(entry.href);
installFatalHandlers();
const code = await main(process.argv.slice(2));
// Let pending stdout writes drain before exiting.
process.exitCode = code;
// The command is done and recorded. A materializer may have left a timer or a socket behind (a canceled
// step's sleep, an unclosed client): do not wait for it. Unref'd, so a clean exit is not delayed.
setTimeout(() => process.exit(code), 1000).unref();

/** Newest modification time under the compiled folders (files, and folders for a deletion or rename). */
function newestSource() {
  let newest = statSync(pathOf('scripts/build.mjs')).mtimeMs;
  // one stat per entry says both its mtime and whether to descend (no Dirent objects: ~2x faster on Node 24);
  // a folder that is not there, or a file gone between readdir and stat (an editor's temp file), is no change
  const visit = (path) => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return;
    newest = Math.max(newest, stat.mtimeMs);
    if (!stat.isDirectory()) return;
    for (const name of readdirSync(path)) {
      // what the build skips (scripts/build.mjs `skipped`): tests and their fixtures are not compiled
      if (!SKIPPED.has(name) && !name.endsWith('.test.ts')) visit(`${path}/${name}`);
    }
  };
  for (const d of ['cli', 'framework', 'ui', 'stack', 'assets', 'examples']) visit(pathOf(d)); // scripts/build.mjs SOURCE_DIRS
  return newest;
}

/** The time the last complete build started, 0 if none. */
function builtAt() {
  try {
    return Number(readFileSync(pathOf('dist/.build-stamp'), 'utf8'));
  } catch {
    return 0;
  }
}

/** Rebuilds dist/ when a source is newer than the last build (one process at a time); false if it cannot. */
async function ensureBuilt() {
  if (builtAt() >= newestSource()) return true;
  const lock = pathOf('dist/.build-lock');
  mkdirSync(pathOf('dist'), { recursive: true });
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      // another process is building: wait for it, unless it died holding the lock
      let holder;
      try {
        holder = Number(readFileSync(lock, 'utf8'));
      } catch {
        continue; // released meanwhile
      }
      if (isAlive(holder, lock)) await new Promise((ok) => setTimeout(ok, 100));
      else rmSync(lock, { force: true });
    }
  }
  try {
    if (builtAt() >= newestSource()) return true;
    const { build } = await import(at('scripts/build.mjs').href);
    await build({ log: (m) => process.stderr.write(`${m} (sources changed since the last build)\n`) });
    return true;
  } catch (e) {
    const first = e.errors?.[0]; // esbuild's: where and what
    const why = first?.location
      ? `${first.location.file}:${first.location.line}: ${first.text}`
      : String(e.message).split('\n')[0];
    process.stderr.write(`fairway: the sources do not compile, running them with tsx instead: ${why}\n`);
    return false;
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Whether the process holding the lock still runs (an empty lock: just created, or its creator died at once). */
function isAlive(pid, lock) {
  if (!pid) return Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 10_000;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}
