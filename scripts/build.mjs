// Compiles Fairway's TypeScript (cli/, framework/, ui/, stack/) and this repository's own definitions (assets/, the
// lakehouse, and examples/) to dist/ with esbuild, with source maps, plus the files the code finds beside itself
// (ui/static, stack/trino, the workers, dbt_worker.py). `--types` also writes the .d.ts files of the package's
// entry points with tsc (for `npm pack`; a checkout does not need them). The package ships dist/cli,
// dist/framework, dist/ui and dist/chunks.
//
// Fairway is bundled in four parts, each module in exactly one file (so the CLI and a definitions module share one
// framework): the framework's core, one file (dist/chunks/core.js: what `list` and `status` need); the leaf folders
// the CLI needs before any command (errors, fatal-stop, terminal), a file each; the lazy folders, the CLI, the UI
// and the stack, per entry point with code splitting, importing the core and the leaves; and zod (VENDORED). The
// definitions stay one .js per source file: an asset's code version hashes its function's text, which bundling
// would change whenever it renames a name that another module of the same chunk also declares.
//
//   node scripts/build.mjs [--types] [--clean]      (npm run build; `prepare` runs it on npm install / npm ci)
//
// Plain JavaScript, because bin/fairway.js runs it when the sources changed since the last build.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { basename, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The folders compiled (bin/fairway.js checks the same); other definitions are loaded with tsx. */
export const SOURCE_DIRS = ['cli', 'framework', 'ui', 'stack', 'assets', 'examples'];
/** Of those, the definitions: compiled one file per source, importing Fairway through its entry points. */
const DEFINITION_DIRS = ['assets', 'examples'];
const DIST = join(ROOT, 'dist');
/** Where esbuild puts the code shared by several entry points (dist/chunks/chunk-<hash>.js). */
const CHUNKS = 'chunks';
/** Written last, holding the time the build started: a source saved during the build is newer. */
const STAMP = join(DIST, '.build-stamp');

const skipped = (name) =>
  name.endsWith('.test.ts') || name === 'fixtures' || name === '__pycache__' || name === 'node_modules';
