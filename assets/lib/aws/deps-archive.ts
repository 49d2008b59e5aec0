import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { FrameworkError } from '../../../framework/errors/index.ts';
import { defaultCacheDir } from '../../../framework/integrations/spark/index.ts';
import { withLock } from '../../../framework/lock/index.ts';
import { type PythonTarget, targetLabel } from './emr-python.ts';
import { deflatedZip } from './stored-zip.ts';

/** Bumped when the archive's layout changes, so cached archives of the old layout are not reused. */
const ARCHIVE_FORMAT = 1;

/** Provided by the service's Spark: shipping them would shadow the Spark the job runs on. */
const PROVIDED = new Set(['pyspark', 'py4j']);

/** PEP 503 normalization: `Python_Dateutil` and `python-dateutil` are one project. */
const normalize = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '_');

const fail = (message: string, details: Record<string, unknown>, cause?: unknown) =>
  new FrameworkError('PYTHON_DEPS_FAILED', message, { details, ...(cause ? { cause } : {}) });

/** A pins file's `name==version` lines; anything else (ranges, extras, URLs) and pyspark/py4j are refused. */
export function parsePins(text: string, file: string): { name: string; version: string }[] {
  const pins = text.split('\n').flatMap((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return [];
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)$/.exec(line);
    if (!m) {
      throw fail(`Line ${i + 1} of ${file} ('${line}') is not an exact pin: write name==version.`, {
        file,
        line: i + 1,
      });
    }
    if (PROVIDED.has(normalize(m[1]!))) {
      throw fail(`${file} pins ${m[1]}, which the service's Spark provides: remove it.`, { file, line: i + 1 });
    }
    return [{ name: m[1]!, version: m[2]! }];
  });
  if (pins.length === 0) throw fail(`${file} pins nothing.`, { file });
  return pins;
}

/**
 * One wheel per pin for `target`, downloaded (binary only, no dependency resolution: the pins are the whole set)
 * with the venv's pip into `wheelDir`, where later builds find them.
 */
async function downloadWheels(opts: {
  python: string;
  pinsFile: string;
  target: PythonTarget;
  wheelDir: string;
  signal?: AbortSignal;
}): Promise<string[]> {
  const pins = parsePins(readFileSync(opts.pinsFile, 'utf8'), opts.pinsFile);
  mkdirSync(opts.wheelDir, { recursive: true });
  const { execa } = await import('execa');
  const platforms = opts.target.platforms.flatMap((p) => ['--platform', p]);
  const r = await execa(
    opts.python,
    [
      ...['-m', 'pip', 'download', '--disable-pip-version-check', '--progress-bar', 'off', '--no-deps'],
      ...['--only-binary=:all:', '--implementation', 'cp', '--python-version', opts.target.version, ...platforms],
      ...['-r', opts.pinsFile, '-d', opts.wheelDir],
    ],
    { reject: false, cancelSignal: opts.signal, all: true },
  );
  if (r.exitCode !== 0) {
    throw fail(
      `pip could not download the wheels of ${opts.pinsFile} for CPython ${opts.target.version} on ${opts.target.platforms.join(' or ')}: ` +
        `${(r.all ?? '').trim().split('\n').slice(-3).join(' ')}. Pick versions that publish such wheels.`,
      { file: opts.pinsFile, python_version: opts.target.version },
    );
  }
  const wheels = readdirSync(opts.wheelDir).filter((f) => f.endsWith('.whl'));
  return pins.map(({ name, version }) => {
    const found = wheels.filter((w) => {
      const [dist, ver] = w.split('-');
      return normalize(dist!) === normalize(name) && ver === version;
    });
    if (found.length !== 1) {
      throw fail(`Expected one wheel of ${name}==${version} in ${opts.wheelDir}, found ${found.length}.`, {
        wheel_dir: opts.wheelDir,
        pin: `${name}==${version}`,
      });
    }
    return join(opts.wheelDir, found[0]!);
  });
}

