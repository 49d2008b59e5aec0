import type { z } from 'zod';
import type { AssetKey, CheckSeverity } from '../../definitions/index.ts';
import { hashText } from '../../definitions/index.ts';
import { lazySchema } from '../../validation/index.ts';
import { parseDbtArtifact } from './artifact.ts';
import { compareCodeUnits } from './compare.ts';

/** The part of dbt's `manifest.json` (v12) Fairway reads; everything else passes through unparsed. */
const schemas = lazySchema((z) => {
  const DependsOnSchema = z.object({
    nodes: z.array(z.string()).default([]),
    macros: z.array(z.string()).default([]),
  });

  const NodeSchema = z.object({
    unique_id: z.string(),
    resource_type: z.string(),
    package_name: z.string(),
    name: z.string(),
    schema: z.string(),
    alias: z.string().nullish(),
    description: z.string().default(''),
    original_file_path: z.string(),
    path: z.string(),
    tags: z.array(z.string()).default([]),
    checksum: z.object({ name: z.string(), checksum: z.string() }),
    config: z.looseObject({
      materialized: z.string().optional(),
      severity: z.string().optional(),
      warn_if: z.string().optional(),
      error_if: z.string().optional(),
      enabled: z.boolean().optional(),
    }),
    depends_on: DependsOnSchema.default({ nodes: [], macros: [] }),
    attached_node: z.string().nullish(),
    column_name: z.string().nullish(),
    test_metadata: z.object({ name: z.string() }).nullish(),
  });

  const FreshnessTimeSchema = z.object({
    count: z.number().int().nullish(),
    period: z.enum(['minute', 'hour', 'day']).nullish(),
  });

  const SourceSchema = z.object({
    unique_id: z.string(),
    source_name: z.string(),
    name: z.string(),
    schema: z.string(),
    identifier: z.string().nullish(),
    description: z.string().default(''),
    freshness: z
      .object({
        warn_after: FreshnessTimeSchema.nullish(),
        error_after: FreshnessTimeSchema.nullish(),
        filter: z.string().nullish(),
      })
      .nullish(),
    /** `meta.fairway.freshness_severity`: what a dbt freshness `error` is in Fairway (default warn). */
    meta: z
      .looseObject({
        fairway: z.looseObject({ freshness_severity: z.enum(['warn', 'error']).optional() }).optional(),
      })
      .default({}),
  });

  const MacroSchema = z.object({
    unique_id: z.string(),
    package_name: z.string(),
    macro_sql: z.string(),
    depends_on: z.object({ macros: z.array(z.string()).default([]) }).default({ macros: [] }),
  });

  const manifest = z.object({
    metadata: z.object({
      dbt_schema_version: z.string(),
      dbt_version: z.string(),
      adapter_type: z.string().nullish(),
      project_name: z.string().nullish(),
    }),
    nodes: z.record(z.string(), NodeSchema),
    sources: z.record(z.string(), SourceSchema),
    macros: z.record(z.string(), MacroSchema).default({}),
  });
  return { manifest, node: NodeSchema, freshnessTime: FreshnessTimeSchema, source: SourceSchema };
});
/** dbt's `manifest.json` as Fairway reads it (the schema, built on first use). */
export const dbtManifestSchema = () => schemas().manifest;
/**
 * The version of what `dbtManifestSchema` keeps, naming the compact copy of a parsed manifest cached beside it
 * (load-dbt-project.ts): change it with the schema, or a cached copy would lack a new field. A test pins the
 * schema to this version.
 */
export const MANIFEST_CACHE_FORMAT = 1;
export type DbtManifest = z.infer<ReturnType<typeof dbtManifestSchema>>;
type Schemas = ReturnType<typeof schemas>;
type ManifestNode = z.infer<Schemas['node']>;

/** What a dbt test and a source freshness check have in common as a Fairway check. */
interface DbtCheckSpec {
  /** dbt's unique id, as its artifacts (run_results.json, sources.json) name the node. */
  uniqueId: string;
  /** The check name (a test's dbt name, unique in the project; `<source>_<table>_freshness`). */
  name: string;
  /** What dbt's `error` becomes; dbt's `warn` is always a warning. */
  severity: CheckSeverity;
  /** Only an error-severity check gates downstream assets. */
  blocking: boolean;
  description: string;
  /** The asset the check is on (a model, or a source table's asset). */
  assetKey: AssetKey;
}

/** One dbt test as a Fairway check (its name is also what `dbt test --select` takes). */
export interface DbtTestSpec extends DbtCheckSpec {
  /** Where dbt writes the compiled SQL, relative to its target dir. */
  compiledPath: string;
}

/** One dbt model as a Fairway asset spec. */
export interface DbtModelSpec {
  uniqueId: string;
  name: string;
  /** `<schema>.<alias or name>`, matching the Iceberg `namespace.table`. */
  assetKey: AssetKey;
  /** Upstream assets: other models and the assets of the sources it reads, sorted. */
  deps: AssetKey[];
  /** The model's SQL checksum, combined with the project macros it uses. */
  codeVersion: string;
  description: string;
  materialized: string;
  tags: string[];
  /** The model's SQL file, relative to the project. */
  originalFilePath: string;
  compiledPath: string;
  tests: DbtTestSpec[];
}