const isSource = (f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts');

const isDefinitions = (rel) => DEFINITION_DIRS.some((d) => rel.startsWith(`${d}${sep}`));
/**
 * The bundle's entry points: what is imported from outside it (bin/fairway.js, the package's `exports`, the
 * definitions, compiled-twin-hooks.mjs for TypeScript definitions in the checkout). A folder is entered only
 * through its index.ts (tests/architecture.test.ts), so every index.ts of Fairway is one.
 */
const isEntry = (rel) => basename(rel) === 'index.ts' && !isDefinitions(rel);

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

/**
 * `import.meta.url` of a bundled module is the URL of the file esbuild put it in. Code finds what lies beside
 * its source (ui/static, the workers, dbt_worker.py, the project root) from it, so each module's
 * `import.meta.url` is marked at load with the module's own place under dist/ (`framework/x/y.js`, where it
 * would be as one file per source) and, once the output files are known, replaced by that place relative to
 * the file it ended up in.
 */
const metaMark = (outRel) => `__fairway_import_meta_url(${JSON.stringify(outRel)})`;
const META_MARK = /__fairway_import_meta_url\(("[^"\\]*")\)/g;

/** A path under dist/ as an import of `outFile`: relative, starting with `./` or `../`. */
function distPathFrom(outFile, distRel) {
  const rel = relative(dirname(outFile), join(DIST, distRel)).split(sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

function resolveMarks(outFile, text) {
  return text
    .replace(
      META_MARK,
      (_, outRel) => `new URL(${JSON.stringify(distPathFrom(outFile, JSON.parse(outRel)))}, import.meta.url).href`,
    )
    .replace(VENDOR_MARK, (_, distRel) => JSON.stringify(distPathFrom(outFile, distRel)));
}

/**
 * Packages served from one bundled file under dist/ (`zod` → dist/chunks/vendor-zod.js) instead of node_modules,
 * to the CLI's bundle and the definitions alike (one copy in the process): zod is ~95 small ES modules, and every
 * command loads it. An import of one is written `"__fairway_dist__/<path>"`, made relative once the output file
 * is known. The definitions API takes no zod schema from its users, so a user's own zod never meets this one.
 */
const VENDORED = { zod: `${CHUNKS}/vendor-zod.js` };
const VENDOR_MARK = /"__fairway_dist__\/([^"]+)"/g;
/**
 * A vendored package required synchronously (framework/validation/lazy-zod.ts: `require('zod')` with the
 * `require` of `createRequire(import.meta.url)`) gets the same bundle, at its path from the module's own place
 * (what its marked `import.meta.url` says, see resolveMarks): require(esm) of that file is the module instance
 * that the `import`s load.
 */
const VENDORED_REQUIRE = new RegExp(`\\brequire\\((['"])(${Object.keys(VENDORED).join('|')})\\1\\)`, 'g');
const vendorPlugin = {
  name: 'fairway-vendor',
  setup(b) {
    b.onResolve({ filter: /^zod$/ }, (args) =>
      args.kind === 'entry-point' ? undefined : { path: `__fairway_dist__/${VENDORED[args.path]}`, external: true },
    );
  },
};

/**
 * zod's `locales` namespace (error messages in ~50 languages, ~370 KB: half of the bundle, compiled by every
 * command) keeps English only, the locale zod configures itself with; `z.locales.<other>` is undefined. Nothing
 * here sets another locale, and the definitions API takes no zod schema from its users.
 */
const zodLocalesPlugin = {
  name: 'fairway-zod-locales',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${sep}zod${sep}`)
        ? { path: join(args.resolveDir, args.path), namespace: 'zod-en' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-en' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(join(dirname(args.path), 'en.js'))};\n`,
      resolveDir: dirname(args.path),
    }));
  },
};

/**
 * An ES import of a Node built-in (`import { readFileSync } from "node:fs"`) builds the module's ES facade, which
 * reads every export: `fs.promises` loads fs/promises, readline and the streams, `crypto.webcrypto` all of Web
 * Crypto (~3 ms of every command on Node 24). Compiled output takes them from `process.getBuiltinModule` instead:
 * the same objects, only what is used is loaded. The statement keeps its line count, so source maps still match.
 */
const BUILTIN_IMPORT =
  /^import\s+(?:([A-Za-z_$][\w$]*)\s*,\s*)?(?:\*\s+as\s+([A-Za-z_$][\w$]*)|\{([^}]*)\}|([A-Za-z_$][\w$]*))\s+from\s+"(node:[a-z_/]+)";/gm;

export function builtinsFromProcess(text) {
  return text.replace(BUILTIN_IMPORT, (statement, first, namespace, named, only, specifier) => {
    const module = `process.getBuiltinModule(${JSON.stringify(specifier)})`;
    const whole = first ?? namespace ?? only;
    const pairs = (named ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => s.split(/\s+as\s+/));
    const lines = [];
    if (whole) lines.push(`const ${whole} = ${module};`);
    const onCall = ON_FIRST_CALL.get(specifier);
    const eager = pairs.filter(([name]) => !onCall?.has(name));
    if (eager.length) {
      const fields = eager.map(([name, local]) => (local ? `${name}: ${local}` : name));
      lines.push(`const { ${fields.join(', ')} } = ${whole ?? module};`);
    }
    for (const [name, local] of pairs.filter(([name]) => onCall?.has(name))) {
      lines.push(`const ${local ?? name} = (...args) => ${module}.${name}(...args);`);
    }
    return lines.join(' ') + '\n'.repeat(statement.split('\n').length - 1);
  });
}

