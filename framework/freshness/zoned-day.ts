const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Wall-clock fields of instant `t` in `timezone`: [year, month, day, hour, minute, second]. */
function wallClock(timezone: string, t: number): number[] {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timezone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(t)).map((p) => [p.type, p.value]));
  return ['year', 'month', 'day', 'hour', 'minute', 'second'].map((k) => Number(parts[k]));
}

/** UTC offset of `timezone` at instant `t`, in ms (local − UTC; DST-aware). */
export function utcOffsetMs(timezone: string, t: number): number {
  const [y, mo, d, h, mi, s] = wallClock(timezone, t) as [number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s) - Math.floor(t / 1000) * 1000;
}

const isoDayOf = (timezone: string, t: number) => {
  const [y, mo, d] = wallClock(timezone, t) as [number, number, number];
  return `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
};

/**
 * The instant day `day` (`YYYY-MM-DD`) begins in the IANA `timezone`: its local midnight, or the end of
 * the daylight-saving gap when the clocks skip midnight; the first midnight when they repeat it.
 */
export function startOfDay(day: string, timezone: string): number {
  const wall = Date.parse(`${day}T00:00:00Z`);
  // The offsets before and after the day start; offsets change at most once within such a window.
  const candidates = [
    wall - utcOffsetMs(timezone, wall - 1.5 * DAY_MS),
    wall - utcOffsetMs(timezone, wall + 1.5 * DAY_MS),
  ];
  const inDay = candidates.filter((t) => isoDayOf(timezone, t) === day);
  return Math.min(...(inDay.length > 0 ? inDay : candidates));
}

/** The instant day `day` ends in `timezone` (the start of the next day). */
export function endOfDay(day: string, timezone: string): number {
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
  return startOfDay(next, timezone);
}
