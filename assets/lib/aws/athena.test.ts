import { describe, expect, it } from 'vitest';
import { athenaValue } from './athena.ts';

describe('athenaValue', () => {
  it('types a cell after its column: numbers, booleans, exact big BIGINTs, NULL', () => {
    expect(athenaValue('42', 'integer')).toBe(42);
    expect(athenaValue('1.5', 'double')).toBe(1.5);
    expect(athenaValue('12', 'bigint')).toBe(12);
    expect(athenaValue('9007199254740993', 'bigint')).toBe('9007199254740993');
    expect(athenaValue('true', 'boolean')).toBe(true);
    expect(athenaValue('2025-06-03 10:00:00.000', 'timestamp')).toBe('2025-06-03 10:00:00.000');
    expect(athenaValue(undefined, 'integer')).toBeNull();
  });
});
