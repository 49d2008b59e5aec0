import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { withLock } from '../../lock/index.ts';

export interface ClassArchiveInputs {
  /**
   * The Python module that writes it (`fairway_spark.class_archive`: runs a small Silver job in a JVM that writes
   * the archive at exit), run as `python -m <module> ARCHIVE` with `pythonPath` as PYTHONPATH.
   */
  module: string;
  pythonPath: string;
  python: string;
  venvDir: string;
  jarsDir: string;
  jars: string[];
  javaHome: string;
  env: NodeJS.ProcessEnv;
  progress: (msg: string) => void;
  signal?: AbortSignal;
}

/**
 * The Spark driver JVM's class-data-sharing archive for this venv, jars directory and JVM build (a hash
 * of `<javaHome>/release`: a JDK update gets a new archive). spark/fairway_spark/session.py looks for
 * it under the same name (`class_archive`) and starts the JVM with it: Spark starts ~2–4 s sooner (bench/README.md,
 * session 6). Undefined when the JDK has no `release` file.
 */
export function classArchivePath(jarsDir: string, venvDir: string, javaHome: string): string | undefined {
  let release: Buffer;
  try {
    release = readFileSync(join(javaHome, 'release'));
  } catch {
    return undefined;
  }
  const build = createHash('sha256').update(release).digest('hex').slice(0, 8);
  return join(jarsDir, `driver-${basename(venvDir)}-${build}.jsa`);
}

/**
 * Writes the archive once (~1 min). It only makes Spark start sooner, so a failure is reported and
 * remembered (`<archive>.failed`, delete it to retry), never fatal.
 */
export async function ensureClassArchive(i: ClassArchiveInputs): Promise<void> {
  const archive = classArchivePath(i.jarsDir, i.venvDir, i.javaHome);
  if (!archive) return;
  const failed = `${archive}.failed`;
  if (existsSync(archive) || existsSync(failed)) return;
  await withLock(`${archive}.lock`, () => writeArchive(i, archive, failed), i.signal);
}

async function writeArchive(i: ClassArchiveInputs, archive: string, failed: string): Promise<void> {
  if (existsSync(archive) || existsSync(failed)) return; // another process wrote it while we waited
  i.progress('writing the Spark driver class archive (once, ~1 min; every later Spark start is faster)');
  const { execa } = await import('execa');
  const r = await execa(i.python, ['-m', i.module, archive], {
    env: {
      ...i.env,
      PYTHONPATH: i.pythonPath,
      JAVA_HOME: i.javaHome,
      FAIRWAY_SPARK_JARS: i.jars.join(','),
      PYSPARK_PYTHON: i.python,
    },
    extendEnv: false,
    reject: false,
    cancelSignal: i.signal,
    all: true,
  });
  i.signal?.throwIfAborted();
  if (!r.failed && existsSync(archive)) {
    i.progress(`class archive ready: ${archive}`);
    return;
  }
  const output = String(r.all ?? '');
  const reason =
    output
      .split('\n')
      .reverse()
      .find((l) => /class_archive:|Error|Exception/.test(l)) ??
    r.shortMessage ??
    `exit code ${r.exitCode}`;
  writeFileSync(failed, `${new Date().toISOString()} ${reason}\n\n${output.slice(-4000)}\n`);
  i.progress(
    `warning: no class archive, Spark starts without it (${reason.trim()}); details in ${failed}, delete it to retry`,
  );
}
