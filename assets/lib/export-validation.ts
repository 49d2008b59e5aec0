import { createRequire } from 'node:module';
import { extname } from 'node:path';
import type { Options } from 'csv-parse/sync';
import { csvRecords } from './csv-records.ts';
import { unsupportedEncoding } from './unsupported-encoding.ts';

/**
 * csv-parse (~60 KB in ten modules), required on the first header scan: every load of the lakehouse (`fairway
 * list` too) imports this file, which only a Bronze run calls.
 */
let csvParse: typeof import('csv-parse/sync') | undefined;
const parse = (input: string | Buffer, options: Options) => {
  csvParse ??= createRequire(import.meta.url)('csv-parse/sync') as typeof import('csv-parse/sync');
  return csvParse.parse(input, options);
};

/**
 * Bronze's cheap validation of one export (CSV or JSON): the reasons a file is quarantined instead of landed.
 */
/**
 * Why a whole file is quarantined. Keep in step with docs/learning/lakehouse_layers.md (Bronze) and the
 * sample manifest's `bronze_reject_reason`.
 */
export type RejectReason =
  | 'empty_file'
  | 'no_records'
  | 'missing_required_column:_id'
  | 'missing_required_column:course'
  | 'unreadable'
  | 'malformed_json'
  | 'unsupported_encoding'
  | 'duplicate_column'
  | 'header_too_long'
  | 'file_system_error';

export type ExportValidation =
  | {
      ok: true;
      format: 'csv' | 'json';
      rounds: number;
      /** CSV records whose cell count differs from the header (dropped by Silver). */
      recordsMalformed: number;
      /** The first record's `course` value, for the course-mismatch warning. */
      firstCourse: string | undefined;
    }
  | { ok: false; reason: RejectReason; details: string };

const REQUIRED = ['_id', 'course'] as const;
/** The most bytes read to find a CSV header: a longer first line is not a round export's header. */
export const HEADER_SCAN_BYTES = 4 * 1024 * 1024;

/**
 * Cheap whole-file checks before bytes land in Bronze: not empty, UTF-8, readable, a CSV header within
 * `headerScanBytes` and without repeated columns, `_id` and `course` present, at least one record.
 * Reasons match the sample manifest's `bronze_reject_reason`.
 */
