/**
 * Writes deterministic sample round exports (wide CSV + MongoDB JSON) and their manifest.
 * Usage: node --import tsx scripts/generate-sample-data.ts --out DIR [--seed N] [--rounds N] [--files N] [--scale-mb N]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCourses } from '../assets/lib/courses.ts';
import { generateSampleData } from '../assets/lib/sample-data/index.ts';

const HELP = `Generate deterministic sample round exports (same options → byte-identical files).

Usage: node --import tsx scripts/generate-sample-data.ts --out DIR [options]

Options:
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
  -h, --help           show this help
`;

const { values } = parseArgs({
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
    help: { type: 'boolean', short: 'h' },
  },
});

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) {
    process.stderr.write(`--${name} must be a positive integer, got '${v}'.\n`);
    process.exit(2);
  }
  return Number(v);
}

if (values.help || !values.out) {
  process.stdout.write(HELP);
  process.exit(values.help ? 0 : 2);
}
const format = values.format ?? 'both';
if (!['csv', 'json', 'both'].includes(format)) {
  process.stderr.write(`--format must be csv, json or both, got '${format}'.\n`);
  process.exit(2);
}
const started = Date.now();
const seed = int('seed', values.seed);
const roundsPerFile = int('rounds', values.rounds);
const filesPerCourse = int('files', values.files);
const scaleMb = int('scale-mb', values['scale-mb']);
const manifest = await generateSampleData({
  outDir: resolve(values.out),
  courses: loadCourses(resolve(values['courses-file'] ?? 'config/courses.json')),
  ...(seed !== undefined ? { seed } : {}),
  ...(values['start-date'] ? { startDate: values['start-date'] } : {}),
  ...(roundsPerFile !== undefined ? { roundsPerFile } : {}),
  ...(filesPerCourse !== undefined ? { filesPerCourse } : {}),
  ...(values.courses ? { courseIds: values.courses.split(',').map((s) => s.trim()) } : {}),
  formats: format === 'both' ? ['csv', 'json'] : [format as 'csv' | 'json'],
  ...(scaleMb !== undefined ? { scaleMb } : {}),
  fileEdgeCases: !values['no-file-cases'],
});
process.stdout.write(
  `${JSON.stringify({ out: resolve(values.out), ...manifest.totals, duration_ms: Date.now() - started })}\n`,
);
