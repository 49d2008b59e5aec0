import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { asset, defineAssets, md, staticPartitions } from '../definitions/index.ts';
import { launchRun } from '../execution/index.ts';
import { openProject } from '../project/index.ts';
import { openLineageValidator } from './fixtures/validate-events.ts';
import {
  createTransport,
  describeOpenLineageConfig,
  lineageFileOf,
  type OpenLineageConfig,
  openLineageConfigFrom,
  type RunEvent,
  ulidToUuid,
} from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'fairway-lineage-'));
const validate = openLineageValidator();
const ENV_KEYS = ['FAIRWAY_OPENLINEAGE_TRANSPORT', 'FAIRWAY_OPENLINEAGE_NAMESPACE'];

/** Logs kept in memory, to see what a failing transport said. */
function memoryLog() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

const stores = staticPartitions('store', ['north', 'south', 'east']);
const failing = new Set<string>();
const defs = defineAssets({
  assets: [
    asset({
      key: 'bronze.exports',
      partitions: stores,
      materialize: (ctx) => {
        if (failing.has(ctx.partition.store!)) throw new Error(`no export for ${ctx.partition.store}`);
        return { metadata: { files: md.int(2), bytes: md.int(100) } };
      },
    }),
    asset({
      key: 'silver.orders',
      deps: ['bronze.exports'],
      partitions: stores,
      batch: { maxPartitions: 10 },
      checks: [
        { name: 'reconciled' },
        { name: 'no_duplicates', scope: 'asset', blocking: true, evaluate: () => ({ passed: true }) },
      ],
      materialize: (ctx) => ({
        partitions: Object.fromEntries(
          ctx.partitions.map((p) => [
            p.key,
            {
              dataVersion: `8812:${p.key}`,
              metadata: {
                row_count: md.rowCount(10),
                snapshot_id: md.text('8812345678901234567'),
                table_schema: md.tableSchema([
                  { name: 'order_id', type: 'bigint' },
                  { name: 'store', type: 'string' },
                ]),
              },
              checks: [{ name: 'reconciled', passed: p.values.store !== 'south' }],
            },
          ]),
        ),
      }),
    }),
    asset({
      key: 'gold.report',
      deps: ['silver.orders'],
      materialize: () => {
        throw new Error('report template missing');
      },
    }),
  ],
  hooks: {
    lineageDatasetOf: (key) =>
      key.startsWith('silver.') ? { namespace: 'iceberg://catalog.example:8181', name: key } : undefined,
  },
});
const project = openProject(defs, { root: dir, stateDir: join(dir, 'state') });

afterAll(() => {
  project.close();
  rmSync(dir, { recursive: true, force: true });
  for (const k of ENV_KEYS) delete process.env[k];
});

const readEvents = () =>
  readFileSync(lineageFileOf(project.stateDir), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RunEvent);

