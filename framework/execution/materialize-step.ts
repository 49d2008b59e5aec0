/**
 * One step's attempt: call the materializer (with its timeout, cancel signal and compute log), then turn its
 * result into per-partition, per-output outcomes and records. Kept as one file (~460 lines) on purpose: the
 * shapes a materializer may return (plain, batch, multi-asset, failures) are validated and recorded in one
 * pass, and splitting the pass would spread one contract over several files.
 */
import { mkdirSync } from 'node:fs';
import { relative } from 'node:path';
import type {
  AssetDefinition,
  AssetKey,
  BatchMaterializeResult,
  MaterializeResult,
  MultiMaterializeResult,
  PartitionFailure,
  StepPartition,
} from '../definitions/index.ts';
import {
  hashText,
  isPartitionFailure,
  metadataSchema,
  parsePartitionKey,
  SOURCE_VERSION_KEY,
} from '../definitions/index.ts';
import { resolveInputs } from '../staleness/index.ts';
import type { MaterializationRecord } from '../storage/index.ts';
import { errorText, evaluatePartitionChecks } from './evaluate-checks.ts';
import type { ExecuteOptions } from './execute-plan.ts';
import { type PlannedStep, stepId } from './plan.ts';
import { computeLogPath, openComputeLog, stepFolder } from './run-folder.ts';
import { trackChildProcess } from './track-child-process.ts';

/** How one partition of a step ended. A success carries the gate reason of a failed blocking check. */
export type PartitionOutcome =
  | { kind: 'ok'; gate: string | null; attempts: number }
  | { kind: 'failed'; error: string; attempts: number }
  /** A multi-asset output that failed because an output it reads, in the same step, failed or was gated. */
  | { kind: 'skipped'; reason: string; attempts: number }
  | { kind: 'canceled'; attempts: number };

export const stepDirName = (step: Pick<PlannedStep, 'asset_key' | 'partition_key'> & { partitions?: unknown[] }) => {
  const more = (step.partitions?.length ?? 1) > 1 ? `__and_${step.partitions!.length - 1}_more` : '';
  return step.partition_key === ''
    ? step.asset_key
    : `${step.asset_key}__${step.partition_key.replace(/[^A-Za-z0-9._=-]/g, '_')}${more}`;
};

/** An output's result for one partition. */
type OutputResult = MaterializeResult | PartitionFailure;

/**
 * Materializes the partitions of one step (one, or a batch) for each of its outputs (one, or a
 * multi-asset's), with the asset's retry policy and timeout. A batch is one materializer call for all
 * its partitions; each partition succeeds or fails on its own, and a retry takes only the partitions
 * that failed (for any output). Emits the per-member events (started, retry, materialization, checks);
 * the caller emits each member's finish. Returns outcomes by member id (`output[partition]`).
 */
