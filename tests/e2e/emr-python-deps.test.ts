/**
 * The Silver job's Python dependencies on EMR Serverless (docs/aws_cutover.md): the archive `fairway aws package`
 * ships holds exactly the pinned wheels for CPython 3.9 and the application's platform, and the way the launch
 * passes it (`spark.archives` + `PYTHONPATH`) really makes a driver and an executor's Python worker import them,
 * shown with the same code building an archive for this machine's Python and a Spark application whose Python
 * has no pyarrow, pandas or numpy. That EMR's image loads the cp39 wheels only a real account shows.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { unzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureDepsArchive, parsePins } from '../../assets/lib/aws/deps-archive.ts';
import {
  type EmrArchitecture,
  emrPythonTarget,
  linuxPythonTarget,
  pythonDepsLaunch,
} from '../../assets/lib/aws/emr-python.ts';
import { emrSparkProperties } from '../../assets/lib/aws/emr-serverless-launcher.ts';
import { sparkPackageZip } from '../../assets/lib/aws/job-bundle.ts';
import { ensureSparkRuntime, type SparkRuntime } from '../../framework/integrations/spark/index.ts';
import { repoRoot } from './helpers.ts';

const pinsFile = join(repoRoot, 'spark', 'requirements-emr.txt');
const normalize = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '_');

/** Every `*.dist-info/WHEEL` of an archive: the distribution and its `Tag:` lines (python-abi-platform). */
function wheelTags(archive: Buffer): Map<string, string[]> {
  const files = unzipSync(archive, { filter: (f) => /^[^/]+\.dist-info\/WHEEL$/.test(f.name) });
  return new Map(
    Object.entries(files).map(([name, data]) => [
      normalize(name.split('-')[0]!),
      [...new TextDecoder().decode(data).matchAll(/^Tag: (\S+)$/gm)].map((m) => m[1]!),
    ]),
  );
}

/**
 * A CPython 3.9, EMR Serverless's Python, when this machine has one (on PATH or from pyenv): the mechanism test then
 * runs the job's own code on it with the cp39 archive `fairway aws package` ships. Otherwise the host's python3.
 */
async function findPython39(): Promise<string | undefined> {
  const onPath = await execa('python3.9', ['-c', 'import sys; print(sys.executable)'], { reject: false });
  if (onPath.exitCode === 0) return onPath.stdout.trim();
  const pyenv = join(homedir(), '.pyenv', 'versions');
  if (!existsSync(pyenv)) return undefined;
  const found = readdirSync(pyenv)
    .filter((v) => v.startsWith('3.9.'))
    .map((v) => join(pyenv, v, 'bin', 'python3.9'))
    .find(existsSync);
  return found;
}

/** ISO-8601 forms Python 3.11 reads and 3.9's own fromisoformat does not (the job must decode them alike). */
const ISO_SAMPLES = [
  '2025-06-02T12:00:00.000Z',
  '2025-06-02T12:00:00.5Z',
  '2025-06-02T12:00:00.1234Z',
  '2025-06-02T12:00:00+0200',
  '2025-06-02T12:00:00+02',
  '20250602T120000Z',
  '2025-06-02T12:00:00,5Z',
  'not a time',
];