export function validateExport(bytes: Buffer, fileName: string, headerScanBytes = HEADER_SCAN_BYTES): ExportValidation {
  if (bytes.length === 0) return { ok: false, reason: 'empty_file', details: `${fileName} is 0 bytes` };
  const encoding = unsupportedEncoding(bytes);
  if (encoding) {
    return {
      ok: false,
      reason: 'unsupported_encoding',
      details:
        `${fileName} is ${encoding.encoding} (${encoding.evidence}); Bronze takes UTF-8 only: ` +
        're-export the file as UTF-8 (a UTF-8 byte order mark is fine)',
    };
  }
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  if (text.trim() === '') return { ok: false, reason: 'no_records', details: `${fileName} holds only whitespace` };
  const ext = extname(fileName).toLowerCase();
  const format = ext === '.json' ? 'json' : ext === '.csv' ? 'csv' : /^\s*[[{]/.test(text) ? 'json' : 'csv';
  return format === 'json' ? validateJson(text, fileName) : validateCsv(bytes, text, fileName, headerScanBytes);
}

function validateCsv(bytes: Buffer, text: string, fileName: string, scanBytes: number): ExportValidation {
  const scanned = bytes.subarray(0, scanBytes);
  const isCut = bytes.length > scanned.length;
  // Cut at the scan limit, a longer header would parse as a shorter one and be blamed on a missing column.
  const tooLong = {
    ok: false,
    reason: 'header_too_long',
    details:
      `${fileName}: the CSV header (first line) is longer than ${scanBytes} bytes, the most Bronze reads ` +
      'to find it; check that the export has one line per round (line breaks, not another separator)',
  } as const;
  // no line break at all: known without parsing megabytes of one cell (seconds with csv-parse)
  if (isCut && !scanned.includes(0x0a) && !scanned.includes(0x0d)) return tooLong;
  let header: string[];
  try {
    const rows = parse(scanned, { bom: true, to: 1, relax_quotes: false, info: true }) as unknown as {
      record: string[];
      info: { bytes: number };
    }[];
    const first = rows[0];
    const last = scanned.at(-1);
    const endsInScan = !first || first.info.bytes < scanned.length || last === 0x0a || last === 0x0d;
    if (isCut && !endsInScan) return tooLong;
    header = (first?.record ?? []).map((h) => h.trim());
  } catch (e) {
    if (isCut) return tooLong; // e.g. a quote the cut left open
    return {
      ok: false,
      reason: 'unreadable',
      details: `${fileName}: CSV header does not parse: ${(e as Error).message}`,
    };
  }
  // Silver reads a column by name, so of two columns named alike it silently reads one. Blank names
  // (trailing commas) name no column Silver reads.
  const at = new Map<string, number[]>();
  header.forEach((h, i) => {
    if (h !== '') at.set(h, [...(at.get(h) ?? []), i + 1]);
  });
  const repeated = [...at].filter(([, cols]) => cols.length > 1);
  if (repeated.length > 0) {
    const list = repeated.map(([h, cols]) => `'${h}' (columns ${cols.join(', ')})`).join(', ');
    return {
      ok: false,
      reason: 'duplicate_column',
      details: `${fileName}: CSV header repeats ${list}; re-export with each column named once`,
    };
  }
  for (const col of REQUIRED) {
    if (!header.includes(col)) {
      return {
        ok: false,
        reason: `missing_required_column:${col}`,
        details: `${fileName}: CSV header has no '${col}' column (${header.length} columns)`,
      };
    }
  }
  let rounds = 0;
  let malformed = 0;
  let firstCourse: string | undefined;
  const courseCol = header.indexOf('course');
  try {
    let first = true;
    for (const rec of csvRecords(text)) {
      if (first) {
        first = false;
        continue;
      }
      if (rec.length !== header.length) {
        malformed += 1;
        continue;
      }
      if (rounds === 0) firstCourse = rec[courseCol]?.trim();
      rounds += 1;
    }
  } catch (e) {
    return { ok: false, reason: 'unreadable', details: `${fileName}: CSV does not parse: ${(e as Error).message}` };
  }
  if (rounds === 0) {
    const extra = malformed ? ` (${malformed} malformed record${malformed === 1 ? '' : 's'})` : '';
    return { ok: false, reason: 'no_records', details: `${fileName}: CSV has a header but no data records${extra}` };
  }
  return { ok: true, format: 'csv', rounds, recordsMalformed: malformed, firstCourse };
}

function validateJson(text: string, fileName: string): ExportValidation {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: 'malformed_json', details: `${fileName}: ${(e as Error).message}` };
  }
  const records = Array.isArray(value) ? value : value !== null && typeof value === 'object' ? [value] : undefined;
  if (!records)
    return { ok: false, reason: 'malformed_json', details: `${fileName}: top level is neither an array nor an object` };
  if (records.length === 0) return { ok: false, reason: 'no_records', details: `${fileName}: empty JSON array` };
  const first = records[0] as Record<string, unknown> | null;
  if (first === null || typeof first !== 'object' || Array.isArray(first)) {
    return { ok: false, reason: 'malformed_json', details: `${fileName}: the first record is not an object` };
  }
  for (const col of REQUIRED) {
    if (!(col in first)) {
      return {
        ok: false,
        reason: `missing_required_column:${col}`,
        details: `${fileName}: the first record has no '${col}'`,
      };
    }
  }
  const course = typeof first.course === 'string' ? first.course.trim() : undefined;
  return { ok: true, format: 'json', rounds: records.length, recordsMalformed: 0, firstCourse: course };
}
