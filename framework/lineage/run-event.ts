import { createHash } from 'node:crypto';

/** The OpenLineage core schema the events follow. */
export const OPENLINEAGE_SCHEMA_URL = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
/** Who wrote the events (`producer`, and each facet's `_producer`). */
export const FAIRWAY_PRODUCER = 'urn:fairway:framework';

const facetUrl = (name: string, version: string) =>
  `https://openlineage.io/spec/facets/${version}/${name}.json#/$defs/${name}`;

/** The facet schema versions Fairway writes (`_schemaURL`). */
export const FACET_SCHEMA_URLS = {
  parent: facetUrl('ParentRunFacet', '1-1-0'),
  errorMessage: facetUrl('ErrorMessageRunFacet', '1-0-1'),
  jobType: facetUrl('JobTypeJobFacet', '2-0-3'),
  schema: facetUrl('SchemaDatasetFacet', '1-2-0'),
  version: facetUrl('DatasetVersionDatasetFacet', '1-0-0'),
  outputStatistics: facetUrl('OutputStatisticsOutputDatasetFacet', '1-0-2'),
  dataQualityAssertions: facetUrl('DataQualityAssertionsDatasetFacet', '1-0-0'),
} as const;

export type Facet = { _producer: string; _schemaURL: string } & Record<string, unknown>;

/** An OpenLineage dataset: `namespace` is its data source (`s3://bucket`, `iceberg://…`), `name` its path or table. */
export interface DatasetRef {
  namespace: string;
  name: string;
}

export interface RunEvent {
  eventType: 'START' | 'COMPLETE' | 'FAIL' | 'ABORT';
  eventTime: string;
  producer: string;
  schemaURL: string;
  run: { runId: string; facets?: Record<string, Facet> };
  job: { namespace: string; name: string; facets?: Record<string, Facet> };
  inputs: (DatasetRef & { facets?: Record<string, Facet>; inputFacets?: Record<string, Facet> })[];
  outputs: (DatasetRef & { facets?: Record<string, Facet>; outputFacets?: Record<string, Facet> })[];
}

/** A facet of `kind` with its base fields. */
export function facet(kind: keyof typeof FACET_SCHEMA_URLS, body: Record<string, unknown>): Facet {
  return { _producer: FAIRWAY_PRODUCER, _schemaURL: FACET_SCHEMA_URLS[kind], ...body };
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

const asUuid = (hex: string) =>
  `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;

/**
 * A Fairway run id (a ULID) as the UUID OpenLineage wants: the same 128 bits in hex, so a receiver's run
 * sorts by time as the ULID does and maps back to `fairway runs` (undefined if `runId` is not a ULID).
 */
export function ulidToUuid(runId: string): string | undefined {
  if (!/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i.test(runId)) return undefined;
  let n = 0n;
  for (const c of runId.toUpperCase()) n = n * 32n + BigInt(CROCKFORD.indexOf(c));
  return asUuid(n.toString(16).padStart(32, '0'));
}

/**
 * A stable UUID (version 5 layout, from SHA-256) for a name: a step's OpenLineage run id is derived from the
 * Fairway run and step ids, so its START and its COMPLETE agree without keeping state.
 */
export function stableUuid(...parts: string[]): string {
  const bytes = createHash('sha256').update(parts.join('\u0000')).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return asUuid(bytes.toString('hex'));
}

/** The UUID of a Fairway run: its ULID's bits, or a stable UUID of any other id (tests pass their own). */
export const runUuid = (runId: string) => ulidToUuid(runId) ?? stableUuid('fairway-run', runId);
