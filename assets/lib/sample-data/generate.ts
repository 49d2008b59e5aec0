/**
 * The sample-data generator's plan: which courses, days and edge cases go into which export, and the manifest
 * of exact expected counts. Kept as one file (~480 lines) on purpose: the file plan, the edge-case placement
 * and the manifest totals must agree line for line, and they read best side by side; the pieces with their
 * own job (simulation, edge cases, counting, writing) are already their own modules beside it.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FrameworkError } from '../../../framework/errors/index.ts';
import type { Course, Courses } from '../courses.ts';
import { countCsv, countJson, type ExportCounts } from './count.ts';
import { buildCourseModel, type CourseModel } from './course-model.ts';
import {
  applyDuplicatePairs,
  applyLocationCases,
  EDGE_CASE_KEYS,
  type EdgeCases,
  emptyEdgeCases,
  makeEmpty,
  nextCourse,
  recordRoundCases,
} from './edge-cases.ts';
import { type Rng, rngFor } from './prng.ts';
import { type Round, type RoundPlan, secondaryOf, simulateRound, teeSheet } from './simulate.ts';
import { type CsvEncoding, csvPlan, DRIFT_ABSENT, layoutFor, writeCsv, writeJson } from './write.ts';

export const GENERATOR = 'fairway-sample-data';
export const GENERATOR_VERSION = 1;

export interface GenerateOptions {
  outDir: string;
  courses: Courses;
  seed?: number;
  /** ISO day of the first file's first round (local course time). */
  startDate?: string;
  roundsPerFile?: number;
  filesPerCourse?: number;
  /** Course ids to generate (default: every course in `courses`). */
  courseIds?: string[];
  formats?: ('csv' | 'json')[];
  /** Target size in MB of each CSV file; overrides roundsPerFile (the JSON twin is ~2.5× larger). */
  scaleMb?: number;
  /** BOM+CRLF and malformed-record CSVs, and the whole-file rejects (role `extra`). Default true. */
  fileEdgeCases?: boolean;
}

export interface ManifestFile extends Omit<ExportCounts, 'locations_per_round'> {
  path: string;
  format: 'csv' | 'json';
  course: string;
  /** Daily exports only: the `<YYYY-MM-DD>` directory the file sits in (its Bronze ingest_date). */
  ingest_date?: string;
  k: number | null;
  role: 'regular' | 'extra';
  locations_per_round: ExportCounts['locations_per_round'];
  column_layout?: string;
  columns_absent?: string[];
  header_columns?: number;
  encoding?: CsvEncoding;
  json_forms?: { oid_date: 'wrapped' | 'plain'; number_wrappers: boolean };
  bronze_reject: boolean;
  bronze_reject_reason: string | null;
  edge_cases: Record<string, { count: number; affected: unknown[] }>;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  generator: string;
  generator_version: number;
  seed: number;
  start_date: string;
  edge_cases: 'standard';
  format: 'both' | 'csv' | 'json';
  courses_requested: string[];
  rounds_per_file: number;
  files_per_course: number;
  scale_mb: number | null;
  rules: Record<string, unknown>;
  courses: Record<string, unknown>;
  totals: Record<string, number>;
  files: ManifestFile[];
}

export const RULES = {
  real_row:
    'a location slot whose hole and sectionNumber are not both empty/null; every other slot of a CSV row is padding',
  fix_timestamp:
    'floor(epoch_seconds(round startTime) + locations[N].startTime); NULL if either is missing or non-numeric after trimming',
  quarantine_precedence: ['nan', 'zero_coordinates', 'swapped', 'out_of_range'],
  swapped:
    "haversine(point, course centre) > 5000 m and haversine(point with lon/lat exchanged, centre) < 5000 m; centre = the directory's course",
  out_of_range: 'lon outside [-180,180] or lat outside [-90,90]',
  dedup:
    'over real, non-quarantined rows with non-NULL fix_timestamp: one row per (round_id, fix_timestamp), isCache=true preferred; each extra copy counts one removal',
  timestamp_missing: 'real, non-quarantined rows with NULL fix_timestamp: kept and flagged, never deduplicated',
  silver_rows:
    'real_location_rows - quarantined total - duplicates removed (padding excluded); 0 when the file is rejected at Bronze',
  malformed_record:
    'a CSV data record whose cell count differs from the header is dropped whole and not counted as a round',
};

