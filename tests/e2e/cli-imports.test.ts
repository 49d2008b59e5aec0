import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { fairway, repoRoot, tempExampleProject } from './helpers.ts';

/**
 * Packages that only some commands need: each costs 100–300 ms to import, so `--help`, `list` and
 * `status` must not load them (they are imported where a process is started, an object read, a Trino
 * query sent or the UI served).
 */
const HEAVY = [
  'execa',
  '@aws-sdk/client-s3',
  '@aws-sdk/lib-storage',
  '@aws-sdk/client-athena',
  '@aws-sdk/client-emr-serverless',
  'trino-client',
  'hono',
  '@hono/node-server',
  '@hono/zod-validator',
  'elkjs',
  'pino-pretty',
  'log-update',
];

/**
 * Preloaded into the CLI (NODE_OPTIONS=--import): records every module Node resolves for an `import`
 * (a resolve hook, which sees tsx's imports too) and, at exit, every CommonJS module in require.cache
 * (a `require` does not pass through the resolve hook on Node 20).
 */
const RECORDER = `
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
const file = process.env.FAIRWAY_IMPORT_LOG;
register('data:text/javascript,' + encodeURIComponent(\`
  import { appendFileSync } from 'node:fs';
  let file;
  export function initialize(data) { file = data.file; }
  export async function resolve(specifier, context, next) {
    const resolved = await next(specifier, context);
    appendFileSync(file, resolved.url + '\\\\n');
    return resolved;
  }
\`), { data: { file } });
process.on('exit', () => {
  const cached = Object.keys(createRequire(import.meta.url).cache);
  appendFileSync(file, cached.map((p) => pathToFileURL(p).href + '\\n').join(''));
  // Node's own modules loaded, as node:<name> (an ES import of a built-in loads what its facade reads)
  const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => 'node:' + m.slice(13));
  appendFileSync(file, builtins.join('\\n') + '\\n');
});
`;

const dir = mkdtempSync(join(tmpdir(), 'fairway-imports-'));
const recorder = join(dir, 'record-imports.mjs');
writeFileSync(recorder, RECORDER);

