import { Cron } from 'croner';
import {
  type AssetKey,
  type Definitions,
  type FreshnessPolicy,
  isIsoDay,
  type PartitionsDefinition,
  type ScheduleDefinition,
} from '../definitions/index.ts';
import { DefinitionError } from '../errors/index.ts';
import { endOfDay } from './zoned-day.ts';

const MINUTE = 60_000;

const crons = new Map<string, Cron>();

function cronOf(pattern: string, timezone: string, owner: string): Cron {
  const cached = crons.get(`${timezone} ${pattern}`);
  if (cached) return cached;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new DefinitionError(
      'TIMEZONE_INVALID',
      `${owner} uses time zone '${timezone}', which is not an IANA time zone (e.g. 'America/Chicago', 'UTC').`,
      { timezone },
    );
  }
  try {
    const cron = new Cron(pattern, { timezone, paused: true });
    crons.set(`${timezone} ${pattern}`, cron);
    return cron;
  } catch (e) {
    throw new DefinitionError(
      'CRON_INVALID',
      `${owner} has cron '${pattern}', which does not parse: ${(e as Error).message}`,
      { cron: pattern },
    );
  }
}

/** The first tick of `pattern` in `timezone` strictly after `after`. */
export function nextCronTick(pattern: string, timezone: string, after: Date): Date | null {
  return cronOf(pattern, timezone, `Cron '${pattern}'`).nextRun(after);
}

/** Throws a DefinitionError naming the asset when its freshness policy is malformed. */
export function validateFreshnessPolicy(key: AssetKey, policy: FreshnessPolicy): void {
  const owner = `The freshness policy of '${key}'`;
  const bad = (what: string) => {
    throw new DefinitionError('FRESHNESS_POLICY_INVALID', `${owner} ${what}.`, { asset_key: key });
  };
  if (!policy.maxLag && !policy.deadline) bad('sets neither maxLag nor deadline');
  const nonNegative = (n: number | undefined) => n === undefined || (Number.isFinite(n) && n >= 0);
  if (policy.maxLag) {
    const { warnAfterMinutes, failAfterMinutes } = policy.maxLag;
    if (!nonNegative(warnAfterMinutes) || !nonNegative(failAfterMinutes) || failAfterMinutes <= 0)
      bad('needs maxLag windows in minutes, failAfterMinutes > 0');
    if (warnAfterMinutes > failAfterMinutes) bad('warns after it fails (maxLag.warnAfterMinutes > failAfterMinutes)');
  }
  if (policy.deadline) {
    const d = policy.deadline;
    if (![d.dataCutoffMinutes, d.warnBeforeMinutes, d.failAfterMinutes].every(nonNegative))
      bad('needs non-negative deadline windows in minutes');
    cronOf(d.cron, d.timezone, owner);
  }
}

/** Validates every freshness policy and schedule of a definition set (the daemon calls this at start). */
export function validateScheduling(defs: Definitions<unknown>): void {
  for (const a of defs.assets.values()) if (a.freshness) validateFreshnessPolicy(a.key, a.freshness);
  const names = new Set<string>();
  for (const s of defs.schedules ?? []) validateSchedule(s, names);
}

function validateSchedule(s: ScheduleDefinition, names: Set<string>): void {
  if (names.has(s.name))
    throw new DefinitionError('SCHEDULE_DUPLICATE', `Two schedules are named '${s.name}'; rename one.`, {
      schedule: s.name,
    });
  names.add(s.name);
  cronOf(s.cron, s.timezone, `Schedule '${s.name}'`);
}

/** When a policy WARNs and turns OVERDUE for data pending since a given time. */
export interface PolicyWindows {
  warnAt: number;
  dueAt: number;
  deadlineTick: number | null;
  /** The day the deadline is keyed on (a date-partitioned asset) and when it ends in the deadline's zone. */
  day: { value: string; endsAt: number } | null;
}

/**
 * When data pending since `pendingSince` makes the policy WARN and OVERDUE. For a deadline, that data
 * must be in by the first tick whose cutoff (tick − dataCutoffMinutes) is after its arrival. With
 * `partitionDay` (the partition's own date, `YYYY-MM-DD`), the data of that day counts as arriving no
 * earlier than the day's end in the deadline's time zone: day D is due at the first tick whose cutoff is
 * at or after the end of D, and data that arrives later still counts from its arrival.
 */
export function policyWindows(
  policy: FreshnessPolicy,
  pendingSince: Date,
  partitionDay?: string | null,
): PolicyWindows {
  let warnAt = Number.POSITIVE_INFINITY;
  let dueAt = Number.POSITIVE_INFINITY;
  let deadlineTick: number | null = null;
  let day: PolicyWindows['day'] = null;
  if (policy.maxLag) {
    warnAt = pendingSince.getTime() + policy.maxLag.warnAfterMinutes * MINUTE;
    dueAt = pendingSince.getTime() + policy.maxLag.failAfterMinutes * MINUTE;
  }
  if (policy.deadline) {
    const d = policy.deadline;
    let since = pendingSince.getTime();
    if (partitionDay) {
      const endsAt = endOfDay(partitionDay, d.timezone);
      day = { value: partitionDay, endsAt };
      // "Cutoff at or after the end of the day": just before the end, as `nextCronTick` is strict.
      since = Math.max(since, endsAt - 1);
    }
    const tick = nextCronTick(d.cron, d.timezone, new Date(since + (d.dataCutoffMinutes ?? 0) * MINUTE));
    if (tick) {
      deadlineTick = tick.getTime();
      warnAt = Math.min(warnAt, deadlineTick - (d.warnBeforeMinutes ?? 0) * MINUTE);
      dueAt = Math.min(dueAt, deadlineTick + (d.failAfterMinutes ?? 0) * MINUTE);
    }
  }
  return { warnAt, dueAt, deadlineTick, day };
}

/**
 * The daily dimension a deadline of an asset with these partitions is keyed on (`ingest_date` of
 * course_id × ingest_date), or null: unpartitioned, or no daily dimension.
 */
export function dayDimension(partitions: PartitionsDefinition | undefined): string | null {
  if (!partitions) return null;
  const dims = partitions.kind === 'multi' ? partitions.dimensions : [partitions];
  return dims.find((d) => d.kind === 'daily')?.name ?? null;
}

/** The value of dimension `dimension` in canonical `partitionKey` when it is a real `YYYY-MM-DD` day. */
export function partitionDay(partitionKey: string, dimension: string): string | null {
  const value = partitionKey
    .split(',')
    .find((kv) => kv.startsWith(`${dimension}=`))
    ?.slice(dimension.length + 1);
  return value !== undefined && isIsoDay(value) ? value : null;
}

/** The policy in a few words, for reasons, `fairway why` and the UI; `day` names the dimension a deadline is keyed on. */
export function describePolicy(policy: FreshnessPolicy, day?: string | null): string {
  const parts: string[] = [];
  if (policy.maxLag) parts.push(`max lag ${policy.maxLag.failAfterMinutes}m (warn ${policy.maxLag.warnAfterMinutes}m)`);
  if (policy.deadline) {
    const d = policy.deadline;
    parts.push(
      day
        ? `deadline '${d.cron}' ${d.timezone} per ${day}: the first tick ${d.dataCutoffMinutes ? `${d.dataCutoffMinutes}m or more ` : ''}after the day ends`
        : `deadline '${d.cron}' ${d.timezone}${d.dataCutoffMinutes ? ` for data ${d.dataCutoffMinutes}m before it` : ''}`,
    );
  }
  return parts.join(' and ');
}
