/**
 * Writes deterministic sample round exports (wide CSV + MongoDB JSON) and their manifest.
 * Usage: node --import tsx scripts/generate-sample-data.ts --out DIR [--seed N] [--rounds N] [--files N] [--scale-mb N]
 *        node --import tsx scripts/generate-sample-data.ts --out DIR --days N [--synthetic-courses N] [--rounds-per-day MIN-MAX]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCourses } from '../assets/lib/courses.ts';
import { generateDailyExports, generateSampleData } from '../assets/lib/sample-data/index.ts';
import { isFrameworkError } from '../framework/errors/index.ts';

const HELP = `Generate deterministic sample round exports (same options → byte-identical files).

Usage: node --import tsx scripts/generate-sample-data.ts --out DIR [options]

Sample layout (default): a few larger files per course, with every edge case of the data contract.
  --out DIR            output directory (required); layout <DIR>/<course>/<course>.rounds.<k>.csv|json + manifest.json
  --seed N             PRNG seed (default 20250602)
  --start-date DAY     first round day, YYYY-MM-DD (default 2025-06-02)
  --rounds N           rounds per file (default 40)
  --files N            files per course, k = 1..N (default 2; k mod 3 picks the CSV column layout)
  --courses A,B        course ids from the course reference (default: all)
  --format F           csv | json | both (default both)
  --scale-mb N         make each CSV about N MB (overrides --rounds), e.g. --scale-mb 100 --files 1 --courses erinhills --format csv
  --no-file-cases      leave out the BOM/CRLF and malformed-record CSVs and the whole-file rejects (role "extra")
  --courses-file PATH  course reference (default config/courses.json)

Daily layout (any of --days, --synthetic-courses, --rounds-per-day): one export per course per day, the
shape real courses deliver, in the inbox layout <DIR>/<course>/<YYYY-MM-DD>/<course>.rounds.<day>.csv|json,
plus manifest.json and courses.json (the course reference with the synthetic courses added; point
FAIRWAY_COURSES_FILE at it so the lakehouse knows their centre and time zone; with DIR as the inbox,
Bronze logs those two JSON files as ignored entries). Row-level edge cases only.
  --days N             days from --start-date, one file per course per day (default 1)
  --synthetic-courses N
                       add N synthetic courses synth0001.. derived from the reference's courses (default 0)
  --rounds-per-day R   rounds per file, MIN-MAX drawn per course-day, or N (default 100-200)
  --courses A,B|none   real courses to export (default: all; none = synthetic courses only)
  --format F           csv | json | mixed (each course keeps one format; default csv)
  --seed, --start-date, --courses-file as above
  e.g. --out /tmp/inbox --synthetic-courses 195 --days 1     (200 course-days, ~30,000 rounds)

  -h, --help           show this help
`;

function fail(message: string): never {
  process.stderr.write(`${message}\nRun with --help for the options.\n`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        out: { type: 'string' },
        seed: { type: 'string' },
        'start-date': { type: 'string' },
        rounds: { type: 'string' },
        files: { type: 'string' },
        courses: { type: 'string' },
        format: { type: 'string' },
        'scale-mb': { type: 'string' },
        'no-file-cases': { type: 'boolean' },
        'courses-file': { type: 'string' },
        days: { type: 'string' },
        'synthetic-courses': { type: 'string' },
        'rounds-per-day': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    fail((e as Error).message);
  }
})();

function int(name: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) {
    fail(`--${name} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer, got '${v}'.`);
  }
  return Number(v);
}

/** `MIN-MAX` or `N` (= N-N). */
function range(name: string, v: string | undefined): [number, number] | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)(?:-(\d+))?$/.exec(v.trim());
  const lo = m ? Number(m[1]) : Number.NaN;
  const hi = m?.[2] === undefined ? lo : Number(m[2]);
  if (!m || lo < 1 || hi < lo) fail(`--${name} must be MIN-MAX with 1 ≤ MIN ≤ MAX, or N ≥ 1, got '${v}'.`);
  return [lo, hi];
}

if (values.help || !values.out) {
  process.stdout.write(HELP);
  process.exit(values.help ? 0 : 2);
}
const daily =
  values.days !== undefined || values['synthetic-courses'] !== undefined || values['rounds-per-day'] !== undefined;
const format = values.format ?? (daily ? 'csv' : 'both');
const formats = daily ? ['csv', 'json', 'mixed'] : ['csv', 'json', 'both'];
if (!formats.includes(format)) {
  fail(
    `--format must be ${formats.slice(0, -1).join(', ')} or ${formats.at(-1)} in the ${daily ? 'daily' : 'sample'} layout, got '${format}'.`,
  );
}
if (daily) {
  const clash = (['rounds', 'files', 'scale-mb'] as const).filter((o) => values[o] !== undefined);
  if (clash.length > 0) {
    fail(`--${clash[0]} belongs to the sample layout; in the daily layout use --rounds-per-day and --days.`);
  }
}
const started = Date.now();
const seed = int('seed', values.seed);
const outDir = resolve(values.out);
const common = {
  outDir,
  ...(seed !== undefined ? { seed } : {}),
  ...(values['start-date'] ? { startDate: values['start-date'] } : {}),
};
const courseList = !values.courses
  ? undefined
  : daily && values.courses.trim() === 'none'
    ? []
    : values.courses.split(',').map((s) => s.trim());
let totals: Record<string, number>;
try {
  const courses = loadCourses(resolve(values['courses-file'] ?? 'config/courses.json'));
  if (daily) {
    const days = int('days', values.days);
    const synthetic = int('synthetic-courses', values['synthetic-courses'], 0);
    const roundsPerDay = range('rounds-per-day', values['rounds-per-day']);
    const manifest = await generateDailyExports({
      ...common,
      courses,
      ...(courseList ? { courseIds: courseList } : {}),
      ...(days !== undefined ? { days } : {}),
      ...(synthetic !== undefined ? { syntheticCourses: synthetic } : {}),
      ...(roundsPerDay ? { roundsPerDay } : {}),
      format: format as 'csv' | 'json' | 'mixed',
    });
    totals = manifest.totals;
  } else {
    const roundsPerFile = int('rounds', values.rounds);
    const filesPerCourse = int('files', values.files);
    const scaleMb = int('scale-mb', values['scale-mb']);
    const manifest = await generateSampleData({
      ...common,
      courses,
      ...(roundsPerFile !== undefined ? { roundsPerFile } : {}),
      ...(filesPerCourse !== undefined ? { filesPerCourse } : {}),
      ...(courseList ? { courseIds: courseList } : {}),
      formats: format === 'both' ? ['csv', 'json'] : [format as 'csv' | 'json'],
      ...(scaleMb !== undefined ? { scaleMb } : {}),
      fileEdgeCases: !values['no-file-cases'],
    });
    totals = manifest.totals;
  }
} catch (e) {
  if (isFrameworkError(e) && (e.code === 'USAGE' || e.code === 'CONFIG_INVALID')) fail(e.message);
  throw e;
}
process.stdout.write(`${JSON.stringify({ out: outDir, ...totals, duration_ms: Date.now() - started })}\n`);