export async function materializeStep(
  step: PlannedStep,
  keys: readonly string[],
  outputs: readonly AssetKey[],
  asset: AssetDefinition<AssetKey, unknown>,
  opts: ExecuteOptions,
  sleep: (ms: number, signal: AbortSignal) => Promise<void>,
  /** The members (`output[partition]`) to record, when not every output of every partition may run. */
  only?: ReadonlySet<string>,
): Promise<Map<string, PartitionOutcome>> {
  const { runId, emit } = opts;
  const maxAttempts = 1 + (asset.retry?.maxRetries ?? 0);
  // a multi-asset's step is named after the multi-asset (`dbt_build`, `silver_job__<partition>…`)
  const named = { ...step, asset_key: asset.multi?.name ?? step.asset_key, partitions: [...keys] };
  const stepDir = stepFolder(opts.stateDir, runId, stepDirName(named));
  mkdirSync(stepDir, { recursive: true });
  const logPath = computeLogPath(stepDir);
  const computeLog = openComputeLog(logPath);
  const log = opts.log.child({
    asset_key: step.asset_key,
    partition: keys.length === 1 ? keys[0] || undefined : undefined,
    ...(keys.length > 1 ? { batch: { partitions: keys.length, first: keys[0], last: keys.at(-1) } } : {}),
  });
  const lookup = {
    definition: (k: string) => opts.graph.definition(k),
    partitions: opts.partitions,
    materializations: opts.materializations,
  };
  const definitions = new Map(outputs.map((o) => [o, o === step.asset_key ? asset : opts.graph.definition(o)]));
  // What the step consumes: every output's upstream outside the step (a multi-asset's outputs may differ)
  const stepPartitions = new Map<string, StepPartition>(
    keys.map((k) => [
      k,
      {
        key: k,
        values: k === '' ? {} : parsePartitionKey(k),
        upstream: Object.fromEntries(
          outputs
            .flatMap((o) => resolveInputs(definitions.get(o)!, k, lookup))
            .filter((i) => !outputs.includes(i.key))
            .map((i) => [i.key, { key: i.key, partitions: i.partitions, dataVersion: i.dataVersion ?? undefined }]),
        ),
      },
    ]),
  );
  const outcomes = new Map<string, PartitionOutcome>();
  const setAll = (k: string, outcome: PartitionOutcome) => {
    for (const o of outputs) outcomes.set(stepId(o, k), outcome);
  };
  /** Emits an event once per output of the step. */
  const emitAll = (event: (assetKey: AssetKey) => Parameters<typeof emit>[0]) => {
    for (const o of outputs) emit(event(o));
  };
  let remaining = [...keys];
  let attempt = 0;
  try {
    while (remaining.length > 0) {
      attempt++;
      if (opts.signal.aborted) {
        for (const k of remaining) setAll(k, { kind: 'canceled', attempts: attempt - 1 });
        break;
      }
      for (const k of remaining) {
        emitAll((asset_key) => ({ type: 'STEP_STARTED', run_id: runId, asset_key, partition_key: k, attempt }));
      }
      log.info({ attempt, partitions: remaining.length }, 'step started');
      const signals = [opts.signal];
      const { timeoutMs } = asset;
      if (timeoutMs) signals.push(AbortSignal.timeout(timeoutMs));
      const signal = AbortSignal.any(signals);
      const partitions = remaining.map((k) => stepPartitions.get(k)!);
      let results: Map<string, Map<AssetKey, OutputResult>>;
      /** The materializer threw or timed out: every member failed alike, none because of another. */
      let stepWide = false;
      const started = performance.now();
      /** Past its timeout, although its timer may not have run: synchronous code blocked the event loop. */
      const late = () => timeoutMs !== undefined && timeoutMs > 0 && performance.now() - started > timeoutMs;
      const ended = timeoutMs
        ? opts.watchdog?.watch({
            label: `${named.asset_key}${describeKeys(remaining)}`,
            timeoutMs,
            members: remaining.flatMap((k) => outputs.map((o) => ({ asset_key: o, partition_key: k }))),
          })
        : undefined;
      try {
        const sourceVersions = await observeSources(asset, step.asset_key, partitions);
        const first = partitions[0]!;
        const returned =
          (await Promise.race([
            asset.materialize({
              runId,
              assetKey: step.asset_key,
              partitionKey: first.key,
              partition: first.values,
              upstream: first.upstream,
              partitions,
              log,
              signal,
              resources: opts.defs.resources,
              stepDir,
              computeLog: computeLog.write,
              outputs,
              onChildProcess: trackChildProcess(emit, runId, step.asset_key, first.key),
            }),
            abortPromise(signal),
          ])) ?? {};
        ended?.();
        if (late()) throw new ReturnedLate(performance.now() - started);
        results = perOutput(returned, asset, outputs, partitions, sourceVersions);
      } catch (e) {
        ended?.();
        if (opts.signal.aborted) {
          for (const k of remaining) setAll(k, { kind: 'canceled', attempts: attempt });
          break;
        }
        const error =
          e instanceof ReturnedLate
            ? `timed out after ${timeoutMs} ms: it returned after ${Math.round(e.afterMs)} ms, having blocked the event loop (synchronous code) past its timeout; make it async or move the work to a subprocess`
            : signal.aborted || late()
              ? `timed out after ${timeoutMs} ms`
              : errorText(e);
        results = new Map(remaining.map((k) => [k, new Map(outputs.map((o) => [o, { error }]))]));
        stepWide = true;
      }
      /** Failed partitions (any output) → the first error. */
      const failed = new Map<string, string>();
      for (const [k, byOutput] of results) {
        for (const [o, r] of byOutput) {
          const id = stepId(o, k);
          if (only && !only.has(id)) continue;
          const cause = isPartitionFailure(r) && !stepWide ? upstreamInStep(step, o, k, outcomes) : null;
          if (cause) {
            // e.g. dbt skipped a model because a model it reads failed a blocking test: not a failure of its own
            outcomes.set(id, { kind: 'skipped', reason: cause, attempts: attempt });
            continue;
          }
          if (isPartitionFailure(r)) {
            if (!failed.has(k)) failed.set(k, r.error);
            const which = outputs.length > 1 ? `${o}` : '';
            computeLog.write(
              `[fairway] attempt ${attempt} failed${k || which ? ` for ${[which, k].filter(Boolean).join(' ')}` : ''}: ${r.error}`,
            );
            if (attempt >= maxAttempts) {
              log.error({ attempt, asset_key: o, partition: k || undefined, err: r.error }, 'step failed');
              outcomes.set(id, { kind: 'failed', error: r.error, attempts: attempt });
            }
            continue;
          }
          try {
            // inputs as of now: an output reading another output of this step sees its new version
            const def = definitions.get(o)!;
            const gate = await recordMaterialization(o, k, r, def, resolveInputs(def, k, lookup), opts);
            outcomes.set(id, { kind: 'ok', gate, attempts: attempt });
          } catch (e) {
            // Recording failed (e.g. the store): the member did not complete, the others go on.
            log.error(
              { asset_key: o, partition: k || undefined, err: errorText(e) },
              'recording the materialization failed',
            );
            outcomes.set(id, {
              kind: 'failed',
              error: `recording the materialization failed: ${errorText(e)}`,
              attempts: attempt,
            });
          }
        }
      }
      if (failed.size === 0 || attempt >= maxAttempts) break;
      const delay = (asset.retry?.backoffMs ?? 1000) * 2 ** (attempt - 1);
      log.warn(
        { attempt, delay_ms: delay, err: failed.values().next().value, partitions: failed.size },
        'step failed, retrying',
      );
      for (const [k, error] of failed) {
        emitAll((asset_key) => ({
          type: 'STEP_RETRY',
          run_id: runId,
          asset_key,
          partition_key: k,
          attempt,
          delay_ms: delay,
          error,
        }));
      }
      await sleep(delay, opts.signal);
      remaining = [...failed.keys()];
    }
  } finally {
    const bytes = await computeLog.close();
    // one log file per step, recorded under the step's asset and first partition
    emit({
      type: 'COMPUTE_LOG',
      run_id: runId,
      asset_key: step.asset_key,
      partition_key: keys[0] ?? '',
      path: relative(opts.stateDir, logPath),
      bytes,
    });
  }
  return outcomes;
}

