import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FrameworkError } from '../../../framework/errors/index.ts';
import type { Courses } from '../courses.ts';
import { buildCourseModel } from './course-model.ts';
import {
  addDays,
  buildFile,
  courseEntry,
  emitCsv,
  emitJson,
  emitter,
  GENERATOR,
  GENERATOR_VERSION,
  type ManifestFile,
  manifestTotals,
  RULES,
} from './generate.ts';
import { rngFor } from './prng.ts';
import { syntheticCourses } from './synthetic.ts';

export type DailyFormat = 'csv' | 'json' | 'mixed';

export interface DailyExportOptions {
  outDir: string;
  /** The real course reference (config/courses.json); synthetic courses are derived from it. */
  courses: Courses;
  /** Real course ids to export (default: every course in `courses`; [] = synthetic courses only). */
  courseIds?: string[];
  /** Synthetic courses `synth0001`… to add (default 0). */
  syntheticCourses?: number;
  /** Number of days, one export per course per day (default 1). */
  days?: number;
  /** First day, YYYY-MM-DD (default 2025-06-02). */
  startDate?: string;
  /** Rounds per export, drawn per course-day from [min, max] inclusive (default [100, 200]). */
  roundsPerDay?: readonly [number, number];
  seed?: number;
  /** csv, json, or mixed: each course keeps one format, about a third of them JSON (default csv). */
  format?: DailyFormat;
  /** Write `<outDir>/courses.json`: the reference plus the synthetic courses (default true). */
  writeCoursesFile?: boolean;
}

export type DailyCourseEntry = ReturnType<typeof courseEntry> & {
  synthetic: boolean;
  derived_from: string | null;
  format: 'csv' | 'json';
  totals: Record<string, number>;
};

export interface DailyManifest {
  generator: string;
  generator_version: number;
  layout: 'daily';
  seed: number;
  start_date: string;
  end_date: string;
  days: number;
  edge_cases: 'standard';
  format: DailyFormat;
  rounds_per_day: { min: number; max: number };
  courses_requested: string[];
  synthetic_courses: number;
  /** The course reference written next to the manifest (relative to the output directory), or null. */
  courses_file: string | null;
  rules: typeof RULES;
  courses: Record<string, DailyCourseEntry>;
  totals: Record<string, number>;
  files: ManifestFile[];
}

const usage = (message: string, details: Record<string, unknown> = {}) =>
  new FrameworkError('USAGE', message, { details });

const isCalendarDay = (s: string) =>
  /^\d{4}-\d{2}-\d{2}$/.test(s) && new Date(Date.parse(`${s}T00:00:00Z`) || 0).toISOString().startsWith(s);

const isCount = (n: number, min: number) => Number.isSafeInteger(n) && n >= min;

/** Days since 1970-01-01 of an ISO day: the per-day random streams depend on the date, not its index. */
const epochDay = (isoDay: string) => Math.round(Date.parse(`${isoDay}T00:00:00Z`) / 86_400_000);

/**
 * Writes one export per course per day in the inbox layout `<outDir>/<course_id>/<YYYY-MM-DD>/<file>`,
 * the shape real courses deliver (one small file a day), for the real courses and any number of
 * synthetic ones, plus `manifest.json` (exact expected counts per file, per course and in total) and
 * `courses.json` (a course reference holding the synthetic courses too, for FAIRWAY_COURSES_FILE).
 * Each file's rounds all start on its day (local time), with the standard row-level edge cases.
 * Same options → same bytes; a file depends on the seed, its course, its day and the round range, not
 * on `days` or `startDate`, so a longer run only adds files.
 * @example await generateDailyExports({ outDir: 'inbox', courses, syntheticCourses: 195, days: 1 })
 */
