/**
 * The Python the Silver job runs on EMR Serverless, in one place: which interpreter and platform its dependency
 * wheels are for, and how the launch makes the driver and the executors import them (docs/aws_cutover.md).
 */

/** A CPython and the wheel platforms it loads: what `pip download --python-version --platform` take. */
export interface PythonTarget {
  /** `major.minor`, e.g. `3.9`. */
  version: string;
  /** pip `--platform` tags; a wheel for any of them loads. */
  platforms: string[];
}

/**
 * EMR 7.x images are Amazon Linux 2023, whose system python3 (the one EMR's PySpark runs) is CPython 3.9 for the
 * life of AL2023.
 */
export const EMR_PYTHON_VERSION = '3.9';

/** EMR Serverless architectures (`CreateApplication` `architecture`) → the Linux machine name in wheel tags. */
const MACHINE = { X86_64: 'x86_64', ARM64: 'aarch64' } as const;
export type EmrArchitecture = keyof typeof MACHINE;

/**
 * Linux wheels for `machine`: manylinux2014 (glibc 2.17) and manylinux_2_28; AL2023's glibc 2.34 loads both
 * (pandas 2.3 publishes only manylinux_2_28 wheels).
 */
export function linuxPythonTarget(version: string, machine: string): PythonTarget {
  return { version, platforms: [`manylinux2014_${machine}`, `manylinux_2_28_${machine}`] };
}

/** The wheels EMR Serverless's Python loads on an application of `architecture`. */
export const emrPythonTarget = (architecture: EmrArchitecture): PythonTarget =>
  linuxPythonTarget(EMR_PYTHON_VERSION, MACHINE[architecture]);

/** `cp39-x86_64`: names an archive's target in its file name. */
export const targetLabel = (t: PythonTarget) =>
  `cp${t.version.replace('.', '')}-${t.platforms[0]!.replace(/^manylinux[^_]*_/, '')}`;

/**
 * What a launch adds so that the job's Python imports the dependency archive: Spark unpacks `spark.archives`
 * entries into the working directory of the driver (before it starts, on EMR Serverless as in YARN or
 * Kubernetes cluster mode) and of each executor, under the name after `#`. `./deps` on `PYTHONPATH` then
 * reaches it from the driver (`spark.emr-serverless.driverEnv.PYTHONPATH`) and from the Python workers of every
 * executor (`spark.executorEnv.PYTHONPATH`), where mapInArrow decodes with pyarrow. The interpreter stays EMR's.
 */
export function pythonDepsLaunch(archiveUri: string): {
  archives: string[];
  env: Record<string, string>;
  sparkConf: Record<string, string>;
} {
  return {
    archives: [`${archiveUri}#deps`],
    env: { PYTHONPATH: './deps' },
    sparkConf: { 'spark.executorEnv.PYTHONPATH': './deps' },
  };
}
