import type { CourseModel } from './course-model.ts';
import type { Rng } from './prng.ts';
import type { Loc, Round } from './simulate.ts';

export interface EdgeEntry {
  round_id: string;
  location_index: number | null;
  [extra: string]: unknown;
}

export const EDGE_CASE_KEYS = [
  'duplicate_cache_pair',
  'swapped_coordinates',
  'out_of_range_coordinates',
  'zero_coordinates',
  'nan_coordinates',
  'missing_fix_offset',
  'empty_round',
  'foreign_course_round',
  'comma_in_text',
  'nine_hole_round',
] as const;
export type EdgeCaseKey = (typeof EDGE_CASE_KEYS)[number];
export type EdgeCases = Record<EdgeCaseKey, EdgeEntry[]>;

export const emptyEdgeCases = (): EdgeCases =>
  Object.fromEntries(EDGE_CASE_KEYS.map((k) => [k, [] as EdgeEntry[]])) as unknown as EdgeCases;

/** Rounds that location-level cases may touch: not first/last, not empty/foreign/secondary. */
function eligibleRounds(rounds: Round[], protectedIds: Set<string>): number[] {
  const out: number[] = [];
  for (let i = 1; i < rounds.length - 1; i++) {
    const r = rounds[i]!;
    if (!protectedIds.has(r.id) && !r.isSecondary && r.locations.length >= 6) out.push(i);
  }
  return out;
}

/** Inserts 2–4 duplicate pairs (kept copy isCache=true, removed copy isCache=false). Call before M is fixed. */
export function applyDuplicatePairs(rounds: Round[], rng: Rng, protectedIds: Set<string>, edges: EdgeCases): void {
  const eligible = eligibleRounds(rounds, protectedIds);
  if (eligible.length === 0) return;
  const n = rng.int(2, 4);
  const used = new Set<number>();
  for (let c = 0; c < n && used.size < eligible.length; c++) {
    let ri: number;
    do ri = rng.pick(eligible);
    while (used.has(ri));
    used.add(ri);
    const r = rounds[ri]!;
    const j = rng.int(1, r.locations.length - 2);
    const kept: Loc = { ...r.locations[j]!, isCache: true, isProjected: false };
    r.locations.splice(j, 1, kept, { ...kept, isCache: false });
    edges.duplicate_cache_pair.push({ round_id: r.id, location_index: j + 1, kept_index: j });
  }
}

/** Picks untouched interior locations and applies the coordinate and offset cases. */
export function applyLocationCases(
  rounds: Round[],
  rng: Rng,
  protectedIds: Set<string>,
  edges: EdgeCases,
  opts: { nan: boolean },
): void {
  const eligible = eligibleRounds(rounds, protectedIds);
  if (eligible.length === 0) return;
  const taken = new Set<string>();
  for (const e of edges.duplicate_cache_pair) {
    taken.add(`${e.round_id}:${e.location_index}`);
    taken.add(`${e.round_id}:${e.kept_index}`);
  }
  const pickSlot = (): { r: Round; j: number } => {
    for (;;) {
      const r = rounds[rng.pick(eligible)]!;
      const j = rng.int(1, r.locations.length - 2);
      const key = `${r.id}:${j}`;
      if (!taken.has(key)) {
        taken.add(key);
        return { r, j };
      }
    }
  };
  const apply = (key: EdgeCaseKey, count: number, mutate: (l: Loc) => void) => {
    for (let c = 0; c < count; c++) {
      const { r, j } = pickSlot();
      mutate(r.locations[j]!);
      edges[key].push({ round_id: r.id, location_index: j });
    }
  };
  apply('swapped_coordinates', rng.int(1, 3), (l) => {
    [l.lon, l.lat] = [l.lat, l.lon];
  });
  apply('out_of_range_coordinates', rng.int(1, 2), (l) => {
    const mode = rng.int(0, 2);
    if (mode !== 1) l.lon = rng.pick([200, -181.5]);
    if (mode !== 0) l.lat = rng.pick([100, -95.25]);
  });
  apply('zero_coordinates', rng.int(1, 2), (l) => {
    l.lon = 0;
    l.lat = 0;
  });
  if (opts.nan) {
    apply('nan_coordinates', 1, (l) => {
      const mode = rng.int(0, 2);
      if (mode !== 1) l.lon = Number.NaN;
      if (mode !== 0) l.lat = Number.NaN;
    });
  }
  // At most one missing offset per round.
  const withMissing = new Set<string>();
  const missing = rng.int(1, 3);
  for (let c = 0, guard = 0; c < missing && guard < 100; guard++) {
    const { r, j } = pickSlot();
    if (withMissing.has(r.id)) continue;
    withMissing.add(r.id);
    r.locations[j]!.startTime = null;
    edges.missing_fix_offset.push({ round_id: r.id, location_index: j });
    c++;
  }
}

/** Turns round `i` into the empty round (no locations, no end/sections/fixes). */
export function makeEmpty(r: Round, edges: EdgeCases): void {
  r.locations = [];
  r.endSec = null;
  r.firstFix = null;
  r.lastFix = null;
  r.complete = false;
  edges.empty_round.push({ round_id: r.id, location_index: null });
}

/** Records the natural round-level cases after all rounds exist. */
export function recordRoundCases(rounds: Round[], edges: EdgeCases): void {
  for (const r of rounds) {
    if (r.goalName.includes(',')) {
      edges.comma_in_text.push({ round_id: r.id, location_index: null, field: 'goalName', value: r.goalName });
    }
    if (r.isNineHole) edges.nine_hole_round.push({ round_id: r.id, location_index: null });
  }
}

/** The course after `id` in the reference table (wrapping), used for the foreign round. */
export function nextCourse(models: CourseModel[], id: string): CourseModel {
  const i = models.findIndex((m) => m.id === id);
  return models[(i + 1) % models.length]!;
}
