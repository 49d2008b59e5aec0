import type { LakehouseConfig } from '../config.ts';

/** An IAM policy document (the JSON AWS takes). */
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: {
    Sid: string;
    Effect: 'Allow';
    Principal?: Record<string, string>;
    Action: string | string[];
    Resource?: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
  }[];
}

export interface IamScope {
  /** The 12-digit account the resources are in. */
  accountId: string;
  /** The EMR Serverless application; `*` before it exists is refused: name it. */
  applicationId: string;
  /** The Silver job's execution role name (the orchestrator may pass only this role). */
  jobRoleName: string;
}

const bucketArn = (b: string) => `arn:aws:s3:::${b}`;
const objectsArn = (b: string, prefix = '') => `arn:aws:s3:::${b}/${prefix}*`;

/**
 * The least-privilege policies of the aws profile, scoped to its buckets, Glue databases, Athena workgroup
 * and EMR Serverless application (docs/aws_cutover.md, IAM checklist):
 * - `orchestrator`: Fairway itself — lands Bronze, writes run summaries and job bundles, starts, watches and
 *   cancels the Silver job, queries Athena and builds Gold with dbt-athena;
 * - `job`: the Silver job's execution role on EMR Serverless — reads Bronze and its bundle, writes Silver and
 *   its pipes messages;
 * - `jobTrust`: who may assume the job role (EMR Serverless only).
 */
export function iamPolicies(config: LakehouseConfig, scope: IamScope) {
  const { buckets } = config;
  const obs = config.prefixes.observability;
  const region = config.s3.region;
  const { accountId, applicationId, jobRoleName } = scope;
  const glue = (what: string) => `arn:aws:glue:${region}:${accountId}:${what}`;
  const { silver, gold } = config.catalog.namespaces;
  const workgroup = config.query.athenaWorkgroup ?? 'primary';
  const app = `arn:aws:emr-serverless:${region}:${accountId}:/applications/${applicationId}`;
  const jobRole = `arn:aws:iam::${accountId}:role/${jobRoleName}`;
  const glueRead = ['glue:GetDatabase', 'glue:GetDatabases', 'glue:GetTable', 'glue:GetTables', 'glue:GetPartitions'];
  const glueWrite = ['glue:CreateTable', 'glue:UpdateTable', 'glue:DeleteTable'];

  const orchestrator: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ListFairwayBuckets',
        Effect: 'Allow',
        Action: ['s3:ListBucket', 's3:GetBucketLocation'],
        Resource: [buckets.landing, buckets.quarantine, buckets.observability, buckets.silver, buckets.gold].map(
          bucketArn,
        ),
      },
      {
        Sid: 'BronzeQuarantineObservabilityAndGoldObjects',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        Resource: [
          objectsArn(buckets.landing, config.prefixes.landing),
          objectsArn(buckets.quarantine, config.prefixes.quarantine),
          objectsArn(buckets.observability, obs),
          objectsArn(buckets.gold),
        ],
      },
      { Sid: 'ReadSilverForAthena', Effect: 'Allow', Action: 's3:GetObject', Resource: objectsArn(buckets.silver) },
      {
        Sid: 'GlueCatalogForAthenaAndDbt',
        Effect: 'Allow',
        Action: [
          ...glueRead,
          ...glueWrite,
          'glue:CreateDatabase',
          'glue:BatchCreatePartition',
          'glue:BatchDeletePartition',
        ],
        Resource: [
          glue('catalog'),
          glue(`database/${silver}`),
          glue(`database/${gold}`),
          glue(`table/${silver}/*`),
          glue(`table/${gold}/*`),
        ],
      },
      {
        Sid: 'AthenaWorkgroup',
        Effect: 'Allow',
        Action: [
          'athena:StartQueryExecution',
          'athena:GetQueryExecution',
          'athena:GetQueryResults',
          'athena:StopQueryExecution',
          'athena:GetWorkGroup',
        ],
        Resource: `arn:aws:athena:${region}:${accountId}:workgroup/${workgroup}`,
      },
      {
        Sid: 'SilverJobRuns',
        Effect: 'Allow',
        Action: ['emr-serverless:StartJobRun', 'emr-serverless:GetJobRun', 'emr-serverless:CancelJobRun'],
        Resource: [app, `${app}/jobruns/*`],
      },
      {
        Sid: 'PassOnlyTheJobRole',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: jobRole,
        Condition: { StringEquals: { 'iam:PassedToService': 'emr-serverless.amazonaws.com' } },
      },
    ],
  };

  const job: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ListJobBuckets',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: [buckets.landing, buckets.silver, buckets.observability].map(bucketArn),
      },
      {
        Sid: 'ReadBronze',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: objectsArn(buckets.landing, config.prefixes.landing),
      },
      {
        Sid: 'ReadBundlesAndManifests',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: [
          objectsArn(buckets.observability, `${obs}bundles/`),
          objectsArn(buckets.observability, `${obs}jobs/`),
        ],
      },
      {
        Sid: 'WriteMessagesAndLogs',
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: objectsArn(buckets.observability, `${obs}jobs/`),
      },
      {
        Sid: 'WriteSilverTables',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        Resource: objectsArn(buckets.silver),
      },
      {
        Sid: 'GlueCatalogForSilver',
        Effect: 'Allow',
        Action: [...glueRead, ...glueWrite, 'glue:CreateDatabase'],
        Resource: [glue('catalog'), glue(`database/${silver}`), glue(`table/${silver}/*`)],
      },
    ],
  };

  const jobTrust: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'EmrServerlessAssumesTheJobRole',
        Effect: 'Allow',
        Principal: { Service: 'emr-serverless.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': accountId } },
      },
    ],
  };
  return { orchestrator, job, jobTrust };
}

/** The placeholders the committed policies (iam/*.json) are rendered with: replace them with your own. */
export const EXAMPLE_SCOPE: IamScope = {
  accountId: '123456789012',
  applicationId: '00example0000000',
  jobRoleName: 'fairway-silver-job',
};