/**
 * Built-ins loaded on the first call of what is imported from them, not at import: node:fs/promises costs
 * ~1.5 ms to load on Node 24 (its FileHandle brings readline and the streams), node:crypto ~5 ms and
 * node:child_process ~2 ms, and `list` and `status` import all three (the lakehouse's file steps, every hashing
 * module, every module that starts a process) without calling them. Only plain functions, never a class (a call
 * is what loads the module; a wrapper cannot be `new`ed): every function of fs/promises, the others' by name.
 */
const fsPromises = process.getBuiltinModule('node:fs/promises');
const ON_FIRST_CALL = new Map([
  ['node:fs/promises', new Set(Object.keys(fsPromises).filter((name) => typeof fsPromises[name] === 'function'))],
  [
    'node:crypto',
    new Set(['createHash', 'createHmac', 'hash', 'randomBytes', 'randomInt', 'randomUUID', 'timingSafeEqual']),
  ],
  ['node:child_process', new Set(['exec', 'execFile', 'execFileSync', 'execSync', 'fork', 'spawn', 'spawnSync'])],
]);

/**
 * Small pure-JavaScript packages that every command loads, bundled into Fairway's chunks instead of imported
 * from node_modules: commander is eight CommonJS modules, picocolors, fastest-levenshtein and croner one each, a
 * module costing ~0.2 ms to resolve and load on Node 24. The definitions do not import them, so the process
 * still has one copy. Every other package stays external (native addons, workers and files of their own).
 */
const INLINED = new Set(['commander', 'picocolors', 'fastest-levenshtein', 'croner']);
const packageOf = (specifier) => specifier.split('/', specifier.startsWith('@') ? 2 : 1).join('/');
/**
 * What an inlined CommonJS package requires of Node: the built-in from process.getBuiltinModule (a bundled
 * `require` of an external module has no `require` to call in an ES module). child_process is got on first
 * use: commander requires it for executable subcommands, which Fairway has none of (~2 ms of every start).
 */
const ON_FIRST_USE = new Set(['child_process']);
const inlinePlugin = {
  name: 'fairway-inline',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const name = args.path.replace(/^node:/, '');
      if (isBuiltin(args.path))
        return args.kind === 'require-call' ? { path: name, namespace: 'fairway-builtin' } : { external: true };
      return INLINED.has(packageOf(args.path)) ? undefined : { external: true };
    });
    b.onLoad({ filter: /.*/, namespace: 'fairway-builtin' }, (args) => {
      const get = `process.getBuiltinModule(${JSON.stringify(`node:${args.path}`)})`;
      return {
        contents: ON_FIRST_USE.has(args.path)
          ? `let m;\nmodule.exports = new Proxy({}, { get: (_, key) => (m ??= ${get})[key] });\n`
          : `module.exports = ${get};\n`,
      };
    });
  },
};

/** Throws esbuild's error for the first file that does not compile (file and line, as a build's: bin reports it). */
async function checkCompiles(esbuild, files) {
  for (const f of files) {
    const sourcefile = relative(ROOT, f);
    await esbuild.transform(readFileSync(f, 'utf8'), { loader: f.endsWith('x') ? 'tsx' : 'ts', sourcefile });
  }
}

/**
 * Fairway's bundle: packages other than VENDORED stay imports of node_modules (one copy, shared with the
 * definitions, and their own files, native addons and workers where they expect them); each module's
 * `import.meta.url` is marked with its own place (see resolveMarks).
 */
const bundlePlugin = {
  name: 'fairway-bundle',
  setup(b) {
    b.onLoad({ filter: /\.tsx?$/ }, (args) => {
      const rel = relative(ROOT, args.path);
      if (rel.startsWith('..') || rel.includes('node_modules')) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (/\bimport\.meta\.(dirname|filename)\b/.test(text)) {
        // the marks carry a module's own URL; its path is one fileURLToPath away
        return {
          errors: [{ text: `${rel}: use fileURLToPath(import.meta.url), not import.meta.dirname or filename` }],
        };
      }
      const outRel = rel
        .replace(/\.tsx?$/, '.js')
        .split(sep)
        .join('/');
      return {
        contents: text
          .replace(/\bimport\.meta\.url\b/g, metaMark(outRel))
          .replace(
            VENDORED_REQUIRE,
            (_, _quote, name) => `require(${JSON.stringify(distPathFrom(join(DIST, outRel), VENDORED[name]))})`,
          ),
        loader: args.path.endsWith('x') ? 'tsx' : 'ts',
      };
    });
  },
};

