import type { EMRServerlessClient } from '@aws-sdk/client-emr-serverless';
import { FrameworkError } from '../../../framework/errors/index.ts';
import type { AwsClientConfig } from './aws-clients.ts';
import type { RemoteJobPhase, RemoteJobState, RemoteSparkJob, SparkLauncher, SubmittedJob } from './spark-launcher.ts';

/** EMR Serverless job run states (JobRunState) → a step's view of them. */
const PHASES: Record<string, RemoteJobPhase> = {
  SUBMITTED: 'pending',
  PENDING: 'pending',
  SCHEDULED: 'pending',
  QUEUED: 'pending',
  RUNNING: 'running',
  SUCCESS: 'succeeded',
  FAILED: 'failed',
  CANCELLING: 'running',
  CANCELLED: 'cancelled',
};

/** The phase of an EMR Serverless state; an unknown (newer) state counts as still running, never as done. */
export function emrPhase(state: string): RemoteJobPhase {
  return PHASES[state] ?? 'running';
}

/** EMR Serverless takes at most 100 properties per classification, each value at most 1,024 characters. */
const MAX_PROPERTIES = 100;
const MAX_VALUE_CHARS = 1024;

/**
 * `--conf k=v` pairs (jars, py-files, archives), and the driver's environment as `spark.emr-serverless.driverEnv.*` properties. A value
 * over the service's limits is refused here, naming the property (the emulator does not check them).
 */
export function emrSparkProperties(job: RemoteSparkJob): Record<string, string> {
  const props: Record<string, string> = { ...job.sparkConf };
  if (job.jars.length > 0) props['spark.jars'] = job.jars.join(',');
  if (job.pyFiles.length > 0) props['spark.submit.pyFiles'] = job.pyFiles.join(',');
  if (job.archives.length > 0) props['spark.archives'] = job.archives.join(',');
  for (const [k, v] of Object.entries(job.env)) props[`spark.emr-serverless.driverEnv.${k}`] = v;
  const long = Object.entries(props).find(([, v]) => v.length > MAX_VALUE_CHARS);
  if (long || Object.keys(props).length > MAX_PROPERTIES) {
    throw new FrameworkError(
      'REMOTE_SPARK_FAILED',
      long
        ? `Spark property '${long[0]}' of job '${job.name}' is ${long[1].length} characters; EMR Serverless takes at most ${MAX_VALUE_CHARS}. Pass long values through an S3 object (as the pipes context is).`
        : `Job '${job.name}' has ${Object.keys(props).length} Spark properties; EMR Serverless takes at most ${MAX_PROPERTIES}.`,
      { details: { job: job.name, ...(long ? { property: long[0] } : {}) } },
    );
  }
  return props;
}

/**
 * Runs Spark jobs on an EMR Serverless application (`StartJobRun`, `GetJobRun`, `CancelJobRun`). Spark
 * properties go in the `spark-defaults` classification rather than `sparkSubmitParameters`: a property map
 * needs no shell quoting (paths, JSON). Logs go to `job.logUri` (S3 monitoring).
 */
export class EmrServerlessLauncher implements SparkLauncher {
  readonly kind = 'emr-serverless';
  readonly #opts: { applicationId: string; executionRoleArn: string; client: AwsClientConfig };
  #client: Promise<{ sdk: typeof import('@aws-sdk/client-emr-serverless'); client: EMRServerlessClient }> | undefined;

  constructor(opts: { applicationId: string; executionRoleArn: string; client: AwsClientConfig }) {
    this.#opts = opts;
  }

  #connect() {
    // loaded on first use: most commands never start a remote job
    this.#client ??= import('@aws-sdk/client-emr-serverless').then((sdk) => ({
      sdk,
      client: new sdk.EMRServerlessClient(this.#opts.client),
    }));
    return this.#client;
  }

  async submit(job: RemoteSparkJob): Promise<SubmittedJob> {
    const { sdk, client } = await this.#connect();
    const { applicationId, executionRoleArn } = this.#opts;
    const res = await this.#call('StartJobRun', () =>
      client.send(
        new sdk.StartJobRunCommand({
          applicationId,
          executionRoleArn,
          name: job.name.slice(0, 256),
          executionTimeoutMinutes: job.timeoutMinutes,
          jobDriver: { sparkSubmit: { entryPoint: job.entryPoint, entryPointArguments: job.args } },
          configurationOverrides: {
            applicationConfiguration: [{ classification: 'spark-defaults', properties: emrSparkProperties(job) }],
            monitoringConfiguration: { s3MonitoringConfiguration: { logUri: job.logUri } },
          },
          tags: { 'fairway:job': job.name.slice(0, 256) },
        }),
      ),
    );
    const jobId = res.jobRunId!;
    // EMR Serverless writes each job's logs under <logUri>/applications/<app>/jobs/<job run>/, the driver's in SPARK_DRIVER/
    const logsUri = `${job.logUri.replace(/\/?$/, '/')}applications/${applicationId}/jobs/${jobId}/`;
    return {
      jobId,
      logsUri,
      driverLogs: (['stdout', 'stderr'] as const).map((stream) => ({
        stream,
        uri: `${logsUri}SPARK_DRIVER/${stream}.gz`,
      })),
      consoleUrl: `https://console.aws.amazon.com/emr/home?region=${this.#opts.client.region}#/serverless-applications/${applicationId}`,
    };
  }

  async state(jobId: string): Promise<RemoteJobState> {
    const { sdk, client } = await this.#connect();
    const res = await this.#call('GetJobRun', () =>
      client.send(new sdk.GetJobRunCommand({ applicationId: this.#opts.applicationId, jobRunId: jobId })),
    );
    const raw = String(res.jobRun?.state ?? 'UNKNOWN');
    const details = res.jobRun?.stateDetails;
    return { phase: emrPhase(raw), raw, ...(details ? { details } : {}) };
  }

  async cancel(jobId: string): Promise<void> {
    const { sdk, client } = await this.#connect();
    await this.#call('CancelJobRun', () =>
      client.send(new sdk.CancelJobRunCommand({ applicationId: this.#opts.applicationId, jobRunId: jobId })),
    );
  }

  async #call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (e) {
      const name = (e as { name?: string }).name ?? 'Error';
      throw new FrameworkError(
        'REMOTE_SPARK_FAILED',
        `EMR Serverless ${operation} on application '${this.#opts.applicationId}' failed: ${name}: ${(e as Error).message}. ` +
          'Check FAIRWAY_EMR_APPLICATION_ID and FAIRWAY_EMR_EXECUTION_ROLE_ARN, and that the orchestrator role may call ' +
          `emr-serverless:${operation} (iam/fairway-orchestrator-policy.json).`,
        { details: { operation, application_id: this.#opts.applicationId, error: name }, cause: e },
      );
    }
  }
}
