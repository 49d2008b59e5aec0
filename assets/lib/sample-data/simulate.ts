import { type CourseModel, localToEpochSec, offsetMetres, type Section } from './course-model.ts';
import type { Rng } from './prng.ts';

/** One location (first fix on entering a section). lon/lat may be NaN or swapped by edge cases. */
export interface Loc {
  hole: number;
  holeSection: number;
  sectionNumber: number;
  /** Seconds after the round's startTime; null = missing offset. */
  startTime: number | null;
  lon: number;
  lat: number;
  pace: number;
  paceGap: number | null;
  positionalGap: number | null;
  battery: number;
  isCache: boolean;
  isProjected: boolean;
  isProblem: boolean;
}

interface CaptureLog {
  ts: string;
  level: string;
  code: string;
  msg: string;
}

/** One round string, the unit of both export formats. */
export interface Round {
  id: string;
  course: string;
  startSec: number;
  endSec: number | null;
  startHole: number;
  isNineHole: boolean;
  currentNine: number;
  goalTime: number;
  goalName: string;
  goalTimeFraction: number;
  complete: boolean;
  isSecondary: boolean;
  isAutoAssigned: boolean;
  device: string;
  firstFix: string | null;
  lastFix: string | null;
  captureLogs: CaptureLog[] | null;
  locations: Loc[];
  /** Not exported: which course's geometry the fixes come from (foreign rounds differ). */
  fixCourse: string;
  /** Planned number of sections; `complete` = visited ≥ 75% of these. */
  planned: number;
}

const GOAL_NAMES = ['Default', 'Default', 'Default', 'Weekday', 'Tournament', 'Default, weekend', 'League, 9 holes'];
const LOG_KINDS: [string, string, string][] = [
  ['error', 'UPLOAD_RETRY', 'retry 2, http 503'],
  ['warn', 'LOW_BATTERY', 'battery 18%, screen dimmed'],
  ['warn', 'GPS_WEAK', 'hdop 4.2, sats 5'],
  ['info', 'APP_RESUME', 'resumed after "sleep"'],
];

export const iso = (sec: number) => new Date(sec * 1000).toISOString();
const POW = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];
const dp = (x: number, digits: number) => Math.round(x * POW[digits]!) / POW[digits]!;

/** ObjectId-like hex: 8 hex of epoch seconds + 10 hex machine + 6 hex counter. */
export function objectId(sec: number, machine: string, counter: number): string {
  return (sec >>> 0).toString(16).padStart(8, '0') + machine + (counter & 0xffffff).toString(16).padStart(6, '0');
}

/** The sections a round plans to visit, in order, with the cumulative numbering it reports. */
function plannedPath(
  model: CourseModel,
  rng: Rng,
  nineHole: boolean,
  startHole: number,
  threeNines27: boolean,
): {
  path: Section[];
  currentNine: number;
} {
  const hole = (h: number) => model.sections[h]!;
  if (model.kind === 'nine-loop') {
    const pass1 = model.sections.flat();
    if (nineHole) return { path: pass1, currentNine: 1 };
    const n = pass1.length;
    return { path: [...pass1, ...pass1.map((s) => ({ ...s, sectionNumber: s.sectionNumber + n }))], currentNine: 1 };
  }
  if (model.kind === 'three-nines') {
    const nines = threeNines27
      ? [0, 1, 2]
      : nineHole
        ? [rng.int(0, 2)]
        : rng.pick([
            [0, 1],
            [1, 2],
            [0, 2],
          ] as number[][]);
    const path = nines.flatMap((n) => Array.from({ length: 9 }, (_, i) => hole(n * 9 + i)).flat());
    return { path, currentNine: nines[0]! + 1 };
  }
  const count = nineHole ? 9 : 18;
  const path: Section[] = [];
  for (let i = 0; i < count; i++) path.push(...hole((startHole - 1 + i) % 18));
  return { path, currentNine: startHole >= 10 ? 2 : 1 };
}

export interface RoundPlan {
  model: CourseModel;
  courseValue: string;
  teeSec: number;
  startHole: number;
  nineHole: boolean;
  firstOfDay: boolean;
  teeInterval: number;
  machine: string;
  counter: number;
}

