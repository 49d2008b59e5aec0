import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../object-store-local.ts';
import { type RemotePipesJobOptions, runRemotePipesJob } from './remote-pipes-job.ts';
import type { RemoteJobState, RemoteSparkJob, SparkLauncher } from './spark-launcher.ts';

const job: RemoteSparkJob = {
  name: 'fairway-run1-silver',
  entryPoint: 's3://obs/bundles/files/1/silver_job.py',
  args: [],
  pyFiles: [],
  archives: [],
  jars: [],
  env: {},
  sparkConf: {},
  logUri: 's3://obs/jobs/run1/silver/logs/',
  timeoutMinutes: 5,
};
const stepUri = 's3://obs/jobs/run1/silver/';
const line = (m: object) => `${JSON.stringify(m)}\n`;
const context = { run_id: 'run1', asset_key: 'silver.fact_telemetry_event', partition_key: '', partition: {} };
const fast = { initialMs: 5, maxMs: 20, factor: 2 };

/**
 * A service that plays back `states` one per poll and, on poll i, lets the "job" put `chunks[i]` into the
 * store (a real object store on disk): the messages arrive while the job runs, as on S3.
 */
function scripted(states: RemoteJobState[], chunks: Record<number, string>) {
  const store = new LocalObjectStore(mkdtempSync(join(tmpdir(), 'fairway-remote-')));
  const polls: number[] = [];
  let seq = 0;
  const launcher: SparkLauncher = {
    kind: 'scripted',
    submit: async (j) => {
      expect(j.env.FAIRWAY_PIPES_MESSAGES).toBe(`${stepUri}messages/`);
      // the context is an object beside the messages: a Spark property holds at most 1,024 characters
      expect(j.env.FAIRWAY_PIPES_CONTEXT).toBe(`${stepUri}context.json`);
      expect(JSON.parse((await store.get('obs', 'jobs/run1/silver/context.json')).toString())).toEqual(context);
      const logsUri = 's3://obs/jobs/run1/silver/logs/applications/app/jobs/jr-1/';
      const driverLogs = (['stdout', 'stderr'] as const).map((stream) => ({
        stream,
        uri: `${logsUri}SPARK_DRIVER/${stream}.gz`,
      }));
      return { jobId: 'jr-1', logsUri, driverLogs };
    },
    state: async () => {
      const i = polls.length;
      polls.push(Date.now());
      if (chunks[i] !== undefined)
        await store.put('obs', `jobs/run1/silver/messages/${String(seq++).padStart(6, '0')}.jsonl`, chunks[i]!);
      return states[Math.min(i, states.length - 1)]!;
    },
    cancel: async () => {},
  };
  const run = (more: Partial<RemotePipesJobOptions> = {}) =>
    runRemotePipesJob({
      launcher,
      job,
      stepUri,
      store,
      context,
      log: pino({ level: 'silent' }),
      backoff: fast,
      ...more,
    });
  return { run, polls, store };
}

describe('runRemotePipesJob', () => {
  it('reads the messages as they arrive across polls, in order, keeping a malformed line', async () => {
    const { run, polls } = scripted(
      [
        { phase: 'pending', raw: 'SCHEDULED' },
        { phase: 'running', raw: 'RUNNING' },
        { phase: 'running', raw: 'RUNNING' },
        { phase: 'succeeded', raw: 'SUCCESS' },
      ],
      {
        1: line({ type: 'log', level: 'info', message: 'spark session started' }),
        2: `${line({ type: 'check', name: 'reconciliation', passed: true, partition_key: 'p1' })}not json\n`,
        3: line({ type: 'materialization', data_version: '7:ab', partition_key: 'p1', metadata: {} }),
      },
    );
    const seen: string[] = [];
    const output: string[] = [];
    const result = await run({
      onMessage: (m) => seen.push(`${m.type}@${polls.length}`),
      onOutput: (l) => output.push(l),
    });
    expect(polls.length).toBe(4);
    // each message handled on the poll that found it, not at the end
    expect(seen).toEqual(['log@2', 'check@3', 'materialization@4']);
    expect(result).toMatchObject({ exitCode: 0, jobId: 'jr-1', final: { raw: 'SUCCESS' } });
    expect(result.malformed).toEqual([{ line: 'not json', error: expect.stringMatching(/^not JSON/) }]);
    expect(output).toEqual([
      '[scripted] job jr-1 submitted; logs: s3://obs/jobs/run1/silver/logs/applications/app/jobs/jr-1/',
      '[scripted] state SCHEDULED',
      '[scripted] state RUNNING',
      '[scripted] state SUCCESS',
      '[driver stdout] not in S3 yet: s3://obs/jobs/run1/silver/logs/applications/app/jobs/jr-1/SPARK_DRIVER/stdout.gz',
      '[driver stderr] not in S3 yet: s3://obs/jobs/run1/silver/logs/applications/app/jobs/jr-1/SPARK_DRIVER/stderr.gz',
    ]);
  });

  it('a job that FAILED without saying why fails with the service state details and its logs', async () => {
    const { run, store } = scripted(
      [
        { phase: 'running', raw: 'RUNNING' },
        { phase: 'failed', raw: 'FAILED', details: 'Driver ran out of memory' },
      ],
      {},
    );
    // the service has uploaded the driver's stderr, not (yet) its stdout
    const stderr = 'Traceback (most recent call last):\njava.lang.OutOfMemoryError: Java heap space\n';
    await store.put('obs', 'jobs/run1/silver/logs/applications/app/jobs/jr-1/SPARK_DRIVER/stderr.gz', gzipSync(stderr));
    const output: string[] = [];
    const result = await run({ onOutput: (l) => output.push(l) });
    expect(output.slice(-3)).toEqual([
      '[driver stdout] not in S3 yet: s3://obs/jobs/run1/silver/logs/applications/app/jobs/jr-1/SPARK_DRIVER/stdout.gz',
      '[driver stderr] Traceback (most recent call last):',
      '[driver stderr] java.lang.OutOfMemoryError: Java heap space',
    ]);
    expect(result.exitCode).toBe(1);
    expect(result.messages).toEqual([
      {
        type: 'error',
        code: 'remote_job_failed',
        message:
          'scripted job jr-1 ended FAILED: Driver ran out of memory (Spark logs: s3://obs/jobs/run1/silver/logs/applications/app/jobs/jr-1/)',
      },
    ]);
  });

  it("a job's own error is kept as the reason, not replaced by the service's", async () => {
    const { run } = scripted([{ phase: 'failed', raw: 'FAILED', details: 'exit 1' }], {
      0: line({ type: 'error', message: 'bad_arguments: --manifest missing', code: 'bad_arguments' }),
    });
    const result = await run();
    expect(result.messages.map((m) => m.type === 'error' && m.code)).toEqual(['bad_arguments']);
  });
});
