import type { z } from 'zod';
import type { AssetKey } from '../definitions/index.ts';
import type { StalenessResult } from '../staleness/index.ts';
import type { MaterializationRecord } from '../storage/index.ts';
import { lazySchema } from '../validation/index.ts';

/**
 * A source version seen but not yet materialized. `since` starts the freshness clock (first change
 * seen); `stable_since` is when the current version was first seen, for the settle rule.
 */
export interface SourceArrival {
  version: string;
  since: string;
  stable_since: string;
}

/** `asset_key|partition_key` → arrival. Persisted as the `daemon:source_arrivals` cursor. */
export type SourceArrivals = Record<string, SourceArrival>;
// built on first parse (a `status` reads no cursor): see framework/validation
const sourceArrivalsSchema = lazySchema((z) =>
  z.record(z.string(), z.object({ version: z.string(), since: z.string(), stable_since: z.string() })),
);
export const SOURCE_ARRIVALS_CURSOR = 'daemon:source_arrivals';

/** Parses the cursor; a missing or unreadable one starts empty (arrival clocks restart from now). */
export function parseSourceArrivals(text: string | undefined): SourceArrivals {
  return parseCursor(text, sourceArrivalsSchema);
}

/** Pending data of policy partitions on the last tick (`asset|partition` → pending); see `remembered`. */
export const PENDING_CURSOR = 'daemon:pending';
const pendingMemorySchema = lazySchema((z) => z.record(z.string(), z.object({ since: z.string(), what: z.string() })));

export function parsePendingMemory(text: string | undefined): Map<string, { since: string; what: string }> {
  return new Map(Object.entries(parseCursor(text, pendingMemorySchema)));
}

function parseCursor<T>(text: string | undefined, schema: () => z.ZodType<Record<string, T>>): Record<string, T> {
  if (!text) return {};
  try {
    const parsed = schema().safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

/**
 * Updates the arrivals from this tick's observations: a source partition is pending when its observed
 * version differs from the one recorded at its latest materialization (or it was never materialized).
 * A changed version restarts `stable_since`; a materialization after `since` restarts the clock.
 */
export function trackSourceArrivals(
  previous: SourceArrivals,
  observations: ReadonlyMap<AssetKey, ReadonlyMap<string, string>>,
  staleness: StalenessResult,
  materializations: ReadonlyMap<AssetKey, ReadonlyMap<string, MaterializationRecord>>,
  now: Date,
): SourceArrivals {
  const nowIso = now.toISOString();
  const next: SourceArrivals = {};
  for (const [key, byPartition] of observations) {
    for (const [partition, version] of byPartition) {
      const status = staleness.get(key)?.get(partition);
      const latest = materializations.get(key)?.get(partition);
      const isPending = latest
        ? (status?.causes.some((c) => c.kind === 'source_changed') ?? false)
        : status?.status !== 'RUNNING';
      if (!isPending) continue;
      const id = `${key}|${partition}`;
      const prev = previous[id];
      const since = prev && (!latest || latest.ts < prev.since) ? prev.since : nowIso;
      next[id] = { version, since, stable_since: prev?.version === version ? prev.stable_since : nowIso };
    }
  }
  return next;
}

/** Arrival times by asset and partition, as `evaluateFreshness` takes them. */
export function arrivalTimes(arrivals: SourceArrivals): Map<AssetKey, Map<string, string>> {
  const out = new Map<AssetKey, Map<string, string>>();
  for (const [id, a] of Object.entries(arrivals)) {
    const at = id.indexOf('|');
    const key = id.slice(0, at);
    const byPartition = out.get(key) ?? new Map<string, string>();
    byPartition.set(id.slice(at + 1), a.since);
    out.set(key, byPartition);
  }
  return out;
}

/** Pending source partitions whose version changed less than `settleMs` ago → when they settle (ISO). */
export function settlingSources(arrivals: SourceArrivals, now: Date, settleMs: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const [id, a] of Object.entries(arrivals)) {
    const settlesAt = Date.parse(a.stable_since) + settleMs;
    if (settlesAt > now.getTime()) out.set(id, new Date(settlesAt).toISOString());
  }
  return out;
}
