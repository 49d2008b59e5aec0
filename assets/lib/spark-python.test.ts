import { existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { SPARK_MODULES, sparkModule, sparkPackageRoot } from './spark-python.ts';

const repoRoot = resolve(import.meta.dirname, '../..');

describe('sparkModule', () => {
  it('names a module of the package for every job', () => {
    for (const name of SPARK_MODULES) {
      expect(sparkModule(repoRoot, name).args).toEqual(['-m', `fairway_spark.${name}`]);
      expect(existsSync(join(sparkPackageRoot(repoRoot), 'fairway_spark', `${name}.py`)), name).toBe(true);
    }
  });

  it("puts spark/ first on the Python path, before the caller's, once", () => {
    const spark = sparkPackageRoot(repoRoot);
    expect(sparkModule(repoRoot, 'wap', {}).env.PYTHONPATH).toBe(spark);
    const env = { PYTHONPATH: ['/x', spark].join(delimiter) };
    expect(sparkModule(repoRoot, 'wap', env).env.PYTHONPATH).toBe([spark, '/x'].join(delimiter));
  });

  it('makes the package and its pipes client importable by a plain python, from any directory', async () => {
    const { env } = sparkModule(repoRoot, 'query');
    const r = await execa('python3', ['-c', 'import fairway_pipes, fairway_spark; print(fairway_spark.__file__)'], {
      cwd: '/',
      env,
    });
    expect(r.stdout).toBe(join(sparkPackageRoot(repoRoot), 'fairway_spark', '__init__.py'));
  });
});
