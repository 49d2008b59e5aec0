import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { DefinitionError } from '../errors/index.ts';
import type { Metadata } from './metadata.ts';
import type { PartitionMapping, PartitionsDefinition } from './partitions.ts';

/** Dotted `layer.name` key, matching the Iceberg `namespace.table` (`silver.fact_telemetry_event`). */
export type AssetKey = string;
export const ASSET_KEY_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

export type CheckSeverity = 'warn' | 'error';

export interface CheckResult {
  name: string;
  passed: boolean;
  /** Defaults to the check spec's severity. */
  severity?: CheckSeverity;
  description?: string;
  /** Failing rows or similar. */
  failures?: number;
  metadata?: Metadata;
}

export interface CheckContext {
  assetKey: AssetKey;
  partitionKey: string;
  log: Logger;
  signal: AbortSignal;
  /** Metadata of the materialization the check is about. */
  metadata: Metadata;
}

export interface AssetCheckSpec {
  name: string;
  description?: string;
  /** A failing blocking check at `error` severity skips everything downstream. */
  blocking?: boolean;
  severity?: CheckSeverity;
  /**
   * `partition` (default): evaluated after each partition's materialization. `asset`: evaluated once
   * per run, after every planned partition of the asset succeeded (e.g. dbt tests on a whole table),
   * by the asset's `evaluateAssetChecks` (or this check's own `evaluate`), before any downstream step.
   */
  scope?: 'partition' | 'asset';
  /** Omit when the materializer (or `evaluateAssetChecks`) reports this check itself (e.g. dbt tests). */
  evaluate?: (ctx: CheckContext) => Promise<Omit<CheckResult, 'name'>> | Omit<CheckResult, 'name'>;
}

export interface AssetChecksContext {
  runId: string;
  assetKey: AssetKey;
  /** Partitions materialized by this run before the checks ("" when unpartitioned). */
  partitions: string[];
  log: Logger;
  signal: AbortSignal;
  stepDir: string;
  computeLog: (line: string) => void;
  /** Records a child process group while it runs: see `MaterializeContext.onChildProcess`. */
  onChildProcess?: (pgid: number) => () => void;
}

/**
 * How fresh an asset (each partition, when partitioned) must be. "Data arrival" is an upstream
 * materialization, or a changed source version first seen by the daemon (`observe`). An asset is
 * FRESH while it reflects all arrived data or is still inside its windows, WARN inside a warn window,
 * OVERDUE past a fail window. The daemon (`fairway daemon`) plans runs to keep every policy met.
 *
 * @example
 * // Silver reflects Bronze data within 30 minutes of its arrival (warn after 20).
 * freshness: { maxLag: { warnAfterMinutes: 20, failAfterMinutes: 30 } }
 * // By 06:00 course time, Gold covers yesterday: data that arrived before midnight is in.
 * freshness: { deadline: { cron: '0 6 * * *', timezone: 'America/Chicago', dataCutoffMinutes: 360, warnBeforeMinutes: 60 } }
 */
export interface FreshnessPolicy {
  /** Arrived data must be reflected within `failAfterMinutes`; WARN from `warnAfterMinutes` (≤ fail). */
  maxLag?: { warnAfterMinutes: number; failAfterMinutes: number };
  /**
   * At each tick of `cron` (evaluated in the IANA `timezone`, never the machine's), data that arrived
   * at least `dataCutoffMinutes` (default 0) before the tick must be reflected. WARN from
   * `warnBeforeMinutes` (default 0) before the tick while still unmet, and during the grace of
   * `failAfterMinutes` (default 0) after it; OVERDUE after the grace. For an asset whose partitions
   * have a daily dimension, each partition's data counts as arriving no earlier than the end of its own
   * day in `timezone`: day D is due at the first tick at least `dataCutoffMinutes` after D ends.
   */
  deadline?: {
    cron: string;
    timezone: string;
    dataCutoffMinutes?: number;
    warnBeforeMinutes?: number;
    failAfterMinutes?: number;
  };
}

export interface RetryPolicy {
  maxRetries: number;
  /** First delay; doubles each attempt. */
  backoffMs: number;
}

