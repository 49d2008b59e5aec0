import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FrameworkError } from '../../errors/index.ts';
import {
  type DbtManifest,
  dbtManifestSchema,
  MANIFEST_CACHE_FORMAT,
  parseManifest,
  translateManifest,
} from './index.ts';

// Trimmed from a real `dbt parse` of dbt/ (dbt-core 1.11.16, dbt-spark 1.11.0).
const raw = JSON.parse(readFileSync(new URL('./fixtures/manifest.json', import.meta.url), 'utf8'));
const manifest = () => parseManifest(structuredClone(raw));

describe('translateManifest', () => {
  const spec = translateManifest(manifest());
  const model = (key: string) => spec.models.find((m) => m.assetKey === key)!;

  it('turns each model into an asset keyed <schema>.<name> with deps from refs and sources', () => {
    expect(spec.adapterType).toBe('spark');
    expect(spec.models.map((m) => [m.assetKey, m.deps])).toEqual([
      ['gold.device_health_errors', ['silver.fact_device_health']],
      ['gold.dim_facility_topology', ['silver.fact_telemetry_event']],
      ['gold.fact_round_hole_performance', ['gold.dim_facility_topology', 'silver.fact_telemetry_event']],
      ['gold.fact_rounds', ['silver.fact_telemetry_event']],
      ['gold.pace_summary_by_round', ['gold.fact_rounds']],
      ['gold.signal_quality_rounds', ['gold.fact_rounds']],
    ]);
    expect(model('gold.fact_rounds').description).toMatch(/One row per round/);
    expect(model('gold.fact_rounds').compiledPath).toBe('compiled/fairway/models/gold/fact_rounds.sql');
  });

  it('attaches each model test to its model as a check, blocking when severity is error', () => {
    const tests = model('gold.fact_rounds').tests;
    expect(tests.map((t) => t.name)).toContain('gold_fact_rounds_grain');
    const grain = tests.find((t) => t.name === 'gold_fact_rounds_grain')!;
    expect(grain).toMatchObject({ severity: 'error', blocking: true, assetKey: 'gold.fact_rounds' });
    expect(grain.compiledPath).toBe('compiled/fairway/models/gold/_gold.yml/gold_fact_rounds_grain.sql');
  });

  it('collects source tests per source asset with their severities and thresholds', () => {
    const telemetry = spec.sourceTests.get('silver.fact_telemetry_event')!;
    expect(telemetry.map((t) => t.name)).toEqual([
      'silver_battery_in_range',
      'silver_course_id_not_null',
      'silver_duplicate_fix_rate',
      'silver_fix_timestamp_not_null',
      'silver_latitude_in_range',
      'silver_longitude_in_range',
      'silver_round_id_not_null',
      'silver_swapped_coordinates',
      'silver_timestamp_missing_flag_consistent',
      'silver_unique_round_fix_timestamp',
    ]);
    const unique = telemetry.find((t) => t.name === 'silver_unique_round_fix_timestamp')!;
    expect(unique).toMatchObject({ severity: 'warn', blocking: false });
    const swapped = telemetry.find((t) => t.name === 'silver_swapped_coordinates')!;
    expect(swapped.description).toMatch(/warn_if >0, error_if >10/);
    expect(spec.sourceTests.get('silver.fact_device_health')!.length).toBe(4);
    expect(spec.sourceSelectors.get('silver.fact_telemetry_event')).toBe('source:silver.fact_telemetry_event');
  });

  it('turns each source freshness config into a check spec, warn-only unless meta says error', () => {
    expect([...spec.sourceFreshness.keys()]).toEqual(['silver.fact_device_health', 'silver.fact_telemetry_event']);
    const telemetry = spec.sourceFreshness.get('silver.fact_telemetry_event')!;
    expect(telemetry).toEqual({
      uniqueId: 'source.fairway.silver.fact_telemetry_event',
      name: 'silver_fact_telemetry_event_freshness',
      severity: 'warn',
      blocking: false,
      description:
        'dbt source freshness of silver.fact_telemetry_event: warn after 36 hours, error after 72 hours; a dbt error is recorded as a warning',
      assetKey: 'silver.fact_telemetry_event',
      selector: 'source:silver.fact_telemetry_event',
      table: 'fact_telemetry_event',
      warnAfter: { count: 36, period: 'hour' },
      errorAfter: { count: 72, period: 'hour' },
    });

    const strict = manifest();
    const source = strict.sources['source.fairway.silver.fact_device_health']!;
    source.meta = { fairway: { freshness_severity: 'error' } };
    source.freshness = { warn_after: { count: null, period: null }, error_after: { count: 1, period: 'day' } };
    strict.sources['source.fairway.silver.fact_telemetry_event']!.freshness = null;
    const strictSpec = translateManifest(strict).sourceFreshness;
    expect([...strictSpec.keys()]).toEqual(['silver.fact_device_health']);
    expect(strictSpec.get('silver.fact_device_health')).toMatchObject({
      severity: 'error',
      blocking: true,
      description: expect.stringMatching(/: error after 1 day; a dbt error blocks downstream assets$/),
      errorAfter: { count: 1, period: 'day' },
    });
    expect(strictSpec.get('silver.fact_device_health')!.warnAfter).toBeUndefined();
  });

  it('rejects a freshness severity other than warn or error, naming the field', () => {
    const bad = structuredClone(raw);
    bad.sources['source.fairway.silver.fact_device_health'].meta = { fairway: { freshness_severity: 'fatal' } };
    expect(() => parseManifest(bad, 'manifest.json')).toThrow(
      /'sources\.source\.fairway\.silver\.fact_device_health\.meta\.fairway\.freshness_severity'/,
    );
  });

  it('maps source tables to asset keys through the option', () => {
    const renamed = translateManifest(manifest(), { sourceAssetKey: (s) => `lake.${s.name}` });
    expect(renamed.models.find((m) => m.name === 'fact_rounds')!.deps).toEqual(['lake.fact_telemetry_event']);
    expect([...renamed.sourceTests.keys()]).toEqual(['lake.fact_device_health', 'lake.fact_telemetry_event']);
  });

  it('changes exactly the edited model code version, including through a project macro it uses', () => {
    const base = new Map(spec.models.map((m) => [m.assetKey, m.codeVersion]));
    const edited = manifest();
    edited.nodes['model.fairway.pace_summary_by_round']!.checksum.checksum = 'edited';
    const afterSql = translateManifest(edited).models.filter((m) => m.codeVersion !== base.get(m.assetKey));
    expect(afterSql.map((m) => m.assetKey)).toEqual(['gold.pace_summary_by_round']);

    const macro = manifest() as DbtManifest;
    macro.macros['macro.fairway.fraction']!.macro_sql += '\n-- edited';
    const afterMacro = translateManifest(macro).models.filter((m) => m.codeVersion !== base.get(m.assetKey));
    expect(afterMacro.map((m) => m.assetKey)).toEqual(['gold.fact_rounds']);
  });

  it('rejects a file that is not a manifest, naming the field', () => {
    expect(() => parseManifest({ metadata: {} }, 'target/manifest.json')).toThrow(FrameworkError);
    expect(() => parseManifest({ metadata: {} }, 'target/manifest.json')).toThrow(/target\/manifest\.json.*metadata/);
  });
});

describe('MANIFEST_CACHE_FORMAT', () => {
  it('changes with the manifest schema (the cached compact copies hold what it keeps)', () => {
    // A failure here means dbtManifestSchema changed: bump MANIFEST_CACHE_FORMAT and record both values anew.
    const shape = createHash('sha256')
      .update(JSON.stringify(z.toJSONSchema(dbtManifestSchema(), { io: 'output' })))
      .digest('hex')
      .slice(0, 16);
    expect({ format: MANIFEST_CACHE_FORMAT, shape }).toEqual({ format: 1, shape: '2365b3ae4451363e' });
  });
});
