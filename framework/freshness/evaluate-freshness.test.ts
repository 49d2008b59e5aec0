import { describe, expect, it } from 'vitest';
import {
  asset,
  dailyPartitions,
  defineAssets,
  type FreshnessPolicy,
  multiPartitions,
  staticPartitions,
} from '../definitions/index.ts';
import { buildGraph } from '../graph/index.ts';
import { combinedVersion, computeStaleness } from '../staleness/index.ts';
import type { MaterializationRecord } from '../storage/index.ts';
import { endOfDay, evaluateFreshness, policyWindows, validateFreshnessPolicy, validateScheduling } from './index.ts';

const noop = () => undefined;
const days = staticPartitions('day', ['d1', 'd2']);
const lag: FreshnessPolicy = { maxLag: { warnAfterMinutes: 20, failAfterMinutes: 30 } };
// By 06:00 Chicago time (12:00Z in November), data that arrived before local midnight (06:00Z) is in.
const byMorning: FreshnessPolicy = {
  deadline: {
    cron: '0 6 * * *',
    timezone: 'America/Chicago',
    dataCutoffMinutes: 360,
    warnBeforeMinutes: 60,
    failAfterMinutes: 15,
  },
};

function graph() {
  const files = asset({ key: 'bronze.files', partitions: days, codeVersion: 'c', materialize: noop, observe: noop });
  const clean = asset({
    key: 'silver.clean',
    deps: [files],
    partitions: days,
    codeVersion: 'c',
    freshness: lag,
    materialize: noop,
  });
  const report = asset({
    key: 'gold.report',
    deps: [clean],
    codeVersion: 'c',
    freshness: byMorning,
    materialize: noop,
  });
  return buildGraph(defineAssets({ assets: [files, clean, report] }));
}

const Z = (hhmm: string, day = '2026-11-24') => `${day}T${hhmm}:00.000Z`;

/** Records materializations the way the executor does: each consumes its inputs' current versions. */
class World {
  constructor(
    readonly g = graph(),
    readonly partitions = new Map([
      ['bronze.files', ['d1', 'd2']],
      ['silver.clean', ['d1', 'd2']],
    ]),
  ) {}
  readonly mats = new Map<string, Map<string, MaterializationRecord>>();
  readonly observations = new Map<string, Map<string, string>>([['bronze.files', new Map()]]);
  readonly arrivals = new Map<string, Map<string, string>>([['bronze.files', new Map()]]);

  arrive(day: string, version: string, at: string): this {
    this.observations.get('bronze.files')!.set(day, version);
    this.arrivals.get('bronze.files')!.set(day, at);
    return this;
  }
  materialize(key: string, partition: string, at: string): this {
    const def = this.g.definition(key);
    const input_versions: Record<string, string> = {};
    for (const dep of def.deps) {
      const records = this.mats.get(dep) ?? new Map();
      const parts =
        partition && this.g.definition(dep).partitions ? [partition] : [...(this.partitions.get(dep) ?? [])];
      input_versions[dep] = combinedVersion(records, parts) ?? '';
    }
    const observed = this.observations.get(key)?.get(partition);
    const record: MaterializationRecord = {
      asset_key: key,
      partition_key: partition,
      run_id: `run-${at}`,
      ts: at,
      data_version: `${key}@${at}`,
      code_version: 'c',
      input_versions,
      deps: [...def.deps],
      metadata: observed ? { source_version: { type: 'text', value: observed } } : {},
    };
    const byPartition = this.mats.get(key) ?? new Map();
    byPartition.set(partition, record);
    this.mats.set(key, byPartition);
    if (observed) this.arrivals.get(key)?.delete(partition);
    return this;
  }
  at(now: string) {
    const staleness = computeStaleness({
      graph: this.g,
      partitions: this.partitions,
      materializations: this.mats,
      attempts: new Map(),
      observations: this.observations,
    });
    return evaluateFreshness({
      graph: this.g,
      partitions: this.partitions,
      staleness,
      materializations: this.mats,
      observations: this.observations,
      sourceArrivals: this.arrivals,
      now: new Date(now),
    });
  }
}

