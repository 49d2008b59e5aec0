import { gunzipSync } from 'node:zlib';
import type { Logger } from 'pino';
import {
  type PipesContext,
  type PipesMessage,
  type PipesProcessResult,
  type PipesReceived,
  receivePipesLines,
} from '../../../framework/pipes/index.ts';
import type { ObjectStore } from '../object-key.ts';
import { parseS3Uri } from './aws-clients.ts';
import { DEFAULT_BACKOFF, type PollBackoff, pause, pollDelay } from './poll.ts';
import { S3PipesReader } from './s3-pipes-reader.ts';
import { isTerminal, type RemoteJobState, type RemoteSparkJob, type SparkLauncher } from './spark-launcher.ts';

export interface RemotePipesJobOptions {
  launcher: SparkLauncher;
  /** The job; its env gets the pipes channel (`FAIRWAY_PIPES_MESSAGES`, `FAIRWAY_PIPES_CONTEXT`) added. */
  job: RemoteSparkJob;
  /**
   * `s3://bucket/jobs/<run>/<step>/<attempt>/`: the step attempt's prefix. The job reads its pipes context
   * from `context.json` there (a service caps each Spark property at 1,024 characters; the context of a big
   * batch is longer) and writes its messages under `messages/` (`fairway_pipes.s3`).
   */
  stepUri: string;
  store: ObjectStore;
  context: PipesContext;
  signal?: AbortSignal;
  log: Logger;
  /** Lifecycle lines for the step's compute log (submitted, state changes, where the logs are). */
  onOutput?: (line: string) => void;
  onMessage?: (message: PipesMessage) => void;
  backoff?: PollBackoff;
}

export interface RemotePipesJobResult extends PipesProcessResult {
  jobId: string;
  logsUri: string;
  final: RemoteJobState;
}

/** The most lines of each driver log copied into the compute log: the end is where a failure shows. */
const DRIVER_LOG_LINES = 2_000;

/**
 * Copies the driver's stdout and stderr (gzip objects) into the compute log, as a local run's output is, the
 * last `DRIVER_LOG_LINES` of each. A log not written yet (the service uploads them shortly after the end) is
 * named, not an error: the step's result does not depend on it.
 */
async function copyDriverLogs(
  store: ObjectStore,
  logs: readonly { stream: 'stdout' | 'stderr'; uri: string }[],
  write: (line: string) => void,
): Promise<void> {
  for (const { stream, uri } of logs) {
    const { bucket, key } = parseS3Uri(uri);
    if (!(await store.head(bucket, key))) {
      write(`[driver ${stream}] not in S3 yet: ${uri}`);
      continue;
    }
    const lines = gunzipSync(await store.get(bucket, key))
      .toString('utf8')
      .split('\n');
    if (lines.at(-1) === '') lines.pop();
    if (lines.length > DRIVER_LOG_LINES)
      write(`[driver ${stream}] … ${lines.length - DRIVER_LOG_LINES} earlier lines in ${uri}`);
    for (const line of lines.slice(-DRIVER_LOG_LINES)) write(`[driver ${stream}] ${line}`);
  }
}

/** Exit codes as a local run would have them: success 0, cancelled 130 (SIGINT), failed 1. */
const EXIT = { succeeded: 0, cancelled: 130, failed: 1 } as const;

/**
 * Runs a pipes job on a managed Spark service: submits it, polls its state with backoff while reading the
 * messages it writes to S3, and returns what `runPipesProcess` returns for a local job, so the materializer
 * reads row counts, checks and data versions the same way. Aborting `signal` (the run was canceled) cancels
 * the remote job and waits until the service says it stopped.
 */
export async function runRemotePipesJob(opts: RemotePipesJobOptions): Promise<RemotePipesJobResult> {
  const { launcher, log } = opts;
  const say = (line: string) => opts.onOutput?.(`[${launcher.kind}] ${line}`);
  const messagesUri = `${opts.stepUri}messages/`;
  const contextUri = `${opts.stepUri}context.json`;
  const reader = new S3PipesReader(opts.store, messagesUri);
  const received: PipesReceived = { messages: [], malformed: [] };
  const { messages, malformed } = received;
  const handle = receivePipesLines(received, log, opts.onMessage);
  const drain = async () => handle(await reader.read());
  const started = Date.now();
  const context = parseS3Uri(contextUri);
  await opts.store.put(context.bucket, context.key, JSON.stringify(opts.context), { contentType: 'application/json' });
  const job: RemoteSparkJob = {
    ...opts.job,
    env: { ...opts.job.env, FAIRWAY_PIPES_MESSAGES: messagesUri, FAIRWAY_PIPES_CONTEXT: contextUri },
  };
  const submitted = await launcher.submit(job);
  const jobLog = log.child({ remote_job_id: submitted.jobId, launcher: launcher.kind });
  jobLog.info({ logs_uri: submitted.logsUri }, 'remote spark job submitted');
  say(`job ${submitted.jobId} submitted; logs: ${submitted.logsUri}`);
  if (submitted.consoleUrl) say(`console: ${submitted.consoleUrl}`);

  let state: RemoteJobState = { phase: 'pending', raw: 'SUBMITTED' };
  let cancelRequested = false;
  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted && !cancelRequested) {
      cancelRequested = true;
      say(`run canceled: cancelling job ${submitted.jobId}`);
      await launcher.cancel(submitted.jobId);
    }
    const next = await launcher.state(submitted.jobId);
    if (next.raw !== state.raw) {
      say(`state ${next.raw}${next.details ? `: ${next.details}` : ''}`);
      jobLog.debug({ state: next.raw }, 'remote spark job state');
    }
    state = next;
    await drain();
    if (isTerminal(state.phase)) break;
    // once cancelled, poll quickly: the service only needs to confirm
    await pause(
      cancelRequested ? DEFAULT_BACKOFF.initialMs : pollDelay(attempt, opts.backoff),
      cancelRequested ? undefined : opts.signal,
    );
  }
  await drain(); // the job closes its channel before it ends: this read sees its last chunk
  if (state.phase === 'failed' && !messages.some((m) => m.type === 'error' && m.partition_key === undefined)) {
    // the job died before it could say why (driver lost, out of memory, timeout): the service's words stand in
    const why = state.details ? `: ${state.details}` : '';
    messages.push({
      type: 'error',
      code: 'remote_job_failed',
      message: `${launcher.kind} job ${submitted.jobId} ended ${state.raw}${why} (Spark logs: ${submitted.logsUri})`,
    });
  }
  await copyDriverLogs(opts.store, submitted.driverLogs ?? [], (line) => opts.onOutput?.(line));
  const phase = state.phase as keyof typeof EXIT;
  jobLog.info(
    { state: state.raw, duration_ms: Date.now() - started, messages: messages.length },
    'remote spark job ended',
  );
  return {
    exitCode: EXIT[phase],
    messages,
    malformed,
    durationMs: Date.now() - started,
    jobId: submitted.jobId,
    logsUri: submitted.logsUri,
    final: state,
  };
}
