/**
 * Runs the Python tests (spark/tests) with Fairway's own runtime: the cached venv and the
 * Iceberg/Sedona jars, bootstrapped on first use. Extra arguments go to pytest.
 * Usage: node --import tsx scripts/pytest.ts [-k pattern] [tests/<file>[::<test>] ...]
 */
import { join } from 'node:path';
import { execa } from 'execa';
import { ensureSparkRuntime } from '../framework/integrations/spark/index.ts';
import { MOTO_PIN, MOTO_VENV } from '../tests/e2e/aws-emulator.ts';
import { toolVenv } from './tool-venv.ts';

const root = process.cwd();
const runtime = await ensureSparkRuntime({
  requirementsFile: join(root, 'spark', 'requirements.txt'),
  pomFile: join(root, 'spark', 'jars', 'pom.xml'),
  onProgress: (m) => process.stderr.write(`${m}\n`),
});
// moto's S3 server for the tests that read Bronze from S3 (tests/test_bronze_s3.py starts it when they run)
const moto = await toolVenv(MOTO_VENV, [MOTO_PIN]);
const args = process.argv.slice(2);
// test files or folders given (`tests/test_wap.py`, `tests/x.py::test_y`): those only; else the whole folder
const paths = args.some((a) => a.startsWith('tests/'));
const result = await execa(runtime.python, ['-m', 'pytest', '-q', ...(paths ? [] : ['tests']), ...args], {
  cwd: join(root, 'spark'),
  stdio: 'inherit',
  reject: false,
  env: {
    FAIRWAY_SPARK_JARS: runtime.jars.join(','),
    JAVA_HOME: runtime.javaHome,
    PYSPARK_PYTHON: runtime.python,
    FAIRWAY_MOTO_SERVER: join(moto, 'moto_server'),
  },
});
// pytest exits 5 when it collected no test: that is a failure here, not a pass.
process.exitCode = result.exitCode ?? 1;