describe('OpenLineage events of a run', () => {
  it('validate against the OpenLineage schemas: START and an end per run and step, linked by parent facets', async () => {
    process.env.FAIRWAY_OPENLINEAGE_TRANSPORT = 'file';
    process.env.FAIRWAY_OPENLINEAGE_NAMESPACE = 'shop';
    const { run } = await launchRun(project, { selection: '*' });
    const events = readEvents();
    for (const e of events) expect(validate(e), JSON.stringify(e)).toEqual([]);

    const byJob = (name: string) => events.filter((e) => e.job.name === name);
    const runUuid = ulidToUuid(run.run_id)!;
    expect(byJob('fairway.run').map((e) => [e.eventType, e.run.runId, e.job.namespace])).toEqual([
      ['START', runUuid, 'shop'],
      ['FAIL', runUuid, 'shop'],
    ]);
    expect(byJob('fairway.run')[1]!.run.facets?.errorMessage?.message).toBe('1 step(s) failed: gold.report');
    // one OpenLineage run per step: three Bronze partitions, one Silver batch, its checks, Gold
    for (const job of ['bronze.exports', 'silver.orders', 'silver.orders.checks', 'gold.report']) {
      const steps = byJob(job);
      const runs = new Set(steps.map((e) => e.run.runId));
      expect(steps.length, job).toBe(2 * runs.size);
      for (const e of steps) expect(e.run.facets?.parent).toMatchObject({ run: { runId: runUuid } });
    }
    expect(byJob('bronze.exports')).toHaveLength(6);
    expect(byJob('silver.orders').map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);

    const silver = byJob('silver.orders')[1]!;
    expect(silver.inputs).toEqual([{ namespace: 'shop', name: 'bronze.exports' }]);
    const [orders] = silver.outputs;
    expect(orders).toMatchObject({
      namespace: 'iceberg://catalog.example:8181',
      name: 'silver.orders',
      facets: {
        version: { datasetVersion: '8812345678901234567' },
        schema: {
          fields: [
            { name: 'order_id', type: 'bigint' },
            { name: 'store', type: 'string' },
          ],
        },
        // failed for one store of three: failed for the batch
        dataQualityAssertions: { assertions: [{ assertion: 'reconciled', success: false }] },
      },
      outputFacets: { outputStatistics: { rowCount: 30 } },
    });
    // Bronze reports no row_count: no statistics rather than a guess from other keys; one partition a step,
    // so its data version is the dataset's version
    const bronze = byJob('bronze.exports').filter((e) => e.eventType === 'COMPLETE');
    expect(bronze[0]!.outputs[0]!.outputFacets).toBeUndefined();
    expect(bronze[0]!.outputs[0]!.facets?.version?.datasetVersion).toMatch(/^[0-9a-f]{16}$/);

    const checks = byJob('silver.orders.checks')[1]!;
    expect(checks.inputs[0]).toMatchObject({
      name: 'silver.orders',
      inputFacets: { dataQualityAssertions: { assertions: [{ assertion: 'no_duplicates', success: true }] } },
    });
    expect(checks.outputs).toEqual([]);

    const gold = byJob('gold.report');
    expect(gold.map((e) => e.eventType)).toEqual(['START', 'FAIL']);
    expect(gold[1]!.run.facets?.errorMessage?.message).toBe('gold.report: report template missing');
    expect(gold[1]!.inputs.map((d) => d.name)).toEqual(['silver.orders']);
  });

  it('tells a step that never started apart: skipped steps send nothing, a failed partition FAILs its run', async () => {
    rmSync(lineageFileOf(project.stateDir));
    failing.add('east');
    await launchRun(project, { selection: '*' });
    failing.clear();
    const events = readEvents();
    for (const e of events) expect(validate(e)).toEqual([]);
    const ends = events.filter((e) => e.job.name === 'bronze.exports' && e.eventType !== 'START');
    expect(ends.map((e) => e.eventType).sort()).toEqual(['COMPLETE', 'COMPLETE', 'FAIL']);
    // Silver runs for north and south (east's upstream failed); its checks are held by the failed gate
    const silver = events.filter((e) => e.job.name === 'silver.orders');
    expect(silver.map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
    expect(silver[1]!.outputs[0]!.outputFacets?.outputStatistics).toMatchObject({ rowCount: 20 });
    expect(events.some((e) => e.job.name === 'gold.report')).toBe(false);
  });

  it('the validator catches what the schemas forbid', () => {
    const [good] = readEvents();
    expect(validate(good)).toEqual([]);
    const bad = structuredClone(good!) as RunEvent & Record<string, unknown>;
    bad.run.runId = 'not-a-uuid';
    bad.eventType = 'DONE' as RunEvent['eventType'];
    bad.job.facets!.jobType = { ...bad.job.facets!.jobType!, processingType: undefined } as never;
    bad.run.facets = { parent: { _producer: 'urn:x', _schemaURL: 'https://example.com/Made.json#/$defs/Up' } };
    const problems = validate(bad).join('\n');
    expect(problems).toContain('/run/runId must match format "uuid"');
    expect(problems).toContain('/eventType must be equal to one of the allowed values');
    expect(problems).toContain("job.facets.jobType: / must have required property 'processingType'");
    expect(problems).toContain('run.facets.parent: no schema for https://example.com/Made.json');
  });

  it('a canceled run ABORTs, and so does its running step', async () => {
    const home = join(dir, 'cancel');
    const slow = openProject(
      defineAssets({
        assets: [
          asset({
            key: 'slow.wait',
            materialize: (ctx) =>
              new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('stopped')))),
          }),
        ],
      }),
      { root: home, stateDir: join(home, 'state') },
    );
    process.env.FAIRWAY_OPENLINEAGE_TRANSPORT = 'file';
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('canceled by the test')), 100);
    await launchRun(slow, { selection: '*', signal: controller.signal });
    slow.close();
    const events = readFileSync(lineageFileOf(slow.stateDir), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RunEvent);
    for (const e of events) expect(validate(e)).toEqual([]);
    expect(events.map((e) => [e.job.name, e.eventType])).toEqual([
      ['fairway.run', 'START'],
      ['slow.wait', 'START'],
      ['slow.wait', 'ABORT'],
      ['fairway.run', 'ABORT'],
    ]);
  });

  it('off by default; a bad setting stops the run before it starts, naming the variable', async () => {
    delete process.env.FAIRWAY_OPENLINEAGE_TRANSPORT;
    expect(openLineageConfigFrom({})).toBeUndefined();
    expect(() => openLineageConfigFrom({ FAIRWAY_OPENLINEAGE_TRANSPORT: 'kafka' })).toThrow(
      /FAIRWAY_OPENLINEAGE_TRANSPORT='kafka' is invalid: expected one of "off"\|"file"\|"http"\|"console"/,
    );
    expect(() => openLineageConfigFrom({ FAIRWAY_OPENLINEAGE_TRANSPORT: 'http' })).toThrow(
      'FAIRWAY_OPENLINEAGE_TRANSPORT=http needs FAIRWAY_OPENLINEAGE_URL',
    );
    expect(() =>
      openLineageConfigFrom({ FAIRWAY_OPENLINEAGE_TRANSPORT: 'http', FAIRWAY_OPENLINEAGE_URL: 'marquez:5000' }),
    ).toThrow("FAIRWAY_OPENLINEAGE_URL='marquez:5000' is invalid: expected an http(s) URL.");
    const config = openLineageConfigFrom({
      FAIRWAY_OPENLINEAGE_TRANSPORT: 'http',
      FAIRWAY_OPENLINEAGE_URL: 'http://127.0.0.1:5000',
      FAIRWAY_OPENLINEAGE_API_KEY: 'sk-secret-value-42',
    });
    expect(describeOpenLineageConfig(config)).toEqual({
      transport: 'http',
      namespace: 'fairway',
      url: 'http://127.0.0.1:5000',
      endpoint: 'api/v1/lineage',
      apiKey: '****42',
      timeoutMs: 5000,
    });
    process.env.FAIRWAY_OPENLINEAGE_TRANSPORT = 'files';
    await expect(launchRun(project, { selection: 'bronze.exports' })).rejects.toThrow('FAIRWAY_OPENLINEAGE_TRANSPORT');
    delete process.env.FAIRWAY_OPENLINEAGE_TRANSPORT;
  });
});

