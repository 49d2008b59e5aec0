import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FrameworkError } from '../../errors/index.ts';
import {
  type DbtFreshnessSpec,
  formatAge,
  freshnessCheckResult,
  freshnessErrorsFromLog,
  parseSourcesJson,
} from './index.ts';

// Real `dbt source freshness` output (dbt-core 1.11.16, dbt-spark 1.11.0) on the Silver tables of the
// dbt gate e2e: both fresh; telemetry two days stale; a source whose table does not exist.
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const passed = JSON.parse(fixture('sources.pass.json'));
const warned = JSON.parse(fixture('sources.warn.json'));
const runtimeError = JSON.parse(fixture('sources.runtime-error.json'));
const runtimeErrorLog = fixture('freshness-runtime-error.out.txt').split('\n');

const spec: DbtFreshnessSpec = {
  uniqueId: 'source.fairway.silver.fact_telemetry_event',
  name: 'silver_fact_telemetry_event_freshness',
  severity: 'warn',
  blocking: false,
  description: 'dbt source freshness of silver.fact_telemetry_event',
  assetKey: 'silver.fact_telemetry_event',
  selector: 'source:silver.fact_telemetry_event',
  table: 'fact_telemetry_event',
  warnAfter: { count: 36, period: 'hour' },
  errorAfter: { count: 72, period: 'hour' },
};
const strict: DbtFreshnessSpec = { ...spec, severity: 'error', blocking: true };
const path = '/state/dbt/runs/r1/freshness-silver/target/sources.json';
const telemetryOf = (raw: unknown) =>
  parseSourcesJson(raw).results.find((r) => r.unique_id === 'source.fairway.silver.fact_telemetry_event');

describe('parseSourcesJson', () => {
  it('reads what dbt measured: newest row, when, its age and the thresholds', () => {
    const sources = parseSourcesJson(passed);
    expect(sources.metadata.dbt_version).toBe('1.11.16');
    expect(sources.results.map((r) => [r.unique_id, r.status])).toEqual([
      ['source.fairway.silver.fact_device_health', 'pass'],
      ['source.fairway.silver.fact_telemetry_event', 'pass'],
    ]);
    expect(telemetryOf(passed)).toMatchObject({
      max_loaded_at: '2026-11-26T00:00:00+00:00',
      snapshotted_at: '2026-11-26T01:31:51.643551+00:00',
      max_loaded_at_time_ago_in_s: 5511.643551,
      criteria: { warn_after: { count: 36, period: 'hour' }, error_after: { count: 72, period: 'hour' } },
    });
  });

  it('reads a table dbt could not measure as no entry (dbt 1.11 leaves it out)', () => {
    expect(parseSourcesJson(runtimeError).results).toEqual([]);
  });

  it('names the file and field of a malformed sources.json', () => {
    const broken = { ...passed, results: [{ ...passed.results[0], status: 'stale' }] };
    expect(() => parseSourcesJson(broken, 'target/sources.json')).toThrow(FrameworkError);
    expect(() => parseSourcesJson(broken, 'target/sources.json')).toThrow(
      /target\/sources\.json.*'results\.0\.status'/,
    );
  });
});

describe('freshnessCheckResult', () => {
  it('passes a fresh table with max_loaded_at, snapshotted_at, age and criteria as metadata', () => {
    const r = freshnessCheckResult(spec, telemetryOf(passed), path);
    expect(r).toMatchObject({ name: 'silver_fact_telemetry_event_freshness', passed: true, severity: 'warn' });
    expect(r.description).toBe(
      'silver.fact_telemetry_event is fresh: newest row loaded 92 min ago (2026-11-26T00:00:00+00:00); warn after 36 hours, error after 72 hours',
    );
    expect(r.metadata).toMatchObject({
      dbt_status: { type: 'text', value: 'pass' },
      max_loaded_at: { type: 'text', value: '2026-11-26T00:00:00+00:00' },
      snapshotted_at: { type: 'text', value: '2026-11-26T01:31:51.643551+00:00' },
      age_seconds: { type: 'int', value: 5512 },
      criteria: { type: 'json', value: { warn_after: { count: 36, period: 'hour' } } },
      sources_json_path: { type: 'path', value: path },
    });
  });

  it("takes dbt's warn as a non-blocking warning, even when freshness errors block", () => {
    for (const s of [spec, strict]) {
      const r = freshnessCheckResult(s, telemetryOf(warned), path);
      expect(r).toMatchObject({ passed: false, severity: 'warn' });
      expect(r.description).toBe(
        'silver.fact_telemetry_event is stale: newest row loaded 50 h ago (2026-11-24T00:00:00+00:00), past warn_after 36 hours',
      );
    }
  });

  it("gives dbt's error the configured severity: a warning by default, blocking when configured", () => {
    const tooOld = { ...warned.results[1], status: 'error', max_loaded_at_time_ago_in_s: 80 * 3600 };
    const result = parseSourcesJson({ ...warned, results: [tooOld] }).results[0];
    const lenient = freshnessCheckResult(spec, result, path);
    expect(lenient).toMatchObject({ passed: false, severity: 'warn' });
    expect(lenient.description).toMatch(/newest row loaded 80 h ago .*past error_after 72 hours \(freshness errors/);
    expect(freshnessCheckResult(strict, result, path)).toMatchObject({ passed: false, severity: 'error' });
  });

  it("fails a table dbt could not measure with dbt's message, at the configured severity", () => {
    const errors = freshnessErrorsFromLog(runtimeErrorLog);
    expect([...errors.keys()]).toEqual(['fact_device_health']);
    expect(errors.get('fact_device_health')).toMatch(
      /^\[TABLE_OR_VIEW_NOT_FOUND\] The table or view `no_such_namespace`\.`fact_device_health` cannot be found/,
    );
    const health = { ...strict, assetKey: 'silver.fact_device_health', table: 'fact_device_health' };
    const r = freshnessCheckResult(health, undefined, path, errors.get(health.table));
    expect(r).toMatchObject({ passed: false, severity: 'error' });
    expect(r.description).toMatch(
      /^dbt could not measure the freshness of silver\.fact_device_health: \[TABLE_OR_VIEW/,
    );
    // Older dbt versions list the error in sources.json itself.
    const listed = parseSourcesJson({
      ...runtimeError,
      results: [{ unique_id: spec.uniqueId, status: 'runtime error', error: 'Database Error\n  no such column' }],
    }).results[0];
    expect(freshnessCheckResult(spec, listed, path)).toMatchObject({
      passed: false,
      severity: 'warn',
      description: 'dbt could not measure the freshness of silver.fact_telemetry_event: Database Error',
    });
  });

  it('fails a table dbt reported nothing about: a gate cannot pass by not measuring', () => {
    expect(freshnessCheckResult(spec, undefined, path)).toMatchObject({
      passed: false,
      severity: 'warn',
      description: expect.stringMatching(/no freshness for silver\.fact_telemetry_event/),
    });
  });
});

describe('formatAge', () => {
  it('uses minutes, hours or days so the age compares with hour or day thresholds', () => {
    expect([59, 5400, 7200, 80 * 3600, 8 * 86400].map(formatAge)).toEqual(['1 min', '90 min', '2 h', '80 h', '8 d']);
  });
});