describe("the Silver job's Python dependencies for EMR Serverless", () => {
  let runtime: SparkRuntime;

  beforeAll(async () => {
    runtime = await ensureSparkRuntime({
      requirementsFile: join(repoRoot, 'spark', 'requirements.txt'),
      pomFile: join(repoRoot, 'spark', 'jars', 'pom.xml'),
    });
  });

  it.each([
    ['X86_64', 'x86_64'],
    ['ARM64', 'aarch64'],
  ] as const)(
    'ships exactly the pinned wheels for cp39 on %s, none of pyspark or py4j',
    async (arch: EmrArchitecture, machine) => {
      const deps = await ensureDepsArchive({ python: runtime.python, pinsFile, target: emrPythonTarget(arch) });
      expect(deps.name).toBe(`python-deps-cp39-${machine}.zip`);
      const archive = readFileSync(deps.path);
      const tags = wheelTags(archive);
      const pins = parsePins(readFileSync(pinsFile, 'utf8'), pinsFile).map((p) => normalize(p.name));
      expect([...tags.keys()].sort()).toEqual([...pins].sort());
      const platform = new RegExp(`^(any|manylinux(2014|_2_(1[7-9]|2[0-8]))_${machine})$`);
      for (const [dist, lines] of tags) {
        expect(lines.length, dist).toBeGreaterThan(0);
        for (const tag of lines) {
          const [py, abi, plat] = tag.split('-');
          expect(['cp39', 'py3', 'py2'], `${dist}: ${tag}`).toContain(py);
          expect(['cp39', 'abi3', 'none'], `${dist}: ${tag}`).toContain(abi);
          expect(plat, `${dist}: ${tag}`).toMatch(platform);
        }
      }
      // the binary wheels are the machine's, not pure-Python stand-ins
      for (const dist of ['numpy', 'pandas', 'pyarrow'])
        expect(tags.get(dist)!.join()).toContain(`cp39-cp39-manylinux`);
      const names = Object.keys(unzipSync(archive, { filter: (f) => /^py(spark|4j)\b/.test(f.name) }));
      expect(names).toEqual([]);
      if (arch === 'X86_64') {
        // a second build from scratch (its own cache; the downloaded wheels are shared) gives the same bytes
        const again = await ensureDepsArchive({
          python: runtime.python,
          pinsFile,
          target: emrPythonTarget(arch),
          cacheDir: mkdtempSync(join(tmpdir(), 'fairway-deps-')),
        });
        expect(readFileSync(again.path).equals(archive)).toBe(true);
      }
    },
  );

  it("makes the driver and an executor's Python worker import them and run the job's code, as the launch passes it", async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'fairway-deps-spark-'));
    // a Python with nothing installed: only Spark's own pyspark.zip and py4j, as on the service; 3.9 if there is one
    const python39 = await findPython39();
    if (!python39) console.warn('no CPython 3.9 here (PATH, ~/.pyenv): the mechanism runs on the host python3');
    const bare = join(tmp, 'bare');
    await execa(python39 ?? 'python3', ['-m', 'venv', '--without-pip', bare]);
    const python = join(bare, 'bin', 'python');
    const missing = await execa(python, ['-c', 'import pyarrow'], { reject: false });
    expect(missing.stderr).toContain("No module named 'pyarrow'");
    const host = (
      await execa(python, ['-c', 'import sys, platform; print(*sys.version_info[:2], platform.machine())'])
    ).stdout.split(' ');
    const deps = await ensureDepsArchive({
      python: runtime.python,
      pinsFile,
      target: linuxPythonTarget(`${host[0]}.${host[1]}`, host[2]!),
    });
    if (python39 && host[2] === 'x86_64') expect(deps.name).toBe('python-deps-cp39-x86_64.zip'); // what EMR gets
    // the launch's own properties for this archive
    const launch = pythonDepsLaunch(deps.path);
    const props = emrSparkProperties({
      ...{ name: 'deps', entryPoint: 'job.py', args: [], pyFiles: ['fairway-spark.zip'], jars: [] },
      ...{ logUri: '', timeoutMinutes: 5 },
      ...launch,
    });
    const driverEnv: Record<string, string> = {};
    const conf: string[] = [];
    for (const [k, v] of Object.entries(props)) {
      if (k.startsWith('spark.emr-serverless.driverEnv.'))
        driverEnv[k.slice('spark.emr-serverless.driverEnv.'.length)] = v;
      else conf.push('--conf', `${k}=${v}`);
    }
    expect(conf).toContain(`spark.archives=${deps.path}#deps`);
    // what the service does before the driver starts: the archives unpacked in its working directory
    const driverDir = join(tmp, 'driver');
    mkdirSync(driverDir);
    await execa(python, ['-m', 'zipfile', '-e', deps.path, join(driverDir, 'deps')]);
    // the job's own packages, as the bundle ships them on --py-files: the driver imports the Silver job's module
    // tree and an executor decodes timestamps with it
    writeFileSync(join(driverDir, 'fairway-spark.zip'), sparkPackageZip(repoRoot));
    writeFileSync(
      join(driverDir, 'job.py'),
      `import json, os, sys
import pandas, pyarrow
import fairway_spark.silver_job
from pyspark.sql import SparkSession

SAMPLES = ${JSON.stringify(ISO_SAMPLES)}

def where(batches):
    import boto3, numpy, pandas, pyarrow
    from fairway_spark.silver.decoders import to_epoch_us
    for _ in batches:
        yield pyarrow.RecordBatch.from_pydict({
            "pyarrow": [os.path.abspath(pyarrow.__file__)], "cwd": [os.getcwd()],
            "python": ["%d.%d" % sys.version_info[:2]], "times": [json.dumps([to_epoch_us(s) for s in SAMPLES])],
        })

spark = SparkSession.builder.appName("fairway-deps").getOrCreate()
df = spark.range(1, numPartitions=1).mapInArrow(where, "pyarrow string, cwd string, python string, times string")
row = df.collect()[0]
print("RESULT " + json.dumps({"driver": os.path.abspath(pyarrow.__file__), "executor": row.asDict()}))
spark.stop()
`,
    );
    // The driver's environment reaches its Python only (a wrapper), as on the service, where executors run in
    // containers of their own: local-cluster executors would otherwise inherit it from this process. Spark's
    // PythonRunner appends the environment's PYTHONPATH to its own (pyspark.zip, py4j): so does the wrapper.
    expect(driverEnv).toEqual({ PYTHONPATH: './deps' });
    const driverPython = join(driverDir, 'driver-python');
    const path = `export PYTHONPATH="\${PYTHONPATH:+$PYTHONPATH:}${driverEnv.PYTHONPATH}"\n`;
    writeFileSync(driverPython, `#!/bin/sh\n${path}exec '${python}' "$@"\n`, { mode: 0o755 });
    // Spark's own launcher from the venv's pyspark, in a home of its own: the worker's executors run in its work/
    const pyspark = (
      await execa(runtime.python, ['-c', 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'])
    ).stdout;
    const sparkHome = join(tmp, 'spark-home');
    mkdirSync(sparkHome);
    for (const d of ['bin', 'jars', 'python']) symlinkSync(join(pyspark, d), join(sparkHome, d));
    // local-cluster: a real executor JVM in its own directory, which unpacks spark.archives there
    const run = await execa(
      join(sparkHome, 'bin', 'spark-submit'),
      ['--master', 'local-cluster[1,1,1024]', '--conf', 'spark.executor.memory=512m', ...conf, 'job.py'],
      {
        cwd: driverDir,
        env: {
          PATH: process.env.PATH,
          SPARK_HOME: sparkHome,
          JAVA_HOME: runtime.javaHome,
          PYSPARK_DRIVER_PYTHON: driverPython,
          PYSPARK_PYTHON: python,
        },
        extendEnv: false,
        reject: false,
      },
    );
    expect(run.exitCode, `${run.stdout}\n${run.stderr.split('\n').slice(-30).join('\n')}`).toBe(0);
    const result = JSON.parse(
      run.stdout
        .split('\n')
        .find((l) => l.startsWith('RESULT '))!
        .slice('RESULT '.length),
    );
    expect(result.driver).toBe(join(realpathSync(driverDir), 'deps', 'pyarrow', '__init__.py'));
    const executor = result.executor as { pyarrow: string; cwd: string; python: string; times: string };
    expect(executor.cwd.startsWith(join(realpathSync(sparkHome), 'work'))).toBe(true);
    expect(executor.pyarrow).toBe(join(executor.cwd, 'deps', 'pyarrow', '__init__.py'));
    expect(executor.python).toBe(`${host[0]}.${host[1]}`);
    // the executor's decoding equals the local job's (the venv's Python 3.11)
    const local = await execa(
      runtime.python,
      [
        '-c',
        'import json, sys; from fairway_spark.silver.decoders import to_epoch_us as f; print(json.dumps([f(s) for s in json.loads(sys.argv[1])]))',
        JSON.stringify(ISO_SAMPLES),
      ],
      { env: { PYTHONPATH: join(repoRoot, 'spark') } },
    );
    expect(JSON.parse(executor.times)).toEqual(JSON.parse(local.stdout));
    expect(JSON.parse(local.stdout).filter((t: number | null) => t === null)).toHaveLength(1);
    rmSync(tmp, { recursive: true }); // two unpacked copies of the archive, ~0.7 GB
  });
});
