import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { storedZip } from './stored-zip.ts';

describe('storedZip', () => {
  it('gives the same bytes for the same files in any order, readable by a standard zip reader', () => {
    const a = { name: 'silver/parse.py', data: Buffer.from('def parse():\n    return 1\n') };
    const b = { name: 'pipes.py', data: Buffer.from('# pipes\n') };
    const zip = storedZip([a, b]);
    expect(storedZip([b, a]).equals(zip)).toBe(true);
    expect(storedZip([b, { ...a, data: Buffer.from('changed') }]).equals(zip)).toBe(false);
    const path = join(mkdtempSync(join(tmpdir(), 'fairway-zip-')), 'x.zip');
    writeFileSync(path, zip);
    // Python's zipfile checks every CRC (-t) and lists the entries in archive order
    const script =
      'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\n' +
      'print(",".join(z.namelist())); print(z.read("silver/parse.py").decode(), end="")';
    const out = execFileSync('python3', ['-c', script, path], { encoding: 'utf8' });
    expect(out).toBe('pipes.py,silver/parse.py\ndef parse():\n    return 1\n');
  });
});
