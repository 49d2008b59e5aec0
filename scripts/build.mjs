// Compiles Fairway's TypeScript (cli/, framework/, ui/, stack/) and this repository's own definitions (assets/, the
// lakehouse, and examples/) to dist/: one .js and .js.map per source file, with esbuild — the transform tsx
// applied on every start, done once — plus the files the code finds beside itself (ui/static, stack/trino,
// the workers, dbt_worker.py). `--types` also writes the .d.ts files of the package's entry points with tsc
// (for `npm pack`; a checkout does not need them). The package ships dist/cli, dist/framework and dist/ui only.
//
//   node scripts/build.mjs [--types] [--clean]      (npm run build; `prepare` runs it on npm install / npm ci)
//
// Plain JavaScript, because bin/fairway.js runs it when the sources changed since the last build.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The folders compiled (bin/fairway.js checks the same); other definitions are loaded with tsx. */
export const SOURCE_DIRS = ['cli', 'framework', 'ui', 'stack', 'assets', 'examples'];
const DIST = join(ROOT, 'dist');
/** Written last, holding the time the build started: a source saved during the build is newer. */
const STAMP = join(DIST, '.build-stamp');

const skipped = (name) =>
  name.endsWith('.test.ts') || name === 'fixtures' || name === '__pycache__' || name === 'node_modules';
const isSource = (f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts');

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (skipped(e.name)) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

/** Writes through a rename, and only when the content changed: a running CLI never imports a half-written file. */
function writeIfChanged(path, content) {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  if (existsSync(path) && readFileSync(path).equals(bytes)) return;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

/** Builds dist/ and returns how many source files it compiled. */
export async function build({ types = false, log = () => {} } = {}) {
  const started = Date.now();
  const files = SOURCE_DIRS.flatMap((d) => walk(join(ROOT, d)));
  const sources = files.filter(isSource);
  const esbuild = await import('esbuild');
  // bundle mode only for the plugin hook: every import stays external, relative ones renamed .ts → .js, so
  // each source file becomes one output file at the same place under dist/ (import.meta.url keeps working)
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: sources,
    outdir: DIST,
    outbase: ROOT,
    bundle: true,
    packages: 'external',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    sourcesContent: false,
    tsconfig: join(ROOT, 'tsconfig.json'),
    logLevel: 'silent',
    write: false,
    plugins: [
      {
        name: 'relative-imports-to-js',
        setup(b) {
          b.onResolve({ filter: /^\.\.?\// }, (args) =>
            args.kind === 'entry-point' ? undefined : { path: args.path.replace(/\.tsx?$/, '.js'), external: true },
          );
        },
      },
    ],
  });
  for (const out of result.outputFiles) writeIfChanged(out.path, out.contents);
  for (const f of files.filter((f) => !isSource(f))) writeIfChanged(join(DIST, relative(ROOT, f)), readFileSync(f));
  // compiled modules whose source is gone: importing them must fail as it would from the sources (only
  // .js/.js.map are removed; anything else in dist/ may have been written there by the code at run time)
  const expected = new Set([
    ...result.outputFiles.map((o) => o.path),
    ...files.filter((f) => !isSource(f)).map((f) => join(DIST, relative(ROOT, f))),
  ]);
  for (const e of existsSync(DIST) ? readdirSync(DIST, { withFileTypes: true }) : []) {
    // a folder no longer compiled: its twins must not be found
    if (e.isDirectory() && !SOURCE_DIRS.includes(e.name)) rmSync(join(DIST, e.name), { recursive: true, force: true });
  }
  for (const d of SOURCE_DIRS) {
    for (const f of walk(join(DIST, d))) {
      if (/\.js(\.map)?$/.test(f) && !expected.has(f)) rmSync(f, { force: true });
    }
  }
  if (types) {
    const { spawnSync } = await import('node:child_process');
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.types.json')], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`tsc (declarations) exited with ${r.status}`);
  }
  writeIfChanged(STAMP, `${started}\n`);
  log(`fairway: compiled ${sources.length} files to dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return sources.length;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--clean')) rmSync(DIST, { recursive: true, force: true });
  await build({ types: process.argv.includes('--types'), log: (m) => process.stderr.write(`${m}\n`) });
}
