import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  AssetCheckSpec,
  AssetChecksContext,
  AssetDefinition,
  AssetKey,
  CheckResult,
  MaterializeContext,
  MaterializeResult,
  Metadata,
  MultiMaterializeResult,
  PartitionFailure,
  RetryPolicy,
} from '../../definitions/index.ts';
import { md, multiAsset } from '../../definitions/index.ts';
import { FrameworkError } from '../../errors/index.ts';
import { compareCodeUnits } from './compare.ts';
import type { DbtProject } from './load-dbt-project.ts';
import type { DbtFreshnessSpec, DbtModelSpec, DbtTestSpec } from './manifest.ts';
import { type RunDbtResult, runDbt } from './run-dbt.ts';
import { type DbtNodeResult, testCheckResult } from './run-results.ts';
import {
  type DbtSourcesJson,
  freshnessCheckResult,
  freshnessErrorsFromLog,
  parseSourcesJson,
} from './source-freshness.ts';

/** Receives each dbt invocation's artifacts (e.g. to copy them to the observability bucket). */
export type PersistDbtArtifacts = (
  runId: string,
  invocation: string,
  files: readonly { name: string; path: string }[],
) => Promise<void>;

export interface DbtAssetsOptions {
  /** Asset group; default the model's schema (`gold`). */
  group?: string;
  owners?: readonly string[];
  retry?: RetryPolicy;
  timeoutMs?: number;
  persistArtifacts?: PersistDbtArtifacts;
}

/**
 * The asset-scoped checks of source assets (their dbt tests and source freshness) and the `dbt test`
 * and `dbt source freshness` calls that evaluate them.
 */
export interface DbtSourceChecks {
  checks: AssetCheckSpec[];
  /** `env`: variables of these dbt invocations only (e.g. `FAIRWAY_AUDIT_BRANCH`, read by the project's macros). */
  evaluateAssetChecks: (ctx: AssetChecksContext, opts?: { env?: Record<string, string> }) => Promise<CheckResult[]>;
}

export interface DbtAssets {
  /** One asset per dbt model, sorted by key. */
  assets: AssetDefinition[];
  /** Checks for each source asset that has dbt tests or freshness (e.g. `silver.fact_telemetry_event`). */
  sourceChecks: Record<AssetKey, DbtSourceChecks>;
  /**
   * The tests and freshness of several source tables as ONE asset's checks, run by one `dbt test`
   * and one `dbt source freshness`: for tables one job writes together (the Silver job writes
   * fact_telemetry_event and fact_device_health), attach them to the asset whose step writes them;
   * the gate then also clears the others for Gold.
   */
  checksForSources: (keys: readonly AssetKey[]) => DbtSourceChecks;
}

const ARTIFACTS = ['manifest.json', 'run_results.json', 'sources.json'];

/**
 * Fairway assets for every model of a dbt project, plus the source tests and source freshness as
 * asset-scoped checks.
 * The models are ONE multi-asset (`dbt_build`, subsettable): a run's step builds the models it plans in
 * one `dbt build` (models and their tests) once every upstream step is done, and reports each model's
 * result and tests. A model whose upstream failed is left out (SKIPPED) with the models that read it.
 *
 * @example
 * const { assets, sourceChecks } = dbtAssets(await loadDbtProject({ … }));
 * const silver = asset({ key: 'silver.fact_telemetry_event', ...sourceChecks['silver.fact_telemetry_event'], … });
 */
