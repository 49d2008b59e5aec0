import type { AthenaClient, ColumnInfo, GetQueryResultsCommandOutput, QueryExecution } from '@aws-sdk/client-athena';
import type { QueryOptions, QueryResult } from '../../../framework/definitions/index.ts';
import { FrameworkError, ServiceUnavailableError } from '../../../framework/errors/index.ts';
import type { LakehouseConfig } from '../config.ts';
import { awsClientConfig, awsLocations } from './aws-clients.ts';
import { DEFAULT_BACKOFF, type PollBackoff, pause, pollDelay } from './poll.ts';

export interface AthenaQueryOptions extends QueryOptions {
  /** Aborting stops the running query (`StopQueryExecution`) and throws `QUERY_CANCELED`. */
  signal?: AbortSignal;
  backoff?: PollBackoff;
}

type AthenaSdk = typeof import('@aws-sdk/client-athena');

/** Rows per `GetQueryResults` page (Athena's maximum). */
const PAGE_ROWS = 1000;
const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'integer', 'int']);
const FLOAT_TYPES = new Set(['double', 'float', 'real', 'decimal']);

/**
 * One Athena cell as JSON: numbers and booleans typed after the column, a BIGINT beyond 2^53 (snapshot ids,
 * H3 cells) kept as its exact text, NULL (no `VarCharValue`) as null.
 */
export function athenaValue(text: string | undefined, type: string | undefined): unknown {
  if (text === undefined) return null;
  const t = (type ?? 'varchar').toLowerCase();
  if (INTEGER_TYPES.has(t) || FLOAT_TYPES.has(t)) return Number(text);
  if (t === 'bigint') return Number.isSafeInteger(Number(text)) ? Number(text) : text;
  if (t === 'boolean') return text === 'true';
  return text;
}

/** Athena's SELECT results start with a row of the column labels; DDL and SHOW results do not. */
const isHeader = (values: (string | undefined)[], columns: ColumnInfo[]) =>
  values.length === columns.length && values.every((v, i) => v === (columns[i]?.Label ?? columns[i]?.Name));

/**
 * Runs SQL on Athena, one statement after another, in the profile's workgroup with the Silver namespace as
 * the default database (two-part names resolve in the Glue catalog). Each statement: `StartQueryExecution`,
 * `GetQueryExecution` polled with backoff, then `GetQueryResults` page by page. A failed statement throws
 * `QUERY_FAILED` (`TABLE_NOT_FOUND` for a missing table or database) with Athena's reason.
 */
export async function queryAthena(
  config: LakehouseConfig,
  statements: string[],
  opts: AthenaQueryOptions = {},
): Promise<QueryResult[]> {
  const sdk: AthenaSdk = await import('@aws-sdk/client-athena');
  const client = new sdk.AthenaClient(awsClientConfig(config));
  const limit = opts.maxRows === 0 ? Number.POSITIVE_INFINITY : (opts.maxRows ?? 10_000);
  const out: QueryResult[] = [];
  try {
    for (const [i, sql] of statements.entries()) {
      const id = await start(sdk, client, config, sql, i);
      const execution = await waitFor(sdk, client, id, sql, i, opts);
      out.push(await results(sdk, client, id, limit, execution));
    }
  } finally {
    client.destroy();
  }
  return out;
}

async function start(sdk: AthenaSdk, client: AthenaClient, config: LakehouseConfig, sql: string, i: number) {
  const workgroup = config.query.athenaWorkgroup ?? 'primary';
  try {
    const res = await client.send(
      new sdk.StartQueryExecutionCommand({
        QueryString: sql,
        WorkGroup: workgroup,
        QueryExecutionContext: { Catalog: 'AwsDataCatalog', Database: config.catalog.namespaces.silver },
        ResultConfiguration: { OutputLocation: awsLocations(config).athenaResults },
      }),
    );
    return res.QueryExecutionId!;
  } catch (e) {
    const name = (e as Error).name;
    if (name === 'InvalidRequestException') {
      throw new FrameworkError('QUERY_FAILED', `Athena refused statement ${i + 1}: ${(e as Error).message}`, {
        details: { statement: sql },
        cause: e,
      });
    }
    throw new ServiceUnavailableError(
      'athena',
      `Athena did not take statement ${i + 1} in workgroup '${workgroup}' (${name}: ${(e as Error).message}). ` +
        'Check the region, credentials and FAIRWAY_ATHENA_WORKGROUP; the orchestrator role needs athena:StartQueryExecution (iam/fairway-orchestrator-policy.json).',
      { details: { statement: sql }, cause: e },
    );
  }
}

async function waitFor(
  sdk: AthenaSdk,
  client: AthenaClient,
  id: string,
  sql: string,
  i: number,
  opts: AthenaQueryOptions,
): Promise<QueryExecution> {
  let stopped = false;
  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted && !stopped) {
      stopped = true;
      await client.send(new sdk.StopQueryExecutionCommand({ QueryExecutionId: id }));
    }
    const { QueryExecution: execution } = await client.send(new sdk.GetQueryExecutionCommand({ QueryExecutionId: id }));
    const state = execution?.Status?.State;
    if (state === 'SUCCEEDED') return execution!;
    if (state === 'FAILED' || state === 'CANCELLED') {
      const reason = execution?.Status?.StateChangeReason ?? execution?.Status?.AthenaError?.ErrorMessage ?? '';
      if (stopped) {
        throw new FrameworkError('QUERY_CANCELED', `Statement ${i + 1} was canceled; Athena stopped query ${id}.`, {
          details: { statement: sql, query_execution_id: id },
        });
      }
      const details = { statement: sql, query_execution_id: id, state };
      if (/TABLE_NOT_FOUND|SCHEMA_NOT_FOUND|does not exist/i.test(reason)) {
        throw new FrameworkError('TABLE_NOT_FOUND', `Athena: ${reason}`, { details });
      }
      throw new FrameworkError(
        'QUERY_FAILED',
        `Statement ${i + 1} ${state === 'CANCELLED' ? 'was cancelled on Athena' : 'failed on Athena'} (query ${id})${reason ? `: ${reason}` : ''}.`,
        { details },
      );
    }
    await pause(
      stopped ? DEFAULT_BACKOFF.initialMs : pollDelay(attempt, opts.backoff),
      stopped ? undefined : opts.signal,
    );
  }
}

async function results(
  sdk: AthenaSdk,
  client: AthenaClient,
  id: string,
  limit: number,
  execution: QueryExecution,
): Promise<QueryResult> {
  let columns: ColumnInfo[] = [];
  const rows: unknown[][] = [];
  let total = 0;
  let token: string | undefined;
  let first = true;
  do {
    const page: GetQueryResultsCommandOutput = await client.send(
      new sdk.GetQueryResultsCommand({
        QueryExecutionId: id,
        MaxResults: PAGE_ROWS,
        ...(token ? { NextToken: token } : {}),
      }),
    );
    if (first) columns = page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
    const pageRows = (page.ResultSet?.Rows ?? []).map((r) => (r.Data ?? []).map((d) => d.VarCharValue));
    if (first && execution.StatementType === 'DML' && pageRows[0] && isHeader(pageRows[0], columns)) pageRows.shift();
    first = false;
    for (const values of pageRows) {
      if (total++ < limit) rows.push(values.map((v, c) => athenaValue(v, columns[c]?.Type)));
    }
    token = page.NextToken;
  } while (token);
  return {
    columns: columns.map((c) => c.Label ?? c.Name ?? ''),
    rows,
    ...(total > rows.length ? { total_rows: total } : {}),
  };
}
