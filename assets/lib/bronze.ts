import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Logger } from 'pino';
import { hashText } from '../../framework/definitions/index.ts';
import { FrameworkError } from '../../framework/errors/index.ts';
import { type Courses, findCourse } from './courses.ts';
import { csvRecords } from './csv-records.ts';
import { describeFsError, errnoOf } from './describe-fs-error.ts';
import type { ObjectStore } from './object-store.ts';
import { settleFiles } from './settle-files.ts';
import { unsupportedEncoding } from './unsupported-encoding.ts';

/** Course ids, date directories and file names: no separators, no traversal, no surprises on S3. */
export const SAFE_NAME = /^[A-Za-z0-9._-]+$/;
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

export const isSafeName = (s: string) => SAFE_NAME.test(s) && s !== '.' && s !== '..' && !s.startsWith('.');
export const isIsoDay = (s: string) => {
  const ms = Date.parse(`${s}T00:00:00Z`);
  return ISO_DAY.test(s) && !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(s);
};

export interface InboxFile {
  path: string;
  name: string;
  size: number;
  mtimeMs: number;
}

export interface InboxPartition {
  course_id: string;
  ingest_date: string;
  files: InboxFile[];
}

export interface InvalidInboxEntry {
  path: string;
  reason: string;
}

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Version of a partition's inbox files from their names, sizes and modification times (no reads). */
export function inboxFilesVersion(files: readonly InboxFile[]): string {
  return hashText(...[...files].sort(byName).flatMap((f) => [f.name, String(f.size), String(f.mtimeMs)]));
}

/**
 * Finds `<inbox>/<course_id>/<YYYY-MM-DD>/<file>` (explicit ingest date) and `<inbox>/<course_id>/<file>`
 * (ingest date = the file's mtime as a UTC day). Anything else is reported in `invalid`, never skipped silently.
 */
export async function discoverInbox(
  inboxDir: string,
): Promise<{ partitions: InboxPartition[]; invalid: InvalidInboxEntry[] }> {
  const invalid: InvalidInboxEntry[] = [];
  const groups = new Map<string, InboxPartition>();
  const add = (course_id: string, ingest_date: string, file: InboxFile) => {
    const key = `${course_id}\u0000${ingest_date}`;
    const g = groups.get(key) ?? { course_id, ingest_date, files: [] };
    groups.set(key, g);
    g.files.push(file);
  };
  const entries = async (dir: string) => (await readdir(dir, { withFileTypes: true })).sort(byName);
  /** A directory's entries, or none when it cannot be read: one unreadable directory must not hide the others. */
  const entriesOrReport = async (dir: string) => {
    try {
      return await entries(dir);
    } catch (e) {
      invalid.push({ path: dir, reason: describeFsError(dir, errnoOf(e), 'directory') });
      return [];
    }
  };
  const fileOf = async (path: string, name: string): Promise<InboxFile | undefined> => {
    let s: import('node:fs').Stats;
    try {
      s = await lstat(path);
    } catch (e) {
      invalid.push({ path, reason: describeFsError(path, errnoOf(e)) });
      return undefined;
    }
    if (s.isSymbolicLink()) invalid.push({ path, reason: 'symbolic links are not ingested; copy the file in' });
    else if (!s.isFile()) invalid.push({ path, reason: 'not a regular file' });
    else if (!isSafeName(name))
      invalid.push({ path, reason: `file name must match ${SAFE_NAME} and not start with '.'` });
    else return { path, name, size: s.size, mtimeMs: s.mtimeMs };
    return undefined;
  };

  let top: import('node:fs').Dirent[];
  try {
    top = await entries(inboxDir);
  } catch (cause) {
    throw new FrameworkError(
      'INBOX_UNREADABLE',
      `Cannot read the inbox directory ${inboxDir}: ${(cause as Error).message}`,
      {
        details: { inbox: inboxDir },
        cause,
      },
    );
  }
  for (const c of top) {
    const coursePath = join(inboxDir, c.name);
    if (!c.isDirectory()) {
      invalid.push({ path: coursePath, reason: 'files must sit in a course directory: <inbox>/<course_id>/<file>' });
      continue;
    }
    if (!isSafeName(c.name)) {
      invalid.push({ path: coursePath, reason: `course_id must match ${SAFE_NAME} and not start with '.'` });
      continue;
    }
    for (const e of await entriesOrReport(coursePath)) {
      const p = join(coursePath, e.name);
      if (e.isDirectory()) {
        if (!isIsoDay(e.name)) {
          invalid.push({ path: p, reason: 'a directory inside a course directory must be an ingest date YYYY-MM-DD' });
          continue;
        }
        for (const f of await entriesOrReport(p)) {
          const fp = join(p, f.name);
          if (f.isDirectory())
            invalid.push({ path: fp, reason: 'nested directories below an ingest date are not allowed' });
          else {
            const file = await fileOf(fp, f.name);
            if (file) add(c.name, e.name, file);
          }
        }
      } else {
        const file = await fileOf(p, e.name);
        if (file) add(c.name, utcDay(file.mtimeMs), file);
      }
    }
  }
  const partitions = [...groups.values()].sort((a, b) =>
    a.course_id === b.course_id ? (a.ingest_date < b.ingest_date ? -1 : 1) : a.course_id < b.course_id ? -1 : 1,
  );
  for (const p of partitions) p.files.sort(byName);
  return { partitions, invalid };
}

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

