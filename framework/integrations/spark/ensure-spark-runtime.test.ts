import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FrameworkError } from '../../errors/index.ts';
import { ensureSparkRuntime, sparkRuntimePaths } from './index.ts';

let dir: string;
let requirementsFile: string;
let pomFile: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fairway-spark-rt-'));
  requirementsFile = join(dir, 'requirements.txt');
  pomFile = join(dir, 'pom.xml');
  writeFileSync(requirementsFile, 'pyspark==3.5.9\n');
  writeFileSync(pomFile, '<project/>\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A PATH holding only `java` (if given): no python3, no mvn, so any install attempt would fail. */
function pathWith(javaBin?: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  if (javaBin) symlinkSync(javaBin, join(bin, 'java'));
  return bin;
}

const systemJava = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : '/usr/bin/java';

describe('ensureSparkRuntime', () => {
  it('returns a complete cached runtime without running pip or mvn', async () => {
    const cacheDir = join(dir, 'cache');
    const { venvDir, jarsDir } = sparkRuntimePaths({ requirementsFile, pomFile, cacheDir });
    mkdirSync(join(venvDir, 'bin'), { recursive: true });
    writeFileSync(join(venvDir, '.fairway-complete'), 'x');
    mkdirSync(jarsDir, { recursive: true });
    for (const f of ['b.jar', 'a.jar', '.fairway-complete', 'notes.txt']) writeFileSync(join(jarsDir, f), 'x');

    const env = { PATH: pathWith(systemJava) };
    const started = performance.now();
    const rt = await ensureSparkRuntime({ requirementsFile, pomFile, cacheDir, env });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(rt.python).toBe(join(venvDir, 'bin', 'python'));
    expect(rt.venvDir).toBe(venvDir);
    expect(rt.jars).toEqual([join(jarsDir, 'a.jar'), join(jarsDir, 'b.jar')]);
    expect(rt.javaHome).toMatch(/jvm|java/);
  });

  it('keys the venv by the requirements file content', () => {
    const cacheDir = join(dir, 'cache');
    const a = sparkRuntimePaths({ requirementsFile, pomFile, cacheDir });
    writeFileSync(requirementsFile, 'pyspark==3.5.8\n');
    const b = sparkRuntimePaths({ requirementsFile, pomFile, cacheDir });
    expect(a.venvDir).not.toBe(b.venvDir);
    expect(a.jarsDir).toBe(b.jarsDir);
  });

  it('keys the jars by the pom and the Java sources beside it', () => {
    const cacheDir = join(dir, 'cache');
    const paths = () => sparkRuntimePaths({ requirementsFile, pomFile, cacheDir });
    const pomOnly = paths();
    const source = join(dir, 'src', 'main', 'java', 'A.java');
    mkdirSync(join(dir, 'src', 'main', 'java'), { recursive: true });
    writeFileSync(source, 'class A {}\n');
    const withSource = paths();
    writeFileSync(source, 'class A { int x; }\n');
    const changedSource = paths();
    expect(new Set([pomOnly.jarsDir, withSource.jarsDir, changedSource.jarsDir]).size).toBe(3);
    expect(paths().jarsDir).toBe(changedSource.jarsDir);
    expect(changedSource.venvDir).toBe(pomOnly.venvDir);
  });

  it('names Java as what to install when neither JAVA_HOME nor PATH has it', async () => {
    const env = { PATH: pathWith() };
    const err = await ensureSparkRuntime({ requirementsFile, pomFile, cacheDir: join(dir, 'cache'), env }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(FrameworkError);
    expect(err.code).toBe('SPARK_JAVA_MISSING');
    expect(err.message).toMatch(/Java 17/);
    expect(err.message).toMatch(/JAVA_HOME/);
  });

  it('names python3 as what to install when the venv must be built without it', async () => {
    const env = { PATH: pathWith(systemJava) };
    const err = await ensureSparkRuntime({ requirementsFile, pomFile, cacheDir: join(dir, 'cache'), env }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(FrameworkError);
    expect(err.code).toBe('SPARK_PYTHON_MISSING');
  });
});
