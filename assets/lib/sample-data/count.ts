import { parse } from 'csv-parse';

/** What a correct Bronze → Silver pipeline does with one export, by the sample README's counting rules. */
export interface ExportCounts {
  rounds: number;
  records_malformed: number;
  slots_per_round: number | null;
  total_location_slots: number;
  padding_slots: number;
  real_location_rows: number;
  locations_per_round: { min: number; mean: number; max: number } | null;
  expected_quarantined_rows: { out_of_range: number; zero_coordinates: number; swapped: number; nan: number; total: number };
  expected_duplicates_removed: number;
  expected_timestamp_missing: number;
  expected_silver_rows: number;
}

interface Row {
  roundId: string;
  roundStart: number | null;
  offset: number | null;
  lon: number | null;
  lat: number | null;
}

const EARTH_M = 6_371_008.8;

/** Great-circle distance in metres between two [lon, lat] points. */
export function haversineMetres(a: readonly [number, number], b: readonly [number, number]): number {
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLon = (b[0] - a[0]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Rule 5: trim, empty → null, NaN (any case) → NaN, non-numeric → null; unwrap $number* objects. */
export function toNumber(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const inner = o.$numberDouble ?? o.$numberLong ?? o.$numberInt ?? o.$numberDecimal;
    return inner === undefined ? null : toNumber(String(inner));
  }
  const s = String(v).trim();
  if (s === '') return null;
  if (/^nan$/i.test(s)) return Number.NaN;
  const n = Number(s);
  return Number.isFinite(n) && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) ? n : null;
}

const unwrap = (v: unknown): unknown =>
  v !== null && typeof v === 'object' && !Array.isArray(v)
    ? ((v as Record<string, unknown>).$oid ?? (v as Record<string, unknown>).$date ?? v)
    : v;

function epochSec(v: unknown): number | null {
  const s = unwrap(v);
  if (typeof s !== 'string' || s.trim() === '') return null;
  const ms = Date.parse(s.trim());
  return Number.isNaN(ms) ? null : ms / 1000;
}

type Reason = 'nan' | 'zero_coordinates' | 'swapped' | 'out_of_range';

/** Rule 7: one reason per real row, in precedence nan → zero → swapped → out_of_range. */
export function quarantineReason(lon: number | null, lat: number | null, centre: readonly [number, number]): Reason | null {
  if (lon === null || lat === null) {
    if (lon !== null && Number.isNaN(lon)) return 'nan';
    if (lat !== null && Number.isNaN(lat)) return 'nan';
    return null;
  }
  if (Number.isNaN(lon) || Number.isNaN(lat)) return 'nan';
  if (lon === 0 && lat === 0) return 'zero_coordinates';
  if (haversineMetres([lon, lat], centre) > 5000 && haversineMetres([lat, lon], centre) < 5000) return 'swapped';
  if (lon < -180 || lon > 180 || lat < -90 || lat > 90) return 'out_of_range';
  return null;
}

function tally(rows: Row[], centre: readonly [number, number]) {
  const q = { out_of_range: 0, zero_coordinates: 0, swapped: 0, nan: 0, total: 0 };
  const seen = new Set<string>();
  let duplicates = 0;
  let tsMissing = 0;
  for (const r of rows) {
    const reason = quarantineReason(r.lon, r.lat, centre);
    if (reason) {
      q[reason] += 1;
      q.total += 1;
      continue;
    }
    const ts = r.roundStart === null || r.offset === null || Number.isNaN(r.offset) ? null : Math.floor(r.roundStart + r.offset);
    if (ts === null) {
      tsMissing += 1;
      continue;
    }
    const key = `${r.roundId}\u0000${ts}`;
    if (seen.has(key)) duplicates += 1;
    else seen.add(key);
  }
  return { q, duplicates, tsMissing };
}

