import type { z } from 'zod';
import type { CheckResult, Metadata } from '../../definitions/index.ts';
import { md } from '../../definitions/index.ts';
import { lazySchema, type Zod } from '../../validation/index.ts';
import { parseDbtArtifact, resultsArtifactSchema } from './artifact.ts';
import type { DbtTestSpec } from './manifest.ts';

/** One node's result in dbt's `run_results.json` (v6). */
const nodeResultSchema = (z: Zod) =>
  z.object({
    unique_id: z.string(),
    /** Models: success | error | skipped; tests: pass | warn | fail | error | skipped. */
    status: z.string(),
    execution_time: z.number().default(0),
    message: z.string().nullish(),
    failures: z.number().int().nullish(),
    adapter_response: z.looseObject({ rows_affected: z.number().nullish() }).default({}),
    compiled_code: z.string().nullish(),
    relation_name: z.string().nullish(),
  });
export type DbtNodeResult = z.infer<ReturnType<typeof nodeResultSchema>>;

/** `run_results.json`, built on first use (loading a dbt project parses none). */
export const runResultsSchema = lazySchema((z) => resultsArtifactSchema(z, nodeResultSchema(z)));
export type DbtRunResults = z.infer<ReturnType<typeof runResultsSchema>>;

/** Parses `run_results.json`; the error names the file and the first bad field. */
export function parseRunResults(raw: unknown, file = 'run_results.json'): DbtRunResults {
  return parseDbtArtifact(runResultsSchema(), raw, {
    file,
    artifact: 'run_results.json',
    code: 'DBT_RUN_RESULTS_INVALID',
  });
}

const MAX_SQL_CHARS = 4000;

/**
 * The check result of one dbt test. A missing result (dbt skipped the test or never got to it)
 * fails the check, so a gate cannot pass by not running.
 */
export function testCheckResult(
  test: DbtTestSpec,
  result: DbtNodeResult | undefined,
  compiledSqlPath: string,
): CheckResult {
  const metadata: Metadata = { compiled_sql_path: md.path(compiledSqlPath), dbt_unique_id: md.text(test.uniqueId) };
  if (!result) {
    return {
      name: test.name,
      passed: false,
      severity: test.severity,
      description: `dbt reported no result for ${test.name} (it did not run). Compiled SQL: ${compiledSqlPath}`,
      metadata,
    };
  }
  metadata.dbt_status = md.text(result.status);
  metadata.execution_time_ms = md.int(Math.round(result.execution_time * 1000));
  if (result.compiled_code) metadata.compiled_sql = md.text(result.compiled_code.trim().slice(0, MAX_SQL_CHARS));
  const failures = result.failures ?? undefined;
  const passed = result.status === 'pass' || result.status === 'success';
  // dbt decides warn vs. fail with the test's warn_if/error_if; its verdict overrides the spec's severity.
  const severity = result.status === 'warn' ? 'warn' : passed ? test.severity : 'error';
  const what =
    result.status === 'error'
      ? `dbt could not run ${test.name}: ${firstLine(result.message)}`
      : result.status === 'skipped'
        ? `dbt skipped ${test.name}${result.message ? `: ${firstLine(result.message)}` : ''}`
        : passed
          ? `${test.name} passed`
          : `${test.name} ${result.status === 'warn' ? 'warned' : 'failed'}: ${failures ?? '?'} failing row(s)${result.message ? ` (${firstLine(result.message)})` : ''}`;
  return {
    name: test.name,
    passed,
    severity,
    ...(failures !== undefined ? { failures } : {}),
    description: passed ? what : `${what}. Inspect with the compiled SQL: ${compiledSqlPath}`,
    metadata,
  };
}

const firstLine = (s: string | null | undefined) => (s ?? '').trim().split('\n')[0]!.slice(0, 500);