/** Runs the CLI with the recorder; returns the packages (and repo folders) it loaded. */
async function importsOf(args: string[], cwd: string, env: Record<string, string> = {}) {
  const log = join(dir, `imports-${Math.random().toString(36).slice(2)}.log`);
  writeFileSync(log, '');
  const r = await fairway(args, {
    cwd,
    env: { ...env, NODE_OPTIONS: `--import=${pathToFileURL(recorder).href}`, FAIRWAY_IMPORT_LOG: log },
  });
  expect(r.exitCode, String(r.stderr)).toBe(0);
  const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const packages = new Set(
    urls.flatMap((u) => [...u.matchAll(/\/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].map((m) => m[1]!)),
  );
  // the UI's modules, from the sources or compiled (dist/ui)
  const uiDirs = [join(repoRoot, 'ui'), join(repoRoot, 'dist', 'ui')].map((d) => `${pathToFileURL(d).href}/`);
  const ui = urls.filter((u) => uiDirs.some((d) => u.startsWith(d)));
  // SQLite's native addon is loaded when a database is opened
  const opensStore = urls.some((u) => u.endsWith('/better_sqlite3.node'));
  // zod: the vendored bundle when compiled (dist/chunks/vendor-zod.js), else the package
  const loadsZod = packages.has('zod') || urls.some((u) => u.endsWith('/dist/chunks/vendor-zod.js'));
  const builtins = new Set(urls.filter((u) => u.startsWith('node:')).map((u) => u.slice(5)));
  return { packages, ui, heavy: HEAVY.filter((p) => packages.has(p)), opensStore, loadsZod, urls, builtins };
}

describe('--help, list and status import none of the heavy modules', () => {
  it('fairway --help loads no definitions and no storage either, and no TypeScript loader', async () => {
    await fairway(['--help'], { cwd: repoRoot }); // rebuilds dist/ (esbuild) first if a source changed
    const { packages, heavy, loadsZod, urls, builtins } = await importsOf(['--help'], repoRoot);
    // built-ins come from process.getBuiltinModule (no ES facades) and commander's child_process on first use
    expect(builtins.has('fs')).toBe(true); // the recorder works
    expect(['child_process', 'crypto', 'readline'].filter((b) => builtins.has(b))).toEqual([]);
    expect(urls.some((u) => /\/cli\/index\.[jt]s$/.test(u))).toBe(true); // the recorder works
    expect(heavy).toEqual([]);
    // Fairway runs compiled (dist/); tsx is loaded only for a definitions file in TypeScript
    expect([...packages].filter((p) => ['tsx', 'esbuild'].includes(p))).toEqual([]);
    expect([...packages].filter((p) => ['better-sqlite3', 'pino', 'zod'].includes(p))).toEqual([]);
    expect(loadsZod).toBe(false);
  });

  describe('on the example project', () => {
    const project = tempExampleProject();
    const base = ['--definitions', project.definitions, '--state-dir', project.stateDir];
    const env = { HELLO_DATA_DIR: join(project.dir, 'data') };

    it.each([['list'], ['status']])('%s', async (command) => {
      const { packages, ui, heavy, opensStore, loadsZod, urls } = await importsOf([...base, command], project.dir, env);
      expect(urls.some((u) => /\/cli\/index\.[jt]s$/.test(u))).toBe(true); // the recorder works
      expect(heavy).toEqual([]);
      // `list` answers from the definitions alone: the store is opened on first use (better-sqlite3 required
      // then), and it never uses it; nothing is parsed either, so zod is not loaded (schemas built on first use)
      expect(opensStore).toBe(command === 'status');
      expect(packages.has('better-sqlite3')).toBe(command === 'status');
      // `status` of a fresh state reads no row (a read finding none checks nothing), so it loads no zod either,
      // and its addon is given to better-sqlite3 by path (no `bindings` lookup)
      expect(loadsZod).toBe(false);
      expect(packages.has('bindings')).toBe(false);
      expect(ui).toEqual([]);
      // nothing logged, so no logger made: pino is required on the root logger's first use
      expect(packages.has('pino')).toBe(false);
    });
  });

  // local: S3 + Trino, so the definitions create an S3 object store (whose SDK must wait for its first call)
  describe.each([['embedded'], ['local']])('on the lakehouse definitions, profile %s', (profile) => {
    const stateDir = join(dir, `lakehouse-${profile}`);
    const base = ['--state-dir', stateDir];
    const env = { FAIRWAY_PROFILE: profile };

    beforeAll(async () => {
      // The first load of a state dir runs `dbt parse` (a process: execa) and caches the manifest there.
      const r = await fairway([...base, 'list'], { cwd: repoRoot, env });
      expect(r.exitCode, String(r.stderr)).toBe(0);
    });

    it.each([['list'], ['status']])('%s', async (command) => {
      const { packages, ui, heavy, loadsZod, urls, builtins } = await importsOf([...base, command], repoRoot, env);
      // nothing is spawned: child_process is loaded where a process starts (the example's definitions above are
      // TypeScript outside a checkout: tsx's esbuild loads it there)
      expect(builtins.has('child_process')).toBe(false);
      expect(urls.some((u) => /\/cli\/index\.[jt]s$/.test(u))).toBe(true); // the recorder works
      expect(packages.has('better-sqlite3')).toBe(command === 'status');
      expect(heavy).toEqual([]);
      expect(ui).toEqual([]);
      // the lakehouse is compiled with Fairway (dist/assets): no TypeScript loader either
      expect(packages.has('tsx')).toBe(false);
      // imported when they run: the stack's code, the remote (EMR) Silver job with its fflate and ulid, dotenv (a kept profile is not parsed again)
      const stackCode = [join(repoRoot, 'stack'), join(repoRoot, 'dist', 'stack')].map(
        (d) => `${pathToFileURL(d).href}/`,
      );
      expect(urls.filter((u) => stackCode.some((d) => u.startsWith(d)))).toEqual([]);
      expect(urls.filter((u) => /\/assets\/lib\/aws\/silver-remote\.[jt]s$/.test(u))).toEqual([]);
      expect([...packages].filter((p) => ['fflate', 'dotenv'].includes(p))).toEqual([]);
      // `status` judges (framework/judging) and reads freshness (framework/freshness): it loads none of execution,
      // scheduling or alerts, whose chunks are most of the framework (ulid comes with a run's launch)
      expect(urls.filter((u) => /\/framework\/(execution|scheduling|alerts)\/index\.[jt]s$/.test(u))).toEqual([]);
      expect(packages.has('ulid')).toBe(false);
      // the framework's core is one file (scripts/build.mjs): on Node 24 each ES module costs ~0.2 ms to load and
      // each import of one ~0.07 ms, so the files of Fairway itself (not the definitions) stay a handful
      const own = urls.filter((u) => /\/dist\/(cli|chunks|framework)\/.*\.js$/.test(u));
      expect(new Set(own).size, own.join('\n')).toBeLessThanOrEqual(12);
      // the profile and course reference validated by the first load (beforeAll) are kept in the state dir:
      // `list` parses nothing else, so it loads no zod; nor does `status`, whose reads find no rows to check
      expect(loadsZod).toBe(false);
    });
  });
});
