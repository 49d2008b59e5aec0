import { didYouMean } from '../definitions/index.ts';
import { SelectionError } from '../errors/index.ts';
import { type Token, tokenize } from './tokenize.ts';

export const SELECTION_ATTRIBUTES = ['group', 'kind', 'tag', 'owner', 'key'] as const;
export type SelectionAttribute = (typeof SELECTION_ATTRIBUTES)[number];
export const SELECTION_FUNCTIONS = ['roots', 'sinks'] as const;
export type SelectionFunction = (typeof SELECTION_FUNCTIONS)[number];

/** How far a traversal reaches: a number of hops, or `'all'` for every ancestor/descendant. */
export type SelectionDepth = number | 'all';

interface Span {
  /** Offsets into the selection text, for highlighting and error carets. */
  start: number;
  end: number;
}

/**
 * A parsed selection. Plain JSON-safe data so the UI can reuse it. Key patterns are lowercased;
 * `*` in a pattern or attribute value matches any run of characters.
 */
export type SelectionAst =
  | ({ type: 'key'; pattern: string } & Span)
  | ({ type: 'attribute'; name: SelectionAttribute; value: string } & Span)
  | ({ type: 'traverse'; up?: SelectionDepth; down?: SelectionDepth; operand: SelectionAst } & Span)
  | ({ type: 'call'; name: SelectionFunction; argument: SelectionAst } & Span)
  | ({ type: 'not'; operand: SelectionAst } & Span)
  | ({ type: 'and' | 'or'; operands: SelectionAst[] } & Span);

/**
 * Parses Fairway's asset selection syntax (Dagster's, adapted). Precedence, loosest first:
 * top-level list (`a.x b.y`, `a.x,b.y`), `or`, `and`, `not`, then `+`/`N+`/`++` around an atom.
 *
 * @example
 * parseSelection('+silver.* and not tag:pii');
 * parseSelection('roots(group:gold) gold.summary+2');
 */
export function parseSelection(text: string): SelectionAst {
  return new Parser(text).parseSelection();
}

const quoteToken = (t: Token) => (t.type === 'eof' ? 'end of selection' : `'${t.text}'`);
const span = (first: Span, last: Span): Span => ({ start: first.start, end: last.end });

/** Deepest nesting of parentheses, calls and `not` a selection may have (a deeper one is refused, not a crash). */
export const MAX_SELECTION_DEPTH = 64;

class Parser {
  readonly #text: string;
  readonly #tokens: Token[];
  #at = 0;
  #depth = 0;

