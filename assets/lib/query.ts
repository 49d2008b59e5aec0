import { z } from 'zod';
import type { QueryOptions, QueryResult } from '../../framework/definitions/index.ts';
import { FrameworkError, ServiceUnavailableError, UsageError } from '../../framework/errors/index.ts';
import type { LakehouseConfig } from './config.ts';
import type { Lakehouse } from './lakehouse.ts';
import { sparkEnv, sparkJars } from './spark-env.ts';
import { sparkModule } from './spark-python.ts';

const ResultLineSchema = z.object({
  statement: z.number().int().min(0),
  columns: z.array(z.string()),
  rows: z.array(z.array(z.unknown())),
  total_rows: z.number().int().optional(),
});
const LineSchema = z.union([ResultLineSchema, z.object({ statement: z.number().int().min(0), error: z.string() })]);
/** `fairway_spark.query_duckdb`'s lines: a result, an error (`code` TABLE_NOT_FOUND: a table the catalog lacks), or a fallback. */
const DuckDbLineSchema = z.union([
  ResultLineSchema,
  z.object({ statement: z.number().int().min(0), error: z.string(), code: z.literal('TABLE_NOT_FOUND') }),
  z.object({ statement: z.number().int().min(0), fallback: z.string() }),
]);

/** A statement that names a table the catalog does not have: code `TABLE_NOT_FOUND`, so callers can say "materialize it first". */
const tableNotFound = (engine: string, statement: string, message: string) =>
  new FrameworkError('TABLE_NOT_FOUND', `${engine}: ${message}`, { details: { statement } });

/** Rows per statement when the caller does not say (`QueryOptions.maxRows`). */
export const DEFAULT_MAX_ROWS = 10_000;

/** `fairway query --engine` on the embedded profile; unset: DuckDB, and Spark for what DuckDB cannot run. */
const EmbeddedEngineSchema = z.enum(['duckdb', 'spark']);

const toResult = (line: z.infer<typeof ResultLineSchema>): QueryResult => ({
  columns: line.columns,
  rows: line.rows,
  ...(line.total_rows !== undefined ? { total_rows: line.total_rows } : {}),
});

/** Whether the profile's catalog can be read without Spark: Iceberg's JDBC catalog on a SQLite file. */
export function readsWithoutSpark(config: LakehouseConfig): boolean {
  const env = sparkEnv(config);
  return env.FAIRWAY_CATALOG_TYPE === 'jdbc' && (env.FAIRWAY_CATALOG_URI ?? '').startsWith('jdbc:sqlite:');
}

/**
 * Runs SQL on the embedded profile. A SELECT is answered in ~1 s without a JVM (`fairway_spark.query_duckdb`: pyiceberg
 * reads the tables it names, DuckDB runs it); what DuckDB cannot run (writes, DDL, Spark-only syntax or
 * functions such as Sedona's ST_*) goes to one Spark session, said in one `onNotice` line per statement.
 * `opts.engine` forces one engine: `spark`, or `duckdb` (then a statement DuckDB cannot run is an error).
 */
export async function queryEmbedded(
  lake: Lakehouse,
  projectRoot: string,
  statements: string[],
  opts: QueryOptions = {},
): Promise<QueryResult[]> {
  const parsed = EmbeddedEngineSchema.optional().safeParse(opts.engine);
  if (!parsed.success)
    throw new UsageError(`--engine must be duckdb or spark on this profile; got '${opts.engine}'.`, {
      engine: opts.engine,
    });
  const engine = parsed.data;
  if (engine === 'spark') return querySpark(lake, projectRoot, statements, opts);
  if (!readsWithoutSpark(lake.config)) {
    if (engine === 'duckdb')
      throw new UsageError(
        `--engine duckdb reads only a SQLite JDBC catalog; ${lake.config.file} sets FAIRWAY_CATALOG_TYPE=${lake.config.catalog.type}.`,
      );
    return querySpark(lake, projectRoot, statements, opts);
  }
  const answers = await queryDuckDb(lake, projectRoot, statements, opts);
  const fallbacks = answers.flatMap((a, i) => ('fallback' in a ? [{ i, reason: a.fallback }] : []));
  if (fallbacks.length === 0) return answers as QueryResult[];
  const which = (i: number) => (statements.length === 1 ? 'this statement' : `statement ${i + 1}`);
  if (engine === 'duckdb') {
    const { i, reason } = fallbacks[0]!;
    throw new FrameworkError(
      'QUERY_FAILED',
      `DuckDB could not run ${which(i)} (${reason}). Without --engine, Fairway runs such a statement on Spark.`,
      { details: { statement: statements[i] } },
    );
  }
  for (const { i, reason } of fallbacks) {
    opts.onNotice?.(`query: DuckDB could not run ${which(i)} (${reason}); running it on Spark`);
  }
  const onSpark = await querySpark(
    lake,
    projectRoot,
    fallbacks.map(({ i }) => statements[i]!),
    opts,
  );
  const out = [...answers] as (QueryResult | { fallback: string })[];
  for (const [k, { i }] of fallbacks.entries()) out[i] = onSpark[k]!;
  return out as QueryResult[];
}

