import { isUtf8 } from 'node:buffer';

/** A text encoding Bronze refuses, and what gave it away. */
export interface UnsupportedEncoding {
  /** `UTF-16 LE`, `UTF-16 BE`, `UTF-32 LE`, `UTF-32 BE` or `invalid UTF-8`. */
  encoding: string;
  evidence: string;
}

/** Byte order marks of encodings Bronze refuses; UTF-32 LE first, as its mark starts like UTF-16 LE's. */
const BOMS: [number[], string][] = [
  [[0xff, 0xfe, 0x00, 0x00], 'UTF-32 LE'],
  [[0x00, 0x00, 0xfe, 0xff], 'UTF-32 BE'],
  [[0xff, 0xfe], 'UTF-16 LE'],
  [[0xfe, 0xff], 'UTF-16 BE'],
];
const hex = (bytes: readonly number[]) => bytes.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
/** Enough bytes to see the NUL pattern of a UTF-16/32 text without reading a big file twice. */
const SNIFF_BYTES = 4096;

/**
 * Why `bytes` are not UTF-8 text Bronze can take (UTF-16 or UTF-32 with or without a byte order mark,
 * or invalid UTF-8), or undefined when they are UTF-8, with or without a UTF-8 byte order mark.
 * Silver decodes exports as UTF-8 and replaces what does not decode, so such a file would land and
 * yield wrong or no rounds instead of an error.
 * @example unsupportedEncoding(Buffer.from('\uFEFF_id', 'utf16le'))?.encoding // 'UTF-16 LE'
 */
export function unsupportedEncoding(bytes: Buffer): UnsupportedEncoding | undefined {
  for (const [bom, encoding] of BOMS) {
    if (bytes.length >= bom.length && bom.every((b, i) => bytes[i] === b))
      return { encoding, evidence: `byte order mark ${hex(bom)}` };
  }
  const byNul = nulPattern(bytes.subarray(0, SNIFF_BYTES));
  if (byNul) return byNul;
  if (isUtf8(bytes)) return undefined;
  const at = firstInvalidUtf8(bytes);
  let line = 1;
  for (let i = 0; i < at; i++) if (bytes[i] === 0x0a) line++;
  return {
    encoding: 'invalid UTF-8',
    evidence:
      at < 0
        ? 'a byte sequence that is not UTF-8'
        : `byte ${hex([bytes[at]!])} at offset ${at}, line ${line}, does not decode; ` +
          'probably an 8-bit code page such as Windows-1252 or Latin-1',
  };
}

/**
 * UTF-16/32 without a byte order mark: text that is mostly ASCII has a NUL beside every character byte,
 * at the same positions modulo 2 (UTF-16) or 4 (UTF-32). UTF-8 text has no NUL bytes at all.
 */
function nulPattern(sample: Buffer): UnsupportedEncoding | undefined {
  if (sample.length < 8 || !sample.includes(0)) return undefined;
  const zeros = [0, 0, 0, 0];
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < sample.length; i++) {
    counts[i % 4]! += 1;
    if (sample[i] === 0) zeros[i % 4]! += 1;
  }
  const [z0, z1, z2, z3] = zeros.map((z, i) => z / counts[i]!) as [number, number, number, number];
  const seen = (encoding: string, pattern: string) => ({
    encoding,
    evidence: `no byte order mark, but ${pattern} of the first ${sample.length} bytes are NUL`,
  });
  if (z1 > 0.9 && z2 > 0.9 && z3 > 0.9 && z0 < 0.1) return seen('UTF-32 LE', 'bytes 2-4 of every 4');
  if (z0 > 0.9 && z1 > 0.9 && z2 > 0.9 && z3 < 0.1) return seen('UTF-32 BE', 'bytes 1-3 of every 4');
  const even = (z0 + z2) / 2;
  const odd = (z1 + z3) / 2;
  if (odd > 0.5 && even < 0.1) return seen('UTF-16 LE', 'the 2nd, 4th, 6th… bytes');
  if (even > 0.5 && odd < 0.1) return seen('UTF-16 BE', 'the 1st, 3rd, 5th… bytes');
  return undefined;
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629), or -1. */
function firstInvalidUtf8(b: Buffer): number {
  const cont = (i: number, lo = 0x80, hi = 0xbf) => i < b.length && b[i]! >= lo && b[i]! <= hi;
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) i += 1;
    else if (c >= 0xc2 && c <= 0xdf && cont(i + 1)) i += 2;
    else if (c >= 0xe0 && c <= 0xef && cont(i + 1, c === 0xe0 ? 0xa0 : 0x80, c === 0xed ? 0x9f : 0xbf) && cont(i + 2))
      i += 3;
    else if (
      c >= 0xf0 &&
      c <= 0xf4 &&
      cont(i + 1, c === 0xf0 ? 0x90 : 0x80, c === 0xf4 ? 0x8f : 0xbf) &&
      cont(i + 2) &&
      cont(i + 3)
    )
      i += 4;
    else return i;
  }
  return -1;
}