export function dbtAssets(project: DbtProject, opts: DbtAssetsOptions = {}): DbtAssets {
  const { spec } = project;
  const models = new Map(spec.models.map((m) => [m.assetKey, m]));
  const persist = async (runId: string, invocation: string, targetDir: string, log: MaterializeContext['log']) => {
    if (!opts.persistArtifacts) return;
    const files = ARTIFACTS.map((name) => ({ name, path: join(targetDir, name) })).filter((f) => existsSync(f.path));
    try {
      await opts.persistArtifacts(runId, invocation, files);
    } catch (e) {
      log.warn({ err: (e as Error).message, invocation }, 'dbt artifacts not persisted');
    }
  };

  /**
   * One dbt invocation of a step in its own folder of the run (`<invocation>/`: target/ and logs/), with the
   * step's signal, child-process tracking and compute log; its artifacts are persisted afterwards.
   */
  // the execution code (~80 KB) is loaded when a step runs, not when the definitions load (`list`, `status`)
  const runFolderOf = async (runId: string) =>
    (await import('../../execution/index.ts')).runFolder(project.options.stateDir, runId);

  const invokeDbt = async (
    ctx: Pick<MaterializeContext, 'runId' | 'log' | 'signal' | 'onChildProcess' | 'computeLog'>,
    invocation: string,
    args: string[],
    extra: { env?: Record<string, string>; onLine?: (line: string) => void } = {},
  ): Promise<RunDbtResult> => {
    const result = await runDbt({
      dbt: await project.environment(),
      projectDir: project.options.projectDir,
      target: project.options.target,
      vars: project.options.vars ?? {},
      args,
      ...(extra.env ? { env: extra.env } : {}),
      workDir: join(await runFolderOf(ctx.runId), invocation),
      parseCacheDir: project.manifestDir,
      signal: ctx.signal,
      onChildProcess: ctx.onChildProcess,
      onLine: extra.onLine ?? ctx.computeLog,
    });
    await persist(ctx.runId, invocation, result.targetDir, ctx.log);
    return result;
  };

  /** One `dbt build` of the step's models; each model's result, or its failure (dbt did not build it). */
  const build = async (ctx: MaterializeContext): Promise<MultiMaterializeResult> => {
    const keys = ctx.outputs;
    const invocation = nextInvocation(await runFolderOf(ctx.runId), 'build');
    ctx.log.info({ models: keys, invocation }, 'dbt build started');
    const names = [...keys].sort().map((k) => models.get(k)!.name);
    const result = await invokeDbt(ctx, invocation, ['build', '--select', ...names]);
    ctx.log.info({ invocation, exit_code: result.exitCode, duration_ms: result.durationMs }, 'dbt build finished');
    const byId = new Map((result.runResults?.results ?? []).map((r) => [r.unique_id, r]));
    return { outputs: Object.fromEntries(keys.map((k) => [k, modelResult(models.get(k)!, result, byId)])) };
  };

  const sqlFile = new Map(spec.models.map((m) => [m.assetKey, join(project.options.projectDir, m.originalFilePath)]));
  const assets =
    spec.models.length === 0
      ? []
      : multiAsset({
          name: 'dbt_build',
          canSubset: true,
          outputs: spec.models.map((model) => ({
            key: model.assetKey,
            deps: model.deps,
            description: model.description || `dbt model ${model.name}`,
            group: opts.group ?? model.assetKey.split('.')[0]!,
            kinds: ['dbt', spec.adapterType],
            tags: { dbt_unique_id: model.uniqueId, ...(model.tags.length ? { dbt_tags: model.tags.join(',') } : {}) },
            ...(opts.owners ? { owners: opts.owners } : {}),
            codeVersion: model.codeVersion,
            checks: model.tests.map(checkSpec),
          })),
          ...(opts.retry ? { retry: opts.retry } : {}),
          ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
          materialize: build,
          // Errors about a model should point at its SQL, not at this file.
        }).map((def) => ({ ...def, sourceFile: sqlFile.get(def.key)! }));

  const checksForSources = (keys: readonly AssetKey[]): DbtSourceChecks => {
    const known = (k: AssetKey) => spec.sourceTests.has(k) || spec.sourceFreshness.has(k);
    const unknown = keys.filter((k) => !known(k));
    if (unknown.length > 0 || keys.length === 0) {
      const checked = [...spec.sourceSelectors.keys()].filter(known).sort();
      throw new FrameworkError(
        'DBT_SOURCE_UNKNOWN',
        `No dbt source tests or freshness for ${unknown.map((k) => `'${k}'`).join(', ') || 'an empty list'}; sources with checks: ${checked.join(', ')}.`,
        { details: { keys: unknown } },
      );
    }
    const tests = keys.flatMap((k) => spec.sourceTests.get(k) ?? []);
    const freshness = keys.flatMap((k) => spec.sourceFreshness.get(k) ?? []);
    const suffix = keys.length === 1 ? keys[0] : keys.map((k) => k.split('.').pop()).join('-');
    const specs = [...tests, ...freshness];
    return {
      checks: specs.map((c) => ({ ...checkSpec(c), scope: 'asset' as const })),
      evaluateAssetChecks: async (ctx, opts) => {
        const env = opts?.env ?? {};
        // Tests first: they are the gate. Freshness after, as its own dbt call (`dbt test` cannot run it).
        const results = [
          ...(tests.length > 0 ? await sourceTests(ctx, keys, tests, `test-${suffix}`, env) : []),
          ...(freshness.length > 0 ? await sourceFreshness(ctx, freshness, `freshness-${suffix}`, env) : []),
        ];
        return results;
      },
    };
  };

  /** One `dbt test` over the given tables' tests; throws when dbt ran none (the executor fails them all). */
  const sourceTests = async (
    ctx: AssetChecksContext,
    keys: readonly AssetKey[],
    tests: readonly DbtTestSpec[],
    invocation: string,
    env: Record<string, string>,
  ): Promise<CheckResult[]> => {
    const selectors = keys.filter((k) => spec.sourceTests.has(k)).map((k) => spec.sourceSelectors.get(k)!);
    ctx.log.info({ selectors, invocation }, 'dbt source tests started');
    // cautious: a test that also reads a model (not built here) is left to that model's build
    const args = ['test', '--select', ...selectors, '--indirect-selection', 'cautious'];
    const result = await invokeDbt(ctx, invocation, args, { env });
    if (!result.runResults) {
      throw new FrameworkError(
        'DBT_TEST_FAILED',
        `dbt test --select ${selectors.join(' ')} stopped before running tests (exit ${result.exitCode}):\n${result.tail.slice(-10).join('\n')}`,
        { details: { asset_key: ctx.assetKey, selectors } },
      );
    }
    const byId = new Map(result.runResults.results.map((r) => [r.unique_id, r]));
    return tests.map((t) => testCheckResult(t, byId.get(t.uniqueId), join(result.targetDir, t.compiledPath)));
  };

  /** One `dbt source freshness` over the given tables; a dbt that measured nothing fails their checks. */
  const sourceFreshness = async (
    ctx: AssetChecksContext,
    specs: readonly DbtFreshnessSpec[],
    invocation: string,
    env: Record<string, string>,
  ): Promise<CheckResult[]> => {
    const selectors = specs.map((f) => f.selector);
    const lines: string[] = [];
    ctx.log.info({ selectors, invocation }, 'dbt source freshness started');
    const result = await invokeDbt(ctx, invocation, ['source', 'freshness', '--select', ...selectors], {
      env,
      onLine: (line) => {
        lines.push(line);
        ctx.computeLog(line);
      },
    });
    const file = join(result.targetDir, 'sources.json');
    let measured: DbtSourcesJson | undefined;
    let problem = `no sources.json (dbt exit ${result.exitCode})`;
    if (existsSync(file)) {
      try {
        measured = parseSourcesJson(JSON.parse(readFileSync(file, 'utf8')), file);
      } catch (e) {
        problem = (e as Error).message;
      }
    }
    if (!measured) {
      // Only the freshness checks fail: the tests of the same gate keep their own results.
      const why = `dbt source freshness --select ${selectors.join(' ')} measured nothing: ${problem}\n${result.tail.slice(-10).join('\n')}`;
      return specs.map((f) => ({ name: f.name, passed: false, severity: f.severity, description: why }));
    }
    const byId = new Map(measured.results.map((r) => [r.unique_id, r]));
    const errors = freshnessErrorsFromLog(lines);
    const results = specs.map((f) => freshnessCheckResult(f, byId.get(f.uniqueId), file, errors.get(f.table)));
    ctx.log.info(
      {
        invocation,
        exit_code: result.exitCode,
        duration_ms: result.durationMs,
        stale: results.filter((r) => !r.passed).length,
      },
      'dbt source freshness finished',
    );
    return results;
  };
  const checked = new Set([...spec.sourceTests.keys(), ...spec.sourceFreshness.keys()]);
  const sourceChecks: Record<AssetKey, DbtSourceChecks> = Object.fromEntries(
    [...checked].sort().map((k) => [k, checksForSources([k])]),
  );
  return { assets: assets.sort((a, b) => compareCodeUnits(a.key, b.key)), sourceChecks, checksForSources };
}