export interface LandedFile {
  name: string;
  key: string;
  sha256: string;
  bytes: number;
  rounds: number;
  status: 'new' | 'changed' | 'unchanged';
  /** For `changed`: the hash of the bytes that were replaced. */
  previousSha256?: string;
}

export interface QuarantinedFile {
  name: string;
  reason: RejectReason;
  details: string;
  reportKey: string;
}

export interface BronzeWarning {
  name: string;
  /** `unsettled`: the file was still being written; it was left out of this run and lands on a later one. */
  kind: 'course_mismatch' | 'unsettled';
  details: string;
}

export interface BronzeIngestResult {
  landed: LandedFile[];
  quarantined: QuarantinedFile[];
  warnings: BronzeWarning[];
  /** Hash over the sorted (name, sha256) pairs of the landed files: changes iff the partition's bytes change. */
  dataVersion: string;
}

export interface BronzeIngestOptions {
  store: ObjectStore;
  bucket: string;
  course_id: string;
  ingest_date: string;
  files: { path: string; name: string }[];
  runId: string;
  quarantineBucket: string;
  /** Key prefixes from config (`prefixes.landing` / `prefixes.quarantine`), '' or ending in '/'. */
  landingPrefix?: string;
  quarantinePrefix?: string;
  /** Course reference for the (warning-only) course-mismatch check. */
  courses?: Courses;
  /**
   * `FAIRWAY_BRONZE_SETTLE_SECONDS`: a file modified more recently may still be being written, so it lands
   * only once it has stayed unchanged that long (0: at once).
   */
  settleSeconds: number;
  log?: Logger;
}

const sha256Hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** The Bronze key of a file: `course_id=<id>/ingest_date=<YYYY-MM-DD>/<file>`. */
export const bronzeKey = (course_id: string, ingest_date: string, name: string, prefix = '') =>
  `${prefix}course_id=${course_id}/ingest_date=${ingest_date}/${name}`;

function checkInputs(o: BronzeIngestOptions): void {
  const bad = (what: string, value: string, rule: string) =>
    new FrameworkError('BRONZE_INPUT_INVALID', `Bronze ingest refused ${what} '${value}': ${rule}.`, {
      details: { course_id: o.course_id, ingest_date: o.ingest_date, [what.replace(' ', '_')]: value },
    });
  if (!isSafeName(o.course_id)) throw bad('course_id', o.course_id, `use ${SAFE_NAME}, not starting with '.'`);
  if (!isIsoDay(o.ingest_date)) throw bad('ingest_date', o.ingest_date, 'use a real calendar day YYYY-MM-DD');
  if (!/^[A-Za-z0-9._-]+$/.test(o.runId)) throw bad('run id', o.runId, `use ${SAFE_NAME}`);
  for (const f of o.files)
    if (!isSafeName(f.name)) throw bad('file name', f.name, `use ${SAFE_NAME}, not starting with '.'`);
}

/**
 * Lands one (course_id, ingest_date) partition: valid files are copied byte for byte, idempotently by
 * content; invalid or unreadable ones get a JSON quarantine report while the valid files still land.
 * Files still being written (see `settleSeconds`) are left out with an `unsettled` warning.
 */
