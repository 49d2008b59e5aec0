import { delimiter, join } from 'node:path';

/** The jobs of the Spark side's Python package (`spark/fairway_spark/<name>.py`), each run with `python -m`. */
export const SPARK_MODULES = ['silver_job', 'query', 'query_duckdb', 'wap', 'dbt_profile'] as const;
export type SparkModule = (typeof SPARK_MODULES)[number];

/** `spark/`: the directory that holds the `fairway_spark` package and its pipes client `fairway_pipes`. */
export const sparkPackageRoot = (projectRoot: string): string => join(projectRoot, 'spark');

/**
 * How to start one job of the Spark side with the venv's python: its arguments (`-m fairway_spark.<name>`)
 * and the `PYTHONPATH` that makes the package importable (spark/ first, then whatever `env` had).
 *
 * @example
 * const job = sparkModule(projectRoot, 'wap');
 * await execa(python, [...job.args, 'describe', '--tables', 't'], { env: { ...env, ...job.env } });
 */
export function sparkModule(
  projectRoot: string,
  name: SparkModule,
  env: NodeJS.ProcessEnv = process.env,
): { args: string[]; env: { PYTHONPATH: string } } {
  const paths = [sparkPackageRoot(projectRoot), ...(env.PYTHONPATH ?? '').split(delimiter).filter(Boolean)];
  return { args: ['-m', `fairway_spark.${name}`], env: { PYTHONPATH: [...new Set(paths)].join(delimiter) } };
}
