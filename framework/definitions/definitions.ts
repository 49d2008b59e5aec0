import { closest, distance } from 'fastest-levenshtein';
import { DefinitionError } from '../errors/index.ts';
import { ASSET_KEY_PATTERN, type AssetDefinition, type AssetKey } from './asset.ts';
import type { Metadata } from './metadata.ts';
import { dimensionNames, type PartitionMapping, validatePartitionsDefinition } from './partitions.ts';

/** A compact record of a finished run, handed to `onRunComplete` (e.g. to copy it to object storage). */
export interface RunSummary {
  run_id: string;
  selection: string;
  status: string;
  /** Why the run failed or was canceled, in plain words (null on success). */
  reason: string | null;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  steps: {
    asset_key: string;
    partition_key: string;
    status: string;
    duration_ms: number | null;
    attempts: number;
    row_count: number | null;
    data_version: string | null;
    reason: string | null;
    checks: { name: string; passed: boolean; severity: string; failures: number | null }[];
  }[];
  /** Asset-scoped checks (e.g. dbt tests over a whole table), evaluated once per run. */
  asset_checks: {
    asset_key: string;
    name: string;
    passed: boolean;
    severity: string;
    blocking: boolean;
    failures: number | null;
    description: string | null;
  }[];
}

export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  /** Set when the result had more rows than asked for (`maxRows`): how many it had; `rows` holds the first ones. */
  total_rows?: number;
}

export interface QueryOptions {
  /** At most this many rows per statement (default 10,000); 0 returns every row. */
  maxRows?: number;
  /**
   * The engine to run on, when the definitions offer a choice (`fairway query --engine`); unset lets them
   * choose. The definitions reject a name they do not know.
   */
  engine?: string;
  /** Told when the definitions change engine for a statement, in one line (the CLI writes it to stderr). */
  onNotice?: (message: string) => void;
}

/** The table an asset writes, as the profile's query engine names it (see `DefinitionHooks.tableOf`). */
export interface TableRef {
  /** `namespace.table` on the engine's session catalog, e.g. `silver.fact_telemetry_event`. */
  table: string;
  /** The event-time column whose maximum says how recent the data is (freshness); absent when none. */
  timeColumn?: string;
}

/** An asset as an OpenLineage dataset, named per the OpenLineage naming spec. */
export interface LineageDataset {
  namespace: string;
  name: string;
}

/** A table as read on the profile's engine: metadata and its first rows. */
export interface TableRead {
  /** The engine that answered (`trino`, `spark`, …). */
  engine: string;
  rowCount: number;
  /** Current snapshot id (64-bit, as text); null for a table never written. */
  snapshotId: string | null;
  /** Maximum of `timeColumn` as ISO-8601 UTC; null without a time column or rows. */
  maxEventTime: string | null;
  /** The first rows (at most the `limit` asked for), values as the engine returned them. */
  preview: QueryResult;
}

/** A CLI command contributed by the definitions (e.g. `fairway stack up`). */
export interface ExtensionCommand {
  description: string;
  /** Shown by `fairway <name> --help`. */
  usage?: string;
  /** Receives the arguments after the command name; returns the exit code. */
  run: (args: string[], ctx: { stateDir: string }) => Promise<number>;
}

/**
 * A command whose code is imported only when it runs: its description and usage are listed without it, so
 * other commands never pay for loading it.
 */
export function lazyCommand(
  info: { description: string; usage?: string },
  load: () => Promise<ExtensionCommand>,
): ExtensionCommand {
  return { ...info, run: async (args, ctx) => (await load()).run(args, ctx) };
}

/** A section the definitions add to an asset's page in the UI. */
export interface AssetPageSection {
  title: string;
  /** Inserted as is: the hook escapes anything it did not write itself. */
  html: string;
}

/**
 * What an asset's page in the UI shows beyond the framework's own sections, for a project's own kind of
 * data (e.g. the lakehouse's GPS track sketch). Every hook is optional.
 */
export interface AssetPageHooks {
  /** Numeric metadata plotted first, in this order; the rest follow alphabetically. Default: `row_count`. */
  leadingMetrics?: readonly string[];
  /**
   * Sections drawn after the metric plots, from the asset's latest materialization (not called without one).
   * May be async, so a hook can import its rendering code only when a page is drawn.
   */
  sections?: (latest: {
    assetKey: AssetKey;
    partitionKey: string;
    metadata: Metadata;
  }) => AssetPageSection[] | Promise<AssetPageSection[]>;
}

