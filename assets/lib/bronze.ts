import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { hashText } from '../../framework/definitions/index.ts';
import { FrameworkError } from '../../framework/errors/index.ts';
import { type Courses, findCourse } from './courses.ts';
import { describeFsError, errnoOf } from './describe-fs-error.ts';
import { type RejectReason, validateExport } from './export-validation.ts';
import { byName, isIsoDay, isSafeName, SAFE_NAME } from './inbox.ts';
import type { ObjectStore } from './object-store.ts';
import { settleFiles } from './settle-files.ts';

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

interface BronzeIngestResult {
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