/** Simulates one round: path, skips, walk-backs, timing, pace, battery and flags. */
export function simulateRound(plan: RoundPlan, rng: Rng): Round {
  const { model } = plan;
  const threeNines27 = model.kind === 'three-nines' && !plan.nineHole && rng.chance(0.06);
  const { path, currentNine } = plannedPath(model, rng, plan.nineHole, plan.startHole, threeNines27);
  // Start at the trigger zone: mostly the 2nd section of the start hole.
  const from = path[1] && path[1].holeSection === 2 && rng.chance(0.9) ? 1 : 0;
  let stopAt = path.length;
  if (!plan.nineHole && rng.chance(0.28)) stopAt = Math.max(from + 20, Math.floor(path.length * rng.float(0.35, 0.9)));
  const visited: Section[] = [];
  for (let i = from; i < stopAt; i++) {
    const s = path[i]!;
    const first = i === from;
    if (first || rng.chance(s.holeSection === 1 ? 0.95 : 0.9)) visited.push(s);
    if (!first && rng.chance(0.012) && i > from + 1) visited.push(path[i - 1]!, s);
  }
  while (visited.length < 18 && stopAt < path.length) visited.push(path[stopAt++]!);
  const fraction = threeNines27 ? 1.5 : plan.nineHole ? 0.5 : 1;
  const goalTime = rng.int(15_000, 16_000);
  const goalForRound = goalTime * fraction;
  const durationFull = rng.float(4.0, 4.6) * 3600 * fraction;
  const perSection = durationFull / path.length;
  const weak = rng.chance(0.16);
  const battery0 = rng.int(55, 100);
  const drain = weak ? rng.float(16, 26) : rng.float(3, 9);
  const problem = rng.chance(0.12) ? rng.int(0, visited.length) : -1;
  let paceGap = plan.teeInterval + rng.float(-60, 60);
  const locations: Loc[] = [];
  let t = rng.float(60, 300);
  let cacheLeft = 0;
  let prevIndex = from;
  for (let i = 0; i < visited.length; i++) {
    const s = visited[i]!;
    const pathIndex = path.indexOf(s, Math.max(0, prevIndex - 2));
    if (i > 0) t += Math.max(5, perSection * Math.max(1, pathIndex - prevIndex) * rng.float(0.75, 1.25));
    prevIndex = pathIndex < 0 ? prevIndex : pathIndex;
    let offset = rng.chance(0.4) ? dp(t, 1) : Math.round(t);
    const prev = locations[i - 1]?.startTime;
    if (prev != null && offset < prev + 5) offset = Math.ceil(prev + 5);
    t = offset;
    const [lon, lat] = offsetMetres([s.lon, s.lat], rng.normal() * 6, rng.normal() * 6);
    const elapsed = offset - (locations[0]?.startTime ?? offset);
    const pace = i === 0 ? 0 : dp(elapsed - (goalForRound * (prevIndex - from)) / path.length, 1);
    paceGap += rng.float(-25, 25);
    if (cacheLeft === 0 && i > 0 && rng.chance(0.008)) cacheLeft = rng.int(1, 4);
    const isCache = cacheLeft > 0;
    if (cacheLeft > 0) cacheLeft -= 1;
    locations.push({
      hole: s.hole,
      holeSection: s.holeSection,
      sectionNumber: s.sectionNumber,
      startTime: offset,
      lon: dp(lon, 6),
      lat: dp(lat, 6),
      pace,
      paceGap: plan.firstOfDay ? null : dp(paceGap, 1),
      positionalGap: plan.firstOfDay ? null : dp(paceGap - plan.teeInterval, 1),
      battery: Math.max(1, Math.min(100, Math.round(battery0 - (drain * offset) / 3600))),
      isCache,
      isProjected: rng.chance(0.02),
      isProblem: problem >= 0 && i >= problem && i < problem + 6,
    });
  }
  const planned = path.length - from;
  const last = locations[locations.length - 1]!;
  const startSec = plan.teeSec + rng.int(-60, 60);
  const endSec = startSec + Math.round(last.startTime! + rng.float(60, 300));
  const logs = rng.chance(0.12)
    ? Array.from({ length: rng.int(1, 3) }, () => {
        const [level, code, msg] = rng.pick(LOG_KINDS);
        return { ts: iso(startSec + rng.int(600, Math.max(601, endSec - startSec))), level, code, msg };
      }).sort((a, b) => (a.ts < b.ts ? -1 : 1))
    : null;
  const goalName = plan.nineHole && rng.chance(0.5) ? rng.pick(['Nine hole', 'League, 9 holes']) : rng.pick(GOAL_NAMES);
  return {
    id: objectId(startSec, plan.machine, plan.counter),
    course: plan.courseValue,
    startSec,
    endSec,
    startHole: plan.startHole,
    isNineHole: plan.nineHole,
    currentNine,
    goalTime,
    goalName,
    goalTimeFraction: fraction,
    complete: locations.length >= 0.75 * planned,
    isSecondary: false,
    isAutoAssigned: rng.chance(0.1),
    device: rng.hex(24),
    firstFix: objectId(startSec + Math.floor(locations[0]!.startTime!), rng.hex(10), rng.int(0, 0xffffff)),
    lastFix: objectId(startSec + Math.floor(last.startTime!), rng.hex(10), rng.int(0, 0xffffff)),
    captureLogs: logs,
    locations,
    fixCourse: model.id,
    planned,
  };
}