export async function ingestBronzePartition(o: BronzeIngestOptions): Promise<BronzeIngestResult> {
  checkInputs(o);
  const log = o.log?.child({ course_id: o.course_id, ingest_date: o.ingest_date });
  const landed: LandedFile[] = [];
  const quarantined: QuarantinedFile[] = [];
  const warnings: BronzeWarning[] = [];
  await o.store.ensureBucket(o.bucket);
  const quarantine = async (
    name: string,
    reason: RejectReason,
    details: string,
    read: { sha256: string; bytes: number } | { error_code: string },
  ) => {
    const reportKey = `${o.quarantinePrefix ?? ''}bronze/course_id=${o.course_id}/ingest_date=${o.ingest_date}/${name}.${o.runId}.json`;
    const report = {
      file: name,
      course_id: o.course_id,
      ingest_date: o.ingest_date,
      reason,
      details,
      run_id: o.runId,
      ...read,
      ts: new Date().toISOString(),
    };
    await o.store.ensureBucket(o.quarantineBucket);
    await o.store.put(o.quarantineBucket, reportKey, `${JSON.stringify(report)}\n`, {
      contentType: 'application/json',
    });
    quarantined.push({ name, reason, details, reportKey });
    log?.warn({ file: name, reason, ...read, report_key: reportKey }, 'bronze file quarantined');
  };
  const setting = `FAIRWAY_BRONZE_SETTLE_SECONDS=${o.settleSeconds}`;
  const unsettled = (name: string, path: string, how: string) => {
    const details = `${path} is still being written (${how}); left out of this run, it lands on a later run once complete`;
    warnings.push({ name, kind: 'unsettled', details });
    log?.warn({ file: name, settle_seconds: o.settleSeconds, how }, 'bronze file still being written');
  };
  const files = [...o.files].sort(byName);
  // every file's wait at once: a partition of fresh files costs one window, not one per file
  const settled =
    o.settleSeconds > 0
      ? await settleFiles(
          files.map((f) => f.path),
          o.settleSeconds * 1000,
        )
      : undefined;
  for (const [i, f] of files.entries()) {
    const s = settled?.[i];
    if (s?.state === 'changing') {
      unsettled(f.name, f.path, `it changed within each of ${s.waits} settle windows, ${setting}`);
      continue;
    }
    let bytes: Buffer;
    try {
      if (s?.state === 'error') throw s.error;
      bytes = await readFile(f.path);
    } catch (e) {
      const error = errnoOf(e);
      await quarantine(f.name, 'file_system_error', describeFsError(f.path, error), { error_code: error.code });
      continue;
    }
    if (s?.state === 'settled' && bytes.length !== s.size) {
      const how = `its size went from ${s.size} to ${bytes.length} bytes after it was still for ${setting}`;
      unsettled(f.name, f.path, how);
      continue;
    }
    const sha256 = sha256Hex(bytes);
    const v = validateExport(bytes, f.name);
    if (!v.ok) {
      await quarantine(f.name, v.reason, v.details, { sha256, bytes: bytes.length });
      continue;
    }
    if (o.courses && v.firstCourse !== undefined) {
      const match = findCourse(o.courses, v.firstCourse);
      if (match?.id !== o.course_id) {
        const details = `first record's course '${v.firstCourse}' is ${match ? `course '${match.id}'` : 'not in the course reference'}, not '${o.course_id}'`;
        warnings.push({ name: f.name, kind: 'course_mismatch', details });
        log?.warn({ file: f.name, file_course: v.firstCourse }, 'bronze course mismatch');
      }
    }
    const key = bronzeKey(o.course_id, o.ingest_date, f.name, o.landingPrefix);
    const head = await o.store.head(o.bucket, key);
    const storedSha = head ? (head.sha256 ?? sha256Hex(await o.store.get(o.bucket, key))) : undefined;
    const base = { name: f.name, key, sha256, bytes: bytes.length, rounds: v.rounds };
    if (storedSha === sha256) {
      landed.push({ ...base, status: 'unchanged' });
      log?.debug({ file: f.name, sha256 }, 'bronze file unchanged');
      continue;
    }
    await o.store.put(o.bucket, key, bytes, { sha256 });
    const status = storedSha === undefined ? 'new' : 'changed';
    landed.push({ ...base, status, ...(storedSha ? { previousSha256: storedSha } : {}) });
    log?.info(
      { file: f.name, key, status, sha256, previous_sha256: storedSha, bytes: bytes.length, rounds: v.rounds },
      'bronze file landed',
    );
  }
  const dataVersion = hashText(...landed.flatMap((l) => [l.name, l.sha256]));
  return { landed, quarantined, warnings, dataVersion };
}
