import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { findCourse, loadCourses } from '../courses.ts';
import { csvRecords } from '../csv-records.ts';
import { validateExport } from '../export-validation.ts';
import { discoverInbox, isSafeName, SAFE_NAME } from '../inbox.ts';
import { type DailyExportOptions, type DailyManifest, generateDailyExports, syntheticCourses } from './index.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const courses = loadCourses(join(repoRoot, 'config/courses.json'));
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `fairway-daily-${p}-`));

const N = 4;
const D = 3;
let out: string;
let manifest: DailyManifest;
beforeAll(async () => {
  out = tmp('main');
  manifest = await generateDailyExports({ outDir: out, courses, courseIds: [], syntheticCourses: N, days: D });
}, 60_000);

/** The local calendar day of an instant in a time zone. */
const localDay = (iso: string, timeZone: string) =>
  new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(iso),
  );

/** `startTime` of every round in an export, CSV or JSON. */
function startTimes(bytes: Buffer, format: 'csv' | 'json'): string[] {
  if (format === 'json') {
    const rounds = JSON.parse(bytes.toString('utf8')) as { startTime: string | { $date: string } }[];
    return rounds.map((r) => (typeof r.startTime === 'string' ? r.startTime : r.startTime.$date));
  }
  const [header, ...rows] = [...csvRecords(bytes.toString('utf8'))];
  const col = header!.indexOf('startTime');
  return rows.map((r) => r[col]!);
}

describe('generateDailyExports', () => {
  it('writes N synthetic courses × D days as N×D files in the inbox layout Bronze discovers', async () => {
    expect(manifest.files).toHaveLength(N * D);
    expect(manifest.totals.course_days).toBe(N * D);
    const days = ['2025-06-02', '2025-06-03', '2025-06-04'];
    const ids = ['synth0001', 'synth0002', 'synth0003', 'synth0004'];
    expect(manifest.courses_requested).toEqual(ids);
    expect(manifest.files.map((f) => f.path)).toEqual(
      ids.flatMap((id) => days.map((day) => `${id}/${day}/${id}.rounds.${day}.csv`)),
    );
    const { partitions, invalid } = await discoverInbox(out);
    expect(partitions.map((p) => [p.course_id, p.ingest_date, p.files.map((f) => f.name)])).toEqual(
      manifest.files.map((f) => [f.course, f.ingest_date, [f.path.split('/')[2]]]),
    );
    // Only the manifest and the course reference sit beside the course directories.
    expect(invalid.map((e) => e.path.slice(out.length + 1)).sort()).toEqual(['courses.json', 'manifest.json']);
  });

  it('draws 100–200 rounds per file, all starting on the file day, exactly as the manifest counts them', () => {
    const ref = loadCourses(join(out, 'courses.json'));
    for (const f of manifest.files) {
      expect(f.rounds, f.path).toBeGreaterThanOrEqual(100);
      expect(f.rounds, f.path).toBeLessThanOrEqual(200);
      const bytes = readFileSync(join(out, f.path));
      const v = validateExport(bytes, f.path.split('/').pop()!);
      expect(v, f.path).toMatchObject({ ok: true, format: f.format, rounds: f.rounds, recordsMalformed: 0 });
      // Bronze's course-mismatch check finds the directory's course in the written reference.
      expect(v.ok && findCourse(ref, v.firstCourse!)?.id, f.path).toBe(f.course);
      const tz = ref[f.course]!.timezone;
      expect(new Set(startTimes(bytes, f.format).map((t) => localDay(t, tz))), f.path).toEqual(
        new Set([f.ingest_date]),
      );
      expect(f.expected_silver_rows, f.path).toBe(
        f.real_location_rows - f.expected_quarantined_rows.total - f.expected_duplicates_removed,
      );
    }
    expect(new Set(manifest.files.map((f) => f.rounds)).size).toBeGreaterThan(1);
    const sum = (k: 'rounds' | 'expected_silver_rows', list = manifest.files) => list.reduce((a, f) => a + f[k], 0);
    expect(manifest.totals.rounds).toBe(sum('rounds'));
    expect(manifest.totals.expected_silver_rows).toBe(sum('expected_silver_rows'));
    for (const [id, c] of Object.entries(manifest.courses)) {
      const mine = manifest.files.filter((f) => f.course === id);
      expect(c.totals.files, id).toBe(D);
      expect(c.totals.rounds, id).toBe(sum('rounds', mine));
      expect(c.totals.expected_silver_rows, id).toBe(sum('expected_silver_rows', mine));
    }
  });

  it('derives synthetic courses the lakehouse accepts: safe partition values, a loadable reference', () => {
    const ref = loadCourses(join(out, 'courses.json'));
    expect(Object.keys(ref)).toEqual([...Object.keys(courses), 'synth0001', 'synth0002', 'synth0003', 'synth0004']);
    for (const id of manifest.courses_requested) {
      expect(id).toMatch(SAFE_NAME);
      expect(id).toMatch(/^[A-Za-z0-9._-]+$/);
      expect(isSafeName(id)).toBe(true);
      const c = manifest.courses[id]!;
      expect(c.synthetic).toBe(true);
      const base = courses[c.derived_from!]!;
      expect(ref[id]!.timezone).toBe(base.timezone);
      expect(ref[id]!.centre).toEqual(c.centre);
      expect(ref[id]!.centre).not.toEqual(base.centre);
      expect([9, 18, 27]).toContain(ref[id]!.holes);
      expect(ref[id]!.sections_per_hole).toHaveLength(ref[id]!.holes);
    }
    const many = syntheticCourses(courses, 300, 1);
    const names = many.map((s) => s.course.name.toLowerCase().replace(/[^a-z0-9]/g, ''));
    expect(new Set(names).size).toBe(300);
    expect(new Set(many.map((s) => s.course.kind))).toEqual(new Set(['nine-loop', 'eighteen', 'three-nines']));
    expect(many.every((s) => isSafeName(s.id) && /^[a-z0-9][a-z0-9_-]*$/.test(s.id))).toBe(true);
    // Asking for more courses only appends.
    expect(syntheticCourses(courses, 5, 1)).toEqual(many.slice(0, 5));
  });

  it('is deterministic: same options, same bytes; a longer run only adds files', async () => {
    const opts: Omit<DailyExportOptions, 'outDir'> = {
      courses,
      courseIds: ['erinhills'],
      syntheticCourses: 2,
      days: 2,
      roundsPerDay: [20, 40],
      format: 'mixed',
      seed: 11,
    };
    const a = tmp('det');
    const b = tmp('det');
    const ma = await generateDailyExports({ ...opts, outDir: a });
    await generateDailyExports({ ...opts, outDir: b });
    const tree = (dir: string) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
    expect(tree(a)).toEqual(tree(b));
    for (const rel of ['manifest.json', 'courses.json', ...ma.files.map((f) => f.path)]) {
      expect(readFileSync(join(a, rel)).equals(readFileSync(join(b, rel))), rel).toBe(true);
    }
    const longer = await generateDailyExports({ ...opts, days: 3, outDir: tmp('det') });
    expect(longer.files).toHaveLength(9);
    const sha = new Map(longer.files.map((f) => [f.path, f.sha256]));
    for (const f of ma.files) expect(sha.get(f.path), f.path).toBe(f.sha256);
    const other = await generateDailyExports({ ...opts, seed: 12, outDir: tmp('det') });
    expect(other.files[0]!.sha256).not.toBe(ma.files[0]!.sha256);
  });

  it('keeps one format per course in mixed mode', async () => {
    const mixedDir = tmp('mixed');
    const m = await generateDailyExports({
      outDir: mixedDir,
      courses,
      courseIds: [],
      syntheticCourses: 12,
      days: 2,
      roundsPerDay: [8, 8],
      format: 'mixed',
      writeCoursesFile: false,
    });
    expect(m.courses_file).toBeNull();
    for (const f of m.files) {
      const v = validateExport(readFileSync(join(mixedDir, f.path)), f.path);
      expect(v, f.path).toMatchObject({ ok: true, format: f.format, rounds: 8 });
    }
    expect(new Set(m.files.map((f) => f.format))).toEqual(new Set(['csv', 'json']));
    for (const [id, c] of Object.entries(m.courses)) {
      const mine = m.files.filter((f) => f.course === id);
      expect(
        mine.every((f) => f.format === c.format && f.path.endsWith(`.${c.format}`)),
        id,
      ).toBe(true);
    }
  });

  it('rejects bad options with a USAGE error before writing anything', async () => {
    const bad: Partial<DailyExportOptions>[] = [
      { days: 0 },
      { days: 1.5 },
      { syntheticCourses: -1 },
      { roundsPerDay: [0, 10] },
      { roundsPerDay: [20, 10] },
      { startDate: '2025-02-30' },
      { startDate: '6/2/2025' },
      { courseIds: ['nowhere'] },
      { courseIds: [], syntheticCourses: 0 },
      { format: 'both' as 'csv' },
    ];
    for (const o of bad) {
      const dir = tmp('bad');
      await expect(generateDailyExports({ outDir: dir, courses, ...o }), JSON.stringify(o)).rejects.toMatchObject({
        code: 'USAGE',
      });
      expect(readdirSync(dir)).toEqual([]);
    }
  });
});

