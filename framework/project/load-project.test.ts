import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { definitionsReloader, loadProject, type Project } from './index.ts';

const definitionsIndex = pathToFileURL(resolve(import.meta.dirname, '../definitions/index.ts')).href;

describe('definitionsReloader', () => {
  let dir: string;
  let project: Project | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fairway-reload-'));
  });
  afterEach(() => {
    project?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('calls a definitions function again with the same root and state dir, and sees what changed', async () => {
    // one asset per line of tables.txt (read by the function each time), named after the state dir it was given
    writeFileSync(join(dir, 'tables.txt'), 'a\n');
    writeFileSync(
      join(dir, 'definitions.mts'),
      `import { readFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import { asset, defineAssets } from '${definitionsIndex}';
export default ({ root, stateDir }) => defineAssets({
  assets: readFileSync(join(root, 'tables.txt'), 'utf8').trim().split('\\n').map((t) =>
    asset({ key: \`raw.\${t}_\${basename(stateDir)}\`, materialize: () => ({}) })),
});
`,
    );
    project = await loadProject({ root: dir, definitions: 'definitions.mts', stateDir: join(dir, 'custom_state') });
    expect([...project.defs.assets.keys()]).toEqual(['raw.a_custom_state']);
    writeFileSync(join(dir, 'tables.txt'), 'a\nb\n');
    const reloaded = await definitionsReloader(project)();
    expect([...reloaded.defs.assets.keys()]).toEqual(['raw.a_custom_state', 'raw.b_custom_state']);
    expect(reloaded.graph.has('raw.b_custom_state')).toBe(true);
    expect(reloaded.store).toBe(project.store);
  });

  it('reuses plain definitions, and refuses a function that stops returning definitions', async () => {
    writeFileSync(join(dir, 'mode.txt'), 'ok');
    writeFileSync(
      join(dir, 'definitions.mts'),
      `import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { asset, defineAssets } from '${definitionsIndex}';
export default ({ root }) => readFileSync(join(root, 'mode.txt'), 'utf8') === 'ok'
  ? defineAssets({ assets: [asset({ key: 'raw.a', materialize: () => ({}) })] })
  : { assets: 'not definitions' };
`,
    );
    project = await loadProject({ root: dir, definitions: 'definitions.mts', stateDir: join(dir, 'state') });
    writeFileSync(join(dir, 'mode.txt'), 'broken');
    await expect(definitionsReloader(project)()).rejects.toThrow(/must default-export the result of defineAssets/);
  });
});
