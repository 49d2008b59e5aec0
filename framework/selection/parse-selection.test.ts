import { describe, expect, it } from 'vitest';
import { SelectionError } from '../errors/index.ts';
import { parseSelection } from './index.ts';
import { MAX_SELECTION_DEPTH } from './parse-selection.ts';

/** The AST with spans dropped, for readable shape assertions. */
function shape(text: string): unknown {
  return JSON.parse(JSON.stringify(parseSelection(text), (k, v) => (k === 'start' || k === 'end' ? undefined : v)));
}

function selectionError(text: string): SelectionError {
  try {
    parseSelection(text);
  } catch (e) {
    expect(e).toBeInstanceOf(SelectionError);
    return e as SelectionError;
  }
  throw new Error(`expected '${text}' to fail`);
}

const key = (pattern: string) => ({ type: 'key', pattern });

describe('parseSelection', () => {
  it('refuses a selection nested deeper than MAX_SELECTION_DEPTH with a clear error, not a stack overflow', () => {
    const deep = (n: number, open: string, close: string) => `${open.repeat(n)}bronze.a${close.repeat(n)}`;
    expect(() => parseSelection(deep(MAX_SELECTION_DEPTH, '(', ')'))).not.toThrow();
    for (const text of [deep(2000, '(', ')'), deep(2000, 'not ', ''), deep(2000, 'roots(', ')')]) {
      expect(() => parseSelection(text)).toThrow(SelectionError);
      expect(() => parseSelection(text)).toThrow(`nests deeper than ${MAX_SELECTION_DEPTH} levels`);
    }
  });

  it('parses keys, globs and attributes', () => {
    expect(shape('silver.dim_course')).toEqual(key('silver.dim_course'));
    expect(shape('*')).toEqual(key('*'));
    expect(shape('*telemetry*')).toEqual(key('*telemetry*'));
    expect(shape('Silver.Dim_Course')).toEqual(key('silver.dim_course'));
    expect(shape('group:silver')).toEqual({ type: 'attribute', name: 'group', value: 'silver' });
    expect(shape('tag:pii=true')).toEqual({ type: 'attribute', name: 'tag', value: 'pii=true' });
    expect(shape('owner:team:data')).toEqual({ type: 'attribute', name: 'owner', value: 'team:data' });
    expect(shape('tag:team="data eng"')).toEqual({ type: 'attribute', name: 'tag', value: 'team=data eng' });
    expect(shape('KEY:Gold.*')).toEqual({ type: 'attribute', name: 'key', value: 'gold.*' });
  });

  it('parses traversal depths before and after an operand', () => {
    expect(shape('+a.x')).toEqual({ type: 'traverse', up: 1, operand: key('a.x') });
    expect(shape('a.x+')).toEqual({ type: 'traverse', down: 1, operand: key('a.x') });
    expect(shape('3+a.x+12')).toEqual({ type: 'traverse', up: 3, down: 12, operand: key('a.x') });
    expect(shape('++a.x++')).toEqual({ type: 'traverse', up: 'all', down: 'all', operand: key('a.x') });
    expect(shape('+(group:silver)')).toEqual({
      type: 'traverse',
      up: 1,
      operand: { type: 'attribute', name: 'group', value: 'silver' },
    });
    expect(shape('+roots(*)')).toEqual({
      type: 'traverse',
      up: 1,
      operand: { type: 'call', name: 'roots', argument: key('*') },
    });
  });

  it('gives not > and > or > list precedence, keywords in any case', () => {
    expect(shape('a.x or b.y AND NOT c.z')).toEqual({
      type: 'or',
      operands: [key('a.x'), { type: 'and', operands: [key('b.y'), { type: 'not', operand: key('c.z') }] }],
    });
    expect(shape('not a.x and b.y')).toEqual({
      type: 'and',
      operands: [{ type: 'not', operand: key('a.x') }, key('b.y')],
    });
    expect(shape('(a.x or b.y) and c.z')).toEqual({
      type: 'and',
      operands: [{ type: 'or', operands: [key('a.x'), key('b.y')] }, key('c.z')],
    });
    expect(shape('a.x and b.y c.z')).toEqual({
      type: 'or',
      operands: [{ type: 'and', operands: [key('a.x'), key('b.y')] }, key('c.z')],
    });
    expect(shape('not not a.x')).toEqual({ type: 'not', operand: { type: 'not', operand: key('a.x') } });
  });

  it('accepts a comma or whitespace separated list at the top level, flattened into one or', () => {
    const expected = { type: 'or', operands: [key('a.x'), key('b.y'), key('c.z'), key('d.w')] };
    expect(shape('a.x b.y,c.z , d.w')).toEqual(expected);
    expect(shape('a.x or (b.y or c.z) d.w')).toEqual(expected);
  });

  it('parses functions, case-insensitively and with a space before the parenthesis', () => {
    expect(shape('roots(group:gold)')).toEqual({
      type: 'call',
      name: 'roots',
      argument: { type: 'attribute', name: 'group', value: 'gold' },
    });
    expect(shape('SINKS (a.x or b.y)')).toEqual({
      type: 'call',
      name: 'sinks',
      argument: { type: 'or', operands: [key('a.x'), key('b.y')] },
    });
  });

  it('records spans for highlighting', () => {
    expect(parseSelection('  +(group:silver) or b.y+2')).toEqual({
      type: 'or',
      start: 2,
      end: 26,
      operands: [
        {
          type: 'traverse',
          up: 1,
          start: 2,
          end: 17,
          operand: { type: 'attribute', name: 'group', value: 'silver', start: 3, end: 17 },
        },
        { type: 'traverse', down: 2, start: 21, end: 26, operand: { type: 'key', pattern: 'b.y', start: 21, end: 24 } },
      ],
    });
  });

  it.each([
    ['', 0, "Selection is empty. Try '*' for all assets, or an asset key."],
    ['   ', 0, "Selection is empty. Try '*' for all assets, or an asset key."],
    ['a.x and', 7, "Expected an asset key, attribute or '(' but found end of selection."],
    ['a.x or or b.y', 7, "Expected an asset key, attribute or '(' but found 'or'."],
    ['(a.x or b.y', 0, "Unbalanced '(': add the missing ')'."],
    ['+(a.x or (b.y)', 1, "Unbalanced '(': add the missing ')'."],
    ['a.x or b.y)', 10, "Unbalanced ')': there is no '(' for it to close."],
    ['(a.x b.y)', 5, "Expected ')' but found 'b.y'."],
    ['roots(a.x, b.y)', 9, "Expected ')' but found ','."],
    ['a.x+b.y', 4, "Unexpected 'b.y'. Separate selections with a space, a comma, 'or' or 'and'."],
    ['a.x(b.y)', 0, "Unknown function 'a.x'. Functions are 'roots(…)', 'sinks(…)'."],
    ['a.x or root(b.y)', 7, "Unknown function 'root'. Did you mean 'roots'? Functions are 'roots(…)', 'sinks(…)'."],
    [
      'grup:silver',
      0,
      "Unknown attribute 'grup:'. Did you mean 'group'? Attributes are 'group:', 'kind:', 'tag:', 'owner:', 'key:'.",
    ],
    ['group:', 6, "Expected a value after 'group:', like 'group:silver'."],
    ['a.x or owner:"data', 13, "Unterminated quoted value: add the closing '\"'."],
    [':silver', 0, "Unexpected ':'. Attributes are written like 'group:silver'."],
    ['+++a.x', 0, "Unexpected '+++': use '+' for one level or '++' for all."],
    ['a.x + b.y', 4, "'+' must be attached to a selection, like '+silver.clean' or 'silver.clean+'."],
    ['++ a.x', 0, "'++' must be attached to a selection, like '+silver.clean' or 'silver.clean+'."],
    ['+and', 0, "'+' must be attached to a selection, like '+silver.clean' or 'silver.clean+'."],
    ['2 a.x', 0, "Unexpected number '2'. A depth is written like '2+key' or 'key+2'."],
    ['2++a.x', 0, "Unexpected number '2'. A depth is written like '2+key' or 'key+2'."],
    ['a.x+ 2', 5, "Unexpected number '2'. A depth is written like '2+key' or 'key+2'."],
  ])('rejects %j at position %i', (text, position, message) => {
    const e = selectionError(text);
    expect(e.code).toBe('SELECTION_INVALID');
    expect(e.position).toBe(position);
    expect(e.message).toBe(`${message}\n  ${text}\n  ${' '.repeat(position)}^`);
  });
});