function finish(
  base: Pick<ExportCounts, 'rounds' | 'records_malformed' | 'slots_per_round' | 'total_location_slots' | 'padding_slots'>,
  rows: Row[],
  perRound: number[],
  centre: readonly [number, number],
): ExportCounts {
  const { q, duplicates, tsMissing } = tally(rows, centre);
  const nonEmpty = perRound.filter((n) => n > 0);
  return {
    ...base,
    real_location_rows: rows.length,
    locations_per_round: nonEmpty.length
      ? {
          min: Math.min(...nonEmpty),
          mean: Math.round(nonEmpty.reduce((a, b) => a + b, 0) / nonEmpty.length),
          max: Math.max(...nonEmpty),
        }
      : null,
    expected_quarantined_rows: q,
    expected_duplicates_removed: duplicates,
    expected_timestamp_missing: tsMissing,
    expected_silver_rows: rows.length - q.total - duplicates,
  };
}

/** Counts a wide CSV export (streaming, so a 100 MB file stays cheap). */
export async function countCsv(bytes: Buffer, centre: readonly [number, number]): Promise<ExportCounts> {
  const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: true });
  parser.end(bytes);
  let header: string[] | undefined;
  let slots: { n: number; hole?: number; section?: number; start?: number; lon?: number; lat?: number }[] = [];
  let idCol = -1;
  let startCol = -1;
  let rounds = 0;
  let malformed = 0;
  let padding = 0;
  const rows: Row[] = [];
  const perRound: number[] = [];
  for await (const rec of parser as AsyncIterable<string[]>) {
    if (!header) {
      header = rec;
      idCol = header.indexOf('_id');
      startCol = header.indexOf('startTime');
      const byN = new Map<number, (typeof slots)[number]>();
      header.forEach((h, i) => {
        const m = /^locations\[(\d+)\]\.(.+)$/.exec(h);
        if (!m) return;
        const n = Number(m[1]);
        const s = byN.get(n) ?? { n };
        byN.set(n, s);
        const f = m[2];
        if (f === 'hole') s.hole = i;
        else if (f === 'sectionNumber') s.section = i;
        else if (f === 'startTime') s.start = i;
        else if (f === 'fixCoordinates[0]') s.lon = i;
        else if (f === 'fixCoordinates[1]') s.lat = i;
      });
      // Rule 4: a slot exists iff its startTime column exists.
      slots = [...byN.values()].filter((s) => s.start !== undefined).sort((a, b) => a.n - b.n);
      continue;
    }
    if (rec.length !== header.length) {
      malformed += 1;
      continue;
    }
    rounds += 1;
    const roundId = idCol >= 0 ? rec[idCol]!.trim() : '';
    const roundStart = startCol >= 0 ? epochSec(rec[startCol]) : null;
    let real = 0;
    for (const s of slots) {
      const cell = (i: number | undefined) => (i === undefined ? '' : rec[i]!.trim());
      if (cell(s.hole) === '' && cell(s.section) === '') {
        padding += 1;
        continue;
      }
      real += 1;
      rows.push({
        roundId,
        roundStart,
        offset: toNumber(cell(s.start)),
        lon: toNumber(cell(s.lon)),
        lat: toNumber(cell(s.lat)),
      });
    }
    perRound.push(real);
  }
  return finish(
    {
      rounds,
      records_malformed: malformed,
      slots_per_round: slots.length,
      total_location_slots: rounds * slots.length,
      padding_slots: padding,
    },
    rows,
    perRound,
    centre,
  );
}

/** Counts a MongoDB-export JSON file (an array of rounds, or one round object). */
export function countJson(bytes: Buffer, centre: readonly [number, number]): ExportCounts {
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  const parsed: unknown = JSON.parse(text);
  const records = (Array.isArray(parsed) ? parsed : [parsed]) as Record<string, unknown>[];
  const rows: Row[] = [];
  const perRound: number[] = [];
  for (const rec of records) {
    const roundId = String(unwrap(rec._id) ?? '');
    const roundStart = epochSec(rec.startTime);
    const locs = Array.isArray(rec.locations) ? (rec.locations as Record<string, unknown>[]) : [];
    for (const l of locs) {
      const fc = Array.isArray(l.fixCoordinates) ? l.fixCoordinates : [];
      rows.push({ roundId, roundStart, offset: toNumber(l.startTime), lon: toNumber(fc[0]), lat: toNumber(fc[1]) });
    }
    perRound.push(locs.length);
  }
  return finish(
    {
      rounds: records.length,
      records_malformed: 0,
      slots_per_round: null,
      total_location_slots: rows.length,
      padding_slots: 0,
    },
    rows,
    perRound,
    centre,
  );
}
