import { describe, expect, it } from 'vitest';
import { pythonDepsLaunch } from './emr-python.ts';
import { emrPhase, emrSparkProperties } from './emr-serverless-launcher.ts';

describe('emrPhase', () => {
  it('maps every EMR Serverless job run state to a step phase; an unknown one is still running', () => {
    const states = [
      'SUBMITTED',
      'PENDING',
      'SCHEDULED',
      'QUEUED',
      'RUNNING',
      'SUCCESS',
      'FAILED',
      'CANCELLING',
      'CANCELLED',
    ];
    expect(Object.fromEntries(states.map((s) => [s, emrPhase(s)]))).toEqual({
      SUBMITTED: 'pending',
      PENDING: 'pending',
      SCHEDULED: 'pending',
      QUEUED: 'pending',
      RUNNING: 'running',
      SUCCESS: 'succeeded',
      FAILED: 'failed',
      CANCELLING: 'running',
      CANCELLED: 'cancelled',
    });
    expect(emrPhase('SOME_NEW_STATE')).toBe('running');
  });
});

describe('emrSparkProperties', () => {
  it('puts jars, py-files, archives and the driver environment in spark-defaults properties, JSON untouched', () => {
    const context = '{"run_id":"01J","partition":{"course_id":"a b"}}';
    const deps = pythonDepsLaunch('s3://b/files/5/python-deps-cp39-x86_64.zip');
    const props = emrSparkProperties({
      name: 'fairway-01J-silver',
      entryPoint: 's3://b/files/1/silver_job.py',
      args: [],
      pyFiles: ['s3://b/files/2/fairway-spark.zip'],
      archives: deps.archives,
      jars: ['s3://b/files/3/a.jar', 's3://b/files/4/b.jar'],
      env: { FAIRWAY_PIPES_CONTEXT: context, FAIRWAY_SPARK_MASTER: 'managed', ...deps.env },
      sparkConf: { 'spark.sql.shuffle.partitions': '32', ...deps.sparkConf },
      logUri: 's3://b/logs/',
      timeoutMinutes: 60,
    });
    expect(props).toEqual({
      'spark.sql.shuffle.partitions': '32',
      'spark.executorEnv.PYTHONPATH': './deps',
      'spark.jars': 's3://b/files/3/a.jar,s3://b/files/4/b.jar',
      'spark.submit.pyFiles': 's3://b/files/2/fairway-spark.zip',
      'spark.archives': 's3://b/files/5/python-deps-cp39-x86_64.zip#deps',
      'spark.emr-serverless.driverEnv.FAIRWAY_PIPES_CONTEXT': context,
      'spark.emr-serverless.driverEnv.FAIRWAY_SPARK_MASTER': 'managed',
      'spark.emr-serverless.driverEnv.PYTHONPATH': './deps',
    });
  });

  it("refuses a value over the service's 1,024 characters, naming the property", () => {
    const job = {
      name: 'j',
      entryPoint: 's3://b/e.py',
      args: [],
      pyFiles: [],
      archives: [],
      jars: [],
      sparkConf: {},
      logUri: 's3://b/l/',
      timeoutMinutes: 5,
    };
    expect(() => emrSparkProperties({ ...job, env: { FAIRWAY_X: 'x'.repeat(1025) } })).toThrow(
      /Spark property 'spark\.emr-serverless\.driverEnv\.FAIRWAY_X' of job 'j' is 1025 characters; EMR Serverless takes at most 1024/,
    );
    expect(() => emrSparkProperties({ ...job, env: { FAIRWAY_X: 'x'.repeat(1024) } })).not.toThrow();
  });
});