/**
 * The definitions, one file per source: bundle mode only for the plugin hook, every import stays external and
 * relative ones are renamed .ts → .js. Fairway is imported through its entry points, the only files of it that
 * dist/ keeps at their place.
 */
const onePerFilePlugin = (entries) => ({
  name: 'fairway-one-per-file',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const target = join(args.resolveDir, args.path);
      if (!isDefinitions(relative(ROOT, target)) && !entries.has(target)) {
        const from = relative(ROOT, args.importer);
        return { errors: [{ text: `${from} imports ${args.path}: import Fairway through a folder's index.ts` }] };
      }
      if (isCoreIndex(relative(ROOT, target))) return { path: `__fairway_dist__/${CORE}`, external: true };
      return { path: args.path.replace(/\.tsx?$/, '.js'), external: true };
    });
  },
});

/**
 * Framework folders loaded only by the commands that need them (a run, the daemon, alerts, lineage, metrics, the
 * test helpers). Every other folder is the core: bundled as one file, dist/chunks/core.js, which `list` and
 * `status` load whole. One file instead of the ~20 chunks that splitting by entry point made of it: on Node 24
 * an ES module costs ~0.2 ms to load and each import of one ~0.07 ms, most of a command's start. A core folder
 * keeps its dist/framework/<folder>/index.js, re-exporting its names from the core (for definitions in
 * TypeScript, whose imports of it are served compiled, and the package's entry points).
 */
const LAZY_FOLDERS = new Set(['execution', 'scheduling', 'alerts', 'lineage', 'observability', 'testing']);
/**
 * Folders that import nothing of Fairway's and that the CLI needs before any command (its error handling and
 * output): each is one file of its own, so `--help` does not load the core.
 */
const LEAF_FOLDERS = new Set(['errors', 'fatal-stop', 'terminal']);
const CORE = `${CHUNKS}/core.js`;
/** The folder (`storage`, `integrations/dbt`) whose index.ts this is, undefined for any other file. */
const folderOf = (rel) => /^framework\/((?:integrations\/)?[a-z-]+)\/index\.ts$/.exec(rel.split(sep).join('/'))?.[1];
const isLeafIndex = (rel) => LEAF_FOLDERS.has(folderOf(rel));
const isCoreIndex = (rel) => folderOf(rel) !== undefined && !LAZY_FOLDERS.has(folderOf(rel)) && !isLeafIndex(rel);
/** A lazy or leaf folder's index.ts, as the external import of its compiled file (made relative by resolveMarks). */
const separateIndexOf = (rel) => {
  const folder = folderOf(rel);
  return LAZY_FOLDERS.has(folder) || LEAF_FOLDERS.has(folder)
    ? `__fairway_dist__/framework/${folder}/index.js`
    : undefined;
};
const targetOf = (args) => relative(ROOT, join(args.resolveDir, args.path));

/** The core's own build: its imports of a lazy or leaf folder stay imports of that folder's compiled entry. */
const separateFoldersPlugin = {
  name: 'fairway-separate-folders',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const path = args.kind === 'entry-point' ? undefined : separateIndexOf(targetOf(args));
      return path ? { path, external: true } : undefined;
    });
  },
};

/** A leaf folder's build: an import of another folder of Fairway would put a second copy of it in the leaf. */
const leafOnlyPlugin = {
  name: 'fairway-leaf-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const folder = dirname(relative(ROOT, args.importer));
      const target = targetOf(args);
      if (target.startsWith(`${folder}${sep}`)) return undefined;
      return {
        errors: [
          {
            text: `${relative(ROOT, args.importer)} imports ${args.path}: ${folder}/ is built as one file of its own (LEAF_FOLDERS in scripts/build.mjs) and may import nothing else of Fairway's; take it out of LEAF_FOLDERS`,
          },
        ],
      };
    });
  },
};

