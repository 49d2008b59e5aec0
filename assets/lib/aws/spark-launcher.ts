/**
 * A managed Spark service behind one small interface: submit a job, read its state, cancel it. EMR Serverless
 * implements it (emr-serverless-launcher.ts); AWS Glue 5.0 (`StartJobRun` / `GetJobRun` / `BatchStopJobRun`)
 * would be a second implementation of the same three calls. docs/aws_cutover.md says why EMR Serverless first.
 */

/** One Spark application to run remotely: every path is an S3 URI the service can read. */
export interface RemoteSparkJob {
  /** Shown in the service's console: `fairway-<run id>-<step>`. */
  name: string;
  /** The driver's Python file (the bundle's `silver_job.py`, which runs `fairway_spark.silver_job`). */
  entryPoint: string;
  args: string[];
  /** Zips on the driver's and executors' Python path (the bundle's spark package). */
  pyFiles: string[];
  /** Archives unpacked in the driver's and executors' working directories, `uri#dir` (the Python dependencies). */
  archives: string[];
  jars: string[];
  /** Driver environment: the pipes channel and context, the catalog settings. No credentials: the job has a role. */
  env: Record<string, string>;
  /** Extra Spark properties. */
  sparkConf: Record<string, string>;
  /** Where the service writes the driver's and executors' logs. */
  logUri: string;
  timeoutMinutes: number;
}

/** The service's states, reduced to what a step needs. */
export type RemoteJobPhase = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface RemoteJobState {
  phase: RemoteJobPhase;
  /** The service's own state name (`SCHEDULED`, `RUNNING`, …), for the compute log. */
  raw: string;
  /** Why a job failed or was cancelled, in the service's words. */
  details?: string;
}

export interface SubmittedJob {
  jobId: string;
  /** Where this job's logs land (the driver's stdout and stderr). */
  logsUri: string;
  /** The service's console page for the job, when it has one. */
  consoleUrl?: string;
  /** The driver's stdout and stderr as the service stores them (gzip), copied into the compute log at the end. */
  driverLogs?: { stream: 'stdout' | 'stderr'; uri: string }[];
}

export interface SparkLauncher {
  /** `emr-serverless`, `glue`: in logs and errors. */
  readonly kind: string;
  submit(job: RemoteSparkJob): Promise<SubmittedJob>;
  state(jobId: string): Promise<RemoteJobState>;
  cancel(jobId: string): Promise<void>;
}

export const isTerminal = (phase: RemoteJobPhase) =>
  phase === 'succeeded' || phase === 'failed' || phase === 'cancelled';
