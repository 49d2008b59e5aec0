import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ExtensionCommand } from '../../../framework/definitions/index.ts';
import { UsageError } from '../../../framework/errors/index.ts';
import { AWS_COMMAND } from '../command-info.ts';
import type { Lakehouse } from '../lakehouse.ts';
import { awsLocations } from './aws-clients.ts';
import { EXAMPLE_SCOPE, iamPolicies } from './iam-policies.ts';
import { buildJobBundle, uploadJobBundle } from './job-bundle.ts';
import { jobBundleDeps } from './silver-remote.ts';

const USAGE = AWS_COMMAND.usage;

/**
 * `fairway aws package`: builds the Silver job's bundle (entry point, spark package zip, the Python dependency
 * archive and its pins, Iceberg and Sedona jars), content-addressed, and uploads what is missing; prints the
 * bundle id and manifest.
 * `fairway aws iam`: renders the orchestrator's and the job's least-privilege policies for this profile.
 */
export function awsCommand(lake: Lakehouse, projectRoot: string): ExtensionCommand {
  return {
    ...AWS_COMMAND,
    run: async (args) => {
      const [sub, ...rest] = args;
      if (sub === 'package') return packageBundle(lake, projectRoot, rest);
      if (sub === 'iam') return renderIam(lake, rest);
      throw new UsageError(`Unknown subcommand '${sub ?? ''}'. Usage: fairway aws ${USAGE}`);
    },
  };
}

/** Runs `parse` (node:util parseArgs), a bad option becoming a usage error. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw new UsageError(`${(e as Error).message}. Usage: fairway aws ${USAGE}`);
  }
}

async function packageBundle(lake: Lakehouse, projectRoot: string, args: string[]): Promise<number> {
  const { values } = usage(() => parseArgs({ args, options: { 'dry-run': { type: 'boolean' } }, strict: true }));
  const runtime = await lake.sparkRuntime((m) => process.stderr.write(`[bootstrap] ${m}\n`));
  const deps = await jobBundleDeps(lake.config, projectRoot, runtime.python, {
    onProgress: (m) => process.stderr.write(`[package] ${m}\n`),
  });
  const bundle = await buildJobBundle(projectRoot, runtime.jars, deps);
  if (values['dry-run']) {
    process.stdout.write(`bundle ${bundle.id} (not uploaded)\n${bundle.manifest.toString('utf8')}`);
    return 0;
  }
  const up = await uploadJobBundle(lake.store, awsLocations(lake.config).bundles, bundle);
  process.stdout.write(
    `bundle ${up.id}: ${up.manifestUri}\n` +
      `uploaded: ${up.uploaded.length ? up.uploaded.join(', ') : 'nothing (every file was there)'}\n`,
  );
  return 0;
}

async function renderIam(lake: Lakehouse, args: string[]): Promise<number> {
  const { values: v } = usage(() =>
    parseArgs({
      args,
      strict: true,
      options: {
        account: { type: 'string' },
        application: { type: 'string' },
        'job-role': { type: 'string' },
        out: { type: 'string' },
      },
    }),
  );
  if (v.account !== undefined && !/^\d{12}$/.test(v.account))
    throw new UsageError(`--account '${v.account}' is not a 12-digit AWS account id.`);
  const policies = iamPolicies(lake.config, {
    accountId: v.account ?? EXAMPLE_SCOPE.accountId,
    applicationId: v.application ?? lake.config.launcher.emr?.applicationId ?? EXAMPLE_SCOPE.applicationId,
    jobRoleName: v['job-role'] ?? EXAMPLE_SCOPE.jobRoleName,
  });
  const files = {
    'fairway-orchestrator-policy.json': policies.orchestrator,
    'fairway-silver-job-policy.json': policies.job,
    'fairway-silver-job-trust.json': policies.jobTrust,
  };
  if (!v.out) {
    process.stdout.write(`${JSON.stringify(files, null, 2)}\n`);
    return 0;
  }
  const dir = resolve(v.out);
  mkdirSync(dir, { recursive: true });
  for (const [name, doc] of Object.entries(files)) writeFileSync(join(dir, name), `${JSON.stringify(doc, null, 2)}\n`);
  process.stderr.write(`aws iam: ${Object.keys(files).join(', ')} in ${dir}\n`);
  return 0;
}
