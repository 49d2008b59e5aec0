import type { LakehouseConfig } from '../config.ts';
import { awsClientConfig } from './aws-clients.ts';
import { EmrServerlessLauncher } from './emr-serverless-launcher.ts';
import type { SparkLauncher } from './spark-launcher.ts';

/**
 * The profile's launcher (EMR Serverless), or undefined when Spark runs locally. Apart from the remote run
 * (silver-remote.ts, imported when a step runs remotely): the Silver definitions ask for it without loading the
 * job bundle's code.
 */
export function sparkLauncherOf(config: LakehouseConfig): SparkLauncher | undefined {
  const emr = config.launcher.emr;
  if (config.launcher.kind !== 'emr-serverless' || !emr) return undefined;
  return new EmrServerlessLauncher({
    applicationId: emr.applicationId,
    executionRoleArn: emr.executionRoleArn,
    client: awsClientConfig(config),
  });
}