/**
 * A wheel's files as `pip install --target` lays them out: `<name>.data/purelib|platlib/x` goes to `x`; the
 * other `.data` kinds (scripts, headers, data) are not importable and stay out.
 */
function wheelFiles(data: Uint8Array): { name: string; data: Uint8Array }[] {
  return Object.entries(unzipSync(data)).flatMap(([name, bytes]) => {
    if (name.endsWith('/')) return [];
    const m = /^[^/]+\.data\/([^/]+)\/(.+)$/.exec(name);
    if (!m) return [{ name, data: bytes }];
    return m[1] === 'purelib' || m[1] === 'platlib' ? [{ name: m[2]!, data: bytes }] : [];
  });
}

/**
 * The dependency archive from `wheels`: every wheel unpacked as pip would into one directory, zipped
 * deterministically (sorted entries, fixed times and modes, fflate deflate), so the same wheels give the same
 * bytes on any machine. Its root is what goes on `PYTHONPATH`.
 */
export function depsArchive(wheels: readonly string[]): Buffer {
  const entries = new Map<string, Uint8Array>();
  for (const wheel of wheels) {
    for (const f of wheelFiles(readFileSync(wheel))) {
      if (entries.has(f.name)) throw fail(`Two wheels install '${f.name}' (the second is ${wheel}).`, { wheel });
      entries.set(f.name, f.data);
    }
  }
  // fflate writes no Zip64: stay within the classic format's limits
  const size = [...entries.values()].reduce((n, d) => n + d.length, 0);
  if (entries.size > 65_535 || size >= 2 ** 32) {
    throw fail(`The dependencies are too big for one zip (${entries.size} files, ${size} bytes).`, { size });
  }
  return deflatedZip([...entries].map(([name, data]) => ({ name, data })));
}

/** A built dependency archive: where it is cached and the name it is shipped under. */
export interface DepsArchive {
  path: string;
  /** `python-deps-cp39-x86_64.zip` */
  name: string;
}

/**
 * The Silver job's dependency archive for `target`, built on first use and cached under
 * `<cacheDir>/<key>/` (default `<Fairway cache>/python-deps/`; key: the pins file, the target and the archive
 * format). Wheels are kept in `<Fairway cache>/python-deps/wheels/<target>/` whatever `cacheDir` is.
 *
 * @example
 * const deps = await ensureDepsArchive({ python, pinsFile: 'spark/requirements-emr.txt', target: emrPythonTarget('X86_64') });
 */
export async function ensureDepsArchive(opts: {
  python: string;
  pinsFile: string;
  target: PythonTarget;
  cacheDir?: string;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}): Promise<DepsArchive> {
  const shared = join(defaultCacheDir(), 'python-deps');
  const root = opts.cacheDir ?? shared;
  const label = targetLabel(opts.target);
  const key = createHash('sha256')
    .update(JSON.stringify({ format: ARCHIVE_FORMAT, target: opts.target }))
    .update(readFileSync(opts.pinsFile))
    .digest('hex')
    .slice(0, 16);
  const name = `python-deps-${label}.zip`;
  const dir = join(root, key);
  const path = join(dir, name);
  if (existsSync(path)) return { path, name };
  mkdirSync(root, { recursive: true });
  await withLock(
    `${dir}.lock`,
    async () => {
      if (existsSync(path)) return; // another process built it while we waited
      opts.onProgress?.(`python dependencies for ${label}: pip download (${opts.pinsFile})`);
      const wheelDir = join(shared, 'wheels', `${label}-${opts.target.platforms.join('+')}`);
      const wheels = await downloadWheels({ ...opts, wheelDir });
      const zip = depsArchive(wheels);
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${path}.tmp`, zip);
      renameSync(`${path}.tmp`, path);
      opts.onProgress?.(`python dependencies for ${label}: ${wheels.length} wheels, ${zip.length} bytes`);
    },
    opts.signal,
  );
  return { path, name };
}