describe('evaluateFreshness', () => {
  it('is FRESH when nothing has arrived, and only assets with a policy are evaluated', () => {
    const r = new World().at(Z('10:00'));
    expect([...r.keys()]).toEqual(['silver.clean', 'gold.report']);
    expect(r.get('silver.clean')!.get('d1')).toMatchObject({ state: 'FRESH', pending: null, dueAt: null });
    expect(r.get('gold.report')!.get('')!.state).toBe('FRESH');
  });

  it('counts max lag from the source arrival: FRESH, then WARN, then OVERDUE', () => {
    const w = new World().arrive('d1', 'v1', Z('10:00'));
    expect(w.at(Z('10:10')).get('silver.clean')!.get('d1')).toMatchObject({
      state: 'FRESH',
      dueAt: Z('10:30'),
      pending: { since: Z('10:00'), what: "source data of 'bronze.files' [d1] arrived at 2026-11-24T10:00Z" },
    });
    expect(w.at(Z('10:20')).get('silver.clean')!.get('d1')!.state).toBe('WARN');
    const overdue = w.at(Z('10:30')).get('silver.clean')!.get('d1')!;
    expect(overdue.state).toBe('OVERDUE');
    expect(overdue.text).toMatch(/^overdue since 2026-11-24T10:30Z \(max lag 30m \(warn 20m\)\)/);
    expect(w.at(Z('10:30')).get('silver.clean')!.get('d2')!.state).toBe('FRESH');
  });

  it('counts from the upstream materialization once the upstream caught up, and is FRESH once consumed', () => {
    const w = new World().arrive('d1', 'v1', Z('10:00')).materialize('bronze.files', 'd1', Z('10:25'));
    expect(w.at(Z('10:40')).get('silver.clean')!.get('d1')).toMatchObject({ state: 'FRESH', dueAt: Z('10:55') });
    w.materialize('silver.clean', 'd1', Z('10:45'));
    expect(w.at(Z('11:30')).get('silver.clean')!.get('d1')!.state).toBe('FRESH');
    // A changed file restarts the clock at its arrival.
    w.arrive('d1', 'v2', Z('12:00'));
    expect(w.at(Z('12:31')).get('silver.clean')!.get('d1')!.state).toBe('OVERDUE');
  });

  it('applies a cron deadline in its time zone, propagating arrivals through the lineage', () => {
    const w = new World();
    for (const d of ['d1', 'd2']) w.arrive(d, 'v1', Z('01:00')).materialize('bronze.files', d, Z('01:05'));
    for (const d of ['d1', 'd2']) w.materialize('silver.clean', d, Z('01:10'));
    // Gold was never built; its data arrived at 01:10Z, before the 06:00Z cutoff of the 12:00Z deadline.
    expect(w.at(Z('10:00')).get('gold.report')!.get('')).toMatchObject({ state: 'FRESH', dueAt: Z('12:15') });
    expect(w.at(Z('11:00')).get('gold.report')!.get('')!.state).toBe('WARN');
    expect(w.at(Z('12:05')).get('gold.report')!.get('')!.state).toBe('WARN'); // in the grace
    expect(w.at(Z('12:15')).get('gold.report')!.get('')!.state).toBe('OVERDUE');
    w.materialize('gold.report', '', Z('11:50'));
    expect(w.at(Z('12:15')).get('gold.report')!.get('')!.state).toBe('FRESH');
    // Data arriving after the cutoff is due at the next morning's deadline, even while still in Bronze.
    w.arrive('d2', 'v2', Z('07:00', '2026-11-24'));
    expect(w.at(Z('13:00')).get('gold.report')!.get('')).toMatchObject({
      state: 'FRESH',
      dueAt: Z('12:15', '2026-11-25'),
      pending: { since: Z('07:00') },
    });
  });

  it('treats a never-materialized root without a source as pending forever (OVERDUE)', () => {
    const root = asset({ key: 'bronze.root', codeVersion: 'c', freshness: lag, materialize: noop });
    const g = buildGraph(defineAssets({ assets: [root] }));
    const staleness = computeStaleness({
      graph: g,
      partitions: new Map(),
      materializations: new Map(),
      attempts: new Map(),
    });
    const r = evaluateFreshness({
      graph: g,
      partitions: new Map(),
      staleness,
      materializations: new Map(),
      now: new Date(),
    });
    expect(r.get('bronze.root')!.get('')).toMatchObject({
      state: 'OVERDUE',
      pending: { since: '1970-01-01T00:00:00.000Z' },
    });
  });
});

