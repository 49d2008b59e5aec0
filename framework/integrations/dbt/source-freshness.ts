import type { z } from 'zod';
import type { CheckResult, Metadata } from '../../definitions/index.ts';
import { md } from '../../definitions/index.ts';
import { lazySchema, type Zod } from '../../validation/index.ts';
import { parseDbtArtifact, resultsArtifactSchema } from './artifact.ts';
import { type DbtFreshnessSpec, describeThreshold } from './manifest.ts';

const thresholdSchema = (z: Zod) =>
  z.object({
    count: z.number().int().nullish(),
    period: z.enum(['minute', 'hour', 'day']).nullish(),
  });

const freshnessResultSchema = (z: Zod) => {
  const threshold = thresholdSchema(z);
  /** A table dbt could measure: how old its newest row is, and dbt's verdict. */
  const measured = z.object({
    unique_id: z.string(),
    status: z.enum(['pass', 'warn', 'error']),
    max_loaded_at: z.string(),
    snapshotted_at: z.string(),
    max_loaded_at_time_ago_in_s: z.number(),
    criteria: z
      .object({
        warn_after: threshold.nullish(),
        error_after: threshold.nullish(),
        filter: z.string().nullish(),
      })
      .default({}),
    execution_time: z.number().default(0),
  });
  /** A table dbt could not measure (missing table, bad loaded_at query, …). */
  const runtimeError = z.object({
    unique_id: z.string(),
    status: z.literal('runtime error'),
    error: z.union([z.string(), z.number()]).nullish(),
  });
  return z.discriminatedUnion('status', [measured, runtimeError]);
};
export type DbtFreshnessResult = z.infer<ReturnType<typeof freshnessResultSchema>>;

/** dbt's `sources.json` (v3), written by `dbt source freshness`; built on first use. */
export const sourcesJsonSchema = lazySchema((z) => resultsArtifactSchema(z, freshnessResultSchema(z)));
export type DbtSourcesJson = z.infer<ReturnType<typeof sourcesJsonSchema>>;

/** Parses `sources.json`; the error names the file and the first bad field. */
export function parseSourcesJson(raw: unknown, file = 'sources.json'): DbtSourcesJson {
  return parseDbtArtifact(sourcesJsonSchema(), raw, {
    file,
    artifact: 'sources.json',
    code: 'DBT_SOURCES_JSON_INVALID',
  });
}

/** Like `52 h` or `328 d`: precise enough to compare with thresholds in hours or days. */
export function formatAge(seconds: number): string {
  if (seconds < 2 * 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 7 * 86400) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

const GENERIC_ERROR = /^(Runtime|Database|Compilation) Error$/;

/**
 * Why dbt could not measure tables, by table name, from its console output. dbt 1.11 leaves such a
 * table out of sources.json; its summary prints `Runtime Error in source <table> (<file>)`, then the
 * error's headings, then the engine's message.
 */
export function freshnessErrorsFromLog(lines: readonly string[]): Map<string, string> {
  const errors = new Map<string, string>();
  for (let i = 0; i < lines.length; i++) {
    const table = /Runtime Error in source (\S+) \(/.exec(lines[i]!)?.[1];
    if (!table) continue;
    const detail = lines
      .slice(i + 1, i + 6)
      .map((l) => l.trim())
      .find((l) => l !== '' && !GENERIC_ERROR.test(l));
    if (detail) errors.set(table, detail.slice(0, 500));
  }
  return errors;
}

/**
 * The check result of one source table's freshness. dbt `pass` passes; `warn` is a warning; `error`
 * (older than error_after) and a table dbt could not measure take the spec's severity, so only a
 * user who configured freshness as `error` gets a blocked downstream. A missing result fails too:
 * a gate cannot pass by not measuring. `error` is dbt's message for a table it could not measure.
 */
export function freshnessCheckResult(
  spec: DbtFreshnessSpec,
  result: DbtFreshnessResult | undefined,
  sourcesPath: string,
  error?: string,
): CheckResult {
  const metadata: Metadata = { dbt_unique_id: md.text(spec.uniqueId), sources_json_path: md.path(sourcesPath) };
  if (!result) {
    return {
      name: spec.name,
      passed: false,
      severity: spec.severity,
      description: error
        ? `dbt could not measure the freshness of ${spec.assetKey}: ${error}`
        : `dbt reported no freshness for ${spec.assetKey}; its output is in the step's compute log (${sourcesPath})`,
      metadata,
    };
  }
  metadata.dbt_status = md.text(result.status);
  if (result.status === 'runtime error') {
    return {
      name: spec.name,
      passed: false,
      severity: spec.severity,
      description: `dbt could not measure the freshness of ${spec.assetKey}: ${firstLine(String(result.error ?? ''))}`,
      metadata,
    };
  }
  const age = result.max_loaded_at_time_ago_in_s;
  metadata.max_loaded_at = md.text(result.max_loaded_at);
  metadata.snapshotted_at = md.text(result.snapshotted_at);
  metadata.age_seconds = md.int(Math.round(age));
  metadata.criteria = md.json(result.criteria);
  metadata.execution_time_ms = md.int(Math.round(result.execution_time * 1000));
  const warnAfter = thresholdOf(result.criteria.warn_after);
  const errorAfter = thresholdOf(result.criteria.error_after);
  const newest = `newest row loaded ${formatAge(age)} ago (${result.max_loaded_at})`;
  if (result.status === 'pass') {
    const limits = [warnAfter && `warn after ${warnAfter}`, errorAfter && `error after ${errorAfter}`].filter(Boolean);
    return {
      name: spec.name,
      passed: true,
      severity: spec.severity,
      description: `${spec.assetKey} is fresh: ${newest}${limits.length ? `; ${limits.join(', ')}` : ''}`,
      metadata,
    };
  }
  const past = result.status === 'warn' ? `warn_after ${warnAfter ?? '?'}` : `error_after ${errorAfter ?? '?'}`;
  const severity = result.status === 'warn' ? 'warn' : spec.severity;
  return {
    name: spec.name,
    passed: false,
    severity,
    description: `${spec.assetKey} is stale: ${newest}, past ${past}${result.status === 'error' && severity === 'warn' ? ' (freshness errors are warnings here: configured severity warn)' : ''}`,
    metadata,
  };
}

const thresholdOf = (t: z.infer<ReturnType<typeof thresholdSchema>> | null | undefined) =>
  t?.count != null && t.period != null ? describeThreshold({ count: t.count, period: t.period }) : undefined;

const firstLine = (s: string) => s.trim().split('\n')[0]!.slice(0, 500);
