import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { didYouMean } from '../../framework/definitions/index.ts';
import { FrameworkError } from '../../framework/errors/index.ts';
import { lazySchema, type Zod } from '../../framework/validation/index.ts';
import { moduleTexts, validatedOnce } from './validated-once.ts';

const courseSchema = (z: Zod) =>
  z.strictObject({
    name: z.string().min(1),
    /** [lon, lat] of the course, used by the swapped-coordinate rule. */
    centre: z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)]),
    timezone: z.string().refine(isIanaZone, 'an IANA time zone such as America/New_York'),
    holes: z.union([z.literal(9), z.literal(18), z.literal(27)]),
    kind: z.enum(['nine-loop', 'eighteen', 'three-nines']),
    nines: z.number().int().min(1).max(3).optional(),
    sections: z.number().int().positive().optional(),
    sections_per_hole: z.array(z.number().int().min(1).max(6)).optional(),
    /** Names of the course's units in nine order (Silver's nine_number 1, 2, 3), e.g. ["Lakes", "Woods"]. */
    units: z.array(z.string().trim().min(1)).min(1).max(3).optional(),
  });

const coursesSchema = lazySchema((z) =>
  z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'a lowercase course slug'), courseSchema(z)),
);

export type Course = z.infer<ReturnType<typeof courseSchema>>;
/** Course reference keyed by course id (slug). */
export type Courses = Record<string, Course>;

let canonicalZones: Set<string> | undefined;

function isIanaZone(tz: string): boolean {
  // the canonical names first (~1 ms); the first DateTimeFormat of a process costs ~20 ms (ICU's set-up), so
  // it only judges what the list lacks: aliases such as US/Eastern, or nonsense
  canonicalZones ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (canonicalZones.has(tz)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads and validates Fairway's course reference (`config/courses.json`). With `cacheFile`, the validation is
 * kept there and used again while the file's text and this code are the same.
 */
export function loadCourses(path: string, cacheFile?: string): Courses {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw unreadable(path, cause);
  }
  // Node's version too: its ICU data says which time zones exist
  const inputs = [process.version, text, ...moduleTexts(import.meta.url)];
  return validatedOnce(cacheFile, inputs, () => validateCourses(path, text));
}

const unreadable = (path: string, cause: unknown) =>
  new FrameworkError('CONFIG_INVALID', `Cannot read course reference ${path}: ${(cause as Error).message}`, {
    details: { file: path },
    cause,
  });

function validateCourses(path: string, text: string): Courses {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw unreadable(path, cause);
  }
  const parsed = coursesSchema().safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.join('.');
    throw new FrameworkError('CONFIG_INVALID', `${path}: '${key}' is invalid: ${issue.message}.`, {
      details: { file: path, key },
    });
  }
  return parsed.data;
}

/**
 * The unit (nine) names of a course, in nine order: its configured `units`, else "Front nine" and
 * "Back nine" for an 18-hole course and "Nine 1", "Nine 2", … (one per nine) otherwise.
 *
 * @example
 * courseUnits({ holes: 27, nines: 3 }); // ['Nine 1', 'Nine 2', 'Nine 3']
 */
export function courseUnits(course: Pick<Course, 'holes' | 'nines' | 'units'>): string[] {
  if (course.units) return [...course.units];
  if (course.holes === 18) return ['Front nine', 'Back nine'];
  const nines = course.nines ?? course.holes / 9;
  return Array.from({ length: nines }, (_, i) => `Nine ${i + 1}`);
}

const norm = (s: string) =>
  s
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');

/**
 * The course for a slug (`erinhills`) or a human name (`Erin Hills`, any case/punctuation).
 * Returns undefined when nothing matches.
 */
export function findCourse(courses: Courses, idOrName: string): ({ id: string } & Course) | undefined {
  const direct = courses[idOrName];
  if (direct) return { id: idOrName, ...direct };
  const n = norm(idOrName);
  if (n === '') return undefined;
  for (const [id, c] of Object.entries(courses)) {
    if (norm(id) === n || norm(c.name) === n) return { id, ...c };
  }
  return undefined;
}

/** Like findCourse, but throws a FrameworkError naming the closest known course. */
export function requireCourse(courses: Courses, idOrName: string): { id: string } & Course {
  const c = findCourse(courses, idOrName);
  if (c) return c;
  const ids = Object.keys(courses).sort();
  throw new FrameworkError(
    'COURSE_UNKNOWN',
    `Course '${idOrName}' is not in the course reference.${didYouMean(idOrName, ids)} Known: ${ids.join(', ')}. ` +
      'Add it to config/courses.json.',
    { details: { course: idOrName } },
  );
}