/** The core's one entry point: each core folder's names, re-exported. */
const coreEntryPlugin = (namesOf) => ({
  name: 'fairway-core-entry',
  setup(b) {
    b.onResolve({ filter: /^fairway-core$/ }, () => ({ path: 'fairway-core', namespace: 'fairway-core' }));
    b.onLoad({ filter: /.*/, namespace: 'fairway-core' }, () => ({
      contents: [...namesOf]
        .map(([index, names]) => `export { ${names.join(', ')} } from ${JSON.stringify(index)};\n`)
        .join(''),
      resolveDir: ROOT,
    }));
  },
});

/**
 * Everything else imports a core folder from the core file; the package's entry points from the folder's own
 * re-exporting file, so `export *` there gives that folder's names and no others.
 */
const coreImportsPlugin = {
  name: 'fairway-core-imports',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const rel = targetOf(args);
      if (isLeafIndex(rel)) return { path: separateIndexOf(rel), external: true };
      if (!isCoreIndex(rel)) return undefined;
      const packageEntry = /^framework[/\\](index\.ts$|testing[/\\])/.test(relative(ROOT, args.importer));
      const path = packageEntry ? `framework/${folderOf(rel)}/index.js` : CORE;
      return { path: `__fairway_dist__/${path}`, external: true };
    });
  },
};

/** The names each core folder's index.ts exports (one build with nothing written: esbuild's own account). */
async function exportNames(esbuild, common, indexes) {
  const r = await esbuild.build({
    ...common,
    entryPoints: indexes,
    splitting: true,
    chunkNames: `${CHUNKS}/[name]-[hash]`,
    metafile: true,
    sourcemap: false,
    plugins: [vendorPlugin, inlinePlugin, separateFoldersPlugin, bundlePlugin],
  });
  const byEntry = new Map(
    Object.values(r.metafile.outputs)
      .filter((o) => o.entryPoint)
      .map((o) => [join(ROOT, o.entryPoint), o.exports]),
  );
  const namesOf = new Map(indexes.map((f) => [f, byEntry.get(f) ?? []]));
  const owner = new Map();
  for (const [index, names] of namesOf) {
    for (const n of names) {
      if (owner.has(n))
        throw new Error(
          `${relative(ROOT, index)} and ${relative(ROOT, owner.get(n))} both export '${n}': the core needs one name per thing`,
        );
      owner.set(n, index);
    }
  }
  return namesOf;
}

/** A core folder's dist/framework/<folder>/index.js: its names, from the core. */
function coreStub(index, names) {
  const out = join(DIST, relative(ROOT, index).replace(/\.ts$/, '.js'));
  return { path: out, text: `export { ${names.join(', ')} } from ${JSON.stringify(distPathFrom(out, CORE))};\n` };
}

/**
 * The compiled modules that Fairway's plain-JavaScript workers (`.mjs`, copied as they are) import beside
 * themselves, `new URL('./stop-blocked-run.js', import.meta.url)`: entry points too, so they are there.
 */
function workerImports(files) {
  return files
    .filter((f) => f.endsWith('.mjs'))
    .flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/new URL\('(\.\.?\/[^']+)\.js', import\.meta\.url\)/g)].map((m) =>
        join(dirname(f), `${m[1]}.ts`),
      ),
    )
    .filter((f) => existsSync(f));
}