/**
 * Why member `output[partition]` of a multi-asset step could not be built, when an output it reads in the
 * same step failed, was skipped or failed a blocking check (`upstream …`); null otherwise.
 */
function upstreamInStep(
  step: PlannedStep,
  output: AssetKey,
  partition: string,
  outcomes: ReadonlyMap<string, PartitionOutcome>,
): string | null {
  const reads = step.partitions.find((p) => p.key === partition)?.outputs?.[output] ?? [];
  for (const id of reads) {
    const o = outcomes.get(id);
    if (o?.kind === 'failed') return `upstream ${id} failed: ${o.error}`;
    if (o?.kind === 'skipped') return o.reason;
    if (o?.kind === 'ok' && o.gate) return `upstream ${o.gate}`;
  }
  return null;
}

async function observeSources(
  asset: AssetDefinition<AssetKey, unknown>,
  assetKey: AssetKey,
  partitions: readonly StepPartition[],
): Promise<Map<string, string>> {
  const versions = new Map<string, string>();
  if (!asset.observe) return versions;
  for (const p of partitions) {
    const v = await asset.observe({ assetKey, partitionKey: p.key, partition: p.values });
    if (v !== undefined) versions.set(p.key, v);
  }
  return versions;
}

/**
 * The materializer's answer for each partition and output of the call. A multi-asset answers per output
 * (an output it leaves out failed); each output's answer is read as an asset's (`perPartition`).
 */
