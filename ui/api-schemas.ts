import { z } from 'zod';
import { FRESHNESS_STATES, RUN_STATUSES, STATUS_KINDS } from '../framework/states/index.ts';

// The JSON the API takes and answers, as zod schemas: the server's answers are typed by them, the OpenAPI document is
// generated from them (openapi.ts), and the browser code (static/*.js, `// @ts-check`) imports their types.
// Only zod is imported here, so the browser's type check does not pull in the server.

/** Every schema with a name in the OpenAPI document's `components.schemas`. */
export const apiSchemas = z.registry<{ id: string }>();
const named = <T extends z.ZodType>(id: string, schema: T): T => {
  apiSchemas.add(schema, { id });
  return schema;
};

const iso = z.string().describe('ISO-8601 time');
const isoOrNull = iso.nullable();

export const RunStatusSchema = z.enum(RUN_STATUSES);
export const StatusKindSchema = z.enum(STATUS_KINDS);
const FreshnessStateSchema = z.enum(FRESHNESS_STATES);
const CheckBadgeSchema = z.enum(['passed', 'warn', 'failed']).nullable();
const NextPage = z
  .union([z.number().int(), z.string()])
  .nullable()
  .describe('Pass as `before` for the next page; null on the last page');
const MetadataSchema = z.record(z.string(), z.object({ type: z.string(), value: z.unknown() }));

/** `POST /api/runs`. */
export const LaunchBody = z.object({
  selection: z.string().trim().min(1, 'selection is empty').max(2000),
  partition: z.string().trim().min(1).max(500).optional(),
  staleOnly: z.boolean().optional(),
});
export type LaunchBody = z.input<typeof LaunchBody>;

export const ErrorBody = named(
  'Error',
  z.object({ error: z.object({ code: z.string(), message: z.string() }) }).describe('Every 4xx and 5xx answer'),
);

export type ErrorBody = z.infer<typeof ErrorBody>;

/** One partition's freshness ("" when unpartitioned). */
const PartitionFreshness = named(
  'PartitionFreshness',
  z.object({
    partition_key: z.string(),
    state: FreshnessStateSchema,
    text: z.string().describe('In plain words, as `fairway why` prints it'),
    warn_at: isoOrNull.describe('When it turns WARN unless materialized; null when nothing is pending'),
    due_at: isoOrNull.describe('When it turns OVERDUE unless materialized; null when nothing is pending'),
    pending_since: isoOrNull.describe('Arrival of the earliest data it does not reflect'),
    day: z
      .object({ dimension: z.string(), value: z.string(), ends_at: iso })
      .nullable()
      .describe("The partition's own day a deadline is keyed on, and when it ends in the deadline's time zone"),
  }),
);
export type PartitionFreshnessView = z.infer<typeof PartitionFreshness>;

/** An asset's freshness: its worst partition (earliest due first), the policy in words, counts per state. */
export const FreshnessSummary = named(
  'Freshness',
  PartitionFreshness.omit({ pending_since: true, day: true }).extend({
    policy: z.string(),
    counts: z.record(FreshnessStateSchema, z.number().int()),
  }),
);
export type FreshnessSummary = z.infer<typeof FreshnessSummary>;

export const FreshnessDetail = named(
  'FreshnessDetail',
  FreshnessSummary.extend({ partitions: z.array(PartitionFreshness) }),
);
export type FreshnessDetail = z.infer<typeof FreshnessDetail>;

export const AssetSummary = named(
  'AssetSummary',
  z.object({
    key: z.string(),
    group: z.string(),
    kinds: z.array(z.string()),
    status: StatusKindSchema,
    counts: z.partialRecord(StatusKindSchema, z.number().int()),
    first_cause: z.string().nullable(),
    latest_materialization: z
      .object({ ts: iso, run_id: z.string(), partition_key: z.string(), data_version: z.string() })
      .nullable(),
    checks: z.object({ passed: z.number(), warn: z.number(), failed: z.number(), badge: CheckBadgeSchema }),
    freshness: FreshnessSummary.nullable().describe('Null when the asset has no freshness policy'),
  }),
);
export type AssetSummary = z.infer<typeof AssetSummary>;
export const AssetsAnswer = named('AssetsAnswer', z.object({ assets: z.array(AssetSummary) }));
export type AssetsAnswer = z.infer<typeof AssetsAnswer>;

