import { createRequire } from 'node:module';
import type { Zippable } from 'fflate';
import { byName } from '../inbox.ts';

/**
 * fflate, required on the first zip: its module builds its tables when evaluated (~10 ms), and every load of the
 * lakehouse (`fairway list` too) imports this file, which only a run on AWS calls.
 */
let fflate: typeof import('fflate') | undefined;
const zipSync = (files: Zippable) => {
  fflate ??= createRequire(import.meta.url)('fflate') as typeof import('fflate');
  return fflate.zipSync(files);
};

/** One file of a zip: its path inside the archive and its bytes. */
interface ZipEntry {
  name: string;
  data: Uint8Array;
}

/**
 * 1980-01-01 00:00, the first instant a zip can record, built from local fields: zip stores local time, so
 * every machine, whatever its time zone, writes the same bytes.
 */
const EPOCH = new Date(1980, 0, 1, 0, 0, 0);

/** Unix `-rw-r--r--` in a zip entry's external attributes (made by "Unix", os 3), so unpackers restore it. */
const FILE_MODE = { os: 3, attrs: (0o100644 << 16) >>> 0 };

function sortedZip(entries: readonly ZipEntry[], level: 0 | 6): Buffer {
  const sorted = [...entries].sort(byName);
  const files: Zippable = {};
  for (const { name, data } of sorted) files[name] = [data, { level, mtime: EPOCH, ...FILE_MODE }];
  return Buffer.from(zipSync(files));
}

/**
 * A zip of `entries` stored uncompressed (fflate, level 0), sorted by name, with fixed timestamps: the same
 * files give the same bytes on every machine and Node version (no compressor in the loop), which is what
 * makes a job bundle content-addressed. Spark reads stored zips on `--py-files` like any other.
 */
export function storedZip(entries: readonly ZipEntry[]): Buffer {
  return sortedZip(entries, 0);
}

/**
 * The same, deflated: for archives too big to ship stored (the job's Python dependencies). fflate is plain
 * JavaScript, so its deflate output does not change with the machine or Node's bundled zlib.
 */
export function deflatedZip(entries: readonly ZipEntry[]): Buffer {
  return sortedZip(entries, 6);
}
