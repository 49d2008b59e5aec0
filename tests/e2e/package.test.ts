import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.ts';

/**
 * Fairway as a user gets it: `npm pack`, the tarball installed into a new project offline, a definitions file
 * that imports from 'fairway', then `npx fairway materialize` and `status` there.
 *
 * Offline: the project's lock pins every dependency at the version and integrity of this repository's lock,
 * so npm takes each from its cache (filled by `npm ci`) and never asks the registry (a lockless install would
 * fetch each package's metadata, which `npm ci` does not cache). better-sqlite3's install script looks for
 * its prebuilt addon on GitHub, then compiles (minutes): the test hands it this checkout's build as a local
 * prebuild (prebuild-install's `local-prebuilds`), the file it would otherwise download.
 */
const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; integrity?: string; dev?: boolean; link?: boolean; optional?: boolean }>;
};
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as Record<string, unknown> & {
  version: string;
  dependencies: Record<string, string>;
};

/** Packages of the lock npm's cache lacks (by integrity): the test cannot run offline without them. */
function missingFromCache(names: string[]): string[] {
  const cache = spawnSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).stdout.trim();
  return names.filter((name) => {
    const integrity = lock.packages[name]?.integrity;
    // optional packages are other platforms' binaries (esbuild's, rust-just's), never fetched here
    if (!integrity || lock.packages[name]?.optional) return false;
    const [algo, b64] = integrity.split('-');
    const hex = Buffer.from(b64!, 'base64').toString('hex');
    return !existsSync(join(cache, '_cacache', `content-v2`, algo!, hex.slice(0, 2), hex.slice(2, 4), hex.slice(4)));
  });
}

const runtime = Object.keys(lock.packages).filter((k) => k && !lock.packages[k]!.dev && !lock.packages[k]!.link);
const types = ['node_modules/@types/node', 'node_modules/undici-types'];
const missing = missingFromCache([...runtime, ...types]);

