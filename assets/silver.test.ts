import { describe, expect, it } from 'vitest';
import type { StepPartition } from '../framework/definitions/index.ts';
import type { PipesMessage, PipesProcessResult } from '../framework/pipes/index.ts';
import { silverResults } from './silver.ts';

const part = (key: string): StepPartition => ({ key, values: {}, upstream: {} });
const A = 'course_id=a,ingest_date=2025-06-02';
const B = 'course_id=b,ingest_date=2025-06-02';
const result = (messages: PipesMessage[], exitCode = 0): PipesProcessResult => ({
  exitCode,
  messages,
  malformed: [],
  durationMs: 1,
});
const mat = (partition_key: string | undefined, data_version: string): PipesMessage => ({
  type: 'materialization',
  ...(partition_key ? { partition_key } : {}),
  data_version,
  metadata: {},
});
const check = (partition_key: string, passed: boolean): PipesMessage => ({
  type: 'check',
  partition_key,
  name: 'reconciliation',
  passed,
});

describe('silverResults: the Silver job messages, per partition of the batch', () => {
  it('gives each written partition its own data version and checks, and each failed one its own error', () => {
    const out = silverResults(
      [part(A), part(B)],
      result([
        check(A, true),
        mat(A, 's1:aaaa'),
        { type: 'error', partition_key: B, message: 'no input files in /x', code: 'no_input_files' },
      ]),
      'RUN',
      'silver.fact_telemetry_event',
    );
    expect(out[A]).toMatchObject({ dataVersion: 's1:aaaa', checks: [{ name: 'reconciliation', passed: true }] });
    expect(out[B]).toEqual({
      error: expect.stringContaining(`The Silver Spark job failed for ${B}: no input files in /x.`),
    });
  });

  it('fails every partition with the job error when the job failed as a whole', () => {
    const out = silverResults(
      [part(A), part(B)],
      result([{ type: 'error', message: 'Py4JError: the JVM died', code: 'internal_error' }], 1),
      'RUN',
      'silver.fact_telemetry_event',
    );
    for (const k of [A, B]) expect((out[k] as { error: string }).error).toContain('the JVM died');
  });

  it('names the exit code, or a missing report, when the job said nothing about a partition', () => {
    expect((silverResults([part(A)], result([], 137), 'R', 's.t')[A] as { error: string }).error).toContain(
      'exit code 137',
    );
    const silent = silverResults([part(A), part(B)], result([mat(A, 'v')]), 'R', 's.t');
    expect((silent[B] as { error: string }).error).toContain('exited without reporting a materialization');
  });

  it('takes messages without a partition key as about the only partition of a one-partition step', () => {
    const out = silverResults([part(A)], result([mat(undefined, 's9:bb')]), 'R', 's.t');
    expect(out[A]).toMatchObject({ dataVersion: 's9:bb' });
  });
});
