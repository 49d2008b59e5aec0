/**
 * The aws profile against an AWS API emulator (moto in server mode, tests/e2e/aws-emulator.ts): Bronze on its
 * S3, the EMR Serverless launcher's lifecycle with the pipes messages read from S3, Athena's client flow, the
 * job bundle, and the Glue catalog written by one Spark application. What the emulator cannot prove (real
 * Spark on EMR, IAM enforcement, Athena's SQL) is listed in docs/aws_cutover.md.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AthenaClient, GetQueryExecutionCommand, ListQueryExecutionsCommand } from '@aws-sdk/client-athena';
import { CreateApplicationCommand, EMRServerlessClient, GetJobRunCommand } from '@aws-sdk/client-emr-serverless';
import { execa } from 'execa';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bronzeAssets } from '../../assets/bronze.ts';
import { queryAthena } from '../../assets/lib/aws/athena.ts';
import { awsClientConfig, awsLocations, parseS3Uri } from '../../assets/lib/aws/aws-clients.ts';
import { EmrServerlessLauncher } from '../../assets/lib/aws/emr-serverless-launcher.ts';
import { buildJobBundle, uploadJobBundle } from '../../assets/lib/aws/job-bundle.ts';
import { jobBundleDeps, runSilverRemote } from '../../assets/lib/aws/silver-remote.ts';
import type { SparkLauncher } from '../../assets/lib/aws/spark-launcher.ts';
import { type Lakehouse, openLakehouse } from '../../assets/lib/lakehouse.ts';
import { querySpark } from '../../assets/lib/query.ts';
import { sparkEnv } from '../../assets/lib/spark-env.ts';
import { sparkModule } from '../../assets/lib/spark-python.ts';
import { readLakehouseTable } from '../../assets/lib/tables.ts';
import { silverResults } from '../../assets/silver.ts';
import type { MaterializeContext, StepPartition } from '../../framework/definitions/index.ts';
import { type AwsEmulator, emulatorEnv, startAwsEmulator } from './aws-emulator.ts';
import { fairway, repoRoot } from './helpers.ts';

const ROLE = 'arn:aws:iam::123456789012:role/fairway-silver-job';
const silent = pino({ level: 'silent' });

/**
 * Plays the remote job's part, as EMR Serverless would run it: reads the job run back from the emulator, gives
 * the driver the environment its `spark-defaults` carry, puts the uploaded bundle's zip on the Python path and
 * runs `script` with the entry point's arguments. The script speaks pipes through `fairway_pipes.s3`.
 */