/** `<name>-1`, `<name>-2`, …: the first not used yet in `dir` (a retry gets a directory of its own). */
function nextInvocation(dir: string, name: string): string {
  for (let i = 1; ; i++) if (!existsSync(join(dir, `${name}-${i}`))) return `${name}-${i}`;
}

const checkSpec = (t: DbtTestSpec | DbtFreshnessSpec): AssetCheckSpec => ({
  name: t.name,
  description: t.description,
  severity: t.severity,
  blocking: t.blocking,
});

/** A model's outcome from the build's results: its failure when dbt did not build it. */
function modelResult(
  model: DbtModelSpec,
  result: RunDbtResult,
  byId: Map<string, DbtNodeResult>,
): MaterializeResult | PartitionFailure {
  const own = byId.get(model.uniqueId);
  const compiledSqlPath = join(result.targetDir, model.compiledPath);
  if (own?.status !== 'success') {
    const why = !own
      ? `dbt reported no result for it (dbt exit ${result.exitCode}):\n${result.tail.slice(-10).join('\n')}`
      : own.status === 'skipped'
        ? `dbt skipped it${own.message ? `: ${own.message}` : ' because an upstream model or test failed'}`
        : `${(own.message ?? own.status).trim()}\nCompiled SQL: ${compiledSqlPath}`;
    return { error: `dbt could not build '${model.assetKey}': ${why}` };
  }
  const metadata: Metadata = {
    dbt_unique_id: md.text(model.uniqueId),
    execution_time_ms: md.int(Math.round(own.execution_time * 1000)),
    compiled_sql_path: md.path(compiledSqlPath),
    run_results_path: md.path(join(result.targetDir, 'run_results.json')),
  };
  const rows = result.rowCounts.get(model.uniqueId);
  if (rows !== undefined) metadata.row_count = md.rowCount(rows);
  const affected = own.adapter_response.rows_affected;
  if (typeof affected === 'number' && affected >= 0) metadata.rows_affected = md.int(affected);
  if (own.relation_name) metadata.relation = md.text(own.relation_name);
  return {
    metadata,
    checks: model.tests.map((t) => testCheckResult(t, byId.get(t.uniqueId), join(result.targetDir, t.compiledPath))),
  };
}
