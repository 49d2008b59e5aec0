import type { Rng } from './prng.ts';
import { iso, type Loc, type Round } from './simulate.ts';

/** Round columns in contract order (canonical layout). */
export const ROUND_COLUMNS = [
  '_id',
  'course',
  'startTime',
  'endTime',
  'startHole',
  'startSection',
  'endSection',
  'isNineHole',
  'currentNine',
  'goalTime',
  'goalName',
  'goalTimeFraction',
  'complete',
  'isIncomplete',
  'isSecondary',
  'isAutoAssigned',
  'device',
  'firstFix',
  'lastFix',
  'lastSectionStart',
  'currentSection',
  'currentHole',
  'currentHoleSection',
  'captureLogs',
] as const;

export const SLOT_FIELDS = [
  'hole',
  'holeSection',
  'sectionNumber',
  'startTime',
  'fixCoordinates[0]',
  'fixCoordinates[1]',
  'pace',
  'paceGap',
  'positionalGap',
  'batteryPercentage',
  'isCache',
  'isProjected',
  'isProblem',
] as const;

export type ColumnLayout = 'canonical' | 'drift_shuffled' | 'drift_field_major';
export const DRIFT_ABSENT = ['isAutoAssigned', 'captureLogs', 'locations[N].isProblem'];

export const layoutFor = (k: number): ColumnLayout =>
  k % 3 === 1 ? 'canonical' : k % 3 === 2 ? 'drift_shuffled' : 'drift_field_major';

type Cell = string | number | boolean | null;

const numText = (n: number) => (Number.isNaN(n) ? 'NaN' : String(n));

/** Round-level values, keyed by column name (null = empty cell / JSON null). */
function roundValues(r: Round): Record<(typeof ROUND_COLUMNS)[number], Cell> {
  const first = r.locations[0];
  const last = r.locations[r.locations.length - 1];
  return {
    _id: r.id,
    course: r.course,
    startTime: iso(r.startSec),
    endTime: r.endSec === null ? null : iso(r.endSec),
    startHole: r.startHole,
    startSection: first ? first.sectionNumber : null,
    endSection: last ? last.sectionNumber : null,
    isNineHole: r.isNineHole,
    currentNine: r.currentNine,
    goalTime: r.goalTime,
    goalName: r.goalName,
    goalTimeFraction: r.goalTimeFraction,
    complete: r.complete,
    isIncomplete: !r.complete,
    isSecondary: r.isSecondary,
    isAutoAssigned: r.isAutoAssigned,
    device: r.device,
    firstFix: r.firstFix,
    lastFix: r.lastFix,
    lastSectionStart: last ? last.startTime : null,
    currentSection: last ? last.sectionNumber : null,
    currentHole: last ? last.hole : null,
    currentHoleSection: last ? last.holeSection : null,
    captureLogs: r.captureLogs ? JSON.stringify(r.captureLogs) : null,
  };
}

function slotValues(l: Loc | undefined): Cell[] {
  if (!l) return SLOT_FIELDS.map(() => null);
  return [
    l.hole,
    l.holeSection,
    l.sectionNumber,
    l.startTime,
    l.lon,
    l.lat,
    l.pace,
    l.paceGap,
    l.positionalGap,
    l.battery,
    l.isCache,
    l.isProjected,
    l.isProblem,
  ];
}

