import { DefinitionError } from '../errors/index.ts';
import {
  type AssetDefinition,
  type AssetKey,
  type AssetSpec,
  asset,
  callerFile,
  deriveCodeVersion,
  type MaterializeContext,
  type MultiMaterializeResult,
  type Publisher,
} from './asset.ts';

/**
 * What each output of a multi-asset has of its own; the rest (partitions, policies) is shared. `deps` and
 * `codeVersion` default to the multi-asset's; an output may depend on another output of the same step (dbt
 * models on each other): the materializer handles that order itself.
 */
export type MultiAssetOutput<R = unknown> = Pick<
  AssetSpec<AssetKey, R>,
  | 'key'
  | 'description'
  | 'group'
  | 'kinds'
  | 'tags'
  | 'owners'
  | 'checks'
  | 'evaluateAssetChecks'
  | 'freshness'
  | 'deps'
  | 'codeVersion'
>;

export interface MultiAssetSpec<R = unknown>
  extends Omit<
    AssetSpec<AssetKey, R>,
    Exclude<keyof MultiAssetOutput<R>, 'deps' | 'codeVersion'> | 'materialize' | 'observe' | 'publish'
  > {
  /** Names the step that writes the outputs (`silver_job`). */
  name: string;
  outputs: readonly MultiAssetOutput<R>[];
  /**
   * Whether a step may write only some outputs (default false). Subsettable: the selected (or stale)
   * outputs are planned and `ctx.outputs` lists them (e.g. `dbt build --select` of those models); an output
   * whose upstream failed is skipped while the others run. Not subsettable: selecting one selects all.
   */
  canSubset?: boolean;
  /** Writes every output (`ctx.outputs`) and reports a result per output. */
  materialize: (ctx: MaterializeContext<R>) => Promise<MultiMaterializeResult> | MultiMaterializeResult;
  /**
   * Write-audit-publish for all outputs at once (`AssetSpec.publish`): runs after the asset-scoped checks of
   * the one output that has them, and every output's materializations are recorded only once it succeeded.
   */
  publish?: Publisher;
}

const NAME = /^[a-z][a-z0-9_]*$/;

/**
 * Declares several assets written by ONE materializer (Dagster: `multi_asset`), e.g. a Spark job that
 * writes a fact table, a device-health table and a quarantine table in one application, or one `dbt build`
 * writing many models. Each output is an asset of its own in the graph (key, description, checks,
 * freshness, data version, metadata); the outputs share partitions, batch policy, pool, retry and timeout,
 * and one step writes them all (`canSubset`: those selected). Without `canSubset` the outputs cannot be
 * materialized apart: selecting one selects all (the planner says so), and a check step of any output
 * holds back the downstream of every output, as they were written together.
 *
 * @example
 * const [facts, rejects] = multiAsset({
 *   name: 'clean_job', deps: [raw],
 *   outputs: [{ key: 'silver.facts' }, { key: 'silver.rejects' }],
 *   materialize: async () => ({ outputs: { 'silver.facts': { dataVersion: 'a' }, 'silver.rejects': {} } }),
 * });
 */
export function multiAsset<R = unknown>(spec: MultiAssetSpec<R>): AssetDefinition<AssetKey, R>[] {
  if (!NAME.test(spec.name)) {
    throw new DefinitionError(
      'INVALID_MULTI_ASSET',
      `Multi-asset name '${spec.name}' must be lower_snake_case (letters, digits, underscores).`,
    );
  }
  const keys = spec.outputs.map((o) => o.key);
  if (keys.length < 2) {
    throw new DefinitionError(
      'INVALID_MULTI_ASSET',
      `Multi-asset '${spec.name}' declares ${keys.length} output(s); use asset() for one, multiAsset() for two or more.`,
    );
  }
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice) {
    throw new DefinitionError('INVALID_MULTI_ASSET', `Multi-asset '${spec.name}' declares output '${twice}' twice.`);
  }
  const { name, outputs, canSubset, publish, ...shared } = spec;
  const multi = { name, outputs: keys, canSubset: canSubset ?? false };
  const publisher = publish ? publishingOutput(spec) : undefined;
  // derived once for the outputs that share it: each would read and hash the same code files again
  let derived: string | undefined;
  const codeVersionOf = (output: MultiAssetOutput<R>): string => {
    const given = output.codeVersion ?? shared.codeVersion;
    if (given !== undefined) return given;
    derived ??= deriveCodeVersion({ ...shared, key: name } as AssetSpec<AssetKey, never>, callerFile());
    return derived;
  };
  return outputs.map((output) => ({
    ...asset<AssetKey, R>({
      ...shared,
      ...output,
      codeVersion: codeVersionOf(output),
      deps: output.deps ?? shared.deps ?? [],
      ...(publish && output.key === publisher ? { publish } : {}),
    }),
    multi,
    ...(publisher ? { publishedBy: publisher } : {}),
  }));
}

/** The one output whose asset-scoped checks gate a multi-asset's publication. */
function publishingOutput(spec: MultiAssetSpec<never>): AssetKey {
  if (spec.canSubset) {
    throw new DefinitionError(
      'PUBLISH_WITHOUT_CHECKS',
      `Multi-asset '${spec.name}' has publish and canSubset: a step writing only some outputs could skip the checks that publish them. Drop one of the two.`,
    );
  }
  const checked = spec.outputs.filter((o) => (o.checks ?? []).some((c) => c.scope === 'asset')).map((o) => o.key);
  if (checked.length !== 1) {
    throw new DefinitionError(
      'PUBLISH_WITHOUT_CHECKS',
      `Multi-asset '${spec.name}' has publish, so exactly one output must have asset-scoped checks (they gate it); ${checked.length === 0 ? 'none has' : `${checked.join(', ')} have`}.`,
    );
  }
  return checked[0]!;
}
