import { FrameworkError } from '../../../framework/errors/index.ts';
import type { Course, Courses } from '../courses.ts';
import { haversineMetres } from './count.ts';
import { offsetMetres } from './course-model.ts';
import { rngFor } from './prng.ts';

/** Id of synthetic course n (1-based): `synth0001`, … — a lowercase slug and a safe partition value. */
export const syntheticCourseId = (n: number) => `synth${String(n).padStart(4, '0')}`;

/** A synthetic course and the real course it was derived from (its time zone and region). */
export interface SyntheticCourse {
  id: string;
  course: Course;
  derivedFrom: string;
}

const FIRST = [
  'Cedar',
  'Willow',
  'Eagle',
  'Heron',
  'Fox',
  'Stone',
  'Pine',
  'Oak',
  'Maple',
  'Aspen',
  'Hawk',
  'Quail',
  'Deer',
  'Falcon',
  'Birch',
  'Elk',
  'Sage',
  'Juniper',
  'Cypress',
  'Magnolia',
  'Bluff',
  'Prairie',
  'Lake',
  'River',
];
const SECOND = [
  'Ridge',
  'Creek',
  'Hollow',
  'Valley',
  'Meadows',
  'Point',
  'Run',
  'Springs',
  'Hills',
  'Crossing',
  'Landing',
  'Bend',
  'Glen',
  'Dunes',
  'Woods',
  'Bay',
];
const SUFFIX = ['Golf Club', 'Country Club', 'Golf Course', 'Golf Links', 'National', 'Golf Resort'];

/** Names compare the way `findCourse` matches them: case and punctuation ignored. */
const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Synthetic centres keep at least this distance from every other course centre. */
const MIN_SEPARATION_M = 3_000;

/**
 * `count` synthetic courses derived from the real ones by seeded variation: a real course picked
 * per synthetic course gives the time zone and the region (the centre is 8–250 km from it), plus a
 * fresh name and a 9-, 18- or 27-hole layout. Same (real, count, seed) → same courses; course n does
 * not depend on `count`, so asking for more courses only appends.
 * @example syntheticCourses(loadCourses('config/courses.json'), 200, 20250602)[0].id // 'synth0001'
 */
export function syntheticCourses(real: Courses, count: number, seed: number): SyntheticCourse[] {
  const bases = Object.keys(real).sort();
  if (count > 0 && bases.length === 0) {
    throw new FrameworkError('USAGE', 'Synthetic courses are derived from real ones: the course reference is empty.');
  }
  const taken = new Set(Object.entries(real).flatMap(([id, c]) => [norm(id), norm(c.name)]));
  const centres = Object.values(real).map((c) => c.centre);
  const out: SyntheticCourse[] = [];
  for (let n = 1; n <= count; n++) {
    const id = syntheticCourseId(n);
    const rng = rngFor(seed, 'synthetic', id);
    const derivedFrom = rng.pick(bases);
    const base = real[derivedFrom]!;
    let centre: [number, number] = base.centre;
    for (let attempt = 0; attempt < 20; attempt++) {
      const bearing = rng.float(0, 2 * Math.PI);
      const metres = rng.float(8_000, 250_000);
      const [lon, lat] = offsetMetres(base.centre, metres * Math.cos(bearing), metres * Math.sin(bearing));
      centre = [Number(lon.toFixed(4)), Number(lat.toFixed(4))];
      if (centres.every((c) => haversineMetres(c, centre) >= MIN_SEPARATION_M)) break;
    }
    centres.push(centre);
    const stem = `${rng.pick(FIRST)} ${rng.pick(SECOND)} ${rng.pick(SUFFIX)}`;
    let name = stem;
    for (let k = 2; taken.has(norm(name)); k++) name = `${stem} No. ${k}`;
    taken.add(norm(name));
    taken.add(norm(id));
    const roll = rng.next();
    const kind: Course['kind'] = roll < 0.2 ? 'nine-loop' : roll < 0.8 ? 'eighteen' : 'three-nines';
    const holes = kind === 'nine-loop' ? 9 : kind === 'eighteen' ? 18 : 27;
    const perHole = Array.from({ length: holes }, () => (rng.chance(0.2) ? 4 : rng.chance(0.15) ? 2 : 3));
    out.push({
      id,
      derivedFrom,
      course: {
        name,
        centre,
        timezone: base.timezone,
        holes,
        kind,
        nines: holes / 9,
        sections: perHole.reduce((a, b) => a + b, 0),
        sections_per_hole: perHole,
      },
    });
  }
  return out;
}