/** A second device in the same group: start within 120 s, nearly the same path. */
export function secondaryOf(r: Round, rng: Rng, machine: string, counter: number): Round {
  const shift = rng.int(20, 120);
  const startSec = r.startSec + shift;
  return {
    ...r,
    id: objectId(startSec, machine, counter),
    startSec,
    endSec: r.endSec === null ? null : r.endSec + rng.int(0, 60),
    isSecondary: true,
    device: rng.hex(24),
    firstFix: r.firstFix === null ? null : objectId(startSec, rng.hex(10), rng.int(0, 0xffffff)),
    lastFix: r.lastFix === null ? null : objectId(r.endSec ?? startSec, rng.hex(10), rng.int(0, 0xffffff)),
    captureLogs: null,
    locations: r.locations.map((l) => {
      const [lon, lat] = offsetMetres([l.lon, l.lat], rng.normal() * 4, rng.normal() * 4);
      return { ...l, lon: dp(lon, 6), lat: dp(lat, 6), battery: Math.max(1, l.battery - 3) };
    }),
  };
}

/**
 * Tee sheet of one day: local tee times, start holes and shotgun days. `lastTeeMinutes` (local minutes
 * after midnight) shortens the interval so that a busy day's last group still tees off by then.
 */
export function teeSheet(
  model: CourseModel,
  rng: Rng,
  day: string,
  groups: number,
  lastTeeMinutes?: number,
): { teeSec: number; startHole: number; nineHole: boolean; firstOfDay: boolean; teeInterval: number }[] {
  let interval = rng.int(8, 12) * 60;
  const shotgun = model.id === 'indiancreek' && rng.chance(0.5);
  const nineRate = model.kind === 'nine-loop' ? 0.35 : 0.12;
  const first = rng.int(6 * 60 + 30, 8 * 60);
  if (lastTeeMinutes !== undefined && groups > 1) {
    const fit = Math.floor(((lastTeeMinutes - first) * 60) / (groups - 1) / 15) * 15;
    interval = Math.min(interval, Math.max(60, fit));
  }
  return Array.from({ length: groups }, (_, g) => {
    const nineHole = !shotgun && rng.chance(nineRate);
    let startHole = 1;
    if (shotgun) startHole = (g % 18) + 1;
    else if (model.id === 'indiancreek') startHole = rng.chance(0.4) ? rng.pick([1, 10]) : rng.int(1, 18);
    else if (model.kind === 'eighteen') startHole = rng.chance(0.15) ? 10 : 1;
    if (model.kind === 'eighteen' && nineHole && startHole !== 10) startHole = 1;
    const minutes = shotgun ? 8 * 60 + 30 : first + (g * interval) / 60;
    return {
      teeSec: localToEpochSec(model.timezone, day, minutes) + (shotgun ? g * 15 : 0),
      startHole,
      nineHole,
      firstOfDay: g === 0,
      teeInterval: interval,
    };
  });
}
