import { SelectionError } from '../errors/index.ts';

export type TokenType = 'word' | 'number' | 'attr' | 'plus' | '(' | ')' | ',' | 'and' | 'or' | 'not' | 'eof';

export interface Token {
  type: TokenType;
  /** The token as written (for `attr`, the whole `name:value`). */
  text: string;
  start: number;
  end: number;
  /** Whitespace separates it from the previous token: what makes `a.x b.y` a list. */
  spaceBefore: boolean;
  /** For `attr` tokens: the attribute name and its (unquoted) value. */
  name?: string;
  value?: string;
}

const KEYWORDS: Readonly<Record<string, TokenType>> = { and: 'and', or: 'or', not: 'not' };
const PUNCTUATION = new Set(['(', ')', ',', '+', ':', '"']);
const isSpace = (c: string) => /\s/.test(c);
const isWordChar = (c: string) => !isSpace(c) && !PUNCTUATION.has(c);
// Attribute values may contain ':' (owner:team:data); they still end at punctuation that has meaning.
const isValueChar = (c: string) => c === ':' || isWordChar(c);

/** Splits a selection string into tokens, ending with an `eof` token. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let spaceBefore = false;
  const push = (type: TokenType, start: number, end: number, extra: Partial<Token> = {}) => {
    tokens.push({ type, text: text.slice(start, end), start, end, spaceBefore, ...extra });
    spaceBefore = false;
  };
  while (i < text.length) {
    const c = text[i]!;
    const start = i;
    if (isSpace(c)) {
      spaceBefore = true;
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      push(c, start, ++i);
    } else if (c === '+') {
      while (text[i] === '+') i++;
      if (i - start > 2) {
        throw new SelectionError(
          `Unexpected '${text.slice(start, i)}': use '+' for one level or '++' for all.`,
          text,
          start,
        );
      }
      push('plus', start, i);
    } else if (c === ':' || c === '"') {
      throw new SelectionError(`Unexpected '${c}'. Attributes are written like 'group:silver'.`, text, start);
    } else {
      while (i < text.length && isWordChar(text[i]!)) i++;
      const word = text.slice(start, i);
      if (text[i] === ':') {
        const { value, end } = readValue(text, i + 1, word);
        i = end;
        push('attr', start, end, { name: word, value });
      } else if (/^\d+$/.test(word)) {
        push('number', start, i);
      } else {
        push(KEYWORDS[word.toLowerCase()] ?? 'word', start, i);
      }
    }
  }
  push('eof', text.length, text.length);
  return tokens;
}

function readValue(text: string, from: number, name: string): { value: string; end: number } {
  // Quotes may wrap any part of the value: `owner:"Data Eng"`, `tag:team="data eng"`.
  let value = '';
  let end = from;
  while (end < text.length) {
    const c = text[end]!;
    if (c === '"') {
      const close = text.indexOf('"', end + 1);
      if (close === -1) throw new SelectionError("Unterminated quoted value: add the closing '\"'.", text, end);
      value += text.slice(end + 1, close);
      end = close + 1;
    } else if (isValueChar(c)) {
      value += c;
      end++;
    } else {
      break;
    }
  }
  if (end === from) {
    throw new SelectionError(`Expected a value after '${name}:', like '${name}:silver'.`, text, from);
  }
  return { value, end };
}