export async function generateDailyExports(opts: DailyExportOptions): Promise<DailyManifest> {
  const seed = opts.seed ?? 20250602;
  const startDate = opts.startDate ?? '2025-06-02';
  const days = opts.days ?? 1;
  const synthCount = opts.syntheticCourses ?? 0;
  const [min, max] = opts.roundsPerDay ?? [100, 200];
  const format = opts.format ?? 'csv';
  if (!Number.isSafeInteger(seed)) throw usage(`Seed must be an integer, got ${seed}.`);
  if (!isCalendarDay(startDate)) throw usage(`Start date '${startDate}' is not a calendar day YYYY-MM-DD.`);
  if (!isCount(days, 1)) throw usage(`Days must be a positive integer, got ${days}.`);
  if (!isCount(synthCount, 0)) throw usage(`Synthetic courses must be an integer ≥ 0, got ${synthCount}.`);
  if (!isCount(min, 1) || !isCount(max, min)) {
    throw usage(`Rounds per day must be integers 1 ≤ min ≤ max, got ${min}-${max}.`);
  }
  if (!['csv', 'json', 'mixed'].includes(format)) throw usage(`Format must be csv, json or mixed, got '${format}'.`);
  const realIds = opts.courseIds ?? Object.keys(opts.courses);
  for (const id of realIds) {
    if (!opts.courses[id]) {
      throw usage(`Unknown course '${id}'. Known: ${Object.keys(opts.courses).join(', ')}.`, { course: id });
    }
  }
  const synth = syntheticCourses(opts.courses, synthCount, seed);
  const ids = [...realIds, ...synth.map((s) => s.id)];
  if (ids.length === 0) throw usage('No courses to export: select real courses or add synthetic ones.');
  const reference: Courses = { ...opts.courses, ...Object.fromEntries(synth.map((s) => [s.id, s.course])) };
  const all = Object.entries(reference).map(([id, c]) => buildCourseModel(id, c, seed));
  const byId = new Map(all.map((m) => [m.id, m]));
  const formatOf = (id: string): 'csv' | 'json' =>
    format === 'mixed' ? (rngFor(seed, id, 'format').chance(1 / 3) ? 'json' : 'csv') : format;

  const files: ManifestFile[] = [];
  const emit = emitter(opts.outDir, files);
  for (const id of ids) {
    const model = byId.get(id)!;
    const fmt = formatOf(id);
    for (let d = 0; d < days; d++) {
      const day = addDays(startDate, d);
      const k = epochDay(day);
      const rounds = rngFor(seed, id, day, 'rounds-per-day').int(min, max);
      const file = buildFile(model, all, seed, k, day, rounds, new Set(), day);
      const rel = `${id}/${day}/${id}.rounds.${day}.${fmt}`;
      const common = {
        course: id,
        ingest_date: day,
        k: d + 1,
        role: 'regular' as const,
        bronze_reject: false,
        bronze_reject_reason: null,
      };
      if (fmt === 'csv') await emitCsv(emit, rel, seed, model, k, file, common, { bomCrlf: false, malformed: false });
      else await emitJson(emit, rel, model, (k + all.indexOf(model)) % 4 === 3 ? 'plain' : 'wrapped', file, common);
    }
  }

  const writeRef = opts.writeCoursesFile ?? true;
  if (writeRef) await writeFile(join(opts.outDir, 'courses.json'), `${JSON.stringify(reference, null, 2)}\n`);
  const origin = new Map(synth.map((s) => [s.id, s.derivedFrom]));
  const perCourse = new Map<string, ManifestFile[]>();
  for (const f of files) {
    const list = perCourse.get(f.course) ?? [];
    list.push(f);
    perCourse.set(f.course, list);
  }
  const manifest: DailyManifest = {
    generator: GENERATOR,
    generator_version: GENERATOR_VERSION,
    layout: 'daily',
    seed,
    start_date: startDate,
    end_date: addDays(startDate, days - 1),
    days,
    edge_cases: 'standard',
    format,
    rounds_per_day: { min, max },
    courses_requested: ids,
    synthetic_courses: synthCount,
    courses_file: writeRef ? 'courses.json' : null,
    rules: RULES,
    courses: Object.fromEntries(
      ids.map((id) => [
        id,
        {
          ...courseEntry(reference[id]!, byId.get(id)!),
          synthetic: origin.has(id),
          derived_from: origin.get(id) ?? null,
          format: formatOf(id),
          totals: manifestTotals(perCourse.get(id) ?? []),
        },
      ]),
    ),
    totals: { course_days: ids.length * days, courses: ids.length, ...manifestTotals(files) },
    files,
  };
  await writeFile(join(opts.outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