function perOutput(
  returned: MaterializeResult | BatchMaterializeResult | MultiMaterializeResult,
  asset: AssetDefinition<AssetKey, unknown>,
  outputs: readonly AssetKey[],
  partitions: readonly StepPartition[],
  sourceVersions: ReadonlyMap<string, string>,
): Map<string, Map<AssetKey, OutputResult>> {
  const out = new Map(partitions.map((p) => [p.key, new Map<AssetKey, OutputResult>()]));
  for (const o of outputs) {
    let answer = returned as MaterializeResult | BatchMaterializeResult;
    if (asset.multi) {
      const given = (returned as Partial<MultiMaterializeResult>).outputs?.[o];
      const failure =
        given === undefined
          ? { error: `the multi-asset '${asset.multi.name}' reported no result for ${o}` }
          : 'error' in given && typeof given.error === 'string'
            ? { error: given.error }
            : undefined;
      if (failure) {
        for (const p of partitions) out.get(p.key)!.set(o, failure);
        continue;
      }
      answer = given as MaterializeResult | BatchMaterializeResult;
    }
    for (const [k, r] of perPartition(answer, partitions, sourceVersions)) out.get(k)!.set(o, r);
  }
  return out;
}

/**
 * One output's answer for each partition of the call. A plain result covers every partition;
 * a batch result must name each one (a partition it leaves out failed).
 */
