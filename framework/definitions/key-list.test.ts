import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GridKeys, isKeyArrayOf, keyArray, keyGridOf, listOf, PartitionLists } from './index.ts';

const values = fc.uniqueArray(fc.string({ maxLength: 4 }), { maxLength: 6 });

describe('GridKeys', () => {
  it('reads each key by position as the whole list holds it, and makes the list once', () => {
    fc.assert(
      fc.property(values, values, fc.array(fc.nat(40)), (first, second, reads) => {
        const grid = new GridKeys({ dimensions: ['course_id', 'day'], first, second });
        const want = first.flatMap((x) => second.map((y) => `course_id=${x},day=${y}`));
        expect(grid.length).toBe(want.length);
        for (const i of reads) expect(grid.at(i)).toBe(want[i]); // before the list is made
        expect(grid.made).toBeUndefined();
        expect([...grid]).toEqual(want);
        const made = grid.array();
        expect(made).toBe(grid.made);
        expect(grid.array()).toBe(made);
        expect(keyArray(grid)).toBe(made);
        expect(isKeyArrayOf(grid, made)).toBe(true);
        expect(isKeyArrayOf(grid, [...made])).toBe(false);
        expect(keyGridOf(grid)).toEqual({ dimensions: ['course_id', 'day'], first, second });
        expect(keyGridOf(made)).toBe(keyGridOf(grid));
        expect(keyGridOf([...made])).toBeUndefined();
      }),
    );
  });
});

describe('PartitionLists', () => {
  it('holds a lazy list as it is and makes its keys only when read as a map of arrays', () => {
    const grid = new GridKeys({ dimensions: ['a', 'b'], first: ['1', '2'], second: ['x', 'y'] });
    const lists = new PartitionLists();
    lists.setList('x.grid', grid);
    lists.setList('x.plain', ['p=1']);
    expect(listOf(lists, 'x.grid')).toBe(grid);
    expect(grid.made).toBeUndefined();
    expect([lists.size, lists.has('x.grid')]).toEqual([2, true]);
    expect(lists.get('x.grid')).toEqual(['a=1,b=x', 'a=1,b=y', 'a=2,b=x', 'a=2,b=y']);
    expect(lists.get('x.grid')).toBe(grid.made);
    expect(Object.fromEntries(lists)).toEqual({ 'x.grid': grid.made, 'x.plain': ['p=1'] });
    expect([...lists.values()]).toEqual([grid.made, ['p=1']]);
    // a list set as an array replaces the lazy one (a scope cut to some partitions)
    lists.set('x.grid', ['a=1,b=x']);
    expect(listOf(lists, 'x.grid')).toEqual(['a=1,b=x']);
    expect(listOf(new Map([['k', ['p']]]), 'k')).toEqual(['p']);
  });
});