export const GraphAnswer = named(
  'Graph',
  z.looseObject({
    engine: z.string(),
    width: z.number(),
    height: z.number(),
    nodes: z.array(z.looseObject({ key: z.string(), status: StatusKindSchema })),
    edges: z.array(z.object({ from: z.string(), to: z.string() })),
    groups: z.array(z.looseObject({ name: z.string() })),
  }),
);

/** Only the fields described here are promised; the rest is what the asset page shows (queries.ts). */
export const AssetDetailAnswer = named(
  'AssetDetail',
  z.looseObject({
    key: z.string(),
    status: StatusKindSchema,
    freshness: FreshnessDetail.nullable().describe('Null when the asset has no freshness policy'),
  }),
);

export const Materialization = named(
  'Materialization',
  z.object({
    id: z.number().int().optional(),
    asset_key: z.string(),
    partition_key: z.string(),
    run_id: z.string(),
    ts: iso,
    data_version: z.string(),
    code_version: z.string(),
    input_versions: z.record(z.string(), z.string()),
    deps: z.array(z.string()),
    metadata: MetadataSchema,
    numeric: z.record(z.string(), z.number()).describe('The numeric metadata entries, for plots'),
  }),
);
export type Materialization = z.infer<typeof Materialization>;
export const HistoryPage = named('HistoryPage', z.object({ items: z.array(Materialization), next: NextPage }));
export type HistoryPage = z.infer<typeof HistoryPage>;

export const TableMetadata = named(
  'TableMetadata',
  z.object({
    asset_key: z.string(),
    table: z.string(),
    time_column: z.string().nullable(),
    engine: z.string(),
    row_count: z.number(),
    snapshot_id: z.string().nullable().describe('As text: Iceberg snapshot ids exceed 2^53'),
    max_event_time: isoOrNull,
    read_at: iso,
  }),
);
export type TableMetadata = z.infer<typeof TableMetadata>;
export const TablePreview = named(
  'TablePreview',
  z.object({
    asset_key: z.string(),
    table: z.string(),
    engine: z.string(),
    limit: z.number().int(),
    columns: z.array(z.string()),
    rows: z.array(z.array(z.unknown())),
    read_at: iso,
  }),
);
export type TablePreview = z.infer<typeof TablePreview>;

export const RunsPage = named(
  'RunsPage',
  z.object({
    items: z.array(z.looseObject({ run_id: z.string(), status: RunStatusSchema })),
    next: NextPage,
  }),
);
export const RunDetailAnswer = named(
  'RunDetail',
  z.looseObject({
    run: z.looseObject({ run_id: z.string(), status: RunStatusSchema }),
    live: z.boolean(),
  }),
);
export const Launched = named('Launched', z.object({ run_id: z.string(), url: z.string() }));
export type Launched = z.infer<typeof Launched>;
export const Canceling = named('Canceling', z.object({ run_id: z.string(), status: z.literal('CANCELING') }));
export type Canceling = z.infer<typeof Canceling>;
export const SelectionAnswer = named('Selection', z.object({ selection: z.string(), keys: z.array(z.string()) }));
export type SelectionAnswer = z.infer<typeof SelectionAnswer>;
export const SessionAnswer = named(
  'Session',
  z.union([
    z.object({ can_launch: z.literal(true), csrf_token: z.string() }),
    z.object({ can_launch: z.literal(false), reason: z.string() }),
  ]),
);
export type SessionAnswer = z.infer<typeof SessionAnswer>;

/** Server-sent `run-event`: one stored event. */
export const RunEvent = named(
  'RunEvent',
  z.object({
    event_id: z.number().int().optional(),
    run_id: z.string(),
    ts: iso,
    type: z.string(),
    asset_key: z.string().nullable(),
    partition_key: z.string().nullable(),
    level: z.enum(['debug', 'info', 'warn', 'error']),
    message: z.string(),
    data: z.record(z.string(), z.unknown()),
  }),
);
export type RunEvent = z.infer<typeof RunEvent>;
/** Server-sent `output`: new lines of one step's compute log. */
export const OutputChunk = named('OutputChunk', z.object({ step: z.string(), lines: z.array(z.string()) }));
export type OutputChunk = z.infer<typeof OutputChunk>;
/** Server-sent `end`, the last event of both streams. */
export const OpenApiAnswer = named('OpenApi', z.looseObject({ openapi: z.literal('3.1.0') }));
export const RunEnd = named('RunEnd', z.object({ status: RunStatusSchema, reason: z.string().nullable() }));
export type RunEnd = z.infer<typeof RunEnd>;