/** A minimal valid event of job `name`. */
const event = (name: string): RunEvent => ({
  eventType: 'START',
  eventTime: new Date().toISOString(),
  producer: 'urn:fairway:framework',
  schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent',
  run: { runId: '01890a5d-ac96-774b-bcce-b302099a8057' },
  job: { namespace: 'fairway', name },
  inputs: [],
  outputs: [],
});

describe('the console transport', () => {
  it('writes one JSON line per event to stderr, so stdout (`--json`) stays parseable', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const t = createTransport({ transport: 'console', namespace: 'fairway' }, { stateDir: dir, log: memoryLog().log });
    const sent = event('console');
    t.send(sent);
    await t.flush();
    const [written, printed] = [err.mock.calls.map(([line]) => String(line)), out.mock.calls.length];
    err.mockRestore();
    out.mockRestore();
    expect(printed).toBe(0);
    expect(written).toEqual([`${JSON.stringify(sent)}\n`]);
  });
});

describe('the HTTP transport', () => {
  /** A local receiver: answers with the next status of `plan` (then 200), or never when it is 0. */
  const received: { headers: IncomingHttpHeaders; url: string; body: RunEvent }[] = [];
  let plan: number[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const status = plan.shift() ?? 200;
      if (status === 0) return; // hangs: the client's timeout has to end it
      if (status === 200) received.push({ headers: req.headers, url: req.url ?? '', body: JSON.parse(body) });
      res.writeHead(status).end();
    });
  });
  let base = '';
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const config = (over: Partial<Extract<OpenLineageConfig, { transport: 'http' }>> = {}): OpenLineageConfig => ({
    transport: 'http',
    namespace: 'fairway',
    url: base,
    endpoint: 'api/v1/lineage',
    apiKey: 'k-123456',
    timeoutMs: 300,
    ...over,
  });
  const noSleep = async () => {};

  it('POSTs each event in order with the bearer key, retrying a 503 and a hung request', async () => {
    received.length = 0;
    plan = [503, 0];
    const { log, lines } = memoryLog();
    const t = createTransport(config(), { stateDir: dir, log, sleep: noSleep });
    t.send(event('a'));
    t.send(event('b'));
    await t.flush();
    expect(received.map((r) => [r.url, r.body.job.name, r.headers.authorization])).toEqual([
      ['/api/v1/lineage', 'a', 'Bearer k-123456'],
      ['/api/v1/lineage', 'b', 'Bearer k-123456'],
    ]);
    expect(lines.filter((l) => Number(l.level) >= 40)).toEqual([]);
  });

  it('logs what it could not deliver, never throws, and gives up on a dead receiver within bounds', async () => {
    received.length = 0;
    plan = [400]; // refused: not retried
    const { log, lines } = memoryLog();
    const refused = createTransport(config(), { stateDir: dir, log, sleep: noSleep });
    refused.send(event('refused'));
    refused.send(event('next'));
    await refused.flush();
    expect(received.map((r) => r.body.job.name)).toEqual(['next']);
    expect(lines.find((l) => l.msg === 'OpenLineage event not delivered; the run goes on')).toMatchObject({
      err: 'HTTP 400',
      job: 'refused',
    });

    const dead = memoryLog();
    const unreachable = createTransport(config({ url: 'http://127.0.0.1:1', apiKey: 'k-secret' }), {
      stateDir: dir,
      log: dead.log,
      sleep: noSleep,
    });
    const started = Date.now();
    for (let i = 0; i < 10; i++) unreachable.send(event(`e${i}`));
    await unreachable.flush();
    expect(Date.now() - started).toBeLessThan(5_000);
    const warnings = dead.lines.filter((l) => l.level === 40).map((l) => l.msg);
    expect(warnings.filter((m) => m === 'OpenLineage event not delivered; the run goes on')).toHaveLength(3);
    expect(warnings).toContain('OpenLineage receiver unreachable; dropping this run’s other events');
    expect(dead.lines.at(-1)).toMatchObject({ dropped: 7 });
    expect(JSON.stringify(dead.lines)).not.toContain('k-secret');
  });
});
