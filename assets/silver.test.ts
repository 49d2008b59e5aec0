import { describe, expect, it } from 'vitest';
import type { BatchMaterializeResult, StepPartition } from '../framework/definitions/index.ts';
import { md } from '../framework/definitions/index.ts';
import type { PipesMessage, PipesProcessResult } from '../framework/pipes/index.ts';
import { type SilverKeys, silverResults } from './silver.ts';

const part = (key: string): StepPartition => ({ key, values: {}, upstream: {} });
const A = 'course_id=a,ingest_date=2025-06-02';
const B = 'course_id=b,ingest_date=2025-06-02';
const KEYS: SilverKeys = {
  telemetry: 'silver.fact_telemetry_event',
  deviceHealth: 'silver.fact_device_health',
  quarantine: 'silver.quarantine_telemetry_event',
};
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
  metadata: {
    row_count: md.rowCount(10),
    quarantined_rows: md.int(2),
    quarantined_by_reason: md.json({ nan: 2 }),
    fact_device_health_snapshot_id: md.text('d7'),
    quarantine_telemetry_event_snapshot_id: md.text('q7'),
  },
});
const check = (partition_key: string, passed: boolean): PipesMessage => ({
  type: 'check',
  partition_key,
  name: 'reconciliation',
  passed,
});
/** One table's per-partition results. */
const of = (out: ReturnType<typeof silverResults>, key: string) =>
  (out.outputs[key] as BatchMaterializeResult).partitions;

describe('silverResults: the Silver job messages, per table and partition of the batch', () => {
  it('gives each written partition its own data version and checks, and each failed one its own error', () => {
    const out = silverResults(
      [part(A), part(B)],
      result([
        check(A, true),
        mat(A, 's1:aaaa'),
        { type: 'error', partition_key: B, message: 'no input files in /x', code: 'no_input_files' },
      ]),
      'RUN',
      KEYS,
    );
    const facts = of(out, KEYS.telemetry);
    expect(facts[A]).toMatchObject({ dataVersion: 's1:aaaa', checks: [{ name: 'reconciliation', passed: true }] });
    for (const key of Object.values(KEYS)) {
      expect(of(out, key)[B]).toEqual({
        error: expect.stringContaining(`The Silver Spark job failed for ${B}: no input files in /x.`),
      });
    }
  });

  it("gives the device-health and quarantine tables their own commit's version and their own counts", () => {
    const out = silverResults([part(A)], result([mat(A, 's1:aaaa')]), 'RUN', KEYS);
    expect(of(out, KEYS.deviceHealth)[A]).toEqual({
      dataVersion: 'd7:aaaa',
      metadata: {
        row_count: md.rowCount(10),
        snapshot_id: md.text('d7'),
        written_with: md.text(KEYS.telemetry),
      },
    });
    expect(of(out, KEYS.quarantine)[A]).toEqual({
      dataVersion: 'q7:aaaa',
      metadata: {
        row_count: md.rowCount(2),
        snapshot_id: md.text('q7'),
        quarantined_by_reason: md.json({ nan: 2 }),
        written_with: md.text(KEYS.telemetry),
      },
    });
  });

  it('fails every partition of every table with the job error when the job failed as a whole', () => {
    const out = silverResults(
      [part(A), part(B)],
      result([{ type: 'error', message: 'Py4JError: the JVM died', code: 'internal_error' }], 1),
      'RUN',
      KEYS,
    );
    for (const key of Object.values(KEYS))
      for (const k of [A, B]) expect((of(out, key)[k] as { error: string }).error).toContain('the JVM died');
  });

  it('names the exit code, or a missing report, when the job said nothing about a partition', () => {
    const died = of(silverResults([part(A)], result([], 137), 'R', KEYS), KEYS.telemetry);
    expect((died[A] as { error: string }).error).toContain('exit code 137');
    const silent = of(silverResults([part(A), part(B)], result([mat(A, 's:v')]), 'R', KEYS), KEYS.quarantine);
    expect((silent[B] as { error: string }).error).toContain('exited without reporting a materialization');
  });

  it('takes messages without a partition key as about the only partition of a one-partition step', () => {
    const out = silverResults([part(A)], result([mat(undefined, 's9:bb')]), 'R', KEYS);
    expect(of(out, KEYS.telemetry)[A]).toMatchObject({ dataVersion: 's9:bb' });
  });
});