/** Builds dist/ and returns how many source files it compiled. */
export async function build({ types = false, log = () => {} } = {}) {
  const started = Date.now();
  const files = SOURCE_DIRS.flatMap((d) => walk(join(ROOT, d)));
  const sources = files.filter(isSource);
  const esbuild = await import('esbuild');
  const common = {
    absWorkingDir: ROOT,
    outdir: DIST,
    outbase: ROOT,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    sourcesContent: false,
    tsconfig: join(ROOT, 'tsconfig.json'),
    logLevel: 'silent',
    write: false,
  };
  const entries = new Set([...sources.filter((f) => isEntry(relative(ROOT, f))), ...workerImports(files)]);
  const coreIndexes = [...entries].filter((f) => isCoreIndex(relative(ROOT, f)));
  const namesOf = await exportNames(esbuild, common, coreIndexes);
  const core = await esbuild.build({
    ...common,
    entryPoints: [{ in: 'fairway-core', out: CORE.replace(/\.js$/, '') }],
    // one file: what the core imports lazily (judging, freshness) is in it too, run on first import
    metafile: true,
    plugins: [coreEntryPlugin(namesOf), vendorPlugin, inlinePlugin, separateFoldersPlugin, bundlePlugin],
  });
  const leaves = await esbuild.build({
    ...common,
    entryPoints: [...entries].filter((f) => isLeafIndex(relative(ROOT, f))),
    metafile: true,
    plugins: [vendorPlugin, inlinePlugin, leafOnlyPlugin, bundlePlugin],
  });
  const rest = await esbuild.build({
    ...common,
    entryPoints: [...entries].filter((f) => !isCoreIndex(relative(ROOT, f)) && !isLeafIndex(relative(ROOT, f))),
    splitting: true,
    chunkNames: `${CHUNKS}/[name]-[hash]`,
    metafile: true,
    plugins: [vendorPlugin, inlinePlugin, coreImportsPlugin, bundlePlugin],
  });
  const definitions = await esbuild.build({
    ...common,
    entryPoints: sources.filter((f) => isDefinitions(relative(ROOT, f))),
    packages: 'external',
    plugins: [vendorPlugin, onePerFilePlugin(entries)],
  });
  const vendored = await esbuild.build({
    ...common,
    entryPoints: Object.entries(VENDORED).map(([name, out]) => ({ in: name, out: out.replace(/\.js$/, '') })),
    sourcemap: false, // a package's own code: no map to read at every start
    plugins: [zodLocalesPlugin],
  });
  const stubs = [...namesOf].map(([index, names]) => coreStub(index, names));
  const outputs = [
    ...core.outputFiles,
    ...leaves.outputFiles,
    ...rest.outputFiles,
    ...definitions.outputFiles,
    ...vendored.outputFiles,
    ...stubs,
  ];
  for (const out of outputs) {
    writeIfChanged(
      out.path,
      out.path.endsWith('.js') ? builtinsFromProcess(resolveMarks(out.path, out.text)) : out.contents,
    );
  }
  // a source of Fairway that no entry point reaches (nothing imports it) is not in dist/, but it must compile
  const bundled = new Set(
    [core, leaves, rest]
      .flatMap((r) => Object.keys(r.metafile.inputs))
      .map((p) => join(ROOT, p.replace(/^fairway-core:/, ''))),
  );
  await checkCompiles(
    esbuild,
    sources.filter((f) => !bundled.has(f) && !isDefinitions(relative(ROOT, f))),
  );
  const copied = files.filter((f) => !isSource(f));
  for (const f of copied) writeIfChanged(join(DIST, relative(ROOT, f)), readFileSync(f));
  // compiled files that this build did not write (a deleted entry, an older build's chunk): importing them must
  // fail as it would from the sources (only .js/.js.map are removed; anything else in dist/ may have been
  // written there by the code at run time)
  const expected = new Set([...outputs.map((o) => o.path), ...copied.map((f) => join(DIST, relative(ROOT, f)))]);
  const outDirs = [...SOURCE_DIRS, CHUNKS];
  for (const e of existsSync(DIST) ? readdirSync(DIST, { withFileTypes: true }) : []) {
    // a folder no longer compiled: its twins must not be found
    if (e.isDirectory() && !outDirs.includes(e.name)) rmSync(join(DIST, e.name), { recursive: true, force: true });
  }
  for (const d of outDirs) {
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
