import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Logger } from 'pino';
import type {
  AssetDefinition,
  AssetKey,
  CheckResult,
  Definitions,
  MaterializeResult,
  Metadata,
  UpstreamInput,
} from '../definitions/index.ts';
import { hashText, MetadataSchema, SOURCE_VERSION_KEY } from '../definitions/index.ts';
import { openComputeLog } from '../pipes/index.ts';
import { resolveInputs } from '../staleness/index.ts';
import type { CheckEvaluationRecord, MaterializationRecord } from '../storage/index.ts';
import type { EventSink } from './events.ts';
import type { ExecutionPlan, PlanGraph, PlannedStep } from './plan.ts';

export interface ExecuteOptions {
  runId: string;
  plan: ExecutionPlan;
  graph: PlanGraph;
  defs: Definitions<unknown>;
  /** Latest materializations before the run; updated in memory as steps finish. */
  materializations: Map<AssetKey, Map<string, MaterializationRecord>>;
  partitions: ReadonlyMap<AssetKey, readonly string[]>;
  stateDir: string;
  emit: EventSink;
  log: Logger;
  signal: AbortSignal;
  concurrency?: number;
  /**
   * Upstream assets outside this plan whose latest blocking check failed: asset key → reason.
   * Steps depending on them are skipped, so a failed gate keeps holding until the upstream is fixed.
   */
  upstreamGates?: ReadonlyMap<AssetKey, string>;
  /** Injectable for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export type StepOutcome = 'SUCCESS' | 'FAILURE' | 'SKIPPED' | 'CANCELED';

export interface ExecuteResult {
  status: 'SUCCESS' | 'FAILURE' | 'CANCELED';
  reason: string | null;
  outcomes: Map<string, { status: StepOutcome; reason: string | null }>;
}

const defaultSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export const stepDirName = (step: Pick<PlannedStep, 'asset_key' | 'partition_key'>) =>
  step.partition_key === ''
    ? step.asset_key
    : `${step.asset_key}__${step.partition_key.replace(/[^A-Za-z0-9._=-]/g, '_')}`;

/**
 * Runs a plan: steps start when their upstream steps succeeded, at most `concurrency` at a time,
 * each with its retry policy and timeout. Failures and blocking check failures skip everything
 * downstream with the reason. Emits events; persists nothing itself.
 */
export async function executePlan(opts: ExecuteOptions): Promise<ExecuteResult> {
  const { plan, emit, runId } = opts;
  const concurrency = Math.max(1, opts.concurrency ?? 2);
  const sleep = opts.sleep ?? defaultSleep;
  const outcomes = new Map<string, { status: StepOutcome; reason: string | null }>();
  /** Steps whose data may not flow downstream: step id → reason. */
  const blocked = new Map<string, string>();
  const pending = [...plan.steps];
  const running = new Set<Promise<void>>();

  emit({ type: 'RUN_STARTED', run_id: runId, steps: plan.steps.length });

  const finish = (
    step: PlannedStep,
    status: StepOutcome,
    reason: string | null,
    extra: Partial<{ attempts: number; started_at: string | null; duration_ms: number | null }> = {},
  ) => {
    outcomes.set(step.id, { status, reason });
    // `blocked` keeps the root cause, so a skip names the step that really failed, not the chain.
    if (status === 'FAILURE') blocked.set(step.id, `${step.id} failed: ${reason}`);
    else if (status === 'CANCELED') blocked.set(step.id, `${step.id} was canceled`);
    else if (status === 'SKIPPED' && !blocked.has(step.id)) blocked.set(step.id, reason ?? `${step.id} was skipped`);
    emit({
      type: 'STEP_FINISHED',
      run_id: runId,
      ...(step.kind === 'checks' ? { kind: 'checks' as const } : {}),
      asset_key: step.asset_key,
      partition_key: step.partition_key,
      status,
      attempts: extra.attempts ?? 0,
      started_at: extra.started_at ?? null,
      duration_ms: extra.duration_ms ?? null,
      reason,
    });
  };

  const runStep = async (step: PlannedStep) => {
    const asset = opts.graph.definition(step.asset_key);
    const started = new Date();
    if (step.kind === 'checks') {
      emit({
        type: 'STEP_STARTED',
        kind: 'checks',
        run_id: runId,
        asset_key: step.asset_key,
        partition_key: '',
        attempt: 1,
      });
      const partitions = plan.steps
        .filter(
          (s) => s.asset_key === step.asset_key && s.kind === 'materialize' && outcomes.get(s.id)?.status === 'SUCCESS',
        )
        .map((s) => s.partition_key);
      const gate = await evaluateAssetChecks(step, asset, partitions, opts);
      const duration = Date.now() - started.getTime();
      finish(step, 'SUCCESS', null, { attempts: 1, started_at: started.toISOString(), duration_ms: duration });
      if (gate) blocked.set(step.id, gate);
      return;
    }
    const outcome = await materializeWithRetries(step, asset, opts, sleep);
    const duration = Date.now() - started.getTime();
    if (outcome.kind === 'canceled') {
      finish(step, 'CANCELED', 'the run was canceled', {
        attempts: outcome.attempts,
        started_at: started.toISOString(),
        duration_ms: duration,
      });
      return;
    }
    if (outcome.kind === 'failed') {
      finish(step, 'FAILURE', outcome.error, {
        attempts: outcome.attempts,
        started_at: started.toISOString(),
        duration_ms: duration,
      });
      return;
    }
    const gate = await evaluateChecks(step, asset, outcome.result, outcome.metadata, opts);
    finish(step, 'SUCCESS', null, {
      attempts: outcome.attempts,
      started_at: started.toISOString(),
      duration_ms: duration,
    });
    if (gate) blocked.set(step.id, gate);
  };

  while (pending.length > 0 || running.size > 0) {
    if (opts.signal.aborted) {
      for (const step of pending.splice(0)) finish(step, 'CANCELED', 'the run was canceled before this step started');
    }
    let startedAny = false;
    for (let i = 0; i < pending.length && running.size < concurrency; ) {
      const step = pending[i]!;
      const gated =
        step.kind === 'materialize'
          ? opts.graph.definition(step.asset_key).deps.find((d) => opts.upstreamGates?.has(d))
          : undefined;
      if (gated) {
        pending.splice(i, 1);
        blocked.set(step.id, `upstream ${gated}: ${opts.upstreamGates!.get(gated)}`);
        finish(step, 'SKIPPED', blocked.get(step.id)!);
        startedAny = true;
        continue;
      }
      const blocker = step.after.find((id) => blocked.has(id));
      if (blocker) {
        pending.splice(i, 1);
        const root = blocked.get(blocker)!;
        const why = root.startsWith('upstream ') ? root : `upstream ${root}`;
        blocked.set(step.id, why);
        finish(step, 'SKIPPED', why);
        startedAny = true;
        continue;
      }
      if (step.after.every((id) => outcomes.get(id)?.status === 'SUCCESS')) {
        pending.splice(i, 1);
        const p: Promise<void> = runStep(step).finally(() => running.delete(p));
        running.add(p);
        startedAny = true;
        continue;
      }
      i++;
    }
    if (running.size > 0) await Promise.race(running);
    else if (!startedAny && pending.length > 0) {
      // Unreachable with a valid plan; guard against an infinite loop.
      for (const step of pending.splice(0)) finish(step, 'SKIPPED', 'its upstream steps never became ready');
    }
  }

  const statuses = [...outcomes.values()];
  let status: ExecuteResult['status'] = 'SUCCESS';
  let reason: string | null = null;
  if (opts.signal.aborted || statuses.some((s) => s.status === 'CANCELED')) {
    status = 'CANCELED';
    reason = 'canceled by the user (Ctrl-C / SIGTERM / cancel request)';
  } else if (statuses.some((s) => s.status !== 'SUCCESS') || blocked.size > 0) {
    status = 'FAILURE';
    const failed = [...outcomes.entries()].filter(([, o]) => o.status === 'FAILURE').map(([id]) => id);
    const gated = [...blocked.entries()].filter(([id]) => outcomes.get(id)?.status === 'SUCCESS');
    reason = [
      failed.length > 0 ? `${failed.length} step(s) failed: ${failed.slice(0, 5).join(', ')}` : '',
      gated.length > 0 ? `blocking check failed: ${gated.map(([, r]) => r).join('; ')}` : '',
    ]
      .filter(Boolean)
      .join('; ');
  }
  emit({ type: 'RUN_FINISHED', run_id: runId, status, reason });
  return { status, reason, outcomes };
}

type MaterializeOutcome =
  | { kind: 'ok'; result: MaterializeResult; metadata: Metadata; attempts: number }
  | { kind: 'failed'; error: string; attempts: number }
  | { kind: 'canceled'; attempts: number };

async function materializeWithRetries(
  step: PlannedStep,
  asset: AssetDefinition<AssetKey, unknown>,
  opts: ExecuteOptions,
  sleep: NonNullable<ExecuteOptions['sleep']>,
): Promise<MaterializeOutcome> {
  const { runId, emit } = opts;
  const maxAttempts = 1 + (asset.retry?.maxRetries ?? 0);
  const stepDir = join(opts.stateDir, 'runs', runId, 'steps', stepDirName(step));
  mkdirSync(stepDir, { recursive: true });
  const logPath = join(stepDir, 'compute.log');
  const computeLog = openComputeLog(logPath);
  const log = opts.log.child({ asset_key: step.asset_key, partition: step.partition_key || undefined });
  const inputs = resolveInputs(asset, step.partition_key, {
    definition: (k) => opts.graph.definition(k),
    partitions: opts.partitions,
    materializations: opts.materializations,
  });
  const upstream: Record<string, UpstreamInput> = Object.fromEntries(
    inputs.map((i) => [i.key, { key: i.key, partitions: i.partitions, dataVersion: i.dataVersion ?? undefined }]),
  );
  const runPlan = opts.plan.steps
    .filter((s) => s.kind === 'materialize')
    .map((s) => ({ asset_key: s.asset_key, partition_key: s.partition_key }));
  let attempt = 0;
  try {
    for (;;) {
      attempt++;
      if (opts.signal.aborted) return { kind: 'canceled', attempts: attempt - 1 };
      emit({
        type: 'STEP_STARTED',
        run_id: runId,
        asset_key: step.asset_key,
        partition_key: step.partition_key,
        attempt,
      });
      log.info({ attempt }, 'step started');
      const signals = [opts.signal];
      if (asset.timeoutMs) signals.push(AbortSignal.timeout(asset.timeoutMs));
      const signal = AbortSignal.any(signals);
      try {
        const sourceVersion = asset.observe
          ? await asset.observe({
              assetKey: step.asset_key,
              partitionKey: step.partition_key,
              partition: partitionValues(step.partition_key),
            })
          : undefined;
        const result =
          (await Promise.race([
            asset.materialize({
              runId,
              assetKey: step.asset_key,
              partitionKey: step.partition_key,
              partition: partitionValues(step.partition_key),
              upstream,
              log,
              signal,
              resources: opts.defs.resources,
              stepDir,
              computeLog: computeLog.write,
              runPlan,
            }),
            abortPromise(signal),
          ])) ?? {};
        const metadata = MetadataSchema.parse({
          ...result.metadata,
          ...(sourceVersion !== undefined ? { [SOURCE_VERSION_KEY]: { type: 'text', value: sourceVersion } } : {}),
        });
        const dataVersion =
          result.dataVersion ?? hashText(asset.codeVersion, ...inputs.map((i) => `${i.key}=${i.dataVersion ?? ''}`));
        const record: MaterializationRecord = {
          asset_key: step.asset_key,
          partition_key: step.partition_key,
          run_id: runId,
          ts: new Date().toISOString(),
          data_version: dataVersion,
          code_version: asset.codeVersion,
          input_versions: Object.fromEntries(inputs.map((i) => [i.key, i.dataVersion ?? ''])),
          deps: [...asset.deps],
          metadata,
        };
        const byPartition = opts.materializations.get(step.asset_key) ?? new Map();
        byPartition.set(step.partition_key, record);
        opts.materializations.set(step.asset_key, byPartition);
        emit({ type: 'MATERIALIZATION', run_id: runId, record });
        log.info({ data_version: dataVersion, attempt }, 'asset materialized');
        return { kind: 'ok', result, metadata, attempts: attempt };
      } catch (e) {
        if (opts.signal.aborted) return { kind: 'canceled', attempts: attempt };
        const timedOut = signal.aborted && !opts.signal.aborted;
        const error = timedOut ? `timed out after ${asset.timeoutMs} ms` : errorText(e);
        computeLog.write(`[fairway] attempt ${attempt} failed: ${error}`);
        if (attempt >= maxAttempts) {
          log.error({ attempt, err: error }, 'step failed');
          return { kind: 'failed', error, attempts: attempt };
        }
        const delay = (asset.retry?.backoffMs ?? 1000) * 2 ** (attempt - 1);
        log.warn({ attempt, delay_ms: delay, err: error }, 'step failed, retrying');
        emit({
          type: 'STEP_RETRY',
          run_id: runId,
          asset_key: step.asset_key,
          partition_key: step.partition_key,
          attempt,
          delay_ms: delay,
          error,
        });
        await sleep(delay, opts.signal);
      }
    }
  } finally {
    const bytes = await computeLog.close();
    emit({
      type: 'COMPUTE_LOG',
      run_id: runId,
      asset_key: step.asset_key,
      partition_key: step.partition_key,
      path: relative(opts.stateDir, logPath),
      bytes,
    });
  }
}

function abortPromise(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

function partitionValues(key: string): Record<string, string> {
  if (key === '') return {};
  return Object.fromEntries(key.split(',').map((kv) => kv.split('=') as [string, string]));
}

/** Records reported and evaluated checks; returns a gate reason when a blocking error check failed. */
async function evaluateChecks(
  step: PlannedStep,
  asset: AssetDefinition<AssetKey, unknown>,
  result: MaterializeResult,
  metadata: Metadata,
  opts: ExecuteOptions,
): Promise<string | null> {
  const reported = new Map((result.checks ?? []).map((c) => [c.name, c]));
  const log = opts.log.child({ asset_key: step.asset_key, partition: step.partition_key || undefined });
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
    try {
      const r = await spec.evaluate({
        assetKey: step.asset_key,
        partitionKey: step.partition_key,
        log,
        signal: opts.signal,
        metadata,
      });
      results.push({ ...r, name: spec.name });
    } catch (e) {
      results.push({ name: spec.name, passed: false, description: `the check raised an error: ${errorText(e)}` });
    }
  }
  return recordCheckResults(step, asset, results, opts);
}

/** Runs the asset-scoped checks once (after all planned partitions); returns a gate reason or null. */
async function evaluateAssetChecks(
  step: PlannedStep,
  asset: AssetDefinition<AssetKey, unknown>,
  partitions: string[],
  opts: ExecuteOptions,
): Promise<string | null> {
  const log = opts.log.child({ asset_key: step.asset_key, step: 'checks' });
  const stepDir = join(opts.stateDir, 'runs', opts.runId, 'steps', `${step.asset_key}__checks`);
  mkdirSync(stepDir, { recursive: true });
  const logPath = join(stepDir, 'compute.log');
  const computeLog = openComputeLog(logPath);
  const specs = (asset.checks ?? []).filter((c) => c.scope === 'asset');
  const results: CheckResult[] = [];
  try {
    if (asset.evaluateAssetChecks && specs.some((c) => !c.evaluate)) {
      try {
        results.push(
          ...(await asset.evaluateAssetChecks({
            runId: opts.runId,
            assetKey: step.asset_key,
            partitions,
            log,
            signal: opts.signal,
            stepDir,
            computeLog: computeLog.write,
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
      try {
        const r = await spec.evaluate({
          assetKey: step.asset_key,
          partitionKey: '',
          log,
          signal: opts.signal,
          metadata: {},
        });
        results.push({ ...r, name: spec.name });
      } catch (e) {
        results.push({ name: spec.name, passed: false, description: `the check raised an error: ${errorText(e)}` });
      }
    }
  } finally {
    const bytes = await computeLog.close();
    opts.emit({
      type: 'COMPUTE_LOG',
      run_id: opts.runId,
      asset_key: step.asset_key,
      partition_key: '',
      path: relative(opts.stateDir, logPath),
      bytes,
    });
  }
  return recordCheckResults(step, asset, results, opts);
}

function recordCheckResults(
  step: PlannedStep,
  asset: AssetDefinition<AssetKey, unknown>,
  results: CheckResult[],
  opts: ExecuteOptions,
): string | null {
  const log = opts.log.child({ asset_key: step.asset_key, partition: step.partition_key || undefined });
  const specs = new Map((asset.checks ?? []).map((c) => [c.name, c]));
  let gate: string | null = null;
  for (const reported of results) {
    const metadata = MetadataSchema.safeParse(reported.metadata ?? {});
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
      asset_key: step.asset_key,
      partition_key: step.partition_key,
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
        gate = `blocking check '${r.name}' on ${step.id} failed${r.failures != null ? ` (${r.failures} failing rows)` : ''}${r.description ? `: ${r.description}` : ''}`;
      }
    }
  }
  return gate;
}
