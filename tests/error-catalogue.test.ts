import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATALOGUES, ERRORS_PAGE, renderErrorCatalogue } from '../scripts/error-catalogue.ts';

describe('the error-code catalogue', () => {
  it('docs/errors.md is written from the catalogues (node --import tsx scripts/error-catalogue.ts)', () => {
    expect(readFileSync(ERRORS_PAGE, 'utf8')).toBe(renderErrorCatalogue());
  });

  it('names every code once, and each is thrown somewhere in the production code', () => {
    const codes = CATALOGUES.flatMap((c) => Object.keys(c.codes));
    expect(new Set(codes).size).toBe(codes.length);
    const sources = execFileSync('git', ['ls-files', 'cli', 'framework', 'ui', 'stack', 'assets'], { encoding: 'utf8' })
      .split('\n')
      .filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.test.ts') && !/error-codes\.ts$|errors\/codes\.ts$/.test(f))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    expect(codes.filter((code) => !sources.includes(`'${code}'`))).toEqual([]);
  });
});
