import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { FrameworkError } from '../../errors/index.ts';
import { withLock } from '../../lock/index.ts';
import { ensureClassArchive } from './class-archive.ts';
import { DownloadProgress } from './download-progress.ts';

export interface SparkRuntimeOptions {
  requirementsFile: string;
  pomFile: string;
  /** Defaults to `$FAIRWAY_CACHE_DIR`, else `$XDG_CACHE_HOME/fairway`, else `~/.cache/fairway`. */
  cacheDir?: string;
  onProgress?: (msg: string) => void;
  signal?: AbortSignal;
  /** Environment used to find java, python3 and mvn; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export interface SparkRuntime {
  /** The venv's interpreter: run Spark jobs with it. */
  python: string;
  /** Absolute jar paths, sorted; join with ',' for `FAIRWAY_SPARK_JARS`. */
  jars: string[];
  venvDir: string;
  javaHome: string;
}

const MARKER = '.fairway-complete';

/** The cache directory Fairway keeps venvs and jars in between runs. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FAIRWAY_CACHE_DIR) return resolve(env.FAIRWAY_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return join(resolve(env.XDG_CACHE_HOME), 'fairway');
  return join(homedir(), '.cache', 'fairway');
}

/** Hash of the files' contents; a file's path (relative to `root`) counts too when `root` is given. */
function shortHash(files: string[], what: string, root?: string): string {
  const hash = createHash('sha256');
  for (const file of files) {
    try {
      if (root) hash.update(relative(root, file));
      hash.update(readFileSync(file));
    } catch (cause) {
      throw new FrameworkError('SPARK_RUNTIME_INPUT_MISSING', `Cannot read the ${what} '${file}'.`, {
        details: { file },
        cause,
      });
    }
  }
  return hash.digest('hex').slice(0, 16);
}

/** The pom and the Java sources beside it (`src/`, if any): everything the jars are built from. */
function jarInputs(pomFile: string): string[] {
  const src = join(dirname(pomFile), 'src');
  const sources = existsSync(src)
    ? readdirSync(src, { recursive: true, encoding: 'utf8' })
        .map((f) => join(src, f))
        .filter((f) => statSync(f).isFile())
        .sort()
    : [];
  return [pomFile, ...sources];
}

/** Where the venv and the jars for these input files live (whether built yet or not). */
export function sparkRuntimePaths(
  opts: Pick<SparkRuntimeOptions, 'requirementsFile' | 'pomFile' | 'cacheDir' | 'env'>,
) {
  const cacheDir = opts.cacheDir ? resolve(opts.cacheDir) : defaultCacheDir(opts.env);
  return {
    cacheDir,
    venvDir: join(cacheDir, `venv-${shortHash([opts.requirementsFile], 'Python requirements file')}`),
    jarsDir: join(cacheDir, `jars-${shortHash(jarInputs(opts.pomFile), 'Maven build file', dirname(opts.pomFile))}`),
  };
}

/**
 * Makes sure a Python venv with the Spark job's requirements, the job's jars and Java 17 are
 * available, building what is missing into the cache. A second call with unchanged inputs only
 * checks marker files and Java.
 *
 * @example
 * const rt = await ensureSparkRuntime({ requirementsFile: 'spark/requirements.txt', pomFile: 'spark/jars/pom.xml' });
 * await execa(rt.python, ['-m', 'fairway_spark.silver_job', ...], {
 *   env: { PYTHONPATH: 'spark', JAVA_HOME: rt.javaHome, FAIRWAY_SPARK_JARS: rt.jars.join(',') },
 * });
 */
export async function ensureSparkRuntime(opts: SparkRuntimeOptions): Promise<SparkRuntime> {
  const env = opts.env ?? process.env;
  const progress = opts.onProgress ?? (() => {});
  const { jarsDir } = sparkRuntimePaths(opts);

  const javaHome = await findJavaHome(env, opts.signal);
  const { python, venvDir } = await ensureSparkVenv(opts);

  if (!existsSync(join(jarsDir, MARKER))) {
    await buildJars(jarsDir, resolve(opts.pomFile), env, progress, opts.signal);
  }

  const jars = readdirSync(jarsDir)
    .filter((f) => f.endsWith('.jar'))
    .sort()
    .map((f) => join(jarsDir, f));
  // The package that writes the driver's class archive sits beside the requirements (spark/); test runtimes have none.
  const pythonPath = dirname(resolve(opts.requirementsFile));
  if (existsSync(join(pythonPath, 'fairway_spark', 'class_archive.py'))) {
    const module = 'fairway_spark.class_archive';
    const signal = opts.signal;
    await ensureClassArchive({ module, pythonPath, python, venvDir, jarsDir, jars, javaHome, env, progress, signal });
  }
  return { python, jars, venvDir, javaHome };
}

