import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { asset, defineAssets, multiAsset } from '../../definitions/index.ts';
import { launchRun, type RunContext } from '../../execution/index.ts';
import { buildGraph } from '../../graph/index.ts';
import { openStore } from '../../storage/index.ts';
import { dbtAssets, loadDbtProject, MANIFEST_CACHE_FORMAT } from './index.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'fairway-dbt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
let dir: string;
let calls: string;
beforeEach(() => {
  dir = join(root, `case-${++n}`);
  mkdirSync(join(dir, 'project'), { recursive: true });
  writeFileSync(join(dir, 'project', 'dbt_project.yml'), 'name: fairway\n');
  calls = join(dir, 'calls.jsonl');
  writeFileSync(calls, '');
});

const dbtCalls = () =>
  readFileSync(calls, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string[]);

async function setup(env: Record<string, string> = {}, opts: { oneGate?: boolean; manifest?: string } = {}) {
  let environmentCalls = 0;
  const project = await loadDbtProject({
    projectDir: join(dir, 'project'),
    stateDir: join(dir, 'state', 'dbt'),
    target: 'spark',
    vars: { course_centres: { erinhills: [-88.3, 43.2] } },
    environment: async () => {
      environmentCalls++;
      return {
        command: process.execPath,
        prefixArgs: [fixture('fake-dbt.mjs')],
        env: { FAKE_DBT_MANIFEST: opts.manifest ?? fixture('manifest.json'), FAKE_DBT_CALLS: calls, ...env },
        profilesDir: dir,
      };
    },
  });
  const persisted: string[] = [];
  const { assets, sourceChecks, checksForSources } = dbtAssets(project, {
    persistArtifacts: async (runId, invocation, files) => {
      for (const f of files) persisted.push(`${runId}/${invocation}/${f.name}`);
    },
  });
  const silverKeys = ['silver.fact_telemetry_event', 'silver.fact_device_health'];
  // oneGate: like assets/silver.ts, one job (a multi-asset) writes both tables; the first carries both tables' tests.
  const silver = opts.oneGate
    ? multiAsset({
        name: 'silver_job',
        codeVersion: 'v1',
        outputs: [{ key: silverKeys[0]!, ...checksForSources(silverKeys) }, { key: silverKeys[1]! }],
        materialize: () => ({ outputs: { [silverKeys[0]!]: {}, [silverKeys[1]!]: {} } }),
      })
    : silverKeys.map((key) => asset({ key, codeVersion: 'v1', ...sourceChecks[key], materialize: () => ({}) }));
  const defs = defineAssets({ assets: [...silver, ...assets] });
  const ctx: RunContext = {
    stateDir: join(dir, 'state'),
    store: openStore(':memory:'),
    defs,
    graph: buildGraph(defs),
    log: pino({ level: 'silent' }),
  };
  return { project, assets, ctx, persisted, environmentCalls: () => environmentCalls };
}

describe('loadDbtProject', () => {
  it('parses once, then loads the cached manifest without starting dbt', async () => {
    const first = await setup();
    expect(first.project.parsed).toBe(true);
    expect(dbtCalls().map((a) => a[0])).toEqual(['parse']);
    const again = await setup();
    expect(again.project.parsed).toBe(false);
    expect(again.environmentCalls()).toBe(0);
    expect(dbtCalls().length).toBe(1);
    expect(again.project.checksum).toBe(first.project.checksum);
  });

  it("later loads read the compact parsed copy, not dbt's manifest.json", async () => {
    // with one of dbt's own macros, which the copy leaves out (no code version depends on it)
    const withDbtMacro = JSON.parse(readFileSync(fixture('manifest.json'), 'utf8'));
    const dbtMacro = {
      unique_id: 'macro.dbt.run_query',
      package_name: 'dbt',
      macro_sql: 'x',
      depends_on: { macros: [] },
    };
    withDbtMacro.macros['macro.dbt.run_query'] = dbtMacro;
    const manifest = join(dir, 'with-dbt-macro.json');
    writeFileSync(manifest, JSON.stringify(withDbtMacro));
    const first = await setup({}, { manifest });
    const manifestDir = first.project.manifestDir;
    const copy = readdirSync(manifestDir).filter((f) => f.startsWith('fairway-manifest.'));
    expect(copy).toEqual([`fairway-manifest.v${MANIFEST_CACHE_FORMAT}.json`]);
    expect(first.project.manifest.macros['macro.dbt.run_query']).toBeUndefined();
    expect(Object.keys(first.project.manifest.macros).length).toBeGreaterThan(0);
    writeFileSync(join(manifestDir, 'manifest.json'), '{}');
    const again = await setup({}, { manifest });
    expect(again.project.parsed).toBe(false);
    expect(again.project.spec).toEqual(first.project.spec);
    expect(again.project.manifest).toEqual(first.project.manifest);
    // without the copy, manifest.json is read (and validated) again
    rmSync(join(manifestDir, copy[0]!));
    await expect(setup()).rejects.toThrow(/manifest\.json is not a dbt manifest/);
  });

  it('parses again when a project file changes', async () => {
    const first = await setup();
    writeFileSync(join(dir, 'project', 'dbt_project.yml'), 'name: fairway\nversion: "2"\n');
    const second = await setup();
    expect(second.project.checksum).not.toBe(first.project.checksum);
    expect(dbtCalls().map((a) => a[0])).toEqual(['parse', 'parse']);
  });
});

