import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { depsArchive, parsePins } from './deps-archive.ts';

/** A wheel file: a zip of `files`, each with the given modification time (wheels differ in theirs). */
function wheel(dir: string, name: string, files: Record<string, string>, mtime: Date): string {
  const path = join(dir, name);
  const entries = Object.fromEntries(
    Object.entries(files).map(([f, text]): [string, [Uint8Array, { mtime: Date }]] => [
      f,
      [new TextEncoder().encode(text), { mtime }],
    ]),
  );
  writeFileSync(path, zipSync(entries));
  return path;
}

describe('parsePins', () => {
  it('reads exact pins and skips comments', () => {
    expect(parsePins('# c\npyarrow==18.1.0  # why\n\npython-dateutil==2.9.0.post0\n', 'r.txt')).toEqual([
      { name: 'pyarrow', version: '18.1.0' },
      { name: 'python-dateutil', version: '2.9.0.post0' },
    ]);
  });

  it('refuses a range and what the service provides, naming the line', () => {
    expect(() => parsePins('numpy>=2\n', 'r.txt')).toThrow(/Line 1 of r\.txt \('numpy>=2'\) is not an exact pin/);
    expect(() => parsePins('six==1.17.0\nPySpark==3.5.9\n', 'r.txt')).toThrow(
      /r\.txt pins PySpark, which the service's Spark provides/,
    );
  });
});

describe('depsArchive', () => {
  it('unpacks wheels as pip --target does, into the same bytes whatever the wheels’ times and order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairway-wheels-'));
    const a = (t: Date) =>
      wheel(
        dir,
        `a-${t.getTime()}.whl`,
        {
          'a/__init__.py': 'A = 1\n',
          'a-1.0.dist-info/WHEEL': 'Tag: cp39-cp39-manylinux2014_x86_64\n',
          'a-1.0.data/platlib/a_ext.py': 'EXT = 2\n',
          'a-1.0.data/scripts/a-cli': '#!/bin/sh\n',
        },
        t,
      );
    const b = (t: Date) => wheel(dir, `b-${t.getTime()}.whl`, { 'b.py': 'B = 3\n' }, t);
    const one = depsArchive([a(new Date(2020, 1, 1)), b(new Date(2021, 5, 5))]);
    const two = depsArchive([b(new Date(2024, 3, 3)), a(new Date(2023, 7, 7))]);
    expect(two.equals(one)).toBe(true);
    const path = join(dir, 'deps.zip');
    writeFileSync(path, one);
    // Python's zipfile checks every CRC; the platlib file is at the root, the script is not shipped
    const script =
      'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\n' +
      'print(",".join(z.namelist())); print(oct(z.getinfo("b.py").external_attr >> 16))';
    expect(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' })).toBe(
      'a-1.0.dist-info/WHEEL,a/__init__.py,a_ext.py,b.py\n0o100644\n',
    );
    expect(() => depsArchive([b(new Date(2020, 1, 1)), b(new Date(2022, 1, 1))])).toThrow(/Two wheels install 'b\.py'/);
  });
});