describe('deadlines keyed on the partition day', () => {
  // By 06:00 Chicago time (12:00Z in November), yesterday's partition is in; WARN from 05:00, grace 15m.
  const deadline = { cron: '0 6 * * *', timezone: 'America/Chicago', warnBeforeMinutes: 60, failAfterMinutes: 15 };
  const daily = multiPartitions(
    staticPartitions('course_id', ['erinhills']),
    dailyPartitions('ingest_date', '2026-11-23', '2026-11-24'),
  );
  const keys = ['course_id=erinhills,ingest_date=2026-11-23', 'course_id=erinhills,ingest_date=2026-11-24'];
  const d23 = keys[0]!;
  const d24 = keys[1]!;

  function dailyWorld() {
    const files = asset({ key: 'bronze.files', partitions: daily, codeVersion: 'c', materialize: noop, observe: noop });
    const events = asset({
      key: 'silver.events',
      deps: [files],
      partitions: daily,
      codeVersion: 'c',
      freshness: { deadline },
      materialize: noop,
    });
    // Unpartitioned, same policy: keeps counting from the arrival.
    const rounds = asset({
      key: 'gold.rounds',
      deps: [events],
      codeVersion: 'c',
      freshness: { deadline },
      materialize: noop,
    });
    const w = new World(
      buildGraph(defineAssets({ assets: [files, events, rounds] })),
      new Map([
        ['bronze.files', keys],
        ['silver.events', keys],
      ]),
    );
    for (const p of keys)
      w.arrive(p, 'v0', Z('01:00', '2026-11-23')).materialize('bronze.files', p, Z('01:00', '2026-11-23'));
    for (const p of keys) w.materialize('silver.events', p, Z('01:05', '2026-11-23'));
    return w.materialize('gold.rounds', '', Z('01:10', '2026-11-23'));
  }

  it('makes day D due at the first deadline tick after D ends in the deadline zone, not after its arrival', () => {
    // 02:00 Chicago on the 24th: by arrival, due at 06:00 the same morning; by its day, the next morning.
    const w = dailyWorld().arrive(d24, 'v1', Z('08:00'));
    const early = w.at(Z('13:00'));
    expect(early.get('silver.events')!.get(d24)).toMatchObject({
      state: 'FRESH',
      warnAt: Z('11:00', '2026-11-25'),
      dueAt: Z('12:15', '2026-11-25'),
      day: { dimension: 'ingest_date', value: '2026-11-24', endsAt: Z('06:00', '2026-11-25') },
    });
    expect(early.get('silver.events')!.get(d24)!.text).toBe(
      "due by 2026-11-25T12:15Z (deadline '0 6 * * *' America/Chicago per ingest_date: the first tick after the day ends): " +
        "ingest_date 2026-11-24 ends at 2026-11-25T06:00Z; source data of 'bronze.files' [course_id=erinhills,ingest_date=2026-11-24] arrived at 2026-11-24T08:00Z",
    );
    expect(early.get('silver.events')!.get(d23)!.state).toBe('FRESH');
    // The unpartitioned asset with the same policy counts from the arrival: overdue since this morning.
    expect(early.get('gold.rounds')!.get('')).toMatchObject({ state: 'OVERDUE', dueAt: Z('12:15'), day: null });

    expect(w.at(Z('10:59', '2026-11-25')).get('silver.events')!.get(d24)!.state).toBe('FRESH');
    expect(w.at(Z('11:00', '2026-11-25')).get('silver.events')!.get(d24)!.state).toBe('WARN');
    const overdue = w.at(Z('12:15', '2026-11-25')).get('silver.events')!.get(d24)!;
    expect(overdue.state).toBe('OVERDUE');
    expect(overdue.text).toMatch(
      /^overdue since 2026-11-25T12:15Z .*ingest_date 2026-11-24 ended at 2026-11-25T06:00Z;/,
    );
    w.materialize('bronze.files', d24, Z('11:00', '2026-11-25')).materialize(
      'silver.events',
      d24,
      Z('11:05', '2026-11-25'),
    );
    expect(w.at(Z('12:15', '2026-11-25')).get('silver.events')!.get(d24)).toMatchObject({
      state: 'FRESH',
      dueAt: null,
    });
  });

  it('counts data that arrives after its day has ended from its arrival', () => {
    // A late file for the 23rd, which ended at 06:00Z on the 24th, arriving at 14:00Z (08:00 Chicago):
    // not overdue at once, but due at the next morning's tick.
    const w = dailyWorld().arrive(d23, 'v1', Z('14:00'));
    expect(w.at(Z('14:05')).get('silver.events')!.get(d23)).toMatchObject({
      state: 'FRESH',
      dueAt: Z('12:15', '2026-11-25'),
      day: { value: '2026-11-23', endsAt: Z('06:00') },
    });
    expect(w.at(Z('14:05')).get('silver.events')!.get(d23)!.text).toContain(
      'ingest_date 2026-11-23 ended at 2026-11-24T06:00Z',
    );
  });

  it('takes the day boundaries and the cutoff in the deadline time zone', () => {
    const since = new Date(Z('08:00'));
    const utc = { deadline: { ...deadline, timezone: 'UTC' } };
    expect(new Date(policyWindows(utc, since, '2026-11-24').dueAt).toISOString()).toBe(Z('06:15', '2026-11-25'));
    expect(endOfDay('2026-11-24', 'America/Chicago')).toBe(Date.parse(Z('06:00', '2026-11-25')));
    expect(endOfDay('2026-11-24', 'Asia/Kolkata')).toBe(Date.parse('2026-11-24T18:30:00.000Z'));
    // Cutoff: the first tick at least dataCutoffMinutes after the day ends (06:00 Chicago is exactly 360m after).
    const cutoff = (m: number) => ({ deadline: { ...deadline, dataCutoffMinutes: m } });
    expect(new Date(policyWindows(cutoff(360), since, '2026-11-24').deadlineTick!).toISOString()).toBe(
      Z('12:00', '2026-11-25'),
    );
    expect(new Date(policyWindows(cutoff(361), since, '2026-11-24').deadlineTick!).toISOString()).toBe(
      Z('12:00', '2026-11-26'),
    );
    // Without a day: the arrival rule (06:00 Chicago on the 24th is after 02:00 + 0m).
    expect(policyWindows({ deadline }, since)).toMatchObject({ deadlineTick: Date.parse(Z('12:00')), day: null });
  });
});

