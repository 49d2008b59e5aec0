import type { LakehouseConfig } from '../config.ts';

/** What every AWS SDK v3 client of the profile is built with: region, credentials, an emulator's endpoint. */
export interface AwsClientConfig {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * The client config for AWS APIs other than S3 (Athena, EMR Serverless, Glue): `FAIRWAY_AWS_ENDPOINT` when
 * set (moto in the tests), else the SDK's regional endpoint; credentials from the environment, else the SDK's
 * default chain (instance role, SSO, ~/.aws).
 */
export function awsClientConfig(config: LakehouseConfig): AwsClientConfig {
  return {
    region: config.s3.region,
    ...(config.aws.endpoint ? { endpoint: config.aws.endpoint } : {}),
    ...(config.s3.credentials ? { credentials: config.s3.credentials } : {}),
  };
}

/** `s3://bucket/key…` → bucket and key. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3a?:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new Error(`not an s3:// URI: '${uri}'`);
  return { bucket: m[1]!, key: m[2]! };
}

/**
 * Where Fairway keeps what it sends to and gets back from AWS, in the observability bucket: job bundles
 * (`bundles/`), each remote step's manifest, messages and Spark logs (`jobs/<run>/<step>/`), Athena results.
 */
export function awsLocations(config: LakehouseConfig) {
  const base = `s3://${config.buckets.observability}/${config.prefixes.observability}`;
  return {
    bundles: `${base}bundles/`,
    job: (runId: string, step: string) => `${base}jobs/${runId}/${step.replace(/[^A-Za-z0-9._=-]/g, '_')}/`,
    athenaResults: `${base}athena-results/`,
  };
}
