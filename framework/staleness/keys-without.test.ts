import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GridKeys } from '../definitions/index.ts';
import { KeysWithout } from './keys-without.ts';

describe('KeysWithout', () => {
  it('reads the keys but the left-out ones by position, as filtering the list does', () => {
    const values = fc.uniqueArray(fc.stringMatching(/^[a-d]{1,2}$/), { maxLength: 6 });
    fc.assert(
      fc.property(values, values, fc.boolean(), fc.array(fc.nat(40)), (first, second, lazy, picks) => {
        const grid = new GridKeys({ dimensions: ['a', 'b'], first: [...first].sort(), second: [...second].sort() });
        const all = [...grid];
        const keys = lazy
          ? new GridKeys({ dimensions: ['a', 'b'], first: [...first].sort(), second: [...second].sort() })
          : all;
        const without = [...new Set(picks.filter((i) => i < all.length).map((i) => all[i]!))].sort();
        const view = new KeysWithout(keys, without);
        const want = all.filter((k) => !without.includes(k));
        expect(view.length).toBe(want.length);
        for (let i = -1; i <= want.length; i++) expect(view.at(i)).toBe(want[i]);
        expect(view.made).toBeUndefined();
        expect([...view]).toEqual(want);
      }),
    );
  });
});