function playingTheJob(real: EmrServerlessLauncher, emu: AwsEmulator, lake: Lakehouse, script: string): SparkLauncher {
  const emr = new EMRServerlessClient(awsClientConfig(lake.config));
  return {
    kind: real.kind,
    state: (id) => real.state(id),
    cancel: (id) => real.cancel(id),
    submit: async (job) => {
      const submitted = await real.submit(job);
      const { jobRun } = await emr.send(
        new GetJobRunCommand({ applicationId: lake.config.launcher.emr!.applicationId, jobRunId: submitted.jobId }),
      );
      const props = jobRun!.configurationOverrides!.applicationConfiguration![0]!.properties!;
      // the job's Python dependencies: unpacked as ./deps beside the driver and each executor, on both Python paths
      expect(props['spark.archives']).toMatch(/\/files\/[0-9a-f]{64}\/python-deps-cp39-x86_64\.zip#deps$/);
      const deps = parseS3Uri(props['spark.archives']!.replace(/#deps$/, ''));
      expect((await lake.store.head(deps.bucket, deps.key))?.size).toBeGreaterThan(0);
      expect(props['spark.emr-serverless.driverEnv.PYTHONPATH']).toBe('./deps');
      expect(props['spark.executorEnv.PYTHONPATH']).toBe('./deps');
      const env = Object.fromEntries(
        Object.entries(props).flatMap(([k, v]) =>
          k.startsWith('spark.emr-serverless.driverEnv.')
            ? [[k.slice('spark.emr-serverless.driverEnv.'.length), v]]
            : [],
        ),
      );
      const zip = parseS3Uri(props['spark.submit.pyFiles']!);
      const zipPath = join(mkdtempSync(join(tmpdir(), 'fairway-bundle-')), 'fairway-spark.zip');
      writeFileSync(zipPath, await lake.store.get(zip.bucket, zip.key));
      const r = await execa(emu.python, ['-c', script, ...jobRun!.jobDriver!.sparkSubmit!.entryPointArguments!], {
        env: { ...env, PYTHONPATH: zipPath, AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' },
        extendEnv: false,
        reject: false,
      });
      expect(r.exitCode, r.stderr).toBe(0);
      return submitted;
    },
  };
}

/** A Silver-like job: per manifest partition a reconciliation check and a materialization, or an error. */
const SILVER_LIKE_JOB = `
import sys
from fairway_pipes import md_int, md_row_count, md_text, open_pipes
from fairway_spark.silver import manifest
parts = manifest.read(sys.argv[sys.argv.index("--manifest") + 1])
with open_pipes() as pipes:
    assert pipes.run_id == "run1", pipes.context  # read from the context object the launcher put beside the messages
    pipes.log("info", "spark session started", spark_master="managed")
    for i, part in enumerate(parts):
        if part.course_id == "brokencourse":
            pipes.report_error("no input files under " + part.bronze_path, code="no_input_files", partition_key=part.key)
            continue
        rows = 10 * (i + 1)
        pipes.report_check("reconciliation", passed=True, partition_key=part.key,
                           metadata={"real_rows": md_int(rows + 2)})
        pipes.report_materialization(data_version=f"{7000 + i}:0123456789abcdef", partition_key=part.key, metadata={
            "rows_written": md_row_count(rows), "quarantined_rows": md_int(2),
            "fact_device_health_snapshot_id": md_text(str(8000 + i)),
            "quarantine_telemetry_event_snapshot_id": md_text(str(9000 + i)),
        })
`;

const partition = (course: string, day: string): StepPartition => ({
  key: `course_id=${course},ingest_date=${day}`,
  values: { course_id: course, ingest_date: day },
  upstream: {},
});

describe('the aws profile on an AWS emulator (moto)', () => {
  let emu: AwsEmulator;
  let lake: Lakehouse;
  let stateDir: string;
  let applicationId: string;

  beforeAll(async () => {
    emu = await startAwsEmulator();
    const boot = emulatorEnv(emu.endpoint);
    const emr = new EMRServerlessClient({
      region: 'us-east-1',
      endpoint: emu.endpoint,
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    });
    const app = await emr.send(
      new CreateApplicationCommand({ name: 'fairway', releaseLabel: 'emr-7.5.0', type: 'SPARK', clientToken: 't' }),
    );
    applicationId = app.applicationId!;
    stateDir = mkdtempSync(join(tmpdir(), 'fairway-aws-'));
    lake = openLakehouse(repoRoot, stateDir, {
      ...boot,
      FAIRWAY_EMR_APPLICATION_ID: applicationId,
      FAIRWAY_EMR_EXECUTION_ROLE_ARN: ROLE,
      FAIRWAY_BRONZE_SETTLE_SECONDS: '0',
    });
    for (const b of Object.values(lake.config.buckets)) await lake.store.ensureBucket(b);
  }, 300_000);

  afterAll(async () => {
    await emu?.stop();
  });

  it('lands Bronze on its S3 and quarantines an invalid export with its report', async () => {
    const asset = bronzeAssets(lake)[0]!;
    const dir = join(lake.config.inboxDir, 'americanfalls', '2025-06-03');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.json'), '[{"_id":"a","course":"American Falls","locations":[]}]\n');
    writeFileSync(join(dir, 'bad.json'), Buffer.from([0xff, 0xfe, 0x5b, 0x00, 0x5d, 0x00]));
    const ctx = {
      runId: 'run-bronze',
      assetKey: asset.key,
      partitionKey: 'course_id=americanfalls,ingest_date=2025-06-03',
      partition: { course_id: 'americanfalls', ingest_date: '2025-06-03' },
      log: silent,
      computeLog: () => {},
    } as unknown as MaterializeContext;
    await expect(asset.materialize(ctx)).rejects.toMatchObject({ message: expect.stringMatching(/bad\.json/) });
    const landed = await lake.store.list(lake.config.buckets.landing, '');
    expect(landed.map((o) => o.key)).toEqual(['course_id=americanfalls/ingest_date=2025-06-03/a.json']);
    const report = 'bronze/course_id=americanfalls/ingest_date=2025-06-03/bad.json.run-bronze.json';
    expect((await lake.store.list(lake.config.buckets.quarantine, '')).map((o) => o.key)).toEqual([report]);
    const body = JSON.parse((await lake.store.get(lake.config.buckets.quarantine, report)).toString('utf8'));
    expect(body).toMatchObject({ file: 'bad.json', course_id: 'americanfalls', run_id: 'run-bronze' });
  });

  it('runs the Silver job on EMR Serverless: submit, poll to success, row counts and data versions from S3', async () => {
    const real = new EmrServerlessLauncher({
      applicationId,
      executionRoleArn: ROLE,
      client: awsClientConfig(lake.config),
    });
    const runtime = { jars: [] as string[] };
    const parts = [partition('americanfalls', '2025-06-03'), partition('brokencourse', '2025-06-03')];
    const manifest = JSON.stringify({
      partitions: parts.map((p) => ({
        partition_key: p.key,
        course_id: p.values.course_id,
        ingest_date: p.values.ingest_date,
        bronze_path: lake.bronzeSparkPath(p.values.course_id!, p.values.ingest_date!),
      })),
    });
    const output: string[] = [];
    const result = await runSilverRemote({
      config: lake.config,
      store: lake.store,
      launcher: playingTheJob(real, emu, lake, SILVER_LIKE_JOB),
      projectRoot: repoRoot,
      jars: runtime.jars,
      python: await lake.python(),
      manifest,
      args: ['--namespace', 'silver'],
      runId: 'run1',
      stepKey: 'silver.fact_telemetry_event',
      context: { run_id: 'run1', asset_key: 'silver.fact_telemetry_event', partition_key: '', partition: {} },
      log: silent,
      onOutput: (l) => output.push(l),
    });
    expect(result.final.raw).toBe('SUCCESS');
    expect(result.exitCode).toBe(0);
    expect(result.malformed).toEqual([]);
    const jobs = awsLocations(lake.config).job('run1', 'silver.fact_telemetry_event');
    expect(result.logsUri).toMatch(
      new RegExp(`^${jobs}[0-9A-Z]{26}/logs/applications/${applicationId}/jobs/${result.jobId}/$`),
    );
    expect(output.join('\n')).toContain(`[emr-serverless] job ${result.jobId} submitted; logs: ${result.logsUri}`);
    // the same reading of the messages as a local run: per partition, per table
    const keys = {
      telemetry: 'silver.fact_telemetry_event',
      deviceHealth: 'silver.fact_device_health',
      quarantine: 'silver.quarantine_telemetry_event',
    };
    const out = silverResults(parts, result, 'run1', keys).outputs;
    const facts = (out[keys.telemetry] as { partitions: Record<string, { dataVersion?: string; error?: string }> })
      .partitions;
    expect(facts[parts[0]!.key]).toMatchObject({
      dataVersion: '7000:0123456789abcdef',
      metadata: { rows_written: { type: 'row_count', value: 10 } },
      checks: [{ name: 'reconciliation', passed: true }],
    });
    expect(facts[parts[1]!.key]?.error).toMatch(
      /The Silver Spark job failed for course_id=brokencourse.*no input files under s3:\/\/fairway-landing\//,
    );
    const health = (out[keys.deviceHealth] as { partitions: Record<string, { dataVersion?: string; error?: string }> })
      .partitions;
    expect(health[parts[0]!.key]?.dataVersion).toBe('8000:0123456789abcdef');
  });

  it('cancels the remote job when the run is canceled, and reports it as a canceled step', async () => {
    const launcher = new EmrServerlessLauncher({
      applicationId,
      executionRoleArn: ROLE,
      client: awsClientConfig(lake.config),
    });
    const abort = new AbortController();
    const output: string[] = [];
    const result = await runSilverRemote({
      config: lake.config,
      store: lake.store,
      launcher,
      projectRoot: repoRoot,
      jars: [],
      python: await lake.python(),
      manifest: '{"partitions":[]}',
      args: [],
      runId: 'run2',
      stepKey: 'silver.fact_telemetry_event',
      context: { run_id: 'run2', asset_key: 'silver.fact_telemetry_event', partition_key: '', partition: {} },
      signal: abort.signal,
      log: silent,
      onOutput: (l) => {
        output.push(l);
        if (l.includes('submitted')) abort.abort();
      },
    });
    expect(result.final.raw).toBe('CANCELLED');
    expect(result.exitCode).toBe(130);
    expect(output.some((l) => l.includes(`cancelling job ${result.jobId}`))).toBe(true);
    expect((await launcher.state(result.jobId)).phase).toBe('cancelled');
  });

  it('fails with a typed error naming the application when the service refuses the job', async () => {
    const launcher = new EmrServerlessLauncher({
      applicationId: '00nosuchapp0000',
      executionRoleArn: ROLE,
      client: awsClientConfig(lake.config),
    });
    await expect(launcher.state('00nosuchjob')).rejects.toMatchObject({
      code: 'REMOTE_SPARK_FAILED',
      message: expect.stringMatching(
        /EMR Serverless GetJobRun on application '00nosuchapp0000' failed: ResourceNotFoundException/,
      ),
    });
  });

  it('packages the job bundle content-addressed: two builds are byte-identical, a second upload puts nothing', async () => {
    const jars = [
      join(stateDir, 'iceberg-spark-runtime-3.5_2.12-1.12.0.jar'),
      join(stateDir, 'sqlite-jdbc-3.51.2.0.jar'),
    ];
    for (const j of jars) writeFileSync(j, `jar bytes of ${j}`);
    const deps = await jobBundleDeps(lake.config, repoRoot, await lake.python());
    const a = await buildJobBundle(repoRoot, jars, deps);
    const b = await buildJobBundle(repoRoot, [...jars].reverse(), deps);
    expect(b.id).toBe(a.id);
    expect(b.manifest.equals(a.manifest)).toBe(true);
    expect(a.files.map((f) => f.name)).toEqual([
      'silver_job.py',
      'fairway-spark.zip',
      'requirements-emr.txt',
      'python-deps-cp39-x86_64.zip',
      'iceberg-spark-runtime-3.5_2.12-1.12.0.jar',
    ]);
    const listed = JSON.parse(a.manifest.toString('utf8'));
    const archive = a.files.find((f) => f.name === 'python-deps-cp39-x86_64.zip')!;
    expect(listed).toMatchObject({
      archives: [`files/${archive.sha256}/python-deps-cp39-x86_64.zip`],
      python: { version: '3.9', platforms: ['manylinux2014_x86_64', 'manylinux_2_28_x86_64'] },
    });
    const where = awsLocations(lake.config).bundles;
    const first = await uploadJobBundle(lake.store, where, a);
    // the Silver test above uploaded the same entry point, zip, pins and dependency archive: only the jar is new
    expect(first.uploaded).toEqual(['iceberg-spark-runtime-3.5_2.12-1.12.0.jar']);
    expect(first.archives).toEqual([`${where}files/${archive.sha256}/python-deps-cp39-x86_64.zip`]);
    for (const uri of [first.entryPoint, ...first.pyFiles, ...first.archives, ...first.jars]) {
      const { bucket, key } = parseS3Uri(uri);
      expect(await lake.store.head(bucket, key), uri).toBeDefined();
    }
    // the entry point runs the packaged job from the zip alone, as EMR Serverless does (`--py-files`)
    const dir = mkdtempSync(join(tmpdir(), 'fairway-bundle-'));
    for (const f of a.files.slice(0, 2)) writeFileSync(join(dir, f.name), (f.source as { data: Buffer }).data);
    const help = await execa(await lake.python(), [join(dir, 'silver_job.py'), '--help'], {
      cwd: dir,
      env: { PYTHONPATH: join(dir, 'fairway-spark.zip') },
      extendEnv: false,
      reject: false,
    });
    expect(help.exitCode, help.stderr).toBe(0);
    expect(help.stdout).toContain('usage: python -m fairway_spark.silver_job');
    const again = await uploadJobBundle(lake.store, where, b);
    expect(again).toMatchObject({ id: a.id, uploaded: [], entryPoint: first.entryPoint });
    const manifest = parseS3Uri(first.manifestUri);
    expect((await lake.store.get(manifest.bucket, manifest.key)).equals(a.manifest)).toBe(true);
  });

  it('runs Athena queries: start, poll through QUEUED and RUNNING, paginated results typed by column', async () => {
    await emu.motoApi('state-manager/set-transition', {
      model_name: 'athena::execution',
      transition: { progression: 'manual', times: 1 },
    });
    const col = (Name: string, Type: string) => ({
      CatalogName: 'hive',
      SchemaName: 'silver',
      TableName: 't',
      Name,
      Label: Name,
      Type,
      Precision: 0,
      Scale: 0,
      Nullable: 'UNKNOWN',
      CaseSensitive: false,
    });
    await emu.motoApi('static/athena/query-results', {
      results: [
        {
          rows: [
            { Data: [{ VarCharValue: 'course_id' }, { VarCharValue: 'rows' }, { VarCharValue: 'snapshot_id' }] },
            { Data: [{ VarCharValue: 'americanfalls' }, { VarCharValue: '42' }, { VarCharValue: '9007199254740993' }] },
            { Data: [{ VarCharValue: 'erinhills' }, {}, { VarCharValue: '7' }] },
          ],
          column_info: [col('course_id', 'varchar'), col('rows', 'integer'), col('snapshot_id', 'bigint')],
        },
      ],
    });
    const [r] = await queryAthena(lake.config, ['SELECT course_id, rows, snapshot_id FROM fact_telemetry_event'], {
      backoff: { initialMs: 20, maxMs: 50, factor: 2 },
    });
    expect(r).toEqual({
      columns: ['course_id', 'rows', 'snapshot_id'],
      rows: [
        ['americanfalls', 42, '9007199254740993'],
        ['erinhills', null, 7],
      ],
    });
  });

  it('turns a cancelled Athena query into QUERY_CANCELED after StopQueryExecution', async () => {
    await emu.motoApi('state-manager/set-transition', {
      model_name: 'athena::execution',
      transition: { progression: 'manual', times: 50 },
    });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    await expect(
      queryAthena(lake.config, ['SELECT 1'], {
        signal: abort.signal,
        backoff: { initialMs: 20, maxMs: 20, factor: 1 },
      }),
    ).rejects.toMatchObject({
      code: 'QUERY_CANCELED',
      message: expect.stringMatching(/^Statement 1 was canceled; Athena stopped query /),
    });
  });

  it('writes an Iceberg table through the Glue catalog (GlueCatalog, S3FileIO) on the emulator, with Spark', async () => {
    const answers = await querySpark(lake, repoRoot, [
      'CREATE NAMESPACE IF NOT EXISTS silver',
      'CREATE TABLE silver.glue_probe (id bigint, course_id string) USING iceberg PARTITIONED BY (course_id)',
      "INSERT INTO silver.glue_probe VALUES (1, 'americanfalls'), (2, 'erinhills'), (3, 'erinhills')",
      'SELECT course_id, count(*) FROM silver.glue_probe GROUP BY course_id ORDER BY course_id',
      // write-audit-publish on Glue: a run's rows on an audit branch, published below by fairway_spark.wap
      'ALTER TABLE silver.glue_probe CREATE BRANCH audit_glue',
      "INSERT INTO silver.glue_probe.branch_audit_glue VALUES (4, 'pinehurst4')",
      "SELECT CAST(snapshot_id AS string) FROM silver.glue_probe.refs WHERE name = 'audit_glue'",
    ]);
    const head = String(answers[6]!.rows[0]![0]);
    const wap = sparkModule(repoRoot, 'wap');
    const publish = await execa(
      await lake.python(),
      [...wap.args, 'publish', '--namespace', 'silver', '--tables', 'glue_probe', '--branch', 'audit_glue'],
      { env: { ...process.env, ...wap.env, ...sparkEnv(lake.config) }, reject: false },
    );
    expect(publish.exitCode, `${publish.stdout}\n${publish.stderr}`).toBe(0);
    expect(JSON.parse(publish.stdout).tables).toEqual([
      expect.objectContaining({ table: 'glue_probe', status: 'published', mode: 'fast_forward', snapshot_id: head }),
    ]);
    expect(answers[3]!.rows).toEqual([
      ['americanfalls', 1],
      ['erinhills', 2],
    ]);
    // the table is in the emulator's Glue catalog, its metadata in the emulator's S3
    const script =
      'import boto3, json, sys\n' +
      'glue = boto3.client("glue", endpoint_url=sys.argv[1], region_name="us-east-1")\n' +
      'print(json.dumps(glue.get_table(DatabaseName="silver", Name="glue_probe")["Table"]["Parameters"]))\n';
    const r = await execa(emu.python, ['-c', script, emu.endpoint], {
      env: { AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' },
      reject: false,
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const params = JSON.parse(r.stdout) as Record<string, string>;
    expect(params.table_type).toBe('ICEBERG');
    const metadata = parseS3Uri(params.metadata_location!);
    expect(metadata.bucket).toBe('fairway-silver');
    expect(await lake.store.head(metadata.bucket, metadata.key)).toBeDefined();
  });

  it('fairway query and the table preview run on Athena, in the profile workgroup and database', async () => {
    await emu.motoApi('state-manager/set-transition', {
      model_name: 'athena::execution',
      transition: { progression: 'immediate' },
    });
    const text = (v: string) => ({ VarCharValue: v });
    const info = (Name: string, Type: string) => ({ Name, Label: Name, Type });
    await emu.motoApi('static/athena/query-results', {
      results: [
        // fairway query
        { rows: [{ Data: [text('n')] }, { Data: [text('3')] }], column_info: [info('n', 'bigint')] },
        // the preview: counts, snapshot, rows
        {
          rows: [{ Data: [text('_col0'), text('_col1')] }, { Data: [text('3'), text('1749000000.5')] }],
          column_info: [info('_col0', 'bigint'), info('_col1', 'double')],
        },
        {
          rows: [{ Data: [text('_col0')] }, { Data: [text('6178112233445566778')] }],
          column_info: [info('_col0', 'varchar')],
        },
        { rows: [{ Data: [text('round_id')] }, { Data: [text('r1')] }], column_info: [info('round_id', 'varchar')] },
      ],
    });
    const env = {
      ...emulatorEnv(emu.endpoint),
      FAIRWAY_EMR_APPLICATION_ID: applicationId,
      FAIRWAY_EMR_EXECUTION_ROLE_ARN: ROLE,
      FAIRWAY_HOME: stateDir,
    };
    const q = await fairway(['query', 'SELECT count(*) AS n FROM fact_telemetry_event', '--json'], {
      cwd: repoRoot,
      env,
    });
    expect(q.exitCode, String(q.stderr)).toBe(0);
    expect(JSON.parse(String(q.stdout))).toEqual([{ columns: ['n'], rows: [[3]] }]);
    const read = await readLakehouseTable(
      'athena',
      (sql) => queryAthena(lake.config, sql),
      { table: 'silver.fact_telemetry_event', timeColumn: 'fix_timestamp' },
      5,
    );
    expect(read).toMatchObject({
      engine: 'athena',
      rowCount: 3,
      snapshotId: '6178112233445566778',
      maxEventTime: '2025-06-04T01:20:00.500Z',
    });
    expect(read.preview).toEqual({ columns: ['round_id'], rows: [['r1']] });
    // what Athena was asked, where
    const athena = new AthenaClient(awsClientConfig(lake.config));
    const ids = (await athena.send(new ListQueryExecutionsCommand({}))).QueryExecutionIds ?? [];
    const asked = await Promise.all(
      ids.map(
        async (id) => (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution!,
      ),
    );
    const preview = asked.find((e) => e.Query === 'SELECT * FROM silver.fact_telemetry_event LIMIT 5');
    expect(preview).toMatchObject({
      WorkGroup: 'primary',
      QueryExecutionContext: { Catalog: 'AwsDataCatalog', Database: 'silver' },
    });
    expect(asked.map((e) => e.Query)).toContain(
      `SELECT CAST(snapshot_id AS varchar) FROM silver."fact_telemetry_event$refs" WHERE name = 'main'`,
    );
    expect(preview!.ResultConfiguration?.OutputLocation).toMatch(/^s3:\/\/fairway-observability\/athena-results\//);
  });

  it('fairway aws package --dry-run builds the same bundle twice; fairway aws iam renders for an account', async () => {
    const env = {
      ...emulatorEnv(emu.endpoint),
      FAIRWAY_EMR_APPLICATION_ID: applicationId,
      FAIRWAY_EMR_EXECUTION_ROLE_ARN: ROLE,
      FAIRWAY_HOME: stateDir,
    };
    const [a, b] = [
      await fairway(['aws', 'package', '--dry-run'], { cwd: repoRoot, env }),
      await fairway(['aws', 'package', '--dry-run'], { cwd: repoRoot, env }),
    ];
    expect(a.exitCode, String(a.stderr)).toBe(0);
    expect(String(b.stdout)).toBe(String(a.stdout));
    const [head, ...rest] = String(a.stdout).split('\n');
    expect(head).toMatch(/^bundle [0-9a-f]{16} \(not uploaded\)$/);
    const manifest = JSON.parse(rest.join('\n'));
    expect(manifest.jars.map((j: string) => j.replace(/^files\/[0-9a-f]{64}\//, '')).sort()).toEqual([
      'geotools-wrapper-1.8.0-33.1.jar',
      'iceberg-aws-bundle-1.12.0.jar',
      'iceberg-spark-runtime-3.5_2.12-1.12.0.jar',
      'sedona-spark-shaded-3.5_2.12-1.8.0.jar',
    ]);
    const iam = await fairway(['aws', 'iam', '--account', '210987654321'], { cwd: repoRoot, env });
    expect(iam.exitCode, String(iam.stderr)).toBe(0);
    const policies = JSON.parse(String(iam.stdout));
    expect(JSON.stringify(policies['fairway-orchestrator-policy.json'])).toContain(
      `arn:aws:emr-serverless:us-east-1:210987654321:/applications/${applicationId}`,
    );
    const bad = await fairway(['aws', 'iam', '--account', '42'], { cwd: repoRoot, env });
    expect(bad.exitCode).toBe(2);
    expect(String(bad.stderr)).toContain("--account '42' is not a 12-digit AWS account id.");
  });

  it('fairway config on the aws profile validates and masks the credentials', async () => {
    const r = await fairway(['config'], {
      cwd: repoRoot,
      env: {
        ...emulatorEnv(emu.endpoint),
        FAIRWAY_EMR_APPLICATION_ID: applicationId,
        FAIRWAY_EMR_EXECUTION_ROLE_ARN: ROLE,
        FAIRWAY_HOME: stateDir,
      },
    });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toContain('****ey'); // testing-secret-key, testing-key-id → last two characters only
    expect(String(r.stdout)).not.toContain('testing-secret-key');
    expect(String(r.stdout)).toContain(applicationId);
  });

  it('compiles the Gold models for the dbt-athena target generated on the aws profile', async () => {
    // `fairway config` above loaded the definitions on the aws profile: dbt parse wrote the athena profile
    const profiles = JSON.parse(readFileSync(join(stateDir, 'dbt', 'profiles.yml'), 'utf8'));
    expect(profiles.fairway.target).toBe('athena');
    expect(profiles.fairway.outputs.athena).toMatchObject({
      type: 'athena',
      work_group: 'primary',
      s3_staging_dir: awsLocations(lake.config).athenaResults,
    });
    const dbt = join(dirname(await lake.python()), 'dbt');
    const target = mkdtempSync(join(tmpdir(), 'fairway-dbt-athena-'));
    const r = await execa(
      dbt,
      ['compile', '--target', 'athena', '--profiles-dir', join(stateDir, 'dbt'), '--target-path', target],
      {
        cwd: join(repoRoot, 'dbt'),
        // botocore's own endpoint override: dbt-athena's Glue and Athena clients go to the emulator
        env: { ...emulatorEnv(emu.endpoint), AWS_ENDPOINT_URL: emu.endpoint, DBT_LOG_PATH: target },
        reject: false,
      },
    );
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const compiled = readFileSync(
      join(target, 'compiled', 'fairway', 'models', 'gold', 'device_health_errors.sql'),
      'utf8',
    );
    expect(compiled).toContain('from "awsdatacatalog"."silver"."fact_device_health"');

    // the Silver gate on a run's audit branch: Athena time-travels by the branch head's snapshot id
    const audited = mkdtempSync(join(tmpdir(), 'fairway-dbt-athena-'));
    const gate = await execa(
      dbt,
      ['compile', '--target', 'athena', '--profiles-dir', join(stateDir, 'dbt'), '--target-path', audited],
      {
        cwd: join(repoRoot, 'dbt'),
        env: {
          ...emulatorEnv(emu.endpoint),
          AWS_ENDPOINT_URL: emu.endpoint,
          DBT_LOG_PATH: audited,
          FAIRWAY_AUDIT_BRANCH: 'audit_01run',
          FAIRWAY_AUDIT_SNAPSHOTS: JSON.stringify({
            fact_telemetry_event: '1234567890123456789',
            fact_device_health: '42',
          }),
        },
        reject: false,
      },
    );
    expect(gate.exitCode, `${gate.stdout}\n${gate.stderr}`).toBe(0);
    const test = readFileSync(
      join(audited, 'compiled', 'fairway', 'models', 'sources', 'silver.yml', 'silver_round_id_not_null.sql'),
      'utf8',
    );
    expect(test).toContain('"awsdatacatalog"."silver"."fact_telemetry_event" for version as of 1234567890123456789');
  });
});
