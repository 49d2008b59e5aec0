import { describe, expect, it } from 'vitest';
import { builtinsFromProcess } from './build.mjs';

describe("the build's imports of Node built-ins", () => {
  it('become process.getBuiltinModule for named, renamed, default and namespace imports', () => {
    const out = builtinsFromProcess(
      [
        'import { readFileSync, writeFileSync as write } from "node:fs";',
        'import path from "node:path";',
        'import * as os from "node:os";',
        'import mod, { createRequire } from "node:module";',
        'import { x } from "./local.js";',
        'const s = \'import { y } from "node:fs";\';',
      ].join('\n'),
    );
    expect(out.split('\n')).toEqual([
      'const { readFileSync, writeFileSync: write } = process.getBuiltinModule("node:fs");',
      'const path = process.getBuiltinModule("node:path");',
      'const os = process.getBuiltinModule("node:os");',
      'const mod = process.getBuiltinModule("node:module"); const { createRequire } = mod;',
      'import { x } from "./local.js";',
      'const s = \'import { y } from "node:fs";\';',
    ]);
  });

  it('of node:fs/promises load it on the first call of a function, not at import', async () => {
    const out = builtinsFromProcess('import { readFile as read, constants } from "node:fs/promises";');
    expect(out).toBe(
      'const { constants } = process.getBuiltinModule("node:fs/promises"); ' +
        'const read = (...args) => process.getBuiltinModule("node:fs/promises").readFile(...args);',
    );
    const read = new Function(`${out.replace('const { constants } =', 'void')} return read;`)();
    expect(await read(new URL(import.meta.url), 'utf8')).toContain('node:fs/promises');
  });

  it("of node:crypto's and node:child_process's functions load them on first call; a class is imported as it is", () => {
    const out = builtinsFromProcess('import { createHash, Hash as H } from "node:crypto";');
    expect(out).toBe(
      'const { Hash: H } = process.getBuiltinModule("node:crypto"); ' +
        'const createHash = (...args) => process.getBuiltinModule("node:crypto").createHash(...args);',
    );
    const createHash = new Function(`${out.replace('const { Hash: H } =', 'void')} return createHash;`)();
    expect(createHash('sha256').update('x').digest('hex')).toMatch(/^2d711642/);
    expect(builtinsFromProcess('import { ChildProcess, spawn } from "node:child_process";')).toBe(
      'const { ChildProcess } = process.getBuiltinModule("node:child_process"); ' +
        'const spawn = (...args) => process.getBuiltinModule("node:child_process").spawn(...args);',
    );
  });

  it('keep the line count of a statement spread over lines, so source maps still match', () => {
    const text = 'import {\n  existsSync,\n  readFileSync as read\n} from "node:fs";\nuse(read);';
    const out = builtinsFromProcess(text);
    expect(out.split('\n')).toHaveLength(text.split('\n').length);
    expect(out.split('\n')[0]).toBe('const { existsSync, readFileSync: read } = process.getBuiltinModule("node:fs");');
    expect(out.split('\n')[4]).toBe('use(read);');
  });

  it('match what esbuild prints: no ES import of a built-in is left in its output', async () => {
    const esbuild = await import('esbuild');
    const names = Array.from({ length: 12 }, (_, i) => `averyveryverylongname${i}`);
    const source = [
      `import { ${names.map((n) => `readFileSync as ${n}`).join(', ')} } from 'node:fs';`,
      "import { setTimeout as sleep } from 'node:timers/promises';",
      "import * as path from 'node:path';",
      "import os from 'node:os';",
      `export const used = [${names.join(', ')}, sleep, path, os];`,
    ].join('\n');
    const { code } = await esbuild.transform(source, { loader: 'ts', format: 'esm' });
    expect(code).toMatch(/from "node:fs"/); // what the rewrite has to find
    const out = builtinsFromProcess(code);
    expect(out).not.toMatch(/from "node:/);
    expect(out).toContain('const { setTimeout: sleep } = process.getBuiltinModule("node:timers/promises");');
  });
});