  /** Runs `parse` one level deeper, refusing past MAX_SELECTION_DEPTH. */
  #nested<T>(t: Token, parse: () => T): T {
    if (++this.#depth > MAX_SELECTION_DEPTH) {
      throw this.#error(
        `The selection nests deeper than ${MAX_SELECTION_DEPTH} levels (parentheses, functions, 'not'). Write it flatter.`,
        t.start,
      );
    }
    try {
      return parse();
    } finally {
      this.#depth--;
    }
  }

  constructor(text: string) {
    this.#text = text;
    this.#tokens = tokenize(text);
  }

  parseSelection(): SelectionAst {
    if (this.#peek().type === 'eof') {
      throw this.#error("Selection is empty. Try '*' for all assets, or an asset key.", 0);
    }
    const items = [this.#parseOr()];
    for (;;) {
      const t = this.#peek();
      if (t.type === 'eof') break;
      if (t.type === ',') {
        this.#next();
        items.push(this.#parseOr());
      } else if (t.type === ')') {
        throw this.#error("Unbalanced ')': there is no '(' for it to close.", t.start);
      } else if (t.spaceBefore && startsOperand(t)) {
        items.push(this.#parseOr());
      } else {
        throw this.#error(
          `Unexpected ${quoteToken(t)}. Separate selections with a space, a comma, 'or' or 'and'.`,
          t.start,
        );
      }
    }
    return combine('or', items);
  }

  #parseOr(): SelectionAst {
    const items = [this.#parseAnd()];
    while (this.#peek().type === 'or') {
      this.#next();
      items.push(this.#parseAnd());
    }
    return combine('or', items);
  }

  #parseAnd(): SelectionAst {
    const items = [this.#parseNot()];
    while (this.#peek().type === 'and') {
      this.#next();
      items.push(this.#parseNot());
    }
    return combine('and', items);
  }

  #parseNot(): SelectionAst {
    const t = this.#peek();
    if (t.type !== 'not') return this.#parseTraversal();
    this.#next();
    const operand = this.#nested(t, () => this.#parseNot());
    return { type: 'not', operand, ...span(t, operand) };
  }

  #parseTraversal(): SelectionAst {
    const first = this.#peek();
    const up = this.#parsePrefix();
    const operand = this.#parsePrimary();
    const down = this.#parseSuffix(operand);
    if (up === undefined && down === undefined) return operand;
    const node: SelectionAst = { type: 'traverse', operand, ...span(first, this.#previous()) };
    if (up !== undefined) node.up = up;
    if (down !== undefined) node.down = down;
    return node;
  }

  /** `+`, `N+` or `++` written directly before an operand. */
  #parsePrefix(): SelectionDepth | undefined {
    const t = this.#peek();
    if (t.type === 'number') {
      const plus = this.#tokens[this.#at + 1]!;
      if (plus.type !== 'plus' || plus.spaceBefore || plus.text !== '+') {
        throw this.#error(`Unexpected number '${t.text}'. A depth is written like '2+key' or 'key+2'.`, t.start);
      }
      this.#next();
      this.#expectAttached(this.#next());
      return Number(t.text);
    }
    if (t.type !== 'plus') return undefined;
    this.#next();
    this.#expectAttached(t);
    return t.text === '++' ? 'all' : 1;
  }

  /** `+`, `+N` or `++` written directly after `operand`. */
  #parseSuffix(operand: Span): SelectionDepth | undefined {
    const t = this.#peek();
    if (t.type !== 'plus' || t.start !== operand.end) return undefined;
    this.#next();
    if (t.text === '++') return 'all';
    const n = this.#peek();
    if (n.type === 'number' && !n.spaceBefore) {
      this.#next();
      return Number(n.text);
    }
    return 1;
  }

  #expectAttached(plus: Token): void {
    const next = this.#peek();
    if (next.spaceBefore || !startsPrimary(next)) {
      throw this.#error(
        `'${this.#text.slice(plus.start, plus.end)}' must be attached to a selection, like '+silver.clean' or 'silver.clean+'.`,
        plus.start,
      );
    }
  }

  #parsePrimary(): SelectionAst {
    const t = this.#next();
    switch (t.type) {
      case 'word': {
        const open = this.#peek();
        const isCall = open.type === '(' && (!open.spaceBefore || isFunction(t.text));
        if (isCall) return this.#nested(t, () => this.#parseCall(t));
        return { type: 'key', pattern: t.text.toLowerCase(), start: t.start, end: t.end };
      }
      case 'attr': {
        const name = t.name!.toLowerCase();
        if (!isAttribute(name)) {
          throw this.#error(
            `Unknown attribute '${t.name}:'.${didYouMean(name, SELECTION_ATTRIBUTES)} ` +
              `Attributes are ${SELECTION_ATTRIBUTES.map((a) => `'${a}:'`).join(', ')}.`,
            t.start,
          );
        }
        const value = name === 'key' ? t.value!.toLowerCase() : t.value!;
        return { type: 'attribute', name, value, start: t.start, end: t.end };
      }
      case '(': {
        const inner = this.#nested(t, () => this.#parseOr());
        this.#expectClose(t);
        return { ...inner, ...span(t, this.#previous()) };
      }
      default:
        throw this.#error(`Expected an asset key, attribute or '(' but found ${quoteToken(t)}.`, t.start);
    }
  }

  #parseCall(name: Token): SelectionAst {
    const fn = name.text.toLowerCase();
    if (!isFunction(fn)) {
      throw this.#error(
        `Unknown function '${name.text}'.${didYouMean(fn, SELECTION_FUNCTIONS)} ` +
          `Functions are ${SELECTION_FUNCTIONS.map((f) => `'${f}(…)'`).join(', ')}.`,
        name.start,
      );
    }
    const open = this.#next();
    const argument = this.#parseOr();
    this.#expectClose(open);
    return { type: 'call', name: fn, argument, ...span(name, this.#previous()) };
  }

  #expectClose(open: Token): void {
    const t = this.#peek();
    if (t.type === ')') {
      this.#next();
      return;
    }
    if (t.type === 'eof') throw this.#error("Unbalanced '(': add the missing ')'.", open.start);
    throw this.#error(`Expected ')' but found ${quoteToken(t)}.`, t.start);
  }

  #peek(): Token {
    return this.#tokens[this.#at]!;
  }

  #next(): Token {
    const t = this.#tokens[this.#at]!;
    if (t.type !== 'eof') this.#at++;
    return t;
  }

  #previous(): Token {
    return this.#tokens[this.#at - 1]!;
  }

  #error(message: string, position: number): SelectionError {
    return new SelectionError(message, this.#text, position);
  }
}

function combine(type: 'and' | 'or', items: SelectionAst[]): SelectionAst {
  if (items.length === 1) return items[0]!;
  // Flatten `a or (b or c)` so the UI and evaluator see one n-ary node.
  const operands = items.flatMap((i) => (i.type === type ? i.operands : [i]));
  return { type, operands, ...span(items[0]!, items[items.length - 1]!) };
}

const startsPrimary = (t: Token) => t.type === 'word' || t.type === 'attr' || t.type === '(';
const startsOperand = (t: Token) => startsPrimary(t) || t.type === 'plus' || t.type === 'number' || t.type === 'not';
const isAttribute = (name: string): name is SelectionAttribute =>
  (SELECTION_ATTRIBUTES as readonly string[]).includes(name);
const isFunction = (name: string): name is SelectionFunction =>
  (SELECTION_FUNCTIONS as readonly string[]).includes(name.toLowerCase());
