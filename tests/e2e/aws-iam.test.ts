/**
 * The IAM policies of the aws profile (iam/*.json): rendered from the profile by `iamPolicies`, scoped to its
 * buckets, Glue databases, Athena workgroup and EMR Serverless application, and linted by a real IAM policy
 * linter (Duo Labs' parliament, from PyPI into a venv in the Fairway cache).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_SCOPE, iamPolicies, type PolicyDocument } from '../../assets/lib/aws/iam-policies.ts';
import { loadConfig } from '../../assets/lib/config.ts';
import { toolVenv } from '../../scripts/tool-venv.ts';
import { PARLIAMENT_PIN } from './aws-emulator.ts';
import { repoRoot } from './helpers.ts';

const config = loadConfig({
  projectRoot: repoRoot,
  profile: 'aws',
  env: {
    FAIRWAY_EMR_APPLICATION_ID: EXAMPLE_SCOPE.applicationId,
    FAIRWAY_EMR_EXECUTION_ROLE_ARN: `arn:aws:iam::${EXAMPLE_SCOPE.accountId}:role/${EXAMPLE_SCOPE.jobRoleName}`,
  },
});
const rendered = iamPolicies(config, EXAMPLE_SCOPE);
const committed = (name: string) => JSON.parse(readFileSync(join(repoRoot, 'iam', name), 'utf8')) as PolicyDocument;

let python: string;
/** parliament's findings (issue and detail) for each policy; `community`: its community auditors too. */
async function lint(policies: PolicyDocument[], community: boolean): Promise<{ issue: string; detail: unknown }[][]> {
  const script =
    'import json, sys\nfrom parliament import analyze_policy_string\n' +
    'out = [[{"issue": f.issue, "detail": str(f.detail)} for f in analyze_policy_string(json.dumps(p), ' +
    `include_community_auditors=${community ? 'True' : 'False'}).findings] for p in json.load(sys.stdin)]\nprint(json.dumps(out))\n`;
  const r = await execa(python, ['-c', script], { input: JSON.stringify(policies), reject: false });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const resources = (p: PolicyDocument) => p.Statement.flatMap((s) => [s.Resource ?? []].flat());

describe('IAM policies of the aws profile', () => {
  beforeAll(async () => {
    python = join(await toolVenv('parliament-1.6.4', [PARLIAMENT_PIN]), 'python');
  }, 300_000);

  it('iam/*.json are the render of the aws profile (fairway aws iam --out iam)', () => {
    expect(committed('fairway-orchestrator-policy.json')).toEqual(rendered.orchestrator);
    expect(committed('fairway-silver-job-policy.json')).toEqual(rendered.job);
    expect(committed('fairway-silver-job-trust.json')).toEqual(rendered.jobTrust);
  });

  it('parliament finds nothing in the orchestrator and job policies, and flags a wildcard resource', async () => {
    const loose: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [{ Sid: 'Loose', Effect: 'Allow', Action: ['s3:GetObject', 'iam:PassRole'], Resource: '*' }],
    };
    const [orchestrator, job, control] = await lint([rendered.orchestrator, rendered.job, loose], false);
    expect(orchestrator).toEqual([]);
    expect(job).toEqual([]);
    expect(control!.map((f) => f.issue)).toContain('RESOURCE_STAR');
  });

  it("parliament's community auditors flag only the orchestrator's iam:PassRole (one role, to EMR Serverless)", async () => {
    const withoutPassRole = {
      ...rendered.orchestrator,
      Statement: rendered.orchestrator.Statement.filter((s) => s.Action !== 'iam:PassRole'),
    };
    const [orchestrator, job, rest] = await lint([rendered.orchestrator, rendered.job, withoutPassRole], true);
    expect(orchestrator!.map((f) => f.issue)).toEqual(['PERMISSIONS_MANAGEMENT_ACTIONS']);
    expect(job).toEqual([]);
    expect(rest).toEqual([]);
  });

  it('scopes every resource to the configured buckets, databases, workgroup and application', () => {
    const buckets = Object.values(config.buckets);
    for (const policy of [rendered.orchestrator, rendered.job]) {
      for (const arn of resources(policy)) {
        expect(arn, 'no wildcard resource').not.toBe('*');
        const s3 = /^arn:aws:s3:::([^/]+)/.exec(arn);
        if (s3) expect(buckets).toContain(s3[1]);
        const glue = /^arn:aws:glue:us-east-1:123456789012:(catalog|database\/(\w+)|table\/(\w+)\/\*)$/.exec(arn);
        if (arn.startsWith('arn:aws:glue')) expect(['silver', 'gold', undefined]).toContain(glue?.[2] ?? glue?.[3]);
      }
    }
    expect(resources(rendered.orchestrator)).toContain('arn:aws:athena:us-east-1:123456789012:workgroup/primary');
    const pass = rendered.orchestrator.Statement.find((s) => s.Action === 'iam:PassRole')!;
    expect(pass).toMatchObject({
      Resource: 'arn:aws:iam::123456789012:role/fairway-silver-job',
      Condition: { StringEquals: { 'iam:PassedToService': 'emr-serverless.amazonaws.com' } },
    });
    // the job may not touch Gold, quarantine or Athena; it writes Silver and its own messages only
    const jobArns = resources(rendered.job).join(' ');
    expect(jobArns).not.toMatch(/fairway-gold|fairway-quarantine|athena|database\/gold/);
    expect(rendered.jobTrust.Statement).toEqual([
      expect.objectContaining({ Principal: { Service: 'emr-serverless.amazonaws.com' }, Action: 'sts:AssumeRole' }),
    ]);
  });
});