export interface DefinitionHooks {
  /**
   * Said after "upstream X has no partitions yet: no data to build from" when a run skips assets for want of
   * data (e.g. "Put exports in the inbox or load the sample with `fairway sample`").
   */
  noDataHint?: string;
  /** Called once per finished run with its summary. */
  onRunComplete?: (summary: RunSummary) => Promise<void> | void;
  /** Resolved configuration with secrets masked, for `fairway config`. */
  describeConfig?: () => unknown;
  /** Runs SQL on the profile's query engine, for `fairway query`, table previews and tests. */
  query?: (statements: string[], opts?: QueryOptions) => Promise<QueryResult[]>;
  /**
   * The table behind an asset (an Iceberg table, a dbt model), or undefined when it has none (files).
   * Lets the UI show table metadata and previews without knowing the lakehouse's tables.
   */
  tableOf?: (assetKey: AssetKey) => TableRef | undefined;
  /**
   * Reads row count, current snapshot id, max event time and the first `limit` rows of a table on the
   * profile's query engine, in one engine session. A missing table throws a FrameworkError with code
   * `TABLE_NOT_FOUND`; an engine that does not answer, a `ServiceUnavailableError`.
   */
  readTable?: (table: TableRef, opts: { limit: number }) => Promise<TableRead>;
  /**
   * The OpenLineage dataset an asset is (`namespace` = its data source, e.g. `s3://landing` or
   * `iceberg://catalog`; `name` = its path or table), or undefined for the default (namespace = the job
   * namespace, name = the asset key). Read only when OpenLineage emission is on.
   */
  lineageDatasetOf?: (assetKey: AssetKey) => LineageDataset | undefined;
  /** Additions to the UI's asset pages. */
  assetPage?: AssetPageHooks;
  /** Extra CLI commands, by name. */
  commands?: Record<string, ExtensionCommand>;
  /** Installs what the materializers need (venvs, jars), for `fairway bootstrap`. */
  bootstrap?: (onProgress: (message: string) => void) => Promise<void>;
}

/**
 * A plain cron schedule, fired by `fairway daemon`: materialize `selection` at each tick of `cron`
 * in the IANA `timezone`. Missed ticks (daemon down) fire once, not once per missed tick.
 */
export interface ScheduleDefinition {
  name: string;
  cron: string;
  timezone: string;
  selection: string;
  partition?: string;
  /** Skip asset partitions that are already FRESH (default true). */
  staleOnly?: boolean;
}

export interface Definitions<R = unknown> {
  assets: ReadonlyMap<AssetKey, AssetDefinition<AssetKey, R>>;
  resources: R;
  hooks: DefinitionHooks;
  schedules?: readonly ScheduleDefinition[];
  /** Slots per named pool (an asset's `pool`); a pool not listed has one slot. */
  pools?: Readonly<Record<string, number>>;
}

export interface DefineAssetsInput<R> {
  assets: readonly AssetDefinition<AssetKey, R>[];
  resources?: R;
  hooks?: DefinitionHooks;
  schedules?: readonly ScheduleDefinition[];
  /** Slots per named pool, e.g. `{ spark: 1 }` on a 2-core machine. */
  pools?: Readonly<Record<string, number>>;
}

export function didYouMean(key: string, candidates: readonly string[]): string {
  if (candidates.length === 0) return '';
  const best = closest(key, candidates as string[]);
  return distance(key, best) <= Math.max(3, Math.floor(key.length / 3)) ? ` Did you mean '${best}'?` : '';
}

/** Outputs written together, all or none (a multi-asset that cannot subset); `[key]` otherwise. */
export const writtenTogether = (def: AssetDefinition<AssetKey, unknown>): readonly AssetKey[] =>
  def.multi && !def.multi.canSubset ? def.multi.outputs : [def.key];

/** The partition mapping a step of `asset` uses for upstream `dep`. */
export function partitionMappingOf(
  asset: AssetDefinition<AssetKey, unknown>,
  dep: AssetDefinition<AssetKey, unknown>,
): PartitionMapping {
  const explicit = asset.partitionMappings?.[dep.key];
  if (explicit) return explicit;
  if (asset.partitions && dep.partitions) {
    const same = dimensionNames(asset.partitions).join(',') === dimensionNames(dep.partitions).join(',');
    return same ? 'identity' : 'all';
  }
  return 'all';
}

function validateBatchPolicy<R>(a: AssetDefinition<AssetKey, R>): void {
  const max = a.batch!.maxPartitions;
  if (!a.partitions) {
    throw new DefinitionError(
      'BATCH_POLICY_INVALID',
      `Asset '${a.key}' (in ${a.sourceFile}) has a batch policy but no partitions: only partitioned assets can batch.`,
    );
  }
  if (!Number.isInteger(max) || max < 1) {
    throw new DefinitionError(
      'BATCH_POLICY_INVALID',
      `Asset '${a.key}' (in ${a.sourceFile}) has batch.maxPartitions ${max}: use a positive integer.`,
    );
  }
}