/** What a materializer reports back. */
export interface MaterializeResult {
  metadata?: Metadata;
  /** Content hash, table snapshot id… Strings only: Iceberg snapshot ids are 64-bit. */
  dataVersion?: string;
  /** Results of checks the materializer evaluated itself. */
  checks?: CheckResult[];
}

/** A partition of a batch that could not be materialized, and why (shown as the step's reason). */
export interface PartitionFailure {
  error: string;
}

/**
 * What a batched materializer (`batch` on the asset) reports: one entry per partition of
 * `ctx.partitions`. A partition left out counts as failed ("reported no result"); a failure fails that
 * partition alone while the others are recorded as materialized.
 */
export interface BatchMaterializeResult {
  partitions: Record<string, MaterializeResult | PartitionFailure>;
}

export const isPartitionFailure = (r: MaterializeResult | PartitionFailure): r is PartitionFailure =>
  typeof (r as PartitionFailure).error === 'string';

/**
 * How many partitions of a partitioned asset one step may take (Dagster: a backfill policy). The
 * planner groups the selected partitions into as few steps as `maxPartitions` allows, so a job with a
 * costly start (a Spark application) runs once for many small partitions.
 */
export interface BatchPolicy {
  maxPartitions: number;
}

/** One partition of a step: its key, dimension values and the upstream data it consumes. */
export interface StepPartition {
  /** Canonical partition key (`course_id=erinhills,ingest_date=2026-11-24`). */
  key: string;
  values: Record<string, string>;
  upstream: Record<AssetKey, UpstreamInput>;
}

/** Upstream input as consumed by one step. */
export interface UpstreamInput {
  key: AssetKey;
  /** Partition keys of the upstream consumed by this step (empty when unpartitioned). */
  partitions: string[];
  /** Combined data version of what was consumed. */
  dataVersion: string | undefined;
}

export interface MaterializeContext<R = unknown> {
  runId: string;
  assetKey: AssetKey;
  /** Canonical partition key, "" when unpartitioned; the first of `partitions` in a batched step. */
  partitionKey: string;
  /** The partition's dimension values, e.g. `{ course_id: 'erinhills', ingest_date: '2026-11-24' }`. */
  partition: Record<string, string>;
  /** What the step consumes (of the first partition, in a batched step: see `partitions`). */
  upstream: Record<AssetKey, UpstreamInput>;
  /**
   * Every partition of this step, in key order: one for an ordinary step, up to `batch.maxPartitions`
   * for an asset with a batch policy (whose materializer returns a `BatchMaterializeResult`).
   */
  partitions: readonly StepPartition[];
  log: Logger;
  signal: AbortSignal;
  resources: R;
  /** Where the step may write its own files (compute logs, pipes messages). */
  stepDir: string;
  /** Appends a line to the step's compute log. */
  computeLog: (line: string) => void;
  /**
   * Call with the pid of a child started in its own process group (`detached: true`: a Spark job, dbt) as
   * soon as it runs; call the returned function once it has exited. While recorded, a run whose process
   * dies keeps its partitions locked until that group is gone too, so no re-run writes beside it.
   * `runPipesProcess` and `runDbt` take it as their `onChildProcess` option. Set by the executor (absent
   * when a test calls the function directly).
   */
  onChildProcess?: (pgid: number) => () => void;
  /** The assets this step writes: `[assetKey]`, or every output of a multi-asset (`multiAsset`). */
  outputs: readonly AssetKey[];
}

/**
 * What a multi-asset's materializer (`multiAsset`) reports: a result per output of `ctx.outputs`, each a
 * plain or a batch result as an asset's would be, or a failure of that output (in every partition). An
 * output left out fails ("reported no result").
 */
export interface MultiMaterializeResult {
  outputs: Record<AssetKey, MaterializeResult | BatchMaterializeResult | PartitionFailure>;
}

/** Set on each output of a multi-asset: the step that writes it and its sibling outputs. */
export interface MultiAssetInfo {
  /** Names the step (`silver_job`). */
  name: string;
  /** Every output, in declaration order. */
  outputs: readonly AssetKey[];
  /** Whether a step may write some of them only; else one step writes them all (a selection of one selects all). */
  canSubset: boolean;
}

