import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asset, type MaterializeContext } from '../../framework/definitions/index.ts';
import { SPARK_VERSION, stackCommand, stackHealthy, stackStatus } from '../../stack/index.ts';
import { isAlive, readPid, spawnService, stopProcess } from '../../stack/process.ts';
import { STACK_COMMAND } from './command-info.ts';
import { loadConfig } from './config.ts';
import { guardLocalStack, stackConfigOf, stackServicesDown, usesLocalStack } from './stack.ts';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fairway-stack-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function localConfigOnClosedPorts(env: Record<string, string> = {}) {
  const [s3, rest, trino, master, ui] = [
    await closedPort(),
    await closedPort(),
    await closedPort(),
    await closedPort(),
    await closedPort(),
  ];
  return loadConfig({
    projectRoot,
    profile: 'local',
    env: {
      FAIRWAY_S3_ENDPOINT: `http://127.0.0.1:${s3}`,
      FAIRWAY_CATALOG_URI: `http://127.0.0.1:${rest}`,
      FAIRWAY_TRINO_URL: `http://127.0.0.1:${trino}`,
      FAIRWAY_STACK_SPARK_MASTER: `spark://127.0.0.1:${master}`,
      FAIRWAY_SPARK_MASTER: `spark://127.0.0.1:${master}`,
      FAIRWAY_STACK_SPARK_UI_PORT: String(ui),
      ...env,
    },
  });
}

describe('the stack command', () => {
  it('is listed with the description and usage of stack/cli.ts (the definitions import it when it runs)', () => {
    const { description, usage } = stackCommand(() => {
      throw new Error('not resolved for its description');
    });
    expect(STACK_COMMAND).toEqual({ description, usage });
  });
});

describe('stackConfigOf', () => {
  it('derives buckets, namespace locations and the state dir from the local profile', () => {
    const config = loadConfig({ projectRoot, profile: 'local', env: {} });
    expect(usesLocalStack(config)).toBe(true);
    const cfg = stackConfigOf(config, '/state');
    expect(cfg.dir).toBe('/state/stack');
    expect(cfg.buckets).toEqual([
      'fairway-gold',
      'fairway-landing',
      'fairway-observability',
      'fairway-quarantine',
      'fairway-silver',
    ]);
    expect(cfg.catalog).toMatchObject({
      uri: 'http://127.0.0.1:8181',
      name: 'lakehouse',
      warehouse: 's3://fairway-silver/warehouse',
      namespaces: [
        { name: 'silver', location: 's3://fairway-silver/warehouse/silver' },
        { name: 'gold', location: 's3://fairway-gold/warehouse/gold' },
      ],
    });
    expect(cfg.s3).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      accessKeyId: 'minioadmin',
      secretAccessKey: 'minioadmin',
    });
    expect(cfg.services).toEqual(['s3', 'rest', 'trino', 'spark']);
    expect(cfg.spark).toMatchObject({
      masterUrl: 'spark://127.0.0.1:7077',
      masterUiUrl: 'http://127.0.0.1:8090',
      workerUiUrl: 'http://127.0.0.1:8091',
      workerCores: 2,
      workerMemory: '3g',
    });
    // the profile runs Spark on the stack's cluster, whose worker has the jars: the driver ships none
    expect(config.spark.master).toBe(cfg.spark.masterUrl);
    expect(config.spark.jarsOnWorkers).toBe(true);
    expect(config.spark.executor).toEqual({ cores: 2, memory: '2g', dynamicAllocation: false, waitSeconds: 120 });
  });

  it('ships the jars when Spark runs elsewhere or the stack has no cluster', () => {
    const other = loadConfig({ projectRoot, profile: 'local', env: { FAIRWAY_SPARK_MASTER: 'spark://10.0.0.5:7077' } });
    expect(other.spark.jarsOnWorkers).toBe(false);
    const noCluster = loadConfig({
      projectRoot,
      profile: 'local',
      env: { FAIRWAY_STACK_SERVICES: 's3,rest,trino', FAIRWAY_SPARK_MASTER: 'local[2]' },
    });
    expect(noCluster.spark.jarsOnWorkers).toBe(false);
    const told = loadConfig({
      projectRoot,
      profile: 'local',
      env: { FAIRWAY_SPARK_MASTER: 'spark://spark-master:7077', FAIRWAY_SPARK_JARS_ON_WORKERS: 'true' },
    });
    expect(told.spark.jarsOnWorkers).toBe(true);
  });

  it('falls back to the local profile when the current one has no stack (embedded)', () => {
    const embedded = loadConfig({ projectRoot, profile: 'embedded', env: {} });
    expect(usesLocalStack(embedded)).toBe(false);
    expect(stackConfigOf(embedded, '/state').trinoUrl).toBe('http://127.0.0.1:8080');
  });
});