describe('validateFreshnessPolicy', () => {
  it('names the asset and the problem', () => {
    expect(() => validateFreshnessPolicy('silver.x', {})).toThrow(/'silver.x' sets neither maxLag nor deadline/);
    expect(() =>
      validateFreshnessPolicy('silver.x', { maxLag: { warnAfterMinutes: 40, failAfterMinutes: 30 } }),
    ).toThrow(/warns after it fails/);
    expect(() =>
      validateFreshnessPolicy('gold.x', { deadline: { cron: '0 6 * * *', timezone: 'Course/Time' } }),
    ).toThrow(expect.objectContaining({ code: 'TIMEZONE_INVALID' }));
    expect(() => validateFreshnessPolicy('gold.x', { deadline: { cron: 'at six', timezone: 'UTC' } })).toThrow(
      expect.objectContaining({ code: 'CRON_INVALID' }),
    );
  });

  it('rejects duplicate schedule names', () => {
    const defs = defineAssets({
      assets: [asset({ key: 'bronze.a', codeVersion: 'c', materialize: noop })],
      schedules: [
        { name: 'nightly', cron: '0 2 * * *', timezone: 'UTC', selection: '*' },
        { name: 'nightly', cron: '0 3 * * *', timezone: 'UTC', selection: '*' },
      ],
    });
    expect(() => validateScheduling(defs)).toThrow(expect.objectContaining({ code: 'SCHEDULE_DUPLICATE' }));
  });
});
