import { join } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import type { QueryResult } from '../../framework/definitions/index.ts';
import { FrameworkError } from '../../framework/errors/index.ts';
import { sparkEnv } from './config.ts';
import type { Lakehouse } from './lakehouse.ts';

const LineSchema = z.union([
  z.object({ statement: z.number(), columns: z.array(z.string()), rows: z.array(z.array(z.unknown())) }),
  z.object({ statement: z.number(), error: z.string() }),
]);

/**
 * Runs SQL on the profile's engine. Embedded: one local Spark session (spark/query.py) for all the
 * statements, so the start-up cost is paid once.
 */
export async function querySpark(lake: Lakehouse, projectRoot: string, statements: string[]): Promise<QueryResult[]> {
  const runtime = await lake.sparkRuntime();
  const result = await execa(runtime.python, [join(projectRoot, 'spark', 'query.py'), ...statements], {
    cwd: projectRoot,
    reject: false,
    env: {
      ...process.env,
      ...sparkEnv(lake.config),
      FAIRWAY_SPARK_JARS: runtime.jars.join(','),
      JAVA_HOME: runtime.javaHome,
      PYSPARK_PYTHON: runtime.python,
    },
  });
  const out: QueryResult[] = [];
  for (const line of result.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const parsed = LineSchema.parse(JSON.parse(line));
    if ('error' in parsed) {
      throw new FrameworkError('QUERY_FAILED', `Statement ${parsed.statement + 1} failed: ${parsed.error}`, {
        details: { statement: statements[parsed.statement] },
      });
    }
    out.push({ columns: parsed.columns, rows: parsed.rows });
  }
  if (result.exitCode !== 0 || out.length !== statements.length) {
    const tail = result.stderr.split('\n').filter(Boolean).slice(-5).join('\n');
    throw new FrameworkError('QUERY_FAILED', `The query engine (Spark) exited with ${result.exitCode}:\n${tail}`);
  }
  return out;
}
