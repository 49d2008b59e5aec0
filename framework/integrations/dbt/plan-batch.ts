import type { AssetKey } from '../../definitions/index.ts';

export interface BatchPlanInput {
  /** The dbt model whose step is starting (its upstream steps all succeeded). */
  model: AssetKey;
  /** Every dbt model of the project → its deps (models and source assets). */
  models: ReadonlyMap<AssetKey, readonly AssetKey[]>;
  /** Asset keys with a materialize step in this run. */
  inRun: ReadonlySet<AssetKey>;
  /** Models already given to a batch of this run. */
  batched: ReadonlySet<AssetKey>;
  /** Models a finished batch of this run built successfully. */
  built: ReadonlySet<AssetKey>;
  /** Non-dbt assets of this run known to be done (deps of dbt steps that have started). */
  readyExternal: ReadonlySet<AssetKey>;
}

/**
 * Which dbt models the next `dbt build` of a run may take: every not-yet-batched model of the run
 * whose inputs are final — non-dbt deps outside the run or already done, dbt deps in the same
 * batch or already built. Normally that is all of them, so a run makes one dbt call; a model whose
 * upstream Silver asset is still running waits for a later batch instead of reading half-written
 * data. Always contains `model`. Sorted.
 */
export function planBatch(input: BatchPlanInput): AssetKey[] {
  const { models, inRun } = input;
  const externalReady = (dep: AssetKey) => !inRun.has(dep) || input.readyExternal.has(dep);
  const candidates = new Set(
    [...models.keys()].filter(
      (m) =>
        inRun.has(m) && !input.batched.has(m) && (models.get(m) ?? []).every((d) => models.has(d) || externalReady(d)),
    ),
  );
  candidates.add(input.model);
  // Drop models whose in-run dbt upstream is neither in the batch nor built, until nothing changes.
  for (let changed = true; changed; ) {
    changed = false;
    for (const m of candidates) {
      if (m === input.model) continue;
      const waits = (models.get(m) ?? []).some(
        (d) => models.has(d) && inRun.has(d) && !candidates.has(d) && !input.built.has(d),
      );
      if (waits) {
        candidates.delete(m);
        changed = true;
      }
    }
  }
  return [...candidates].sort();
}