/** RFC 4180: quote when the cell holds `,`, `"`, CR or LF; double the quotes. */
export function csvCell(v: Cell): string {
  if (v === null) return '';
  if (typeof v === 'number') return numText(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  const s = v;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export interface CsvPlan {
  header: string[];
  /** For each header column: [kind, index] where kind 'r' = round column, 's' = slot field. */
  cells: (r: Round) => Cell[];
}

/** Column order for a layout; `rng` shuffles the drift layout deterministically. */
export function csvPlan(layout: ColumnLayout, slots: number, rng: Rng, opts: { omitId?: boolean } = {}): CsvPlan {
  let roundCols: string[] = [...ROUND_COLUMNS];
  let fieldIdx = SLOT_FIELDS.map((_, i) => i);
  if (layout === 'drift_shuffled') {
    roundCols = rng.shuffle(roundCols.filter((c) => c !== 'isAutoAssigned' && c !== 'captureLogs'));
    fieldIdx = rng.shuffle(fieldIdx.filter((i) => SLOT_FIELDS[i] !== 'isProblem'));
  }
  if (opts.omitId) roundCols = roundCols.filter((c) => c !== '_id');
  const slotHeader = (n: number, i: number) => `locations[${n}].${SLOT_FIELDS[i]}`;
  const header: string[] = [];
  const slotOrder: [number, number][] = [];
  if (layout === 'drift_field_major') {
    for (const i of fieldIdx) for (let n = 0; n < slots; n++) slotOrder.push([n, i]);
  } else {
    for (let n = 0; n < slots; n++) for (const i of fieldIdx) slotOrder.push([n, i]);
  }
  const slotNames = slotOrder.map(([n, i]) => slotHeader(n, i));
  if (layout === 'drift_field_major') header.push(...slotNames, ...roundCols);
  else header.push(...roundCols, ...slotNames);
  const roundFirst = layout !== 'drift_field_major';
  return {
    header,
    cells: (r) => {
      const rv = roundValues(r) as Record<string, Cell>;
      const perSlot = Array.from({ length: slots }, (_, n) => slotValues(r.locations[n]));
      const rc = roundCols.map((c) => rv[c] ?? null);
      const sc = slotOrder.map(([n, i]) => perSlot[n]![i]!);
      return roundFirst ? [...rc, ...sc] : [...sc, ...rc];
    },
  };
}

export interface CsvEncoding {
  bom: boolean;
  line_ending: 'LF' | 'CRLF';
  trailing_newline: boolean;
}

/** Serializes rounds as one wide CSV. `malformedIndex` drops the last cells of that record. */
export function writeCsv(rounds: Round[], plan: CsvPlan, enc: CsvEncoding, malformedIndex?: number): Buffer {
  const eol = enc.line_ending === 'CRLF' ? '\r\n' : '\n';
  const lines: string[] = [plan.header.map(csvCell).join(',')];
  rounds.forEach((r, i) => {
    let cells = plan.cells(r).map(csvCell);
    if (i === malformedIndex) cells = cells.slice(0, cells.length - 5);
    lines.push(cells.join(','));
  });
  const text = lines.join(eol) + (enc.trailing_newline ? eol : '');
  return Buffer.from(enc.bom ? `\uFEFF${text}` : text, 'utf8');
}

const jsonNum = (n: number) => (Number.isNaN(n) ? '{"$numberDouble":"NaN"}' : JSON.stringify(n));

/** One round as MongoDB-export JSON text, `wrapped` ($oid/$date) or `plain`. */
function roundJson(r: Round, form: 'wrapped' | 'plain'): string {
  const rv = roundValues(r);
  const oid = (v: Cell) =>
    v === null ? 'null' : form === 'wrapped' ? `{"$oid":${JSON.stringify(v)}}` : JSON.stringify(v);
  const date = (v: Cell) =>
    v === null ? 'null' : form === 'wrapped' ? `{"$date":${JSON.stringify(v)}}` : JSON.stringify(v);
  const parts: string[] = [];
  for (const c of ROUND_COLUMNS) {
    const v = rv[c];
    if (c === 'captureLogs') {
      if (r.captureLogs) parts.push(`"captureLogs":${JSON.stringify(r.captureLogs)}`);
      continue;
    }
    const text =
      c === '_id' || c === 'device' || c === 'firstFix' || c === 'lastFix'
        ? oid(v)
        : c === 'startTime' || c === 'endTime'
          ? date(v)
          : JSON.stringify(v);
    parts.push(`${JSON.stringify(c)}:${text}`);
  }
  const locs = r.locations.map((l) => {
    const f: string[] = [
      `"hole":${l.hole}`,
      `"holeSection":${l.holeSection}`,
      `"sectionNumber":${l.sectionNumber}`,
      `"startTime":${l.startTime === null ? 'null' : jsonNum(l.startTime)}`,
      `"fixCoordinates":[${jsonNum(l.lon)},${jsonNum(l.lat)}]`,
      `"pace":${jsonNum(l.pace)}`,
    ];
    // Wrapped exports leave null gaps out; plain exports write them as null.
    if (l.paceGap !== null || form === 'plain') f.push(`"paceGap":${l.paceGap === null ? 'null' : jsonNum(l.paceGap)}`);
    if (l.positionalGap !== null || form === 'plain') {
      f.push(`"positionalGap":${l.positionalGap === null ? 'null' : jsonNum(l.positionalGap)}`);
    }
    f.push(
      `"batteryPercentage":${l.battery}`,
      `"isCache":${l.isCache}`,
      `"isProjected":${l.isProjected}`,
      `"isProblem":${l.isProblem}`,
    );
    return `{${f.join(',')}}`;
  });
  parts.push(`"locations":[${locs.join(',')}]`);
  return `{${parts.join(',')}}`;
}

/** A JSON array with one round per line: `[\n{…},\n{…}\n]\n`. */
export function writeJson(rounds: Round[], form: 'wrapped' | 'plain'): Buffer {
  if (rounds.length === 0) return Buffer.from('[]\n');
  return Buffer.from(`[\n${rounds.map((r) => roundJson(r, form)).join(',\n')}\n]\n`, 'utf8');
}
