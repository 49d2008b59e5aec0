import type { Logger } from 'pino';
import type { AssetDefinition, AssetKey, PublishResult } from '../definitions/index.ts';
import type { MaterializationRecord } from '../storage/index.ts';
import { type CheckTarget, errorText } from './evaluate-checks.ts';
import type { ExecuteOptions } from './execute-plan.ts';
import { rememberMaterialization } from './materialize-step.ts';
import { trackChildProcess } from './track-child-process.ts';

interface PublishStepContext {
  log: Logger;
  stepDir: string;
  computeLog: (line: string) => void;
}

/**
 * Write-audit-publish, after an asset's checks: the materializations held back for `asset` (its own and its
 * multi-asset siblings') are published and then recorded, or — when the gate failed or publishing failed —
 * never recorded, so their partitions stay as they were and the next run writes them again. Returns the
 * gate: the checks' reason, publishing's failure, or null.
 */
export async function publishHeldBack(
  target: CheckTarget,
  asset: AssetDefinition<AssetKey, unknown>,
  gate: string | null,
  opts: ExecuteOptions,
  step: PublishStepContext,
): Promise<string | null> {
  // a partition written twice in the run (a retried step) is published once, as last written
  const last = new Map(
    (opts.unpublished?.get(asset.key) ?? []).map((h) => [`${h.record.asset_key}\u0000${h.record.partition_key}`, h]),
  );
  opts.unpublished?.delete(asset.key);
  const held = [...last.values()].map((h) => h.record);
  if (!asset.publish || held.length === 0) return gate;
  const count = `${held.length} materialization(s)`;
  // what is published is the whole write (a branch): a partition whose own blocking check failed holds it all
  gate ??= [...last.values()].find((h) => h.gate)?.gate ?? null;
  if (gate) {
    step.computeLog(`[fairway] not published: ${gate}. ${count} stay unpublished; readers keep the previous data.`);
    step.log.warn({ materializations: held.length, gate }, 'not published: the gate failed');
    return gate;
  }
  const pending: Record<AssetKey, Record<string, string>> = {};
  for (const r of held) {
    const versions = pending[r.asset_key] ?? {};
    versions[r.partition_key] = r.data_version;
    pending[r.asset_key] = versions;
  }
  let result: PublishResult | undefined;
  try {
    result = await asset.publish({
      runId: opts.runId,
      assetKey: asset.key,
      pending,
      log: step.log,
      signal: opts.signal,
      stepDir: step.stepDir,
      computeLog: step.computeLog,
      onChildProcess: trackChildProcess(opts.emit, opts.runId, target.asset_key, ''),
    });
  } catch (e) {
    const why = `publishing ${asset.key} failed: ${errorText(e)}`;
    step.computeLog(`[fairway] ${why}. ${count} stay unpublished.`);
    step.log.error({ materializations: held.length, err: errorText(e) }, 'publishing failed');
    return why;
  }
  for (const record of held) {
    const version = result?.dataVersions?.[record.asset_key]?.[record.partition_key];
    const published: MaterializationRecord = {
      ...record,
      ts: new Date().toISOString(),
      ...(version ? { data_version: version } : {}),
      metadata: { ...record.metadata, ...result?.metadata },
    };
    rememberMaterialization(published, opts);
    opts.emit({ type: 'MATERIALIZATION', run_id: opts.runId, record: published });
  }
  step.computeLog(`[fairway] published ${count}`);
  step.log.info({ materializations: held.length }, 'published');
  return null;
}
