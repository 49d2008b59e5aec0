import { csvRecords } from '../csv-records.ts';
/** What a correct Bronze → Silver pipeline does with one export, by the sample README's counting rules. */
export interface ExportCounts {
  rounds: number;
  records_malformed: number;
  slots_per_round: number | null;
  total_location_slots: number;
  padding_slots: number;
  real_location_rows: number;
  locations_per_round: { min: number; mean: number; max: number } | null;
  expected_quarantined_rows: {
    out_of_range: number;
    zero_coordinates: number;
    swapped: number;
    nan: number;
    total: number;
  };
  expected_duplicates_removed: number;
  expected_timestamp_missing: number;
  expected_silver_rows: number;
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
export function quarantineReason(
  lon: number | null,
  lat: number | null,
  centre: readonly [number, number],
): Reason | null {
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

/** Applies rules 7–10 row by row, so even a 100 MB export needs no row list in memory. */
class Tally {
  readonly q = { out_of_range: 0, zero_coordinates: 0, swapped: 0, nan: 0, total: 0 };
  private readonly seen = new Set<string>();
  private readonly perRound: number[] = [];
  real = 0;
  duplicates = 0;
  tsMissing = 0;

  constructor(private readonly centre: readonly [number, number]) {}

  row(roundId: string, roundStart: number | null, offset: number | null, lon: number | null, lat: number | null): void {
    this.real += 1;
    const reason = quarantineReason(lon, lat, this.centre);
    if (reason) {
      this.q[reason] += 1;
      this.q.total += 1;
      return;
    }
    if (roundStart === null || offset === null || Number.isNaN(offset)) {
      this.tsMissing += 1;
      return;
    }
    const key = `${roundId}\u0000${Math.floor(roundStart + offset)}`;
    if (this.seen.has(key)) this.duplicates += 1;
    else this.seen.add(key);
  }

  endRound(realRows: number): void {
    this.perRound.push(realRows);
  }

  result(
    base: Pick<
      ExportCounts,
      'rounds' | 'records_malformed' | 'slots_per_round' | 'total_location_slots' | 'padding_slots'
    >,
  ): ExportCounts {
    const nonEmpty = this.perRound.filter((n) => n > 0);
    return {
      ...base,
      real_location_rows: this.real,
      locations_per_round: nonEmpty.length
        ? {
            min: nonEmpty.reduce((a, b) => Math.min(a, b)),
            mean: Math.round(nonEmpty.reduce((a, b) => a + b, 0) / nonEmpty.length),
            max: nonEmpty.reduce((a, b) => Math.max(a, b)),
          }
        : null,
      expected_quarantined_rows: { ...this.q },
      expected_duplicates_removed: this.duplicates,
      expected_timestamp_missing: this.tsMissing,
      expected_silver_rows: this.real - this.q.total - this.duplicates,
    };
  }
}

/** Counts a wide CSV export. */
export async function countCsv(bytes: Buffer, centre: readonly [number, number]): Promise<ExportCounts> {
  let header: string[] | undefined;
  let slots: { n: number; hole?: number; section?: number; start?: number; lon?: number; lat?: number }[] = [];
  let idCol = -1;
  let startCol = -1;
  let rounds = 0;
  let malformed = 0;
  let padding = 0;
  const tally = new Tally(centre);
  const cell = (rec: string[], i: number | undefined) => (i === undefined ? '' : rec[i]!.trim());
  for (const rec of csvRecords(bytes.toString('utf8'))) {
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
      if (cell(rec, s.hole) === '' && cell(rec, s.section) === '') {
        padding += 1;
        continue;
      }
      real += 1;
      tally.row(
        roundId,
        roundStart,
        toNumber(cell(rec, s.start)),
        toNumber(cell(rec, s.lon)),
        toNumber(cell(rec, s.lat)),
      );
    }
    tally.endRound(real);
  }
  return tally.result({
    rounds,
    records_malformed: malformed,
    slots_per_round: slots.length,
    total_location_slots: rounds * slots.length,
    padding_slots: padding,
  });
}

/** Counts a MongoDB-export JSON file (an array of rounds, or one round object). */
export function countJson(bytes: Buffer, centre: readonly [number, number]): ExportCounts {
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  const parsed: unknown = JSON.parse(text);
  const records = (Array.isArray(parsed) ? parsed : [parsed]) as Record<string, unknown>[];
  const tally = new Tally(centre);
  let slots = 0;
  for (const rec of records) {
    const roundId = String(unwrap(rec._id) ?? '');
    const roundStart = epochSec(rec.startTime);
    const locs = Array.isArray(rec.locations) ? (rec.locations as Record<string, unknown>[]) : [];
    for (const l of locs) {
      const fc = Array.isArray(l.fixCoordinates) ? l.fixCoordinates : [];
      tally.row(roundId, roundStart, toNumber(l.startTime), toNumber(fc[0]), toNumber(fc[1]));
    }
    slots += locs.length;
    tally.endRound(locs.length);
  }
  return tally.result({
    rounds: records.length,
    records_malformed: 0,
    slots_per_round: null,
    total_location_slots: slots,
    padding_slots: 0,
  });
}
