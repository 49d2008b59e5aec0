import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.ts';

/**
 * bin/fairway.js runs the compiled dist/ of a checkout, rebuilt first when a source is newer than the last
 * build. Tried on a copy of the checkout's code (its own dist/), so editing a source never touches the real one.
 */
function checkoutCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fairway-compiled-'));
  for (const d of ['bin', 'cli', 'framework', 'ui', 'stack', 'examples'])
    cpSync(join(repoRoot, d), join(dir, d), { recursive: true });
  cpSync(join(repoRoot, 'scripts', 'build.mjs'), join(dir, 'scripts', 'build.mjs'));
  for (const f of ['package.json', 'tsconfig.json']) cpSync(join(repoRoot, f), join(dir, f));
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

const run = (dir: string, args: string[], env: Record<string, string> = {}) =>
  execa('node', ['bin/fairway.js', ...args], { cwd: dir, reject: false, env: { NO_COLOR: '1', ...env } });

describe('the compiled CLI', () => {
  const dir = checkoutCopy();
  const hello = ['--definitions', 'examples/hello/definitions.ts', '--state-dir', join(dir, '.fairway')];
  const mainTs = join(dir, 'cli', 'main.ts');

  it('builds dist/ on first use, then starts from it without rebuilding', async () => {
    // a build lock left by a process that died is taken over, not waited for
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist', '.build-lock'), '2147483646');
    const first = await run(dir, ['--help']);
    expect(first.exitCode).toBe(0);
    expect(first.stderr).toMatch(/compiled \d+ files to dist\//);
    // cli/main.ts is bundled into the CLI's entry point
    expect(readFileSync(join(dir, 'dist', 'cli', 'index.js'), 'utf8')).toContain('List assets');
    const second = await run(dir, [...hello, 'list']);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).toContain('gold.orders_summary');
    expect(second.stderr).not.toMatch(/compiled/);
    // a test is not compiled: editing one rebuilds nothing
    const future = new Date(Date.now() + 60_000);
    utimesSync(join(dir, 'framework', 'graph', 'asset-graph.test.ts'), future, future);
    const third = await run(dir, [...hello, 'list']);
    expect(third.exitCode, third.stderr).toBe(0);
    expect(third.stderr).not.toMatch(/compiled/);
    // Node built-ins come from process.getBuiltinModule, not ES imports (whose facades load far more)
    const compiled = readdirSync(join(dir, 'dist'), { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.js'),
    );
    expect(compiled.length).toBeGreaterThan(50);
    const importing = compiled.filter((f) =>
      /^import[^;]*from "node:/m.test(readFileSync(join(dir, 'dist', f), 'utf8')),
    );
    expect(importing).toEqual([]);
  });

  it('an edited source is rebuilt before it runs, and stack traces name the TypeScript line', async () => {
    const text = readFileSync(mainTs, 'utf8');
    const edited = text.replace(
      "withProject(async (p) => (await import('./list-command.ts')).listCommand(p, selection, flags)),",
      "withProject(async () => { throw new Error('edited list'); }),",
    );
    expect(edited).not.toBe(text);
    writeFileSync(mainTs, edited);
    const r = await run(dir, [...hello, 'list'], { FAIRWAY_DEBUG: '1' });
    expect(r.stderr).toMatch(/compiled \d+ files to dist\/.*\(sources changed since the last build\)/);
    expect(r.stderr).toContain('error: edited list');
    const line = edited.split('\n').findIndex((l) => l.includes("throw new Error('edited list')")) + 1;
    expect(r.stderr).toContain(`cli/main.ts:${line}:`);
    expect(r.exitCode).toBe(2);
  });

  it('a deleted module is gone from dist/ too, and FAIRWAY_FROM_SOURCE runs the TypeScript', async () => {
    writeFileSync(mainTs, readFileSync(join(repoRoot, 'cli', 'main.ts'), 'utf8'));
    // definitions are compiled one file per source: a new one appears in dist/, and goes with its source
    const scratch = join(dir, 'examples', 'scratch');
    mkdirSync(scratch);
    writeFileSync(join(scratch, 'definitions.ts'), 'export const unused = 1;\n');
    expect((await run(dir, ['--help'])).stderr).toMatch(/compiled/);
    const twin = join(dir, 'dist', 'examples', 'scratch', 'definitions.js');
    expect(existsSync(twin)).toBe(true);
    // mtimes in the past: the folder's own mtime (a file removed) must still count
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(mainTs, old, old);
    rmSync(join(scratch, 'definitions.ts'));
    const r = await run(dir, ['--help']);
    expect(r.stderr).toMatch(/compiled/);
    expect(existsSync(twin)).toBe(false);
    const fromSource = await run(dir, [...hello, 'list'], { FAIRWAY_FROM_SOURCE: '1' });
    expect(fromSource.exitCode, fromSource.stderr).toBe(0);
    expect(fromSource.stdout).toContain('gold.orders_summary');
  });

  it("an asset's file is the definitions module that declared it, not the compiled file Fairway is bundled in", async () => {
    const defs = join(dir, 'broken-definitions.mts');
    writeFileSync(
      defs,
      [
        "import { asset, defineAssets } from './framework/index.ts';",
        "const a = asset({ key: 'bronze.a', deps: ['bronze.missing'], materialize: () => ({}) });",
        'export default defineAssets({ assets: [a] });',
      ].join('\n'),
    );
    const r = await run(dir, ['--definitions', defs, '--state-dir', join(dir, '.fairway'), 'list']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`Asset 'bronze.missing' is not defined (referenced by 'bronze.a' in ${defs})`);
  });

  it('sources that do not compile are said so and run through tsx (a module no command imports here)', async () => {
    writeFileSync(join(dir, 'cli', 'half-written.ts'), 'export const x = ;\n');
    const r = await run(dir, ['--help']);
    expect(r.stderr).toMatch(/the sources do not compile, running them with tsx instead: .*half-written\.ts:1: /);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('Usage: fairway');
  });
});
