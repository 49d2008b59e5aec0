import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { sparkLauncherOf } from './launcher-of.ts';
import { remoteSparkEnv } from './silver-remote.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const EMR = {
  FAIRWAY_EMR_APPLICATION_ID: '00fabc1234567890',
  FAIRWAY_EMR_EXECUTION_ROLE_ARN: 'arn:aws:iam::123456789012:role/fairway-silver-job',
};

describe('the remote Silver job', () => {
  it("gets the catalog and S3 settings, the service's master, and never the orchestrator's credentials", () => {
    const config = loadConfig({
      projectRoot: repoRoot,
      profile: 'aws',
      env: { ...EMR, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE12', AWS_SECRET_ACCESS_KEY: 'secretvalue99' },
    });
    expect(remoteSparkEnv(config)).toEqual({
      FAIRWAY_CATALOG_NAME: 'lakehouse',
      FAIRWAY_CATALOG_TYPE: 'glue',
      FAIRWAY_WAREHOUSE: 's3://fairway-silver/warehouse',
      FAIRWAY_S3_REGION: 'us-east-1',
      FAIRWAY_S3_PATH_STYLE: 'false',
      FAIRWAY_SPARK_SHUFFLE_PARTITIONS: '32',
      AWS_REGION: 'us-east-1',
      FAIRWAY_SPARK_MASTER: 'managed',
      FAIRWAY_SPARK_EXECUTOR_WAIT_SECONDS: '0',
    });
  });

  it('runs on EMR Serverless on the aws profile, locally elsewhere', () => {
    expect(sparkLauncherOf(loadConfig({ projectRoot: repoRoot, profile: 'aws', env: EMR }))?.kind).toBe(
      'emr-serverless',
    );
    expect(
      sparkLauncherOf(loadConfig({ projectRoot: repoRoot, profile: 'aws', env: { FAIRWAY_SPARK_LAUNCHER: 'local' } })),
    ).toBeUndefined();
    expect(sparkLauncherOf(loadConfig({ projectRoot: repoRoot, profile: 'embedded', env: {} }))).toBeUndefined();
  });
});