function perPartition(
  returned: MaterializeResult | BatchMaterializeResult,
  partitions: readonly StepPartition[],
  sourceVersions: ReadonlyMap<string, string>,
): Map<string, OutputResult> {
  const out = new Map<string, OutputResult>();
  if (typeof returned !== 'object' || returned === null || Array.isArray(returned)) {
    const error = `the materializer returned ${describeValue(returned)}; return nothing, { dataVersion, metadata, checks } or { partitions: { <key>: … } }`;
    for (const p of partitions) out.set(p.key, { error });
    return out;
  }
  const batch = 'partitions' in returned && typeof returned.partitions === 'object' ? returned.partitions : undefined;
  for (const p of partitions) {
    const r = batch ? batch[p.key] : (returned as MaterializeResult);
    if (r === undefined) {
      out.set(p.key, { error: 'the batched materializer reported no result for this partition' });
      continue;
    }
    if (isPartitionFailure(r)) {
      out.set(p.key, r);
      continue;
    }
    const shape = resultError(r);
    if (shape) {
      out.set(p.key, { error: shape });
      continue;
    }
    const source = sourceVersions.get(p.key);
    const parsed = metadataSchema().safeParse({
      ...r.metadata,
      ...(source !== undefined ? { [SOURCE_VERSION_KEY]: { type: 'text', value: source } } : {}),
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      out.set(p.key, { error: `invalid metadata: ${issue?.path.join('.')}: ${issue?.message}` });
      continue;
    }
    out.set(p.key, { ...r, metadata: parsed.data });
  }
  return out;
}

/** A value as an error message shows it: `42`, `'text'`, `an array`. */
function describeValue(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string '${v.slice(0, 40)}'`;
  return `${typeof v} ${String(v).slice(0, 40)}`;
}

/** What is wrong with one partition's result before it is recorded, or null. */
function resultError(r: MaterializeResult): string | null {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) {
    return `the result for this partition is ${describeValue(r)}, not { dataVersion, metadata, checks }`;
  }
  if (r.dataVersion !== undefined && typeof r.dataVersion !== 'string') {
    return `dataVersion must be a string, got ${describeValue(r.dataVersion)}: pass ids as text (Iceberg snapshot ids are 64-bit and lose digits as numbers)`;
  }
  try {
    JSON.stringify(r.metadata ?? {});
  } catch (e) {
    return `metadata cannot be stored as JSON (${(e as Error).message.split('\n')[0]}): report plain values, no cycles`;
  }
  return null;
}

/** Records one partition's materialization (in memory and as an event), then its checks; returns a gate. */
async function recordMaterialization(
  assetKey: AssetKey,
  partitionKey: string,
  result: MaterializeResult,
  asset: AssetDefinition<AssetKey, unknown>,
  inputs: ReturnType<typeof resolveInputs>,
  opts: ExecuteOptions,
): Promise<string | null> {
  const metadata = result.metadata ?? {};
  const dataVersion =
    result.dataVersion ?? hashText(asset.codeVersion, ...inputs.map((i) => `${i.key}=${i.dataVersion ?? ''}`));
  const record: MaterializationRecord = {
    asset_key: assetKey,
    partition_key: partitionKey,
    run_id: opts.runId,
    ts: new Date().toISOString(),
    data_version: dataVersion,
    code_version: asset.codeVersion,
    input_versions: Object.fromEntries(inputs.map((i) => [i.key, i.dataVersion ?? ''])),
    deps: [...asset.deps],
    metadata,
  };
  const fields = { asset_key: assetKey, partition: partitionKey || undefined, data_version: dataVersion };
  const target = { id: stepId(assetKey, partitionKey), asset_key: assetKey, partition_key: partitionKey };
  if (asset.publishedBy && opts.unpublished) {
    // write-audit-publish: recorded once the publisher's checks passed and it published (publish-step.ts)
    const held = { record, gate: null as string | null };
    const list = opts.unpublished.get(asset.publishedBy) ?? [];
    list.push(held);
    opts.unpublished.set(asset.publishedBy, list);
    opts.log.info(fields, 'asset written for audit; recorded once published');
    held.gate = await evaluatePartitionChecks(target, asset, result, metadata, opts);
    return held.gate;
  }
  rememberMaterialization(record, opts);
  opts.emit({ type: 'MATERIALIZATION', run_id: opts.runId, record });
  opts.log.info(fields, 'asset materialized');
  return evaluatePartitionChecks(target, asset, result, metadata, opts);
}

/** The run's in-memory view of the latest materializations (what later steps of the run build from). */
export function rememberMaterialization(record: MaterializationRecord, opts: ExecuteOptions): void {
  const byPartition = opts.materializations.get(record.asset_key) ?? new Map();
  byPartition.set(record.partition_key, record);
  opts.materializations.set(record.asset_key, byPartition);
}

/** A materializer that returned past its timeout, before its timer could fire. */
class ReturnedLate extends Error {
  constructor(readonly afterMs: number) {
    super('returned after its timeout');
  }
}

/** How a step names its partitions in a message: ``, ` [k]`, ` [k and 3 more]`. */
function describeKeys(keys: readonly string[]): string {
  if (keys.length === 0 || (keys.length === 1 && keys[0] === '')) return '';
  return ` [${keys[0]}${keys.length > 1 ? ` and ${keys.length - 1} more` : ''}]`;
}

function abortPromise(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}
