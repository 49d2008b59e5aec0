import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { lakehouseLineageDatasets } from './lineage-datasets.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tableOf = (key: string) => (key.startsWith('bronze.') ? undefined : { table: key });
const datasetsOf = (profile: string, env: Record<string, string> = {}) => {
  const config = loadConfig({ projectRoot: root, profile, env: { FAIRWAY_STATE_DIR: '/srv/fw', ...env } });
  const of = lakehouseLineageDatasets(config, tableOf, ['bronze.round_exports']);
  return ['bronze.round_exports', 'silver.fact_telemetry_event', 'gold.fact_rounds'].map(of);
};

describe('lakehouse assets as OpenLineage datasets', () => {
  it('names tables by their Iceberg catalog and Bronze by its landing area, per profile', () => {
    expect(datasetsOf('embedded')).toEqual([
      { namespace: 'file', name: '/srv/fw/storage/fairway-landing' },
      { namespace: 'iceberg:///srv/fw/warehouse/catalog.db', name: 'silver.fact_telemetry_event' },
      { namespace: 'iceberg:///srv/fw/warehouse/catalog.db', name: 'gold.fact_rounds' },
    ]);
    expect(datasetsOf('local', { FAIRWAY_PREFIX_LANDING: 'raw/exports/' })).toEqual([
      { namespace: 's3://fairway-landing', name: 'raw/exports' },
      { namespace: 'iceberg://127.0.0.1:8181', name: 'silver.fact_telemetry_event' },
      { namespace: 'iceberg://127.0.0.1:8181', name: 'gold.fact_rounds' },
    ]);
    // the aws profile's account-specific keys (any valid values: nothing is called)
    const emr = {
      FAIRWAY_EMR_APPLICATION_ID: '00fabc1234567890',
      FAIRWAY_EMR_EXECUTION_ROLE_ARN: 'arn:aws:iam::123456789012:role/fairway-silver-job',
    };
    expect(datasetsOf('aws', { FAIRWAY_S3_REGION: 'eu-west-1', ...emr })[1]).toEqual({
      namespace: 'iceberg://glue.eu-west-1',
      name: 'silver.fact_telemetry_event',
    });
  });
});
