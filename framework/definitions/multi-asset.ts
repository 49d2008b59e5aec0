import { DefinitionError } from '../errors/index.ts';
import {
  type AssetDefinition,
  type AssetKey,
  type AssetSpec,
  asset,
  type MaterializeContext,
  type MultiMaterializeResult,
} from './asset.ts';

/** What each output of a multi-asset has of its own; the rest (deps, partitions, policies) is shared. */
export type MultiAssetOutput<R = unknown> = Pick<
  AssetSpec<AssetKey, R>,
  'key' | 'description' | 'group' | 'kinds' | 'tags' | 'owners' | 'checks' | 'evaluateAssetChecks' | 'freshness'
>;

export interface MultiAssetSpec<R = unknown>
  extends Omit<AssetSpec<AssetKey, R>, keyof MultiAssetOutput<R> | 'materialize' | 'observe'> {
  /** Names the step that writes the outputs (`silver_job`). */
  name: string;
  outputs: readonly MultiAssetOutput<R>[];
  /** Writes every output (`ctx.outputs`) and reports a result per output. */
  materialize: (ctx: MaterializeContext<R>) => Promise<MultiMaterializeResult> | MultiMaterializeResult;
}

const NAME = /^[a-z][a-z0-9_]*$/;

/**
 * Declares several assets written by ONE materializer (Dagster: `multi_asset`), e.g. a Spark job that
 * writes a fact table, a device-health table and a quarantine table in one application. Each output is
 * an asset of its own in the graph (key, description, checks, freshness, data version, metadata); the
 * outputs share deps, partitions, batch policy, pool, retry, timeout and code version, and one step
 * writes them all. The outputs cannot be materialized apart: selecting one selects all (the planner says
 * so). A check step of any output holds back the downstream of every output, as they were written together.
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
  const { name, outputs, ...shared } = spec;
  const multi = { name, outputs: keys };
  return outputs.map((output) => ({ ...asset<AssetKey, R>({ ...shared, ...output }), multi }));
}

/** The outputs written with `key` by the same step (itself included); `[key]` for an ordinary asset. */
export const siblingsOf = (definition: Pick<AssetDefinition, 'key' | 'multi'>): readonly AssetKey[] =>
  definition.multi?.outputs ?? [definition.key];
