import { utcOffsetMs } from '../../../framework/freshness/index.ts';
import type { Course } from '../courses.ts';
import { rngFor } from './prng.ts';

/** One section of a course: where a fix lands and how it is numbered. */
export interface Section {
  /** 1-based hole number as the device reports it (1-9 repeat per nine on three-nines/loop courses). */
  hole: number;
  holeSection: number;
  /** Course-level cumulative index (never restarts). */
  sectionNumber: number;
  lon: number;
  lat: number;
}

export interface CourseModel {
  id: string;
  name: string;
  centre: [number, number];
  timezone: string;
  kind: Course['kind'];
  /** Physical holes: 9 (loop), 18 or 27. */
  holes: number;
  /** sections[h] = sections of physical hole h (0-based), in play order. */
  sections: Section[][];
  totalSections: number;
}

const M_PER_DEG_LAT = 111_320;

/** Offsets a [lon, lat] point by metres east/north. */
export function offsetMetres(centre: readonly [number, number], east: number, north: number): [number, number] {
  const [lon, lat] = centre;
  return [lon + east / (M_PER_DEG_LAT * Math.cos((lat * Math.PI) / 180)), lat + north / M_PER_DEG_LAT];
}

/**
 * Lays each nine out as a loop of holes around the course centre (several nines sit around it),
 * so every section is within about 1.1 km of the centre.
 */
export function buildCourseModel(id: string, course: Course, seed: number): CourseModel {
  const rng = rngFor(seed, 'course', id);
  const holes = course.kind === 'nine-loop' ? 9 : course.holes;
  const perHole =
    course.sections_per_hole && course.sections_per_hole.length === holes
      ? course.sections_per_hole
      : Array.from({ length: holes }, () => (rng.chance(0.2) ? 4 : rng.chance(0.15) ? 2 : 3));
  const nines = holes / 9;
  const sections: Section[][] = [];
  let n = 0;
  for (let h = 0; h < holes; h++) {
    const nine = Math.floor(h / 9);
    // Loop centre of this nine: the centre itself for one nine, else spread around it.
    const loopAngle = (2 * Math.PI * nine) / nines + 0.6;
    const loopOffset = nines === 1 ? 0 : 420;
    const loopCentre = offsetMetres(course.centre, loopOffset * Math.cos(loopAngle), loopOffset * Math.sin(loopAngle));
    const radius = nines === 1 ? 560 : 430;
    const a0 = (2 * Math.PI * (h % 9)) / 9;
    const a1 = (2 * Math.PI * ((h % 9) + 1)) / 9;
    const bulge = rng.float(0.75, 1.15);
    const count = perHole[h]!;
    const hs: Section[] = [];
    for (let s = 0; s < count; s++) {
      n += 1;
      const f = count === 1 ? 0 : s / (count - 1);
      const angle = a0 + (a1 - a0) * f * 0.85;
      const r = radius * (1 + (bulge - 1) * Math.sin(Math.PI * f));
      const [lon, lat] = offsetMetres(loopCentre, r * Math.cos(angle), r * Math.sin(angle));
      hs.push({
        hole: (h % 9) + 1 + (course.kind === 'eighteen' ? nine * 9 : 0),
        holeSection: s + 1,
        sectionNumber: n,
        lon,
        lat,
      });
    }
    sections.push(hs);
  }
  return {
    id,
    name: course.name,
    centre: course.centre,
    timezone: course.timezone,
    kind: course.kind,
    holes,
    sections,
    totalSections: n,
  };
}

/** Minutes east of UTC of `timeZone` at the given instant (DST-aware). */
function tzOffsetMinutes(timeZone: string, epochMs: number): number {
  return Math.round(utcOffsetMs(timeZone, epochMs) / 60_000);
}

/** Epoch seconds of a local wall-clock time on an ISO day in the course's time zone. */
const dayOffsets = new Map<string, number>();

export function localToEpochSec(timeZone: string, isoDay: string, minutesAfterMidnight: number): number {
  const naive = Date.parse(`${isoDay}T00:00:00Z`) + minutesAfterMidnight * 60_000;
  // Tee times are daytime, so the offset at local noon holds (DST switches at night).
  const cacheKey = `${timeZone}|${isoDay}`;
  let off = dayOffsets.get(cacheKey);
  if (off === undefined) {
    off = tzOffsetMinutes(timeZone, Date.parse(`${isoDay}T12:00:00Z`));
    dayOffsets.set(cacheKey, off);
  }
  return Math.round((naive - off * 60_000) / 1000);
}