export const addDays = (isoDay: string, n: number) =>
  new Date(Date.parse(`${isoDay}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

export interface FileRounds {
  rounds: Round[];
  edges: EdgeCases;
}

/** Local time (minutes after midnight) by which the last group of a one-day export tees off. */
const LAST_TEE_MINUTES = 17 * 60 + 30;

/**
 * Simulates the rounds of file k of one course and applies the standard edge cases. Rounds spread
 * over ceil(rounds / 25) days from `startDate`, or all fall on `day` when it is given (daily exports).
 */
export function buildFile(
  model: CourseModel,
  all: CourseModel[],
  seed: number,
  k: number,
  startDate: string,
  rounds: number,
  usedM: Set<number>,
  day?: string,
): FileRounds {
  const rng = rngFor(seed, model.id, k, 'rounds');
  const machine = rngFor(seed, model.id, 'machine').hex(10);
  const days = day ? 1 : Math.max(1, Math.ceil(rounds / 25));
  const firstDay = day ?? addDays(startDate, (k - 1) * days);
  let counter = rngFor(seed, model.id, k, 'counter').int(0, 0xffff) * 16;
  const plans: RoundPlan[] = [];
  for (let d = 0; d < days; d++) {
    const groups = Math.floor(rounds / days) + (d < rounds % days ? 1 : 0);
    for (const t of teeSheet(model, rng, addDays(firstDay, d), groups, day ? LAST_TEE_MINUTES : undefined)) {
      plans.push({ model, courseValue: '', machine, counter: counter++, ...t });
    }
  }
  const courseValue = (m: CourseModel) => (rng.chance(0.25) ? m.name : m.id);
  const homeValue = (k + all.indexOf(model)) % 3 === 0 ? model.name : model.id;
  let list = plans.map((p) => simulateRound({ ...p, courseValue: homeValue }, rng));
  const edges = emptyEdgeCases();
  const protectedIds = new Set<string>();
  // Files too small for every case (the 3-round reject fixture) get only the natural ones.
  const hasCases = list.length >= 6;
  if (hasCases) {
    // Foreign round: fixes at the next course of the table.
    const fi = rng.int(1, list.length - 2);
    const foreign = nextCourse(all, model.id);
    list[fi] = simulateRound({ ...plans[fi]!, model: foreign, courseValue: courseValue(foreign), startHole: 1 }, rng);
    protectedIds.add(list[fi]!.id);
    edges.foreign_course_round.push({ round_id: list[fi]!.id, location_index: null, course: foreign.id });
    // Secondary devices (~3%): a copy of the previous group's round.
    for (let i = 2; i < list.length - 1; i++) {
      if (i !== fi && i - 1 !== fi && rng.chance(0.03)) list[i] = secondaryOf(list[i - 1]!, rng, machine, counter++);
    }
    let ei: number;
    do ei = rng.int(1, list.length - 2);
    while (ei === fi || list[ei]!.isSecondary || list[ei + 1]!.isSecondary);
    makeEmpty(list[ei]!, edges);
    protectedIds.add(list[ei]!.id);
    ensureNatural(list, plans, rng, protectedIds, homeValue);
  }
  list = [...list];
  if (hasCases) applyDuplicatePairs(list, rng, protectedIds, edges);
  // Each CSV of a course gets its own slot count M: add re-entry fixes to the longest round until it is unique.
  let longest = list.reduce((a, b) => (b.locations.length > a.locations.length ? b : a), list[0]!);
  while (usedM.has(longest.locations.length)) {
    addReentry(longest, rng);
    longest = list.reduce((a, b) => (b.locations.length > a.locations.length ? b : a), list[0]!);
  }
  usedM.add(longest.locations.length);
  if (hasCases) applyLocationCases(list, rng, protectedIds, edges, { nan: rng.chance(0.5) });
  recordRoundCases(list, edges);
  return { rounds: list, edges };
}

/** At least one nine-hole round, one comma in goalName and (≥10 rounds) one fix under 10% battery. */
function ensureNatural(list: Round[], plans: RoundPlan[], rng: Rng, protectedIds: Set<string>, home: string): void {
  const free = [...list.keys()].filter((i) => i > 0 && i < list.length - 1 && !protectedIds.has(list[i]!.id));
  if (free.length === 0) return;
  if (!list.some((r) => r.isNineHole)) {
    const i = free[0]!;
    const p = plans[i]!;
    list[i] = simulateRound({ ...p, courseValue: home, nineHole: true, startHole: 1 }, rng);
  }
  if (!list.some((r) => r.goalName.includes(','))) list[free[free.length - 1]!]!.goalName = 'Default, weekend';
  if (list.length >= 10 && !list.some((r) => r.locations.some((l) => l.battery < 10))) {
    const r = free.map((i) => list[i]!).reduce((a, b) => (b.locations.length > a.locations.length ? b : a));
    for (const l of r.locations) l.battery = Math.max(1, Math.round(55 - (25 * (l.startTime ?? 0)) / 3600));
  }
}

/** A walk back into the previous section at the end of the round (one more location). */
function addReentry(r: Round, rng: Rng): void {
  const n = r.locations.length;
  const prev = r.locations[n - 2] ?? r.locations[n - 1]!;
  const last = r.locations[n - 1]!;
  const offset = Math.round((last.startTime ?? 0) + rng.float(30, 90));
  r.locations.push({ ...prev, startTime: offset, battery: last.battery, pace: Number((last.pace + 30).toFixed(1)) });
  if (r.endSec !== null) r.endSec = Math.max(r.endSec, r.startSec + offset + 60);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function edgeSummary(edges: EdgeCases, keep?: (e: { round_id: string }) => boolean) {
  return Object.fromEntries(
    EDGE_CASE_KEYS.map((key) => {
      const affected = keep ? edges[key].filter(keep) : edges[key];
      return [key, { count: affected.length, affected }];
    }),
  );
}

/**
 * Writes `<outDir>/<course>/<course>.rounds.<k>.csv|json` plus `manifest.json`; same options → same bytes.
 * @example await generateSampleData({ outDir: 'data/sample', courses: loadCourses('config/courses.json') })
 */
export async function generateSampleData(opts: GenerateOptions): Promise<Manifest> {
  const seed = opts.seed ?? 20250602;
  const startDate = opts.startDate ?? '2025-06-02';
  const filesPerCourse = opts.filesPerCourse ?? 2;
  const formats = opts.formats ?? ['csv', 'json'];
  const fileCases = opts.fileEdgeCases ?? true;
  const all = Object.entries(opts.courses).map(([id, c]) => buildCourseModel(id, c, seed));
  const ids = opts.courseIds ?? all.map((m) => m.id);
  for (const id of ids) {
    if (!opts.courses[id]) {
      throw new FrameworkError('USAGE', `Unknown course '${id}'. Known: ${all.map((m) => m.id).join(', ')}.`, {
        details: { course: id },
      });
    }
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(startDate))
    throw new FrameworkError('USAGE', `startDate '${startDate}' is not YYYY-MM-DD.`);
  let roundsPerFile = opts.roundsPerFile ?? 40;
  if (opts.scaleMb)
    roundsPerFile = await roundsForSize(all.find((m) => m.id === ids[0])!, all, seed, startDate, opts.scaleMb);

  const files: ManifestFile[] = [];
  const emit = emitter(opts.outDir, files);

  for (const [ci, id] of ids.entries()) {
    const model = all.find((m) => m.id === id)!;
    const usedM = new Set<number>();
    for (let k = 1; k <= filesPerCourse; k++) {
      const file = buildFile(model, all, seed, k, startDate, roundsPerFile, usedM);
      const base = `${id}/${id}.rounds.${k}`;
      const common = { course: id, k, role: 'regular' as const, bronze_reject: false, bronze_reject_reason: null };
      if (formats.includes('csv')) {
        await emitCsv(emit, `${base}.csv`, seed, model, k, file, common, {
          bomCrlf: fileCases && k === 1 && ci === 1 % ids.length,
          malformed: fileCases && k === 1 && ci === 2 % ids.length,
        });
      }
      if (formats.includes('json')) {
        await emitJson(emit, `${base}.json`, model, (k + ci) % 4 === 3 ? 'plain' : 'wrapped', file, common);
      }
    }
  }
  if (fileCases) await writeExtras(ids, all, seed, startDate, emit);

  const manifest: Manifest = {
    generator: GENERATOR,
    generator_version: GENERATOR_VERSION,
    seed,
    start_date: startDate,
    edge_cases: 'standard',
    format: formats.length === 2 ? 'both' : formats[0]!,
    courses_requested: ids,
    rounds_per_file: roundsPerFile,
    files_per_course: filesPerCourse,
    scale_mb: opts.scaleMb ?? null,
    rules: RULES,
    courses: Object.fromEntries(ids.map((id) => [id, courseEntry(opts.courses[id]!, all.find((x) => x.id === id)!)])),
    totals: manifestTotals(files),
    files,
  };
  await writeFile(join(opts.outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** A course's manifest entry: its reference fields and the modelled layout. */
export function courseEntry(c: Course, m: CourseModel) {
  return {
    name: c.name,
    centre: c.centre,
    timezone: c.timezone,
    kind: c.kind,
    holes: c.holes,
    nines: m.holes / 9,
    sections: m.totalSections,
    sections_per_hole: m.sections.map((s) => s.length),
  };
}

/** The manifest totals over `files`; round and row counts leave out files Bronze rejects. */
export function manifestTotals(files: ManifestFile[]): Record<string, number> {
  const regular = files.filter((f) => !f.bronze_reject);
  const sum = (f: (m: ManifestFile) => number, list = files) => list.reduce((a, m) => a + f(m), 0);
  return {
    files: files.length,
    bytes: sum((f) => f.bytes),
    rounds: sum((f) => f.rounds, regular),
    real_location_rows: sum((f) => f.real_location_rows, regular),
    padding_slots: sum((f) => f.padding_slots, regular),
    expected_silver_rows: sum((f) => f.expected_silver_rows),
    expected_duplicates_removed: sum((f) => f.expected_duplicates_removed),
    expected_timestamp_missing: sum((f) => f.expected_timestamp_missing),
    expected_quarantined_rows: sum((f) => f.expected_quarantined_rows.total),
    records_malformed: sum((f) => f.records_malformed),
    bronze_rejected_files: files.length - regular.length,
  };
}

/** A round with no edge case other than being nine-hole, away from the file's ends (for the malformed record). */
function pickPlainRound(rounds: Round[], edges: EdgeCases): number | undefined {
  const touched = new Set(
    EDGE_CASE_KEYS.filter((k) => k !== 'nine_hole_round').flatMap((k) => edges[k].map((e) => e.round_id)),
  );
  const mid = Math.floor(rounds.length / 2);
  const order = [...rounds.keys()]
    .filter((i) => i > 0 && i < rounds.length - 1)
    .sort((a, b) => Math.abs(a - mid) - Math.abs(b - mid));
  const plain = order.find((i) => !touched.has(rounds[i]!.id) && rounds[i]!.locations.length > 0);
  // Small files may have every round touched: then drop a touched one (its entries leave the CSV's manifest).
  return plain ?? order.find((i) => rounds[i]!.locations.length > 0);
}

export type Emit = (
  rel: string,
  bytes: Buffer,
  entry: Omit<ManifestFile, 'path' | 'bytes' | 'sha256'>,
) => Promise<void>;

/** Writes each file under `outDir` and appends its manifest entry (with size and sha256) to `files`. */
export function emitter(outDir: string, files: ManifestFile[]): Emit {
  return async (rel, bytes, entry) => {
    const path = join(outDir, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
    files.push({ path: rel, ...entry, bytes: bytes.length, sha256: sha256(bytes) });
  };
}

/** The manifest fields every regular export file starts with. */
export type FileCommon = Pick<ManifestFile, 'course' | 'k' | 'role' | 'bronze_reject' | 'bronze_reject_reason'> & {
  ingest_date?: string;
};

/**
 * One wide CSV of `file`; `layoutK` picks the column layout (k mod 3) and seeds its drift shuffle.
 * `malformed` drops cells of one plain record (it leaves the manifest's edge cases).
 */
export async function emitCsv(
  emit: Emit,
  rel: string,
  seed: number,
  model: CourseModel,
  layoutK: number,
  { rounds, edges }: FileRounds,
  common: FileCommon,
  cases: { bomCrlf: boolean; malformed: boolean },
): Promise<void> {
  const layout = layoutFor(layoutK);
  const slots = Math.max(...rounds.map((r) => r.locations.length));
  const plan = csvPlan(layout, slots, rngFor(seed, model.id, layoutK, 'layout'));
  const enc: CsvEncoding = { bom: cases.bomCrlf, line_ending: cases.bomCrlf ? 'CRLF' : 'LF', trailing_newline: true };
  const malformedRound = cases.malformed ? pickPlainRound(rounds, edges) : undefined;
  const bytes = writeCsv(rounds, plan, enc, malformedRound);
  const counts = await countCsv(bytes, model.centre);
  const dropped = malformedRound === undefined ? undefined : rounds[malformedRound]!.id;
  await emit(rel, bytes, {
    format: 'csv',
    ...common,
    ...counts,
    column_layout: layout,
    columns_absent: layout === 'drift_shuffled' ? DRIFT_ABSENT : [],
    header_columns: plan.header.length,
    encoding: enc,
    edge_cases: edgeSummary(edges, dropped ? (e) => e.round_id !== dropped : undefined),
  });
}

/** One MongoDB-export JSON of `file` in the given $oid/$date form. */
export async function emitJson(
  emit: Emit,
  rel: string,
  model: CourseModel,
  form: 'wrapped' | 'plain',
  { rounds, edges }: FileRounds,
  common: FileCommon,
): Promise<void> {
  const bytes = writeJson(rounds, form);
  await emit(rel, bytes, {
    format: 'json',
    ...common,
    ...countJson(bytes, model.centre),
    json_forms: { oid_date: form, number_wrappers: edges.nan_coordinates.length > 0 },
    edge_cases: edgeSummary(edges),
  });
}

/** Whole-file rejects: 0 bytes, header-only CSV, `[]` JSON, CSV without `_id`. */
async function writeExtras(
  ids: string[],
  all: CourseModel[],
  seed: number,
  startDate: string,
  emit: Emit,
): Promise<void> {
  const at = (j: number) => all.find((m) => m.id === ids[j % ids.length])!;
  const small = (m: CourseModel) => buildFile(m, all, seed, 99, startDate, 3, new Set()).rounds;
  const noEdges = edgeSummary(emptyEdgeCases());
  const reject = async (
    m: CourseModel,
    name: string,
    bytes: Buffer,
    reason: string,
    counts: ExportCounts,
    extra = {},
  ) => {
    const format = name.endsWith('.json') ? 'json' : 'csv';
    await emit(`${m.id}/${m.id}.${name}`, bytes, {
      format,
      course: m.id,
      k: null,
      role: 'extra',
      ...counts,
      expected_silver_rows: 0,
      expected_duplicates_removed: 0,
      expected_timestamp_missing: 0,
      expected_quarantined_rows: { out_of_range: 0, zero_coordinates: 0, swapped: 0, nan: 0, total: 0 },
      ...extra,
      bronze_reject: true,
      bronze_reject_reason: reason,
      edge_cases: noEdges,
    });
  };
  const lf: CsvEncoding = { bom: false, line_ending: 'LF', trailing_newline: true };
  const m0 = at(0);
  const emptyCounts = await countCsv(Buffer.alloc(0), m0.centre);
  await reject(m0, 'extra.empty.csv', Buffer.alloc(0), 'empty_file', emptyCounts, {
    encoding: { ...lf, trailing_newline: false },
  });
  const m1 = at(1);
  const headerOnly = writeCsv([], csvPlan('canonical', 2, rngFor(seed, 'extra')), lf);
  await reject(m1, 'extra.header-only.csv', headerOnly, 'no_records', await countCsv(headerOnly, m1.centre), {
    column_layout: 'canonical',
    columns_absent: [],
    header_columns: 24 + 2 * 13,
    encoding: lf,
  });
  const m2 = at(2);
  const emptyArray = writeJson([], 'wrapped');
  await reject(m2, 'extra.empty-array.json', emptyArray, 'no_records', countJson(emptyArray, m2.centre), {
    json_forms: { oid_date: 'wrapped', number_wrappers: false },
  });
  const m3 = at(3);
  const rounds = small(m3);
  const plan = csvPlan('canonical', Math.max(...rounds.map((r) => r.locations.length)), rngFor(seed, 'extra'), {
    omitId: true,
  });
  const noId = writeCsv(rounds, plan, lf);
  await reject(m3, 'extra.missing-id.csv', noId, 'missing_required_column:_id', await countCsv(noId, m3.centre), {
    column_layout: 'canonical',
    columns_absent: ['_id'],
    header_columns: plan.header.length,
    encoding: lf,
  });
}

/** Rounds per file so that one CSV is about `scaleMb` MB, measured on a 40-round pilot. */
async function roundsForSize(model: CourseModel, all: CourseModel[], seed: number, startDate: string, scaleMb: number) {
  const pilot = buildFile(model, all, seed, 1, startDate, 400, new Set()).rounds;
  const slots = Math.max(...pilot.map((r) => r.locations.length));
  const bytes = writeCsv(pilot, csvPlan('canonical', slots, rngFor(seed, 'pilot')), {
    bom: false,
    line_ending: 'LF',
    trailing_newline: true,
  }).length;
  return Math.max(3, Math.round((scaleMb * 1_000_000) / (bytes / pilot.length)));
}