describe.skipIf(missing.length > 0)('the npm package', () => {
  if (missing.length > 0) {
    process.stderr.write(
      `skipped: npm's cache lacks ${missing.length} locked packages (${missing.slice(0, 3).join(', ')}…); run npm ci first\n`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'fairway-package-'));
  const project = join(dir, 'project');
  const env = { NO_COLOR: '1', FAIRWAY_LOG_LEVEL: 'warn' };

  it('packs, installs offline into a new project, and materializes its TypeScript definitions', async () => {
    const pack = await execa('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: repoRoot, reject: false });
    expect(pack.exitCode, pack.stderr).toBe(0);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
    const listed = spawnSync('tar', ['tzf', join(dir, tarball)], { encoding: 'utf8' }).stdout.split('\n');
    expect(listed).toContain('package/dist/framework/index.d.ts');
    expect(listed).toContain('package/dist/ui/static/ui.css');
    expect(listed.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);

    // better-sqlite3's prebuilt addon, as prebuild-install names the file it downloads
    const sqlite = lock.packages['node_modules/better-sqlite3']!.version;
    const prebuild = join(dir, 'prebuild');
    mkdirSync(join(prebuild, 'build', 'Release'), { recursive: true });
    cpSync(
      join(repoRoot, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'),
      join(prebuild, 'build', 'Release', 'better_sqlite3.node'),
    );
    mkdirSync(join(dir, 'prebuilds'));
    const abi = process.versions.modules;
    const file = `better-sqlite3-v${sqlite}-node-v${abi}-${process.platform}-${process.arch}.tar.gz`;
    expect(spawnSync('tar', ['czf', join(dir, 'prebuilds', file), '-C', prebuild, 'build']).status).toBe(0);

    mkdirSync(project);
    const spec = `file:../${tarball}`;
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify(
        {
          name: 'my-assets',
          private: true,
          type: 'module',
          dependencies: { fairway: spec },
          devDependencies: { '@types/node': lock.packages['node_modules/@types/node']!.version },
          allowScripts: { 'better-sqlite3': true, esbuild: true },
        },
        null,
        2,
      ),
    );
    const integrity = `sha512-${createHash('sha512')
      .update(readFileSync(join(dir, tarball)))
      .digest('base64')}`;
    const packages: Record<string, unknown> = {
      '': { name: 'my-assets', dependencies: { fairway: spec }, devDependencies: { '@types/node': '*' } },
      'node_modules/fairway': {
        version: pkg.version,
        resolved: spec,
        integrity,
        license: pkg.license,
        dependencies: pkg.dependencies,
        bin: pkg.bin,
        engines: pkg.engines,
      },
    };
    for (const k of runtime) packages[k] = lock.packages[k];
    for (const k of types) packages[k] ??= { ...lock.packages[k], dev: true };
    writeFileSync(
      join(project, 'package-lock.json'),
      JSON.stringify({ name: 'my-assets', lockfileVersion: 3, requires: true, packages }, null, 2),
    );
    const install = await execa('npm', ['install', '--offline', '--no-audit', '--no-fund', spec], {
      cwd: project,
      reject: false,
      env: { npm_config_better_sqlite3_local_prebuilds: join(dir, 'prebuilds') },
    });
    expect(install.exitCode, install.stderr).toBe(0);

    writeFileSync(
      join(project, 'definitions.ts'),
      `import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { asset, defineAssets, type MaterializeContext, md } from 'fairway';

const numbers = asset({
  key: 'raw.numbers',
  group: 'raw',
  materialize: async (_ctx: MaterializeContext) => {
    mkdirSync('data', { recursive: true });
    writeFileSync('data/numbers.json', JSON.stringify([1, 2, 3, 4]));
    return { metadata: { rows: md.rowCount(4) } };
  },
});

const total = asset({
  key: 'report.total',
  group: 'report',
  deps: ['raw.numbers'],
  materialize: async () => {
    const values = JSON.parse(readFileSync('data/numbers.json', 'utf8')) as number[];
    const sum = values.reduce((a, b) => a + b, 0);
    writeFileSync('data/total.json', JSON.stringify({ total: sum }));
    return { metadata: { total: md.int(sum) } };
  },
});

export default defineAssets({ assets: [numbers, total] });
`,
    );
    const defs = ['--definitions', 'definitions.ts'];
    const materialize = await execa('npx', ['fairway', ...defs, 'materialize', '*'], {
      cwd: project,
      env,
      reject: false,
    });
    expect(materialize.exitCode, materialize.stderr).toBe(0);
    expect(materialize.stdout).toMatch(/raw\.numbers\s+SUCCESS/);
    expect(materialize.stdout).toMatch(/report\.total\s+SUCCESS/);
    expect(JSON.parse(readFileSync(join(project, 'data', 'total.json'), 'utf8'))).toEqual({ total: 10 });
    expect(existsSync(join(project, '.fairway', 'fairway.db'))).toBe(true);

    const status = await execa('npx', ['fairway', ...defs, 'status'], { cwd: project, env, reject: false });
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/raw\.numbers\s+FRESH/);
    expect(status.stdout).toMatch(/report\.total\s+FRESH/);

    // the test helpers' entry point
    writeFileSync(
      join(project, 'testing.ts'),
      `import { asset } from 'fairway';
import { runPlanForTest } from 'fairway/testing';

const run = await runPlanForTest([asset({ key: 'raw.one', materialize: async () => ({}) })], '.fairway-test');
process.stdout.write(JSON.stringify(run.status));
`,
    );
    const testing = await execa('node', ['--import', 'tsx', 'testing.ts'], { cwd: project, reject: false });
    expect(testing.exitCode, testing.stderr).toBe(0);
    expect(JSON.parse(testing.stdout)).toEqual({ 'raw.one': 'SUCCESS' });

    // the types: both files type-check against the package's .d.ts files
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
        files: ['definitions.ts', 'testing.ts'],
      }),
    );
    const tsc = await execa('node', [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], {
      cwd: project,
      reject: false,
    });
    expect(tsc.exitCode, tsc.stdout).toBe(0);
  });
});
