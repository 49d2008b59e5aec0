import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { classArchivePath, ensureClassArchive } from './class-archive.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fairway-class-archive-'));
  writeFileSync(join(dir, 'release'), 'JAVA_RUNTIME_VERSION="17.0.15+6"\n'); // the stand-in JDK is `dir`
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for `fairway_spark.class_archive`, a module in `dir`: counts its runs, then writes the archive or fails. */
function standIn(fails: boolean): { module: string; pythonPath: string } {
  writeFileSync(
    join(dir, 'stand_in_archive.py'),
    [
      'import os, sys',
      `open(${JSON.stringify(join(dir, 'runs'))}, "a").write(os.environ["FAIRWAY_SPARK_JARS"] + "\\n")`,
      fails ? 'print("class_archive: the JVM exited with 1 without writing it", file=sys.stderr); sys.exit(1)' : '',
      'open(sys.argv[1], "wb").write(b"jsa")',
    ].join('\n'),
  );
  return { module: 'stand_in_archive', pythonPath: dir };
}

function inputs(fails: boolean, messages: string[]) {
  return {
    ...standIn(fails),
    python: 'python3',
    venvDir: join(dir, 'venv-abc'),
    jarsDir: dir,
    jars: ['/j/a.jar', '/j/b.jar'],
    javaHome: dir,
    env: { PATH: process.env.PATH },
    progress: (m: string) => messages.push(m),
  };
}

const runs = () => readFileSync(join(dir, 'runs'), 'utf8').trim().split('\n');

describe('ensureClassArchive', () => {
  it('writes the archive once, named after the venv, with the runtime jars', async () => {
    const messages: string[] = [];
    await ensureClassArchive(inputs(false, messages));
    await ensureClassArchive(inputs(false, messages));
    const archive = classArchivePath(dir, join(dir, 'venv-abc'), dir) ?? '';
    expect(archive).toMatch(/\/driver-venv-abc-[0-9a-f]{8}\.jsa$/);
    expect(readFileSync(archive, 'utf8')).toBe('jsa');
    expect(runs()).toEqual(['/j/a.jar,/j/b.jar']);
    expect(messages.at(-1)).toContain('class archive ready');
  });

  it('reports a failure, remembers it and never throws', async () => {
    const messages: string[] = [];
    await ensureClassArchive(inputs(true, messages));
    await ensureClassArchive(inputs(true, messages));
    const archive = classArchivePath(dir, join(dir, 'venv-abc'), dir) ?? '';
    expect(existsSync(archive)).toBe(false);
    expect(readFileSync(`${archive}.failed`, 'utf8')).toContain('the JVM exited with 1');
    expect(runs()).toHaveLength(1);
    expect(messages.at(-1)).toMatch(/warning: no class archive.*the JVM exited with 1.*delete it to retry/);
  });

  it('names the archive after the JVM build, and has none for a JDK without a release file', () => {
    const before = classArchivePath(dir, join(dir, 'venv-abc'), dir);
    writeFileSync(join(dir, 'release'), 'JAVA_RUNTIME_VERSION="17.0.16+8"\n');
    expect(classArchivePath(dir, join(dir, 'venv-abc'), dir)).not.toBe(before);
    expect(classArchivePath(dir, join(dir, 'venv-abc'), join(dir, 'no-jdk'))).toBeUndefined();
  });
});