describe('guardLocalStack', () => {
  it('fails a step at once, naming the server and `fairway stack status`, when a server it needs is down', async () => {
    const config = await localConfigOnClosedPorts();
    let called = false;
    const silver = asset({
      key: 'silver.guarded',
      materialize: () => {
        called = true;
        return {};
      },
    });
    const [guarded] = guardLocalStack(config, dir, [silver]);
    expect(guarded!.codeVersion).toBe(silver.codeVersion);
    const error = await Promise.resolve(guarded!.materialize({} as MaterializeContext<unknown>)).catch((e) => e);
    expect(called).toBe(false);
    // Silver runs on the stack's Spark cluster here: its master and worker are needed too
    expect(error).toMatchObject({
      code: 'STACK_SERVICE_FAILED',
      details: { services: ['s3', 'rest', 'spark-master', 'spark-worker'] },
    });
    expect(error.message).toContain('S3 server (SeaweedFS');
    expect(error.message).toContain('Iceberg REST catalog');
    expect(error.message).toContain('Spark 3.5.9 standalone master');
    expect(error.message).toContain('fairway stack status');

    const localMode = await localConfigOnClosedPorts({ FAIRWAY_SPARK_MASTER: 'local[2]' });
    const [plain] = guardLocalStack(localMode, dir, [silver]);
    const error2 = await Promise.resolve(plain!.materialize({} as MaterializeContext<unknown>)).catch((e) => e);
    expect(error2.details.services).toEqual(['s3', 'rest']);
  });

  it('leaves the assets alone on a profile without the local stack', () => {
    const embedded = loadConfig({ projectRoot, profile: 'embedded', env: {} });
    const a = asset({ key: 'bronze.x', materialize: () => ({}) });
    expect(guardLocalStack(embedded, dir, [a])[0]).toBe(a);
  });
});

describe('stackServicesDown', () => {
  it('names every server of the list that does not answer, for a 503; nothing on a profile without the stack', async () => {
    const config = await localConfigOnClosedPorts();
    const error = await stackServicesDown(config, dir, ['s3', 'rest', 'trino'], 'The query needs');
    expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', service: 's3' });
    expect(error!.details.services).toEqual(['s3', 'rest', 'trino']);
    expect(error!.message).toMatch(/^The query needs the S3 server .*; the Iceberg REST catalog .*; the Trino/);
    expect(error!.message).toContain('which are not answering');
    expect(error!.message).toContain('fairway stack status');
    const embedded = loadConfig({ projectRoot, profile: 'embedded', env: {} });
    expect(await stackServicesDown(embedded, dir, ['s3'], 'The query needs')).toBeUndefined();
  });
});

describe('stack processes', () => {
  it('status reports each service down on a fresh state dir', async () => {
    const cfg = stackConfigOf(await localConfigOnClosedPorts(), dir);
    const rows = await stackStatus(cfg);
    expect(rows.map((r) => [r.service, r.pid, r.running, r.healthy])).toEqual([
      ['s3', null, false, false],
      ['rest', null, false, false],
      ['trino', null, false, false],
      ['spark-master', null, false, false],
      ['spark-worker', null, false, false],
    ]);
    expect(rows[0]!.detail).toContain('ECONNREFUSED');
    expect(stackHealthy(rows)).toBe(false);
    // services left out of the stack are reported, marked so, and do not make it unhealthy
    const partial = await stackStatus({ ...cfg, services: ['spark'] });
    expect(partial.map((r) => [r.service, r.enabled])).toEqual([
      ['s3', false],
      ['rest', false],
      ['trino', false],
      ['spark-master', true],
      ['spark-worker', true],
    ]);
    expect(partial[0]!.detail).toContain('not part of this stack');
    expect(stackHealthy(partial.map((r) => ({ ...r, healthy: r.enabled })))).toBe(true);
    expect(stackHealthy(partial)).toBe(false);
  });

  it('spawns detached with a pid file and stops with SIGTERM', async () => {
    mkdirSync(join(dir, 'logs'));
    const pidFile = join(dir, 'x.pid');
    const rec = spawnService({
      service: 'x',
      command: 'sleep',
      args: ['30'],
      env: { PATH: process.env.PATH },
      cwd: dir,
      logFile: join(dir, 'logs', 'x.log'),
      pidFile,
      marker: '30',
    });
    expect(readPid(pidFile)).toEqual(rec);
    expect(isAlive(rec)).toBe(true);
    expect(isAlive({ ...rec, marker: 'not-this-process' })).toBe(false);
    expect(await stopProcess(rec, 5_000)).toBe('stopped');
    expect(isAlive(rec)).toBe(false);
    expect(await stopProcess(rec, 5_000)).toBe('not-running');
  });
});

describe('the stack cluster', () => {
  it('runs the Spark version the venv pins (the driver and the cluster must agree)', () => {
    const requirements = readFileSync(join(projectRoot, 'spark', 'requirements.txt'), 'utf8');
    expect(/^pyspark==(\S+)$/m.exec(requirements)?.[1]).toBe(SPARK_VERSION);
  });
});