/**
 * What an asset's publisher (`publish`) gets once its asset-scoped checks passed: the run, and the
 * materializations held back until now (write-audit-publish: written where readers do not see them yet).
 */
export interface PublishContext {
  runId: string;
  /** The asset whose checks gate the publication. */
  assetKey: AssetKey;
  /** Data version of each held-back materialization: asset → partition key ("" unpartitioned) → version. */
  pending: Readonly<Record<AssetKey, Readonly<Record<string, string>>>>;
  log: Logger;
  signal: AbortSignal;
  stepDir: string;
  computeLog: (line: string) => void;
  onChildProcess?: (pgid: number) => () => void;
}

/** What a publisher reports: data versions that changed on publishing (e.g. a rebased commit), and metadata. */
export interface PublishResult {
  /** asset → partition key → the data version readers see now, where it differs from the materialization's. */
  dataVersions?: Record<AssetKey, Record<string, string>>;
  /** Added to every published materialization's metadata. */
  metadata?: Metadata;
}

export type Publisher = (ctx: PublishContext) => Promise<PublishResult | undefined>;

export interface ObserveContext {
  assetKey: AssetKey;
  partitionKey: string;
  partition: Record<string, string>;
}

/** Metadata key under which the observed source version is recorded. */
export const SOURCE_VERSION_KEY = 'source_version';

export interface AssetSpec<K extends AssetKey = AssetKey, R = unknown> {
  key: K;
  /** Upstream assets: the asset objects (checked by the compiler) or keys (checked at load). */
  deps?: readonly (AssetDefinition<AssetKey, R> | AssetKey)[];
  description?: string;
  group?: string;
  kinds?: readonly string[];
  tags?: Readonly<Record<string, string>>;
  owners?: readonly string[];
  /** Defaults to a hash of the materializer's source and `codeFiles`. */
  codeVersion?: string;
  /** Files whose content is part of the code version (e.g. the Spark job). */
  codeFiles?: readonly string[];
  partitions?: PartitionsDefinition;
  /** How partitions map onto each upstream; default identity when both are partitioned alike, else all. */
  partitionMappings?: Readonly<Record<AssetKey, PartitionMapping>>;
  checks?: readonly AssetCheckSpec[];
  /** Evaluates the asset-scoped checks in one go (e.g. one `dbt test` invocation). */
  evaluateAssetChecks?: (ctx: AssetChecksContext) => Promise<CheckResult[]>;
  freshness?: FreshnessPolicy;
  retry?: RetryPolicy;
  timeoutMs?: number;
  /** Materialize up to `maxPartitions` partitions in one step (needs `partitions`). */
  batch?: BatchPolicy;
  /**
   * A named pool of limited slots (e.g. `spark`): at most `pools[name]` steps of the pool run at once in
   * a run (default 1), so two Spark applications never fight over a small machine's cores.
   */
  pool?: string;
  materialize: (
    ctx: MaterializeContext<R>,
  ) =>
    | Promise<MaterializeResult | BatchMaterializeResult | MultiMaterializeResult | undefined>
    | MaterializeResult
    | BatchMaterializeResult
    | MultiMaterializeResult
    | undefined;
  /**
   * For assets that copy external data (files in an inbox): a cheap version of that data as it is now.
   * Recorded with each materialization; when it differs later, the partition is STALE ("its source
   * changed"), so `--stale-only` and the scheduler pick up changed files.
   */
  observe?: (ctx: ObserveContext) => Promise<string | undefined> | string | undefined;
  /**
   * Inputs the asset refuses before any of its steps (e.g. inbox entries with unsafe names, which belong to
   * no partition). A run that plans the asset lists them and ends FAILURE naming them after everything
   * else has run, so a bad entry is never skipped silently. `report` says where a report was written.
   */
  rejectedInputs?: (ctx: { runId: string }) => Promise<readonly RejectedInput[]>;
  /**
   * Write-audit-publish: the materializer writes where readers do not see it (an Iceberg branch), the
   * asset-scoped checks audit that, and `publish` then makes it visible (fast-forwards main). Until
   * `publish` succeeds nothing is recorded as materialized: a failed gate, a failed publish or a run that
   * dies in between leaves the partitions as they were (stale or missing), so the next run writes them again.
   * Needs asset-scoped checks (`checks` with scope 'asset').
   */
  publish?: Publisher;
}