describe('scripts/generate-sample-data.ts (daily layout)', () => {
  const script = join(repoRoot, 'scripts/generate-sample-data.ts');
  const run = (args: string[]) =>
    execa('node', ['--import', 'tsx', script, ...args], { cwd: repoRoot, reject: false, timeout: 30_000 });

  it('writes the daily layout and prints its totals', async () => {
    const dir = tmp('cli');
    const r = await run(['--out', dir, '--synthetic-courses', '2', '--days', '2', '--rounds-per-day', '10-12']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ out: dir, course_days: 14, files: 14 });
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as DailyManifest;
    expect(m.files.every((f) => f.rounds >= 10 && f.rounds <= 12)).toBe(true);
    expect(m.synthetic_courses).toBe(2);
  });

  it('exits 2 with a message for bad values', async () => {
    const cases = [
      ['--days', '0'],
      ['--synthetic-courses', 'x'],
      ['--rounds-per-day', '200-100'],
      ['--days', '1', '--format', 'both'],
      ['--days', '1', '--files', '3'],
      ['--days', '1', '--start-date', '2025-13-01'],
      ['--days', '1', '--courses', 'none'],
    ];
    const results = await Promise.all(cases.map((args) => run(['--out', tmp('cli-bad'), ...args])));
    for (const [i, r] of results.entries()) {
      const args = cases[i]!.join(' ');
      expect(r.exitCode, args).toBe(2);
      expect(r.stderr, args).toMatch(/\S/);
      expect(r.stderr, args).not.toMatch(/\n\s+at /);
    }
    const help = await run(['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('--synthetic-courses N');
  });
});
