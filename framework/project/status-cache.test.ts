import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  asset,
  dailyPartitions,
  defineAssets,
  md,
  multiPartitions,
  SOURCE_VERSION_KEY,
  staticPartitions,
} from '../definitions/index.ts';
import { computeStaleness } from '../staleness/index.ts';
import { defaultStorePath, openStore, type Store } from '../storage/index.ts';
import { loadStatus, openProject, type Project, StatusCache } from './index.ts';

const ts = '2026-11-25T10:00:00.000Z';

function materialize(store: Store, key: string, partition: string, inputVersions: Record<string, string> = {}) {
  store.recordMaterialization({
    asset_key: key,
    partition_key: partition,
    run_id: 'r1',
    ts,
    data_version: `d-${key}-${partition}`,
    code_version: 'v1',
    input_versions: inputVersions,
    deps: Object.keys(inputVersions),
    metadata: {},
  });
}

describe('StatusCache', () => {
  let dir: string;
  let project: Project;
  let courses: string[];
  let sourceVersion: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fairway-status-cache-'));
    courses = ['a', 'b'];
    sourceVersion = 's1';
    const partitions = multiPartitions(
      staticPartitions('course_id', () => courses),
      dailyPartitions('ingest_date', '2026-01-01', '2026-01-03'),
    );
    const feed = asset({
      key: 'bronze.feed',
      codeVersion: 'v1',
      observe: () => sourceVersion,
      materialize: () => ({}),
    });
    const events = asset({ key: 'silver.events', partitions, codeVersion: 'v1', materialize: () => ({}) });
    const rounds = asset({
      key: 'gold.rounds',
      partitions,
      deps: [events],
      codeVersion: 'v1',
      materialize: () => ({}),
    });
    const defs = defineAssets({ assets: [feed, events, rounds] });
    project = openProject(defs, { root: dir, stateDir: dir, log: pino({ level: 'silent' }) });
    project.store.recordMaterialization({
      asset_key: 'bronze.feed',
      partition_key: '',
      run_id: 'r1',
      ts,
      data_version: 'd-feed',
      code_version: 'v1',
      input_versions: {},
      deps: [],
      metadata: { [SOURCE_VERSION_KEY]: md.text('s1') },
    });
    for (const c of courses) {
      for (const d of ['01', '02', '03']) {
        const p = `course_id=${c},ingest_date=2026-01-${d}`;
        materialize(project.store, 'silver.events', p);
        materialize(project.store, 'gold.rounds', p, { 'silver.events': `d-silver.events-${p}` });
      }
    }
  });

  afterEach(() => {
    project.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The status from the cache must equal a judgement made from scratch by `computeStaleness`. */
  async function expectExact(cache: StatusCache) {
    const cached = await loadStatus(project, undefined, { cache });
    const partitions = new Map(
      ['silver.events', 'gold.rounds'].map((k) => [k, [...(cached.partitions.get(k) ?? [])]] as const),
    );
    const reference = computeStaleness({
      graph: project.graph,
      partitions,
      materializations: project.store.latestMaterializations(project.graph.keys()),
      attempts: project.store.latestStepAttempts(project.graph.keys()),
      observations: new Map([['bronze.feed', new Map([['', sourceVersion]])]]),
    });
    for (const key of project.graph.keys()) {
      const statuses = (m: ReadonlyMap<string, { status: string }> | undefined) =>
        Object.fromEntries([...(m ?? [])].map(([p, s]) => [p, s.status]));
      expect(statuses(cached.staleness.get(key)), key).toEqual(statuses(reference.get(key)));
    }
    return cached;
  }

  it('keeps the judgement while nothing changes, for the whole graph and for one asset', async () => {
    const cache = new StatusCache();
    const first = await expectExact(cache);
    const again = await loadStatus(project, undefined, { cache });
    expect(again.staleness.get('gold.rounds')).toBe(first.staleness.get('gold.rounds'));
    const one = await loadStatus(project, ['gold.rounds'], { cache });
    expect(one.staleness.get('gold.rounds')).toBe(first.staleness.get('gold.rounds'));
    // without a cache every call judges again
    expect((await loadStatus(project)).staleness.get('gold.rounds')).not.toBe(first.staleness.get('gold.rounds'));
  });

  it("judges again after another connection's commit (PRAGMA data_version)", async () => {
    const cache = new StatusCache();
    const before = await expectExact(cache);
    const p = 'course_id=a,ingest_date=2026-01-02';
    expect(before.staleness.get('gold.rounds')!.get(p)!.status).toBe('FRESH');
    const other = openStore(defaultStorePath(dir));
    try {
      // a new version of the upstream partition, written by another process: its reader is now stale
      other.recordMaterialization({
        asset_key: 'silver.events',
        partition_key: p,
        run_id: 'r2',
        ts,
        data_version: 'd-new',
        code_version: 'v1',
        input_versions: {},
        deps: [],
        metadata: {},
      });
    } finally {
      other.close();
    }
    const after = await expectExact(cache);
    expect(after.staleness.get('gold.rounds')!.get(p)!.status).toBe('STALE');
  });

  it('judges again after a write through its own connection', async () => {
    const cache = new StatusCache();
    await expectExact(cache);
    project.store.recordStepAttempt({
      asset_key: 'silver.events',
      partition_key: 'course_id=b,ingest_date=2026-01-01',
      run_id: 'r3',
      status: 'FAILURE',
      started_at: '2026-11-25T11:00:00.000Z',
      finished_at: '2026-11-25T11:00:01.000Z',
      duration_ms: 1000,
      attempts: 1,
      reason: 'boom',
    });
    const after = await expectExact(cache);
    expect(after.staleness.get('silver.events')!.get('course_id=b,ingest_date=2026-01-01')!.status).toBe('FAILED');
  });

  it('judges again when discovery lists other partitions or a source is observed at another version', async () => {
    const cache = new StatusCache();
    await expectExact(cache);
    courses.push('c');
    const grown = await expectExact(cache);
    expect(grown.staleness.get('silver.events')!.get('course_id=c,ingest_date=2026-01-01')!.status).toBe('MISSING');
    expect(grown.staleness.get('gold.rounds')!.size).toBe(9);
    expect(grown.staleness.get('bronze.feed')!.get('')!.status).toBe('FRESH');
    sourceVersion = 's2';
    const observed = await expectExact(cache);
    expect(observed.staleness.get('bronze.feed')!.get('')!.status).toBe('STALE');
  });
});