/** The error for `a` depending on `dep`, which none of `keys` is (with the nearest key as a suggestion). */
export function unknownDependency(
  a: Pick<AssetDefinition, 'key' | 'sourceFile'>,
  dep: string,
  keys: readonly string[],
) {
  return new DefinitionError(
    'ASSET_DEP_UNKNOWN',
    `Asset '${dep}' is not defined (referenced by '${a.key}' in ${a.sourceFile}).${didYouMean(dep, [...keys])}`,
    { asset_key: a.key, dep, file: a.sourceFile },
  );
}

/**
 * Validates a whole definition set: key syntax, duplicate keys, unknown deps (with "did you mean"),
 * partitions and partition mappings. Cycles are reported by the graph builder.
 */
export function defineAssets<R = undefined>(input: DefineAssetsInput<R>): Definitions<R> {
  const assets = new Map<AssetKey, AssetDefinition<AssetKey, R>>();
  for (const a of input.assets) {
    if (!ASSET_KEY_PATTERN.test(a.key)) {
      throw new DefinitionError(
        'ASSET_KEY_INVALID',
        `Asset key '${a.key}' (in ${a.sourceFile}) is not a dotted lowercase key like 'silver.fact_telemetry_event'.`,
        { asset_key: a.key, file: a.sourceFile },
      );
    }
    const existing = assets.get(a.key);
    if (existing) {
      throw new DefinitionError(
        'ASSET_KEY_DUPLICATE',
        `Asset '${a.key}' is defined twice: in ${existing.sourceFile} and in ${a.sourceFile}. Rename one of them.`,
        { asset_key: a.key, files: [existing.sourceFile, a.sourceFile] },
      );
    }
    assets.set(a.key, a);
  }
  const keys = [...assets.keys()];
  for (const a of assets.values()) {
    for (const dep of a.deps) {
      if (!assets.has(dep)) throw unknownDependency(a, dep, keys);
    }
    if (new Set(a.deps).size !== a.deps.length) {
      throw new DefinitionError(
        'ASSET_DEP_DUPLICATE',
        `Asset '${a.key}' (in ${a.sourceFile}) lists a dependency twice.`,
      );
    }
    if (a.partitions) validatePartitionsDefinition(a.partitions, a.key);
    if (a.batch) validateBatchPolicy(a);
    const missing = (a.multi?.outputs ?? []).filter((k) => !assets.has(k));
    if (missing.length > 0) {
      throw new DefinitionError(
        'MULTI_ASSET_INCOMPLETE',
        `Asset '${a.key}' (in ${a.sourceFile}) is written by multi-asset '${a.multi!.name}' together with ${missing.join(', ')}, which the definitions leave out: pass every output of multiAsset() to defineAssets.`,
      );
    }
    for (const [dep, mapping] of Object.entries(a.partitionMappings ?? {})) {
      if (!a.deps.includes(dep)) {
        throw new DefinitionError(
          'PARTITION_MAPPING_INVALID',
          `Asset '${a.key}' (in ${a.sourceFile}) has a partition mapping for '${dep}', which is not one of its deps.`,
        );
      }
      const upstream = assets.get(dep)!;
      if (mapping === 'identity') {
        const mine = a.partitions ? dimensionNames(a.partitions).join(',') : '';
        const theirs = upstream.partitions ? dimensionNames(upstream.partitions).join(',') : '';
        if (!mine || mine !== theirs) {
          throw new DefinitionError(
            'PARTITION_MAPPING_INVALID',
            `Asset '${a.key}' (in ${a.sourceFile}) maps '${dep}' by identity, but their partitions differ ('${mine || 'none'}' vs '${theirs || 'none'}').`,
          );
        }
      }
    }
    const names = new Set<string>();
    for (const c of a.checks ?? []) {
      if (names.has(c.name)) {
        throw new DefinitionError(
          'CHECK_DUPLICATE',
          `Asset '${a.key}' (in ${a.sourceFile}) has two checks named '${c.name}'.`,
        );
      }
      names.add(c.name);
      if (c.scope === 'asset' && !c.evaluate && !a.evaluateAssetChecks) {
        throw new DefinitionError(
          'CHECK_UNEVALUABLE',
          `Check '${c.name}' of '${a.key}' (in ${a.sourceFile}) has scope 'asset' but neither its own evaluate() nor the asset's evaluateAssetChecks().`,
        );
      }
    }
  }
  for (const [name, slots] of Object.entries(input.pools ?? {})) {
    if (!Number.isInteger(slots) || slots < 1) {
      throw new DefinitionError('POOL_INVALID', `Pool '${name}' has ${slots} slots: use a positive integer.`);
    }
  }
  return {
    assets,
    resources: input.resources as R,
    hooks: input.hooks ?? {},
    pools: input.pools ?? {},
    ...(input.schedules ? { schedules: input.schedules } : {}),
  };
}