describe('dbtAssets', () => {
  it('describes each model as an asset with dbt kinds, deps and its tests as checks', async () => {
    const { assets, ctx } = await setup();
    const rounds = assets.find((a) => a.key === 'gold.fact_rounds')!;
    expect(rounds).toMatchObject({ group: 'gold', kinds: ['dbt', 'spark'], deps: ['silver.fact_telemetry_event'] });
    expect(rounds.sourceFile).toBe(join(dir, 'project', 'models', 'gold', 'fact_rounds.sql'));
    expect(rounds.checks?.find((c) => c.name === 'gold_fact_rounds_grain')).toMatchObject({ blocking: true });
    const telemetry = ctx.defs.assets.get('silver.fact_telemetry_event')!;
    expect(telemetry.checks?.every((c) => c.scope === 'asset')).toBe(true);
    expect(telemetry.evaluateAssetChecks).toBeTypeOf('function');
  });

  it('gates on the source tests, then builds every model of the run in ONE dbt build', async () => {
    const { ctx, persisted } = await setup();
    const { summary, run } = await launchRun(ctx, { selection: '*', concurrency: 1 });
    expect(summary.status).toBe('SUCCESS');
    const commands = dbtCalls().map((a) => a.slice(0, a.indexOf('--project-dir')).join(' '));
    expect(commands).toEqual([
      'parse',
      'test --select source:silver.fact_device_health --indirect-selection cautious',
      'source freshness --select source:silver.fact_device_health',
      'test --select source:silver.fact_telemetry_event --indirect-selection cautious',
      'source freshness --select source:silver.fact_telemetry_event',
      'build --select device_health_errors dim_facility_topology fact_round_hole_performance fact_rounds pace_summary_by_round signal_quality_rounds',
    ]);
    const rounds = summary.steps.find((s) => s.asset_key === 'gold.fact_rounds')!;
    expect(rounds.row_count).toBe(42);
    expect(rounds.checks.find((c) => c.name === 'gold_fact_rounds_grain')?.passed).toBe(true);
    const gate = ctx.store
      .checkEvaluationsOfRun(run.run_id)
      .filter((c) => c.asset_key === 'silver.fact_telemetry_event');
    expect(gate.length).toBe(11);
    expect(gate.every((c) => c.passed && c.blocking === (c.severity === 'error'))).toBe(true);
    expect(gate.find((c) => c.check_name === 'silver_fact_telemetry_event_freshness')).toMatchObject({
      passed: true,
      severity: 'warn',
      blocking: false,
    });
    expect(persisted).toContain(`${run.run_id}/build-1/run_results.json`);
    expect(persisted).toContain(`${run.run_id}/test-silver.fact_telemetry_event/run_results.json`);
    expect(persisted).toContain(`${run.run_id}/freshness-silver.fact_telemetry_event/sources.json`);
    // one step, dbt_build, whose compute log every model's events point at
    const log = readFileSync(join(ctx.stateDir, 'runs', run.run_id, 'steps', 'dbt_build', 'compute.log'), 'utf8');
    expect(log).toMatch(/SUCCESS pace_summary_by_round/);
    const logs = ctx.store.computeLogs(run.run_id).filter((l) => l.asset_key.startsWith('gold.'));
    expect(logs.map((l) => [l.asset_key, l.path.split('/').slice(-2).join('/')])).toEqual([
      ['gold.device_health_errors', 'dbt_build/compute.log'],
    ]);
  });

  it('gates several source tables with ONE dbt test when one asset writes them all', async () => {
    const { ctx } = await setup({}, { oneGate: true });
    const { summary } = await launchRun(ctx, { selection: '*' });
    expect(summary.status).toBe('SUCCESS');
    expect(dbtCalls().map((a) => a.slice(0, 4))).toEqual([
      ['parse', '--project-dir', join(dir, 'project'), '--profiles-dir'],
      ['test', '--select', 'source:silver.fact_telemetry_event', 'source:silver.fact_device_health'],
      ['source', 'freshness', '--select', 'source:silver.fact_telemetry_event'],
      ['build', '--select', 'device_health_errors', 'dim_facility_topology'],
    ]);
    expect(dbtCalls()[2]![4]).toBe('source:silver.fact_device_health');
    expect(ctx.defs.assets.get('silver.fact_telemetry_event')!.checks!.length).toBe(16);
  });

  it('records stale sources as warnings by default: Gold still builds', async () => {
    const { ctx } = await setup(
      { FAKE_DBT_FRESHNESS: 'fact_telemetry_event=warn,fact_device_health=error' },
      { oneGate: true },
    );
    const { summary, run } = await launchRun(ctx, { selection: '*' });
    expect(summary.status).toBe('SUCCESS');
    const failed = ctx.store
      .checkEvaluationsOfRun(run.run_id)
      .filter((c) => !c.passed)
      .sort((a, b) => a.check_name.localeCompare(b.check_name));
    expect(failed.map((c) => [c.check_name, c.severity, c.blocking, c.metadata.dbt_status?.value])).toEqual([
      ['silver_fact_device_health_freshness', 'warn', false, 'error'],
      ['silver_fact_telemetry_event_freshness', 'warn', false, 'warn'],
    ]);
    expect(failed[0]!.description).toMatch(
      /^silver\.fact_device_health is stale: newest row loaded 80 h ago \(2026-11-23T04:00:00\.000\+00:00\), past error_after 72 hours \(freshness errors are warnings here/,
    );
    expect(failed[1]!.metadata.age_seconds).toEqual({ type: 'int', value: 40 * 3600 });
    expect(summary.steps.filter((s) => s.asset_key.startsWith('gold.')).every((s) => s.status === 'SUCCESS')).toBe(
      true,
    );
  });

  it('blocks Gold on a stale source when its freshness severity is error', async () => {
    const strict = JSON.parse(readFileSync(fixture('manifest.json'), 'utf8'));
    strict.sources['source.fairway.silver.fact_device_health'].meta = { fairway: { freshness_severity: 'error' } };
    const manifest = join(dir, 'manifest.strict.json');
    writeFileSync(manifest, JSON.stringify(strict));
    const { ctx } = await setup({ FAKE_DBT_FRESHNESS: 'fact_device_health=error' }, { oneGate: true, manifest });
    const { summary, run } = await launchRun(ctx, { selection: '*' });
    expect(summary.status).toBe('FAILURE');
    const stale = ctx.store
      .checkEvaluationsOfRun(run.run_id)
      .find((c) => c.check_name === 'silver_fact_device_health_freshness')!;
    expect(stale).toMatchObject({ passed: false, severity: 'error', blocking: true });
    const rounds = summary.steps.find((s) => s.asset_key === 'gold.fact_rounds')!;
    expect(rounds.status).toBe('SKIPPED');
    expect(rounds.reason).toMatch(/blocking check 'silver_fact_device_health_freshness'.*is stale/);
    expect(dbtCalls().some((a) => a[0] === 'build')).toBe(false);
  });

  it("fails the freshness of a table dbt could not measure with dbt's message", async () => {
    const { ctx } = await setup({ FAKE_DBT_FRESHNESS: 'fact_device_health=runtime error' }, { oneGate: true });
    const { summary, run } = await launchRun(ctx, { selection: 'silver.*' });
    expect(summary.status).toBe('SUCCESS');
    const failed = ctx.store.checkEvaluationsOfRun(run.run_id).filter((c) => !c.passed);
    expect(failed.map((c) => [c.check_name, c.severity, c.description])).toEqual([
      [
        'silver_fact_device_health_freshness',
        'warn',
        'dbt could not measure the freshness of silver.fact_device_health: [TABLE_OR_VIEW_NOT_FOUND] boom',
      ],
    ]);
  });

  it('fails only the freshness checks when dbt measured nothing', async () => {
    const { ctx } = await setup({ FAKE_DBT_FRESHNESS: 'none' }, { oneGate: true });
    const { summary, run } = await launchRun(ctx, { selection: '*' });
    expect(summary.status).toBe('SUCCESS');
    const failed = ctx.store
      .checkEvaluationsOfRun(run.run_id)
      .filter((c) => !c.passed)
      .sort((a, b) => a.check_name.localeCompare(b.check_name));
    expect(failed.map((c) => [c.check_name, c.severity])).toEqual([
      ['silver_fact_device_health_freshness', 'warn'],
      ['silver_fact_telemetry_event_freshness', 'warn'],
    ]);
    expect(failed[0]!.description).toMatch(
      /dbt source freshness --select .* measured nothing: no sources\.json \(dbt exit 2\)/,
    );
  });

  it('blocks Gold when an error-severity source test fails, naming the test and its compiled SQL', async () => {
    const { ctx } = await setup({ FAKE_DBT_FAIL_TESTS: 'silver_round_id_not_null,silver_unique_round_fix_timestamp' });
    const { summary, run } = await launchRun(ctx, { selection: '*', concurrency: 1 });
    expect(summary.status).toBe('FAILURE');
    const failed = ctx.store
      .checkEvaluationsOfRun(run.run_id)
      .filter((c) => !c.passed)
      .sort((a, b) => a.check_name.localeCompare(b.check_name));
    expect(failed.map((c) => [c.check_name, c.severity, c.blocking, c.failures])).toEqual([
      ['silver_round_id_not_null', 'error', true, 3],
      ['silver_unique_round_fix_timestamp', 'warn', false, 3],
    ]);
    expect(failed[0]!.description).toMatch(
      /silver_round_id_not_null failed: 3 failing row.*compiled\/fairway\/models\/sources\/silver\.yml\/silver_round_id_not_null\.sql/,
    );
    expect(summary.steps.find((s) => s.asset_key === 'gold.fact_rounds')?.status).toBe('SKIPPED');
    expect(summary.steps.find((s) => s.asset_key === 'gold.device_health_errors')?.status).toBe('SUCCESS');
  });

  it('fails only the step of a model dbt could not build', async () => {
    const { ctx } = await setup({ FAKE_DBT_FAIL: 'fact_round_hole_performance' });
    const { summary } = await launchRun(ctx, { selection: 'gold.*', concurrency: 1 });
    const status = Object.fromEntries(
      summary.steps.filter((s) => s.asset_key.startsWith('gold.')).map((s) => [s.asset_key, s.status]),
    );
    expect(status).toEqual({
      'gold.device_health_errors': 'SUCCESS',
      'gold.dim_facility_topology': 'SUCCESS',
      'gold.fact_round_hole_performance': 'FAILURE',
      'gold.fact_rounds': 'SUCCESS',
      'gold.pace_summary_by_round': 'SUCCESS',
      'gold.signal_quality_rounds': 'SUCCESS',
    });
    expect(summary.steps.find((s) => s.asset_key === 'gold.fact_round_hole_performance')?.reason).toMatch(
      /dbt could not build 'gold.fact_round_hole_performance': Runtime Error: boom/,
    );
    expect(dbtCalls().filter((a) => a[0] === 'build').length).toBe(1);
  });

  it('fails the model whose blocking Gold test fails and skips its downstream', async () => {
    const { ctx } = await setup({ FAKE_DBT_FAIL_TESTS: 'gold_fact_rounds_grain' });
    const { summary } = await launchRun(ctx, { selection: 'gold.*' });
    const rounds = summary.steps.find((s) => s.asset_key === 'gold.fact_rounds')!;
    expect(rounds.status).toBe('SUCCESS');
    expect(rounds.checks.find((c) => c.name === 'gold_fact_rounds_grain')).toMatchObject({ passed: false });
    expect(summary.steps.find((s) => s.asset_key === 'gold.pace_summary_by_round')?.status).toBe('SKIPPED');
    expect(existsSync(join(ctx.stateDir, 'dbt'))).toBe(true);
  });
});
