import { describe, expect, it } from 'vitest';
import { textTable } from './index.ts';

describe('textTable', () => {
  it('pads every column but the last to its widest cell, not counting colour codes', () => {
    const red = (s: string) => `\u001b[31m${s}\u001b[39m`;
    expect(
      textTable([
        ['ASSET', 'STATUS', 'CAUSE'],
        ['raw.a', red('FAILED'), 'boom'],
        ['silver.events', 'FRESH', ''],
      ]),
    ).toBe(
      ['ASSET          STATUS  CAUSE', `raw.a          ${red('FAILED')}  boom`, 'silver.events  FRESH   '].join('\n'),
    );
  });
});
