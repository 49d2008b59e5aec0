import { lstat as lstatCallback, readdir as readdirCallback } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hashText } from '../../framework/definitions/index.ts';
import { FrameworkError } from '../../framework/errors/index.ts';
import { describeFsError, errnoOf } from './describe-fs-error.ts';

/**
 * The inbox: where course exports land, one folder per course and day (or the same prefixes in a bucket), and
 * listing it as Bronze partitions.
 */

// node:fs's callback functions, promisified: loading node:fs/promises costs ~1.5–3 ms on Node 24 (its FileHandle
// brings readline and the streams), and every `status` lists the inbox.
const lstat = promisify(lstatCallback);
const readdir = promisify(readdirCallback);
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
export const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

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
