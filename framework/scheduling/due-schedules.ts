import type { ScheduleDefinition } from '../definitions/index.ts';
import { nextCronTick } from '../freshness/index.ts';

export const scheduleCursor = (name: string) => `schedule:${name}`;

export interface DueSchedule {
  schedule: ScheduleDefinition;
  /** The latest tick at or before now (ISO); earlier missed ticks are not fired separately. */
  tick: string;
}

/**
 * Which schedules have a tick at or before `now` after the last one fired (`cursors`: name → ISO).
 * A schedule seen for the first time starts from `now` (returned in `start`), so deploying one never
 * fires a backlog.
 */
export function dueSchedules(
  schedules: readonly ScheduleDefinition[],
  cursors: ReadonlyMap<string, string | undefined>,
  now: Date,
): { due: DueSchedule[]; start: Map<string, string> } {
  const due: DueSchedule[] = [];
  const start = new Map<string, string>();
  for (const schedule of schedules) {
    const last = cursors.get(schedule.name);
    if (!last) {
      start.set(schedule.name, now.toISOString());
      continue;
    }
    let tick = nextCronTick(schedule.cron, schedule.timezone, new Date(last));
    if (!tick || tick > now) continue;
    for (let i = 0; i < 100_000; i++) {
      const next = nextCronTick(schedule.cron, schedule.timezone, tick);
      if (!next || next > now) break;
      tick = next;
    }
    due.push({ schedule, tick: tick.toISOString() });
  }
  return { due, start };
}
