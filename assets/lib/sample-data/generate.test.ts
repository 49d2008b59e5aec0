import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCourses } from '../courses.ts';
import { csvRecords } from '../csv-records.ts';
import { countCsv, countJson } from './count.ts';
import { generateSampleData, type Manifest } from './index.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const courses = loadCourses(join(repoRoot, 'config/courses.json'));
const sharedSample = resolve(repoRoot, '../shared/data/sample');

let out: string;
let manifest: Manifest;
beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'fairway-sample-'));
  manifest = await generateSampleData({ outDir: out, courses });
}, 60_000);

const read = (rel: string) => readFileSync(join(out, rel));

describe('generateSampleData', () => {
  it('is deterministic: same options, byte-identical files', async () => {
    const opts = { courses, roundsPerFile: 12, filesPerCourse: 3, courseIds: ['indiancreek', 'americanfalls'] };
    const a = mkdtempSync(join(tmpdir(), 'fairway-det-'));
    const b = mkdtempSync(join(tmpdir(), 'fairway-det-'));
    const ma = await generateSampleData({ ...opts, outDir: a });
    const mb = await generateSampleData({ ...opts, outDir: b });
    expect(ma.files.map((f) => [f.path, f.sha256])).toEqual(mb.files.map((f) => [f.path, f.sha256]));
    for (const f of ma.files) expect(readFileSync(join(a, f.path)).equals(readFileSync(join(b, f.path)))).toBe(true);
    expect(readFileSync(join(a, 'manifest.json')).equals(readFileSync(join(b, 'manifest.json')))).toBe(true);
    const other = await generateSampleData({ ...opts, seed: 7, outDir: mkdtempSync(join(tmpdir(), 'fairway-det-')) });
    expect(other.files[0]!.sha256).not.toBe(ma.files[0]!.sha256);
  });

  it('writes the shared layout with three column layouts across k', async () => {
    expect(manifest.files.filter((f) => f.role === 'regular')).toHaveLength(20);
    expect(manifest.files.filter((f) => f.role === 'extra').map((f) => f.bronze_reject_reason)).toEqual([
      'empty_file',
      'no_records',
      'no_records',
      'missing_required_column:_id',
    ]);
    const three = await generateSampleData({
      outDir: mkdtempSync(join(tmpdir(), 'fairway-k3-')),
      courses,
      courseIds: ['erinhills'],
      roundsPerFile: 10,
      filesPerCourse: 3,
      fileEdgeCases: false,
    });
    expect(three.files.filter((f) => f.format === 'csv').map((f) => f.column_layout)).toEqual([
      'canonical',
      'drift_shuffled',
      'drift_field_major',
    ]);
    const ms = three.files.filter((f) => f.format === 'csv').map((f) => f.slots_per_round);
    expect(new Set(ms).size).toBe(3);
  });

  it('has self-consistent expectations that match the edge cases', () => {
    for (const f of manifest.files) {
      const q = f.expected_quarantined_rows;
      expect(q.total, f.path).toBe(q.out_of_range + q.zero_coordinates + q.swapped + q.nan);
      if (f.bronze_reject) {
        expect(f.expected_silver_rows, f.path).toBe(0);
        continue;
      }
      expect(f.expected_silver_rows, f.path).toBe(f.real_location_rows - q.total - f.expected_duplicates_removed);
      expect(f.total_location_slots, f.path).toBe(f.real_location_rows + f.padding_slots);
      const e = f.edge_cases;
      expect(q.swapped, f.path).toBe(e.swapped_coordinates!.count);
      expect(q.out_of_range, f.path).toBe(e.out_of_range_coordinates!.count);
      expect(q.zero_coordinates, f.path).toBe(e.zero_coordinates!.count);
      expect(q.nan, f.path).toBe(e.nan_coordinates!.count);
      expect(f.expected_duplicates_removed, f.path).toBe(e.duplicate_cache_pair!.count);
      expect(f.expected_timestamp_missing, f.path).toBe(e.missing_fix_offset!.count);
      expect(e.empty_round!.count + e.foreign_course_round!.count, f.path).toBe(2);
      expect(e.comma_in_text!.count, f.path).toBeGreaterThan(0);
      expect(e.nine_hole_round!.count, f.path).toBeGreaterThan(0);
    }
    const t = manifest.totals;
    expect(t.expected_silver_rows).toBe(
      t.real_location_rows! - t.expected_quarantined_rows! - t.expected_duplicates_removed!,
    );
  });

  it('writes CSV and JSON twins holding the same rounds and locations', () => {
    for (const f of manifest.files.filter((x) => x.format === 'json' && x.role === 'regular')) {
      const json = JSON.parse(read(f.path).toString()) as { _id: unknown; locations: unknown[] }[];
      const csvEntry = manifest.files.find((x) => x.path === f.path.replace(/\.json$/, '.csv'))!;
      const rows = parse(read(csvEntry.path), { bom: true, columns: true, relax_column_count: true }) as Record<
        string,
        string
      >[];
      const ids = (v: unknown) => (typeof v === 'string' ? v : (v as { $oid: string }).$oid);
      const jsonIds = json.map((r) => ids(r._id));
      const csvIds = rows.filter((r) => Object.keys(r).length === csvEntry.header_columns).map((r) => r._id);
      const missing = jsonIds.filter((id) => !csvIds.includes(id));
      expect(missing.length, f.path).toBe(csvEntry.records_malformed);
      expect(csvEntry.rounds + csvEntry.records_malformed).toBe(f.rounds);
      if (csvEntry.records_malformed === 0) {
        expect(csvEntry.real_location_rows, f.path).toBe(f.real_location_rows);
        expect(csvEntry.expected_silver_rows, f.path).toBe(f.expected_silver_rows);
      }
    }
  });

  it('writes RFC 4180 CSV that csv-parse reads exactly as the counting scanner does', () => {
    for (const f of manifest.files.filter((x) => x.format === 'csv')) {
      const bytes = read(f.path);
      const strict = parse(bytes, { bom: true, relax_column_count: true }) as string[][];
      expect([...csvRecords(bytes.toString('utf8'))], f.path).toEqual(strict);
      if (strict.length > 0) expect(strict[0]!.length, f.path).toBe(f.header_columns);
    }
    const bom = manifest.files.find((f) => f.encoding?.bom)!;
    expect(bom.encoding).toEqual({ bom: true, line_ending: 'CRLF', trailing_newline: true });
    const bytes = read(bom.path);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes.toString('latin1').split('\r\n').length - 1).toBe(bom.rounds + 1);
    expect(read('americanfalls/americanfalls.extra.empty.csv').length).toBe(0);
    expect(read('erinhills/erinhills.extra.empty-array.json').toString()).toBe('[]\n');
  });

  it('marks edge-case locations the way the README describes', () => {
    const f = manifest.files.find(
      (x) => x.format === 'json' && x.role === 'regular' && x.edge_cases.nan_coordinates!.count,
    )!;
    const text = read(f.path).toString();
    expect(text).toContain('{"$numberDouble":"NaN"}');
    const rounds = JSON.parse(text) as { _id: unknown; locations: Record<string, unknown>[] }[];
    const byId = (id: string) => rounds.find((r) => JSON.stringify(r._id).includes(id))!;
    for (const e of f.edge_cases.duplicate_cache_pair!.affected as {
      round_id: string;
      location_index: number;
      kept_index: number;
    }[]) {
      const locs = byId(e.round_id).locations;
      expect(locs[e.location_index]!.startTime).toBe(locs[e.kept_index]!.startTime);
      expect([locs[e.kept_index]!.isCache, locs[e.location_index]!.isCache]).toEqual([true, false]);
    }
    for (const e of f.edge_cases.missing_fix_offset!.affected as { round_id: string; location_index: number }[]) {
      expect(byId(e.round_id).locations[e.location_index]!.startTime).toBeNull();
    }
    for (const e of f.edge_cases.empty_round!.affected as { round_id: string }[]) {
      expect(byId(e.round_id).locations).toEqual([]);
    }
  });
});

describe.skipIf(!existsSync(join(sharedSample, 'manifest.json')))('counting rules on the shared sample', () => {
  it('reproduces every count of the shared manifest', async () => {
    const shared = JSON.parse(readFileSync(join(sharedSample, 'manifest.json'), 'utf8')) as Manifest;
    for (const f of shared.files) {
      const bytes = readFileSync(join(sharedSample, f.path));
      const centre = courses[f.course]!.centre;
      const c = f.format === 'csv' ? await countCsv(bytes, centre) : countJson(bytes, centre);
      expect(
        {
          rounds: c.rounds,
          real: c.real_location_rows,
          padding: c.padding_slots,
          silver: c.expected_silver_rows,
          q: c.expected_quarantined_rows,
          dup: c.expected_duplicates_removed,
          ts: c.expected_timestamp_missing,
        },
        f.path,
      ).toEqual({
        rounds: f.rounds,
        real: f.real_location_rows,
        padding: f.padding_slots,
        silver: f.expected_silver_rows,
        q: f.expected_quarantined_rows,
        dup: f.expected_duplicates_removed,
        ts: f.expected_timestamp_missing,
      });
    }
  });
});