/**
 * The venv part of {@link ensureSparkRuntime} alone (no Java, no jars): for Python jobs that start no JVM,
 * such as the DuckDB query reader. The same venv, built on first use.
 */
export async function ensureSparkVenv(opts: SparkRuntimeOptions): Promise<Pick<SparkRuntime, 'python' | 'venvDir'>> {
  const env = opts.env ?? process.env;
  const { cacheDir, venvDir } = sparkRuntimePaths(opts);
  mkdirSync(cacheDir, { recursive: true });
  if (!existsSync(join(venvDir, MARKER))) {
    await withLock(
      `${venvDir}.lock`,
      async () => {
        if (existsSync(join(venvDir, MARKER))) return; // another process finished it while we waited
        await buildVenv(venvDir, resolve(opts.requirementsFile), env, opts.onProgress ?? (() => {}), opts.signal);
      },
      opts.signal,
    );
  }
  return { python: join(venvDir, 'bin', 'python'), venvDir };
}

/** JAVA_HOME if it holds a java, else the java on PATH; Spark 3.5 needs Java 17 (11 works too). */
async function findJavaHome(env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<string> {
  const candidates = env.JAVA_HOME ? [join(env.JAVA_HOME, 'bin', 'java')] : [];
  candidates.push('java');
  const { execa } = await import('execa'); // loaded on use: most commands start no process
  for (const java of candidates) {
    const r = await execa(java, ['-XshowSettings:properties', '-version'], {
      env,
      extendEnv: false,
      reject: false,
      cancelSignal: signal,
    });
    if (r.failed && r.exitCode === undefined) continue; // not found / not executable
    const home = /^\s*java\.home = (.+)$/m.exec(r.stderr)?.[1]?.trim();
    const major = Number(/^\s*java\.specification\.version = (\d+)/m.exec(r.stderr)?.[1]);
    if (home && major >= 11) return home;
    if (home) {
      throw new FrameworkError(
        'SPARK_JAVA_VERSION',
        `Java ${major} at '${home}' is too old for Spark 3.5: install a Java 17 JDK (Debian: apt-get install openjdk-17-jdk-headless) and set JAVA_HOME.`,
        { details: { javaHome: home, major } },
      );
    }
  }
  throw new FrameworkError(
    'SPARK_JAVA_MISSING',
    'Java was not found (JAVA_HOME is unset or has no bin/java, and there is no java on PATH). Spark needs Java 17: install a JDK (Debian: apt-get install openjdk-17-jdk-headless) or set JAVA_HOME.',
    { details: { JAVA_HOME: env.JAVA_HOME ?? null } },
  );
}

async function buildVenv(
  venvDir: string,
  requirementsFile: string,
  env: NodeJS.ProcessEnv,
  progress: (msg: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  rmSync(venvDir, { recursive: true, force: true }); // leftovers of an interrupted build
  const { execa } = await import('execa');
  progress(`creating Python venv ${venvDir}`);
  const created = await execa('python3', ['-m', 'venv', venvDir], {
    env,
    extendEnv: false,
    reject: false,
    cancelSignal: signal,
  });
  if (created.failed) {
    const missing = created.exitCode === undefined;
    throw new FrameworkError(
      missing ? 'SPARK_PYTHON_MISSING' : 'SPARK_VENV_FAILED',
      missing
        ? 'python3 was not found on PATH. Install Python 3.11 with venv support (Debian: apt-get install python3 python3-venv).'
        : `'python3 -m venv' failed: ${created.stderr.trim() || created.shortMessage}. On Debian install python3-venv.`,
      { details: { venvDir } },
    );
  }
  progress(`pip install -r ${requirementsFile} (first run downloads pyspark, ~320 MB)`);
  const pip = execa(
    join(venvDir, 'bin', 'python'),
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--progress-bar', 'off', '-r', requirementsFile],
    { env, extendEnv: false, reject: false, cancelSignal: signal, all: true },
  );
  // a progress bar shows nothing in a non-interactive shell: lines with what, how much and how long instead
  const downloads = new DownloadProgress('pip', 320, progress);
  try {
    for await (const line of pip.iterable({ from: 'all' })) {
      const text = String(line).trim();
      if (/^(Collecting|Building|Successfully|Installing|ERROR)/.test(text)) progress(text);
      downloads.line(text);
    }
  } finally {
    downloads.done();
  }
  const r = await pip;
  if (r.failed) {
    throw new FrameworkError(
      'SPARK_PIP_FAILED',
      `pip install -r ${requirementsFile} failed (exit ${r.exitCode}); see the lines above.`,
      {
        details: { venvDir, output: String(r.all ?? '').slice(-4000) },
      },
    );
  }
  writeFileSync(join(venvDir, MARKER), `${new Date().toISOString()}\n`);
  progress('Python venv ready');
}

/**
 * Resolves the pom's runtime jars and builds its own sources (`fairway-localfs.jar`) into a private temp
 * dir, then renames it into place, so concurrent builds cannot mix.
 */
async function buildJars(
  jarsDir: string,
  pomFile: string,
  env: NodeJS.ProcessEnv,
  progress: (msg: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const tmp = `${jarsDir}.tmp-${process.pid}-${Date.now()}`;
  const buildDir = join(tmp, 'build');
  const { execa } = await import('execa');
  progress(`resolving jars with Maven from ${pomFile} (first run downloads ~250 MB)`);
  // not -q: in batch mode Maven prints a line per file it downloads, which DownloadProgress sums up
  const mvn = execa(
    'mvn',
    [
      '-B',
      '-f',
      pomFile,
      'compiler:compile',
      'jar:jar',
      'dependency:copy-dependencies',
      `-Dfairway.build.dir=${buildDir}`,
      `-DoutputDirectory=${tmp}`,
    ],
    {
      env,
      extendEnv: false,
      reject: false,
      cancelSignal: signal,
      all: true,
    },
  );
  const downloads = new DownloadProgress('maven', 250, progress);
  try {
    for await (const line of mvn.iterable({ from: 'all' })) downloads.line(String(line));
  } catch {
    // the same failure is the result awaited below (r.failed: Maven missing or failed), reported there
  } finally {
    downloads.done();
  }
  const r = await mvn;
  if (r.failed) {
    rmSync(tmp, { recursive: true, force: true });
    const missing = r.exitCode === undefined;
    throw new FrameworkError(
      missing ? 'SPARK_MAVEN_MISSING' : 'SPARK_JARS_FAILED',
      missing
        ? 'mvn was not found on PATH; it resolves the Spark jars. Install Maven 3.8+ (Debian: apt-get install maven).'
        : /No compiler is provided/.test(String(r.all ?? ''))
          ? `Maven found no Java compiler: ${pomFile} also builds fairway-localfs.jar, which needs a JDK, not only a JRE. Install one (Debian: apt-get install openjdk-17-jdk-headless) and point JAVA_HOME to it.`
          : `Maven could not build the jars of ${pomFile}: ${
              String(r.all ?? '')
                .split('\n')
                .find((l) => l.includes('ERROR')) ?? r.shortMessage
            }`,
      { details: { pomFile, output: String(r.all ?? '').slice(-4000) } },
    );
  }
  for (const jar of readdirSync(buildDir).filter((f) => f.endsWith('.jar')))
    renameSync(join(buildDir, jar), join(tmp, jar));
  rmSync(buildDir, { recursive: true, force: true });
  writeFileSync(join(tmp, MARKER), `${new Date().toISOString()}\n`);
  if (existsSync(join(jarsDir, MARKER))) {
    rmSync(tmp, { recursive: true, force: true }); // another process finished first: keep its copy
    return;
  }
  try {
    rmSync(jarsDir, { recursive: true, force: true }); // a dir without marker is an old partial one
    renameSync(tmp, jarsDir);
  } catch (cause) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(jarsDir, MARKER))) {
      throw new FrameworkError('SPARK_JARS_FAILED', `Could not move resolved jars into ${jarsDir}.`, { cause });
    }
  }
  progress(`jars ready in ${jarsDir}`);
}