/**
 * One run of `fairway_spark.query_duckdb` over all the statements: a result or a fallback reason per statement, in
 * order. A missing table throws `TABLE_NOT_FOUND` at once, as Spark would.
 */
async function queryDuckDb(
  lake: Lakehouse,
  projectRoot: string,
  statements: string[],
  opts: QueryOptions,
): Promise<(QueryResult | { fallback: string })[]> {
  const python = await lake.python();
  // execa and trino-client are loaded by the query that uses them, not when the definitions load
  const { execa } = await import('execa');
  const job = sparkModule(projectRoot, 'query_duckdb');
  const result = await execa(python, [...job.args, ...statements], {
    cwd: projectRoot,
    reject: false,
    env: {
      ...process.env,
      ...job.env,
      ...sparkEnv(lake.config),
      FAIRWAY_QUERY_MAX_ROWS: String(opts.maxRows ?? DEFAULT_MAX_ROWS),
    },
  });
  const out: (QueryResult | { fallback: string })[] = [];
  for (const line of result.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const parsed = DuckDbLineSchema.parse(JSON.parse(line));
    if ('error' in parsed) throw tableNotFound('DuckDB', statements[parsed.statement] ?? '', parsed.error);
    out[parsed.statement] = 'fallback' in parsed ? { fallback: parsed.fallback } : toResult(parsed);
  }
  if (result.exitCode !== 0 || out.filter(Boolean).length !== statements.length) {
    // the reader itself failed (e.g. a broken venv): Spark may still answer, and says so if not
    const tail = result.stderr.split('\n').filter(Boolean).slice(-1).join('') || `exit ${result.exitCode}`;
    return statements.map((_, i) => out[i] ?? { fallback: `the DuckDB reader failed: ${tail}` });
  }
  return out;
}

/** Runs SQL on one Spark session (local mode, or the profile's cluster) (`fairway_spark.query`) for all the statements, so the start-up cost is paid once. */
export async function querySpark(
  lake: Lakehouse,
  projectRoot: string,
  statements: string[],
  opts: QueryOptions = {},
): Promise<QueryResult[]> {
  const runtime = await lake.sparkRuntime();
  const { execa } = await import('execa');
  const job = sparkModule(projectRoot, 'query');
  const result = await execa(runtime.python, [...job.args, ...statements], {
    cwd: projectRoot,
    reject: false,
    env: {
      ...process.env,
      ...job.env,
      ...sparkEnv(lake.config),
      FAIRWAY_SPARK_JARS: sparkJars(lake.config, runtime.jars).join(','),
      JAVA_HOME: runtime.javaHome,
      PYSPARK_PYTHON: runtime.python,
      FAIRWAY_QUERY_MAX_ROWS: String(opts.maxRows ?? DEFAULT_MAX_ROWS),
    },
  });
  const out: QueryResult[] = [];
  for (const line of result.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const parsed = LineSchema.parse(JSON.parse(line));
    if ('error' in parsed) {
      const statement = statements[parsed.statement] ?? '';
      if (parsed.error.includes('TABLE_OR_VIEW_NOT_FOUND')) throw tableNotFound('Spark', statement, parsed.error);
      throw new FrameworkError('QUERY_FAILED', `Statement ${parsed.statement + 1} failed: ${parsed.error}`, {
        details: { statement: statements[parsed.statement] },
      });
    }
    out.push(toResult(parsed));
  }
  if (result.exitCode !== 0 || out.length !== statements.length) {
    const tail = result.stderr.split('\n').filter(Boolean).slice(-5).join('\n');
    throw new ServiceUnavailableError(
      'spark',
      `The query engine (Spark) exited with ${result.exitCode} before answering:\n${tail}\n` +
        'Run `fairway bootstrap` to check the Python venv, jars and Java it needs.',
    );
  }
  return out;
}