/** An input an asset refused before any step: where it is and why, and where its report went. */
export interface RejectedInput {
  path: string;
  reason: string;
  report?: string;
}

export interface AssetDefinition<K extends AssetKey = AssetKey, R = unknown>
  extends Omit<AssetSpec<K, R>, 'deps' | 'codeVersion'> {
  deps: readonly AssetKey[];
  codeVersion: string;
  /** The file that declared the asset, for error messages. */
  sourceFile: string;
  /** Present when the asset is one output of a multi-asset. */
  multi?: MultiAssetInfo;
  /** The asset whose checks step publishes this one's materializations (write-audit-publish), if any. */
  publishedBy?: AssetKey;
}

/**
 * The file that called `asset()`. Reads V8's structured call sites directly: formatting
 * `new Error().stack` runs the source-map hooks of tsx and costs ~0.2 ms per asset. The definitions API's own
 * frames are skipped: those in this module's file (compiled, Fairway is bundled: the file esbuild put
 * framework/definitions/ in) and, from the sources, those under framework/definitions/.
 */
export function callerFile(): string {
  const original = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = 9;
    Error.prepareStackTrace = (_e, sites) => sites;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder); // the first frame is this function's: it names this module's file
    const [own, ...sites] = holder.stack ?? [];
    const ownFile = own?.getFileName();
    for (const site of sites) {
      const file = site.getFileName();
      if (!file || file === ownFile || file.startsWith('node:') || file.includes('/framework/definitions/')) continue;
      return file.startsWith('file://') ? fileURLToPath(file) : file;
    }
    return '<unknown>';
  } finally {
    Error.prepareStackTrace = original;
    Error.stackTraceLimit = limit;
  }
}

export function hashText(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

export function deriveCodeVersion(spec: AssetSpec<AssetKey, never>, sourceFile: string): string {
  return hashText(spec.materialize.toString(), ...readCodeFiles(spec, sourceFile));
}

/** The texts of an asset's `codeFiles`; one that cannot be read fails the definition. */
function readCodeFiles(spec: AssetSpec<AssetKey, never>, sourceFile: string): string[] {
  return (spec.codeFiles ?? []).map((f) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (e) {
      throw new DefinitionError(
        'CODE_FILE_MISSING',
        `Asset '${spec.key}' (in ${sourceFile}) lists code file '${f}', which cannot be read: ${(e as Error).message}`,
      );
    }
  });
}

/**
 * Declares a software-defined asset.
 *
 * @example
 * const raw = asset({ key: 'bronze.raw', materialize: () => ({ dataVersion: 'v1' }) });
 * const clean = asset({ key: 'silver.clean', deps: [raw], materialize: async (ctx) => ({}) });
 */
export function asset<const K extends AssetKey, R = unknown>(spec: AssetSpec<K, R>): AssetDefinition<K, R> {
  const sourceFile = callerFile();
  const deps = (spec.deps ?? []).map((d) => (typeof d === 'string' ? d : d.key));
  const { deps: _ignored, ...rest } = spec;
  if (spec.publish && !(spec.checks ?? []).some((c) => c.scope === 'asset')) {
    throw new DefinitionError(
      'PUBLISH_WITHOUT_CHECKS',
      `Asset '${spec.key}' (in ${sourceFile}) has publish but no asset-scoped checks: publishing happens after them.`,
    );
  }
  // The code files are read now (one missing fails here, with the definitions) and hashed on first use: `list`
  // shows no code version, and node:crypto is ~5 ms of a command's start on Node 24.
  const files = spec.codeVersion === undefined ? readCodeFiles(spec as AssetSpec<AssetKey, never>, sourceFile) : [];
  let codeVersion = spec.codeVersion;
  return {
    ...rest,
    deps,
    get codeVersion(): string {
      codeVersion ??= hashText(spec.materialize.toString(), ...files);
      return codeVersion;
    },
    sourceFile,
    ...(spec.publish ? { publishedBy: spec.key } : {}),
  };
}
