import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FrameworkError } from '../../errors/index.ts';
import { type DbtTestSpec, parseRunResults, testCheckResult } from './index.ts';

// From a real `dbt build` of four Gold models on the sample data (compiled SQL shortened).
const raw = JSON.parse(readFileSync(new URL('./fixtures/run_results.build.json', import.meta.url), 'utf8'));

const test: DbtTestSpec = {
  uniqueId: 'test.fairway.silver_round_id_not_null.52f68ed51a',
  name: 'silver_round_id_not_null',
  severity: 'error',
  blocking: true,
  description: 'dbt not_null on round_id, severity error',
  assetKey: 'silver.fact_telemetry_event',
  compiledPath: 'compiled/fairway/models/sources/silver.yml/silver_round_id_not_null.sql',
};
const sqlPath = '/state/dbt/runs/r1/test-silver/target/compiled/x.sql';

describe('parseRunResults', () => {
  it('reads the results of a real dbt build', () => {
    const results = parseRunResults(raw);
    expect(results.metadata.dbt_version).toBe('1.11.16');
    const model = results.results.find((r) => r.unique_id === 'model.fairway.fact_rounds')!;
    expect(model).toMatchObject({ status: 'success', relation_name: 'gold.fact_rounds', failures: null });
    expect(model.execution_time).toBeGreaterThan(0);
    const grain = results.results.find((r) => r.unique_id.startsWith('test.fairway.gold_fact_rounds_grain'))!;
    expect(grain).toMatchObject({ status: 'pass', failures: 0 });
  });

  it('names the file and field of a malformed run_results.json', () => {
    const broken = { ...raw, results: [{ status: 'pass' }] };
    expect(() => parseRunResults(broken, 'target/run_results.json')).toThrow(FrameworkError);
    expect(() => parseRunResults(broken, 'target/run_results.json')).toThrow(
      /run_results\.json.*results\.0\.unique_id/,
    );
  });
});

describe('testCheckResult', () => {
  it('reads a real failed gate: error failures, a warn verdict and the thresholds dbt applied', () => {
    // `dbt test --select source:silver.fact_telemetry_event` after bad rows were injected into Silver.
    const failed = JSON.parse(
      readFileSync(new URL('./fixtures/run_results.gate-failed.json', import.meta.url), 'utf8'),
    );
    const byName = new Map(parseRunResults(failed).results.map((r) => [r.unique_id.split('.')[2]!, r] as const));
    const check = (name: string, severity: 'warn' | 'error' = 'error') =>
      testCheckResult({ ...test, name, severity, blocking: severity === 'error' }, byName.get(name), sqlPath);
    expect(check('silver_round_id_not_null')).toMatchObject({ passed: false, severity: 'error', failures: 3 });
    expect(check('silver_swapped_coordinates').description).toMatch(/configured to fail if >10/);
    expect(check('silver_unique_round_fix_timestamp', 'warn')).toMatchObject({ passed: false, severity: 'warn' });
    expect(check('silver_latitude_in_range')).toMatchObject({ passed: true, failures: 0 });
  });

  const result = (status: string, failures: number | null, message: string | null = null) =>
    parseRunResults({
      ...raw,
      results: [{ ...raw.results[2], unique_id: test.uniqueId, status, failures, message }],
    }).results[0]!;

  it('passes with the compiled SQL in the metadata', () => {
    const r = testCheckResult(test, result('pass', 0), sqlPath);
    expect(r).toMatchObject({ name: 'silver_round_id_not_null', passed: true, severity: 'error', failures: 0 });
    expect(r.metadata?.compiled_sql_path).toEqual({ type: 'path', value: sqlPath });
    expect(r.metadata?.compiled_sql?.type).toBe('text');
  });

  it('fails with the failing-row count, the message and where to look', () => {
    const r = testCheckResult(test, result('fail', 3, 'Got 3 results, configured to fail if != 0'), sqlPath);
    expect(r).toMatchObject({ passed: false, severity: 'error', failures: 3 });
    expect(r.description).toBe(
      `silver_round_id_not_null failed: 3 failing row(s) (Got 3 results, configured to fail if != 0). Inspect with the compiled SQL: ${sqlPath}`,
    );
  });

  it("takes dbt's warn verdict (warn_if met, error_if not) as a non-blocking warning", () => {
    const r = testCheckResult(test, result('warn', 4), sqlPath);
    expect(r).toMatchObject({ passed: false, severity: 'warn', failures: 4 });
  });

  it('fails a test dbt could not run or did not report', () => {
    expect(testCheckResult(test, result('error', null, 'Database Error\n  column x not found'), sqlPath)).toMatchObject(
      {
        passed: false,
        severity: 'error',
        description: expect.stringMatching(/could not run silver_round_id_not_null: Database Error/),
      },
    );
    expect(testCheckResult(test, undefined, sqlPath)).toMatchObject({
      passed: false,
      description: expect.stringMatching(/no result/),
    });
  });
});