/** A freshness threshold as dbt reports it (`{ count: 36, period: 'hour' }`). */
export interface DbtFreshnessTime {
  count: number;
  period: 'minute' | 'hour' | 'day';
}

/** `dbt source freshness` of one source table (`source.fairway.silver.fact_telemetry_event`) as a check on its asset. */
export interface DbtFreshnessSpec extends DbtCheckSpec {
  /** dbt `source:<source_name>.<table>` selector. */
  selector: string;
  /** The table's dbt name (`fact_telemetry_event`), as dbt's log lines name it. */
  table: string;
  warnAfter?: DbtFreshnessTime;
  errorAfter?: DbtFreshnessTime;
}

export interface DbtProjectSpec {
  adapterType: string;
  dbtVersion: string;
  /** Sorted by asset key. */
  models: DbtModelSpec[];
  /** Tests on sources, by the asset key of the source table they test. */
  sourceTests: Map<AssetKey, DbtTestSpec[]>;
  /** dbt `source:<source_name>.<table>` selector of each source asset. */
  sourceSelectors: Map<AssetKey, string>;
  /** Source tables with a freshness config (warn_after / error_after), by asset key. */
  sourceFreshness: Map<AssetKey, DbtFreshnessSpec>;
}

export interface TranslateOptions {
  /** Asset key of a source table; default `<schema>.<identifier>` (e.g. `silver.fact_telemetry_event`). */
  sourceAssetKey?: (source: { sourceName: string; name: string; schema: string; identifier: string }) => AssetKey;
}

/** Parses a manifest read from disk; the error names the file and the first bad field. */
export function parseManifest(raw: unknown, file = 'manifest.json'): DbtManifest {
  return parseDbtArtifact(dbtManifestSchema(), raw, {
    file,
    artifact: 'manifest',
    code: 'DBT_MANIFEST_INVALID',
    fix: "Re-run 'dbt parse' with the pinned dbt-core.",
  });
}

/**
 * A parsed manifest without what Fairway never reads: the macros of other packages (dbt's own, the adapter's;
 * 95% of them), which change only with the pinned dbt and so never enter a code version (projectMacroVersions).
 */
export function compactManifest(manifest: DbtManifest): DbtManifest {
  const root = manifest.metadata.project_name;
  const macros = Object.fromEntries(Object.entries(manifest.macros).filter(([, m]) => m.package_name === root));
  return { ...manifest, macros };
}

const severityOf = (node: ManifestNode): CheckSeverity =>
  (node.config.severity ?? 'error').toLowerCase() === 'warn' ? 'warn' : 'error';

/** dbt writes a YAML-defined test's SQL under `<yml path>/<test>.sql`, a .sql node's next to its own path. */
const compiledPathOf = (node: ManifestNode) =>
  /\.ya?ml$/.test(node.original_file_path)
    ? `compiled/${node.package_name}/${node.original_file_path}/${node.path}`
    : `compiled/${node.package_name}/${node.original_file_path}`;

function describeTest(node: ManifestNode): string {
  if (node.description) return node.description;
  const kind = node.test_metadata?.name ?? 'singular test';
  const severity = severityOf(node);
  const thresholds = [node.config.warn_if, node.config.error_if].some((t) => t && t !== '!= 0')
    ? ` (warn_if ${node.config.warn_if}, error_if ${node.config.error_if})`
    : '';
  return `dbt ${kind}${node.column_name ? ` on ${node.column_name}` : ''}, severity ${severity}${thresholds}`;
}

/**
 * Turns a dbt manifest into Fairway specs: each enabled model becomes an asset keyed
 * `<schema>.<name>` with deps from its refs and sources, each test a check on the asset it tests.
 * Pure: no I/O.
 */