const TrinoPageSchema = z.object({
  id: z.string().optional(),
  columns: z.array(z.object({ name: z.string() })).optional(),
  data: z.array(z.array(z.unknown())).optional(),
  error: z
    .object({ message: z.string(), errorName: z.string().optional(), errorType: z.string().optional() })
    .optional(),
});

interface TrinoQueryOptions extends QueryOptions {
  /**
   * Called when Trino reports an engine-side failure (not a user error such as bad SQL): returns the
   * error to throw instead when a server behind Trino (object store, catalog) is down.
   */
  diagnose?: (failure: FrameworkError) => Promise<FrameworkError | undefined>;
}

/**
 * Runs SQL on Trino (local profile), one statement after another, with the profile's Iceberg
 * catalog as the session catalog so two-part names (`silver.fact_telemetry_event`) resolve.
 * BIGINT values arrive as JSON numbers: cast 64-bit ids (snapshot ids) to VARCHAR to keep them exact.
 */
export async function queryTrino(
  config: LakehouseConfig,
  statements: string[],
  opts: TrinoQueryOptions = {},
): Promise<QueryResult[]> {
  const server = config.query.trinoUrl;
  if (!server) {
    throw new FrameworkError(
      'QUERY_FAILED',
      `${config.file}: FAIRWAY_TRINO_URL is required for FAIRWAY_QUERY_ENGINE=trino.`,
    );
  }
  const { BasicAuth, Trino } = await import('trino-client');
  const trino = Trino.create({
    server,
    source: 'fairway',
    catalog: config.catalog.name,
    schema: config.catalog.namespaces.silver,
    auth: new BasicAuth('fairway'),
  });
  const limit = opts.maxRows === 0 ? Number.POSITIVE_INFINITY : (opts.maxRows ?? DEFAULT_MAX_ROWS);
  const out: QueryResult[] = [];
  for (const [i, sql] of statements.entries()) {
    let columns: string[] = [];
    const rows: unknown[][] = [];
    let total = 0; // rows past the limit are counted, not kept
    let failure: { message: string; errorName?: string | undefined; errorType?: string | undefined } | undefined;
    try {
      for await (const raw of await trino.query(sql)) {
        const page = TrinoPageSchema.parse(raw);
        if (page.error) {
          failure = page.error;
          break;
        }
        if (page.columns) columns = page.columns.map((c) => c.name);
        for (const row of page.data ?? []) if (total++ < limit) rows.push(row);
      }
    } catch (e) {
      if (e instanceof z.ZodError) throw e;
      const code = (e as { code?: string }).code ?? (e as Error).message;
      throw new ServiceUnavailableError(
        'trino',
        `Trino at ${server} did not answer statement ${i + 1} (${code}). ` +
          'Run `fairway stack status` to check the local stack and `fairway stack up` to start it.',
        { details: { statement: sql }, cause: e },
      );
    }
    if (failure) {
      if (failure.errorName === 'TABLE_NOT_FOUND' || failure.errorName === 'SCHEMA_NOT_FOUND')
        throw tableNotFound('Trino', sql, failure.message);
      const error = new FrameworkError('QUERY_FAILED', `Statement ${i + 1} failed on Trino: ${failure.message}`, {
        details: { statement: sql, error_name: failure.errorName },
      });
      // Bad SQL is the user's; anything else may be S3 or the catalog gone from under Trino.
      throw (failure.errorType !== 'USER_ERROR' ? await opts.diagnose?.(error) : undefined) ?? error;
    }
    out.push({ columns, rows, ...(total > rows.length ? { total_rows: total } : {}) });
  }
  return out;
}
