import { mkdirSync } from 'node:fs';
import { relative } from 'node:path';
import type {
  AssetCheckSpec,
  AssetDefinition,
  AssetKey,
  CheckContext,
  CheckResult,
  MaterializeResult,
  Metadata,
} from '../definitions/index.ts';
import { metadataSchema } from '../definitions/index.ts';
import type { CheckEvaluationRecord } from '../storage/index.ts';
import type { ExecuteOptions } from './execute-plan.ts';
import { publishHeldBack } from './publish-step.ts';
import { computeLogPath, openComputeLog, stepFolder } from './run-folder.ts';
import { trackChildProcess } from './track-child-process.ts';

/** What a check result is recorded against: an asset partition, named by its step id in gate messages. */
export interface CheckTarget {
  id: string;
  asset_key: AssetKey;
  partition_key: string;
}

export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Runs a check's own `evaluate`; an error it raises fails the check with the message. */
async function runCheck(spec: AssetCheckSpec, context: CheckContext): Promise<CheckResult> {
  try {
    return { ...(await spec.evaluate!(context)), name: spec.name };
  } catch (e) {
    return { name: spec.name, passed: false, description: `the check raised an error: ${errorText(e)}` };
  }
}

/** Records reported and evaluated partition checks; returns a gate reason when a blocking error check failed. */
export async function evaluatePartitionChecks(
  target: CheckTarget,
  asset: AssetDefinition<AssetKey, unknown>,
  result: MaterializeResult,
  metadata: Metadata,
  opts: ExecuteOptions,
): Promise<string | null> {
  const reported = new Map((result.checks ?? []).map((c) => [c.name, c]));
  const log = opts.log.child({ asset_key: target.asset_key, partition: target.partition_key || undefined });
  const results: CheckResult[] = [...reported.values()];
  for (const spec of asset.checks ?? []) {
    if (reported.has(spec.name) || spec.scope === 'asset') continue;
    if (!spec.evaluate) {
      results.push({
        name: spec.name,
        passed: false,
        description: 'the check was not evaluated: its materializer did not report it',
      });
      continue;
    }
    const context = {
      assetKey: target.asset_key,
      partitionKey: target.partition_key,
      log,
      signal: opts.signal,
      metadata,
    };
    results.push(await runCheck(spec, context));
  }
  return recordCheckResults(target, asset, results, opts);
}

/** Runs the asset-scoped checks once (after all planned partitions); returns a gate reason or null. */
export async function evaluateAssetChecks(
  target: CheckTarget,
  asset: AssetDefinition<AssetKey, unknown>,
  partitions: string[],
  opts: ExecuteOptions,
): Promise<string | null> {
  const log = opts.log.child({ asset_key: target.asset_key, step: 'checks' });
  const stepDir = stepFolder(opts.stateDir, opts.runId, `${target.asset_key}__checks`);
  mkdirSync(stepDir, { recursive: true });
  const logPath = computeLogPath(stepDir);
  const computeLog = openComputeLog(logPath);
  const specs = (asset.checks ?? []).filter((c) => c.scope === 'asset');
  const results: CheckResult[] = [];
  let gate: string | null = null;
  try {
    if (asset.evaluateAssetChecks && specs.some((c) => !c.evaluate)) {
      try {
        results.push(
          ...(await asset.evaluateAssetChecks({
            runId: opts.runId,
            assetKey: target.asset_key,
            partitions,
            log,
            signal: opts.signal,
            stepDir,
            computeLog: computeLog.write,
            onChildProcess: trackChildProcess(opts.emit, opts.runId, target.asset_key, ''),
          })),
        );
      } catch (e) {
        computeLog.write(`[fairway] asset checks failed to run: ${errorText(e)}`);
        for (const c of specs.filter((x) => !x.evaluate)) {
          results.push({ name: c.name, passed: false, description: `the checks could not run: ${errorText(e)}` });
        }
      }
    }
    for (const spec of specs) {
      if (results.some((r) => r.name === spec.name)) continue;
      if (!spec.evaluate) {
        results.push({
          name: spec.name,
          passed: false,
          description: 'the check was not reported by evaluateAssetChecks',
        });
        continue;
      }
      const context = { assetKey: target.asset_key, partitionKey: '', log, signal: opts.signal, metadata: {} };
      results.push(await runCheck(spec, context));
    }
    gate = recordCheckResults(target, asset, results, opts);
    gate = await publishHeldBack(target, asset, gate, opts, { log, stepDir, computeLog: computeLog.write });
  } finally {
    const bytes = await computeLog.close();
    opts.emit({
      type: 'COMPUTE_LOG',
      run_id: opts.runId,
      asset_key: target.asset_key,
      partition_key: '',
      path: relative(opts.stateDir, logPath),
      bytes,
    });
  }
  return gate;
}

function recordCheckResults(
  target: CheckTarget,
  asset: AssetDefinition<AssetKey, unknown>,
  results: CheckResult[],
  opts: ExecuteOptions,
): string | null {
  const log = opts.log.child({ asset_key: target.asset_key, partition: target.partition_key || undefined });
  const specs = new Map((asset.checks ?? []).map((c) => [c.name, c]));
  let gate: string | null = null;
  for (const reported of results) {
    const metadata = metadataSchema().safeParse(reported.metadata ?? {});
    // Malformed metadata fails the check instead of crashing the whole run.
    const r: CheckResult = metadata.success
      ? reported
      : {
          ...reported,
          passed: false,
          description: `the check reported invalid metadata: ${metadata.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        };
    const spec = specs.get(r.name);
    const severity = r.severity ?? spec?.severity ?? 'error';
    const blocking = spec?.blocking ?? false;
    const record: CheckEvaluationRecord = {
      asset_key: target.asset_key,
      partition_key: target.partition_key,
      check_name: r.name,
      run_id: opts.runId,
      ts: new Date().toISOString(),
      passed: r.passed,
      severity,
      blocking,
      failures: r.failures ?? null,
      description: r.description ?? null,
      metadata: metadata.success ? metadata.data : {},
    };
    opts.emit({ type: 'CHECK_EVALUATION', run_id: opts.runId, record });
    if (!r.passed) {
      log[severity === 'error' ? 'error' : 'warn']({ check: r.name, failures: r.failures }, 'check failed');
      if (blocking && severity === 'error' && gate === null) {
        gate = `blocking check '${r.name}' on ${target.id} failed${r.failures != null ? ` (${r.failures} failing rows)` : ''}${r.description ? `: ${r.description}` : ''}`;
      }
    }
  }
  return gate;
}