export function translateManifest(manifest: DbtManifest, opts: TranslateOptions = {}): DbtProjectSpec {
  const sourceKeyOf =
    opts.sourceAssetKey ?? ((s: { schema: string; identifier: string }) => `${s.schema}.${s.identifier}`);
  const sourceKeys = new Map<string, AssetKey>();
  const sourceSelectors = new Map<AssetKey, string>();
  const sourceFreshness = new Map<AssetKey, DbtFreshnessSpec>();
  for (const s of Object.values(manifest.sources)) {
    const key = sourceKeyOf({
      sourceName: s.source_name,
      name: s.name,
      schema: s.schema,
      identifier: s.identifier ?? s.name,
    });
    sourceKeys.set(s.unique_id, key);
    sourceSelectors.set(key, `source:${s.source_name}.${s.name}`);
    const freshness = freshnessSpec(s, key);
    if (freshness) sourceFreshness.set(key, freshness);
  }

  const models = Object.values(manifest.nodes).filter((n) => n.resource_type === 'model' && n.config.enabled !== false);
  const modelKeys = new Map(models.map((m) => [m.unique_id, `${m.schema}.${m.alias ?? m.name}`]));
  const assetOf = (uniqueId: string) => modelKeys.get(uniqueId) ?? sourceKeys.get(uniqueId);

  const testsByAsset = new Map<AssetKey, DbtTestSpec[]>();
  for (const node of Object.values(manifest.nodes)) {
    if (node.resource_type !== 'test' || node.config.enabled === false) continue;
    // A test on several relations (e.g. relationships) belongs to the model it is declared on.
    const parents = node.depends_on.nodes;
    const attached =
      (node.attached_node && assetOf(node.attached_node)) ??
      parents.map((p) => modelKeys.get(p)).find((k) => k !== undefined) ??
      parents.map((p) => sourceKeys.get(p)).find((k) => k !== undefined);
    if (!attached) continue;
    const severity = severityOf(node);
    const spec: DbtTestSpec = {
      uniqueId: node.unique_id,
      name: node.name,
      severity,
      blocking: severity === 'error',
      description: describeTest(node),
      assetKey: attached,
      compiledPath: compiledPathOf(node),
    };
    testsByAsset.set(attached, [...(testsByAsset.get(attached) ?? []), spec]);
  }
  for (const list of testsByAsset.values()) list.sort((a, b) => compareCodeUnits(a.name, b.name));

  const macroVersion = projectMacroVersions(manifest);
  const specs: DbtModelSpec[] = models.map((m) => {
    const key = modelKeys.get(m.unique_id)!;
    const deps = [...new Set(m.depends_on.nodes.map(assetOf).filter((k): k is AssetKey => k !== undefined))].sort();
    const macros = [...new Set(m.depends_on.macros)].sort().map((id) => macroVersion(id));
    return {
      uniqueId: m.unique_id,
      name: m.name,
      assetKey: key,
      deps,
      codeVersion: hashText(m.checksum.checksum, ...macros),
      description: m.description,
      materialized: m.config.materialized ?? 'view',
      tags: [...m.tags].sort(),
      originalFilePath: m.original_file_path,
      compiledPath: compiledPathOf(m),
      tests: testsByAsset.get(key) ?? [],
    };
  });
  specs.sort((a, b) => compareCodeUnits(a.assetKey, b.assetKey));

  const sourceTests = new Map<AssetKey, DbtTestSpec[]>();
  for (const key of [...new Set(sourceKeys.values())].sort()) {
    const tests = testsByAsset.get(key);
    if (tests) sourceTests.set(key, tests);
  }
  return {
    adapterType: manifest.metadata.adapter_type ?? 'unknown',
    dbtVersion: manifest.metadata.dbt_version,
    models: specs,
    sourceTests,
    sourceSelectors,
    sourceFreshness: new Map([...sourceFreshness].sort(([a], [b]) => compareCodeUnits(a, b))),
  };
}

const thresholdOf = (t: z.infer<Schemas['freshnessTime']> | null | undefined): DbtFreshnessTime | undefined =>
  t?.count != null && t.period != null ? { count: t.count, period: t.period } : undefined;

/** Like `36 hours`. */
export const describeThreshold = (t: DbtFreshnessTime): string => `${t.count} ${t.period}${t.count === 1 ? '' : 's'}`;

/** The freshness check of a source table, or undefined when dbt would not check it (no threshold). */
function freshnessSpec(source: z.infer<Schemas['source']>, assetKey: AssetKey): DbtFreshnessSpec | undefined {
  const warnAfter = thresholdOf(source.freshness?.warn_after);
  const errorAfter = thresholdOf(source.freshness?.error_after);
  if (!warnAfter && !errorAfter) return undefined;
  const severity: CheckSeverity = source.meta.fairway?.freshness_severity ?? 'warn';
  const limits = [
    warnAfter && `warn after ${describeThreshold(warnAfter)}`,
    errorAfter && `error after ${describeThreshold(errorAfter)}`,
  ].filter(Boolean);
  return {
    uniqueId: source.unique_id,
    name: `${source.source_name}_${source.name}_freshness`,
    severity,
    blocking: severity === 'error',
    description: `dbt source freshness of ${assetKey}: ${limits.join(', ')}; a dbt error ${severity === 'error' ? 'blocks downstream assets' : 'is recorded as a warning'}`,
    assetKey,
    selector: `source:${source.source_name}.${source.name}`,
    table: source.name,
    ...(warnAfter ? { warnAfter } : {}),
    ...(errorAfter ? { errorAfter } : {}),
  };
}

/**
 * A version per macro id covering the project's own macros it calls, transitively. dbt's built-in
 * macros change only with the pinned dbt version, so only the root project's count.
 */
function projectMacroVersions(manifest: DbtManifest): (id: string) => string {
  const root = manifest.metadata.project_name;
  const memo = new Map<string, string>();
  const visit = (id: string, seen: Set<string>): string => {
    const cached = memo.get(id);
    if (cached !== undefined) return cached;
    const macro = manifest.macros[id];
    if (!macro || macro.package_name !== root || seen.has(id)) return id;
    seen.add(id);
    const inner = [...new Set(macro.depends_on.macros)].sort().map((m) => visit(m, seen));
    const v = `${id}:${hashText(macro.macro_sql, ...inner)}`;
    memo.set(id, v);
    return v;
  };
  return (id) => visit(id, new Set());
}
