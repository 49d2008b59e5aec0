import { describe, expect, it } from 'vitest';
import { type AssetDefinition, asset, defineAssets, staticPartitions } from '../definitions/index.ts';
import { buildGraph } from '../graph/index.ts';
import type { MaterializationRecord, StepAttemptRecord } from '../storage/index.ts';
import {
  combinedVersion,
  computeStaleness,
  describeCause,
  explainStatus,
  type StaleCause,
  type StalenessInput,
  type StalenessResult,
  unionPartitions,
} from './index.ts';

const noop = () => undefined;
const T = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString();

const days = staticPartitions('d', ['2026-01-01', '2026-01-02']);
const D1 = 'd=2026-01-01';
const D2 = 'd=2026-01-02';
const D3 = 'd=2026-01-03';

/** bronze.raw → silver.clean → gold.report → gold.dashboard, and bronze.days (partitioned) → silver.rollup. */
function project(overrides: { cleanDeps?: string[] } = {}) {
  const raw = asset({ key: 'bronze.raw', codeVersion: 'c-raw', materialize: noop });
  const clean = asset({
    key: 'silver.clean',
    deps: overrides.cleanDeps ?? [raw.key],
    codeVersion: 'c-clean',
    materialize: noop,
  });
  const report = asset({ key: 'gold.report', deps: [clean], codeVersion: 'c-report', materialize: noop });
  const dashboard = asset({ key: 'gold.dashboard', deps: [report], codeVersion: 'c-dash', materialize: noop });
  const daily = asset({ key: 'bronze.days', partitions: days, codeVersion: 'c-days', materialize: noop });
  const rollup = asset({ key: 'silver.rollup', deps: [daily], codeVersion: 'c-rollup', materialize: noop });
  const extra = asset({ key: 'bronze.extra', codeVersion: 'c-extra', materialize: noop });
  return buildGraph(defineAssets({ assets: [raw, clean, report, dashboard, daily, rollup, extra] }));
}

type Graph = ReturnType<typeof project>;

/** Materialization maps built the way the executor records them: each consumes its inputs' current versions. */
class History {
  readonly materializations = new Map<string, Map<string, MaterializationRecord>>();
  readonly attempts = new Map<string, Map<string, StepAttemptRecord>>();
  readonly partitions = new Map<string, readonly string[]>([['bronze.days', [D1, D2]]]);

  constructor(private readonly graph: Graph) {}

  materialize(key: string, ts: number, opts: Partial<MaterializationRecord> & { partition?: string } = {}): this {
    const def = this.graph.definition(key);
    const partition = opts.partition ?? '';
    const inputs: Record<string, string> = {};
    for (const dep of def.deps) {
      const records = this.materializations.get(dep) ?? new Map();
      const parts = this.graph.definition(dep).partitions ? [...(this.partitions.get(dep) ?? [])] : [''];
      inputs[dep] = combinedVersion(records, parts) ?? '';
    }
    const record: MaterializationRecord = {
      asset_key: key,
      partition_key: partition,
      run_id: `run-${ts}`,
      ts: T(ts),
      data_version: `${key}@${ts}`,
      code_version: def.codeVersion,
      input_versions: inputs,
      deps: [...def.deps],
      metadata: {},
      ...opts,
    };
    const byPartition = this.materializations.get(key) ?? new Map();
    byPartition.set(partition, record);
    this.materializations.set(key, byPartition);
    return this;
  }

  attempt(
    key: string,
    ts: number,
    status: StepAttemptRecord['status'],
    reason: string | null = 'boom',
    attempts = 1,
  ): this {
    const byPartition = this.attempts.get(key) ?? new Map();
    byPartition.set('', {
      asset_key: key,
      partition_key: '',
      run_id: `run-${ts}`,
      status,
      started_at: T(ts - 1),
      finished_at: T(ts),
      duration_ms: 60_000,
      attempts,
      reason,
    });
    this.attempts.set(key, byPartition);
    return this;
  }

  /** Everything materialized once, in order. */
  all(from = 1): this {
    this.materialize('bronze.raw', from).materialize('bronze.extra', from);
    this.materialize('bronze.days', from, { partition: D1 }).materialize('bronze.days', from, { partition: D2 });
    return this.materialize('silver.clean', from + 1)
      .materialize('silver.rollup', from + 1)
      .materialize('gold.report', from + 2)
      .materialize('gold.dashboard', from + 3);
  }

  input(extra: Partial<StalenessInput> = {}): StalenessInput {
    return {
      graph: this.graph,
      partitions: this.partitions,
      materializations: this.materializations,
      attempts: this.attempts,
      ...extra,
    };
  }
}

const statusOf = (r: StalenessResult, key: string, partition = '') => r.get(key)?.get(partition);
const statusMap = (r: StalenessResult) =>
  Object.fromEntries([...r].flatMap(([k, m]) => [...m].map(([p, s]) => [p ? `${k}[${p}]` : k, s.status])));

describe('computeStaleness', () => {
  it('reports MISSING for assets never materialized, one status per known partition', () => {
    const r = computeStaleness(new History(project()).input());
    expect(statusMap(r)).toEqual({
      'bronze.days[d=2026-01-01]': 'MISSING',
      'bronze.days[d=2026-01-02]': 'MISSING',
      'bronze.extra': 'MISSING',
      'bronze.raw': 'MISSING',
      'silver.clean': 'MISSING',
      'silver.rollup': 'MISSING',
      'gold.report': 'MISSING',
      'gold.dashboard': 'MISSING',
    });
    expect(statusOf(r, 'gold.report')!.causes).toEqual([{ kind: 'never_materialized' }]);
  });

  it('reports FRESH when everything consumed the current upstream data', () => {
    const h = new History(project()).all();
    const r = computeStaleness(h.input());
    expect(new Set(Object.values(statusMap(r)))).toEqual(new Set(['FRESH']));
    expect(statusOf(r, 'silver.clean')).toEqual({
      status: 'FRESH',
      causes: [],
      dataVersion: 'silver.clean@2',
      materializedAt: T(2),
    });
  });

  it('marks a code change STALE and propagates it downstream', () => {
    const h = new History(project()).all();
    h.materialize('silver.clean', 2, { code_version: 'c-old' }).materialize('gold.report', 3);
    h.materialize('gold.dashboard', 4);
    const r = computeStaleness(h.input());
    expect(statusOf(r, 'bronze.raw')!.status).toBe('FRESH');
    expect(statusOf(r, 'silver.clean')).toMatchObject({
      status: 'STALE',
      causes: [{ kind: 'code_version_changed', from: 'c-old', to: 'c-clean' }],
    });
    expect(statusOf(r, 'gold.report')).toMatchObject({
      status: 'STALE',
      causes: [{ kind: 'upstream_stale', upstream: 'silver.clean', partition: '', status: 'STALE' }],
    });
    expect(statusOf(r, 'gold.dashboard')).toMatchObject({
      status: 'STALE',
      causes: [{ kind: 'upstream_stale', upstream: 'gold.report', partition: '', status: 'STALE' }],
    });
  });

  it('marks new upstream data STALE with the consumed and current versions', () => {
    const h = new History(project()).all();
    h.materialize('bronze.raw', 10);
    const r = computeStaleness(h.input());
    expect(statusOf(r, 'bronze.raw')!.status).toBe('FRESH');
    expect(statusOf(r, 'silver.clean')!.causes).toEqual([
      { kind: 'upstream_data_changed', upstream: 'bronze.raw', consumed: 'bronze.raw@1', current: 'bronze.raw@10' },
    ]);
    expect(statusOf(r, 'silver.clean')!.status).toBe('STALE');
    expect(statusOf(r, 'gold.dashboard')!.status).toBe('STALE');
    expect(statusOf(r, 'silver.rollup')!.status).toBe('FRESH');
  });

  it('names the newer upstream partitions behind an all-mapping', () => {
    const h = new History(project()).all();
    h.materialize('bronze.days', 10, { partition: D2 });
    const r = computeStaleness(h.input());
    expect(statusOf(r, 'bronze.days', D2)!.status).toBe('FRESH');
    expect(statusOf(r, 'silver.rollup')).toMatchObject({
      status: 'STALE',
      causes: [{ kind: 'upstream_partitions_changed', upstream: 'bronze.days', partitions: [D2] }],
    });
  });

  it('notices a new upstream partition behind an all-mapping', () => {
    const h = new History(project()).all();
    h.partitions.set('bronze.days', [D1, D2, D3]);
    h.materialize('bronze.days', 10, { partition: D3 });
    const r = computeStaleness(h.input());
    expect([...r.get('bronze.days')!.keys()]).toEqual([D1, D2, D3]);
    expect(statusOf(r, 'silver.rollup')!.causes).toEqual([
      { kind: 'upstream_partitions_changed', upstream: 'bronze.days', partitions: [D3] },
    ]);
  });

  it('marks a downstream of a MISSING upstream partition STALE', () => {
    const h = new History(project()).all();
    h.partitions.set('bronze.days', [D1, D2, D3]);
    const r = computeStaleness(h.input());
    expect(statusOf(r, 'bronze.days', D3)!.status).toBe('MISSING');
    // The consumed combination did not change (D3 has no data), so only the missing upstream is named.
    expect(statusOf(r, 'silver.rollup')).toMatchObject({
      status: 'STALE',
      causes: [{ kind: 'upstream_stale', upstream: 'bronze.days', partition: D3, status: 'MISSING' }],
    });
  });

  it('reports a changed dependency set', () => {
    const g = project({ cleanDeps: ['bronze.raw', 'bronze.extra'] });
    const h = new History(g).all();
    h.materialize('silver.clean', 2, { deps: ['bronze.raw', 'bronze.gone'] });
    const r = computeStaleness(h.input());
    expect(statusOf(r, 'silver.clean')).toMatchObject({
      status: 'STALE',
      causes: [{ kind: 'deps_changed', added: ['bronze.extra'], removed: ['bronze.gone'] }],
    });
  });

  it('reports FAILED when the last attempt failed after the latest materialization', () => {
    const h = new History(project()).all().attempt('silver.clean', 20, 'FAILURE', 'exit code 1');
    const r = computeStaleness(h.input());
    expect(statusOf(r, 'silver.clean')).toMatchObject({
      status: 'FAILED',
      causes: [{ kind: 'last_attempt_failed', run_id: 'run-20', reason: 'exit code 1' }],
      dataVersion: 'silver.clean@2',
    });
  });

  it('reports FAILED for a canceled attempt of a never-materialized asset, with both causes', () => {
    const h = new History(project()).attempt('bronze.raw', 5, 'CANCELED', null);
    expect(statusOf(computeStaleness(h.input()), 'bronze.raw')).toMatchObject({
      status: 'FAILED',
      causes: [{ kind: 'last_attempt_failed', run_id: 'run-5', reason: null }, { kind: 'never_materialized' }],
    });
  });

  it('a step canceled before it started (no attempt) fails nothing: the partition keeps its state', () => {
    const never = new History(project()).attempt('bronze.raw', 5, 'CANCELED', 'canceled before it started', 0);
    expect(statusOf(computeStaleness(never.input()), 'bronze.raw')).toMatchObject({
      status: 'MISSING',
      causes: [{ kind: 'never_materialized' }],
    });
    const fresh = new History(project()).all().attempt('silver.clean', 20, 'CANCELED', 'canceled before it started', 0);
    expect(statusOf(computeStaleness(fresh.input()), 'silver.clean')?.status).toBe('FRESH');
  });

  it('is not FAILED when a later materialization succeeded', () => {
    const h = new History(project()).all().attempt('silver.clean', 20, 'FAILURE');
    h.materialize('silver.clean', 30);
    expect(statusOf(computeStaleness(h.input()), 'silver.clean')!.status).toBe('FRESH');
  });

  it('is not FAILED after a successful attempt', () => {
    const h = new History(project()).all().attempt('silver.clean', 20, 'SUCCESS', null);
    expect(statusOf(computeStaleness(h.input()), 'silver.clean')!.status).toBe('FRESH');
  });

  it('reports RUNNING for steps in the running set', () => {
    const h = new History(project()).all().attempt('silver.clean', 20, 'FAILURE');
    const r = computeStaleness(h.input({ running: new Set(['silver.clean|', `bronze.days|${D1}`]) }));
    expect(statusOf(r, 'silver.clean')).toMatchObject({ status: 'RUNNING', causes: [] });
    expect(statusOf(r, 'bronze.days', D1)!.status).toBe('RUNNING');
    expect(statusOf(r, 'bronze.days', D2)!.status).toBe('FRESH');
  });

  it('restricts the result to the requested keys but still evaluates their upstreams', () => {
    const h = new History(project()).all();
    h.materialize('bronze.raw', 10);
    const r = computeStaleness(h.input({ keys: ['gold.report'] }));
    expect([...r.keys()]).toEqual(['gold.report']);
    expect(statusOf(r, 'gold.report')!.causes).toEqual([
      { kind: 'upstream_stale', upstream: 'silver.clean', partition: '', status: 'STALE' },
    ]);
  });
});

describe('explainStatus', () => {
  it('follows upstream_stale causes down to the root cause', () => {
    const h = new History(project()).all();
    h.materialize('bronze.raw', 10);
    const lines = explainStatus(computeStaleness(h.input()), 'gold.dashboard', '');
    expect(lines.map((l) => [l.depth, l.asset_key, l.text])).toEqual([
      [0, 'gold.dashboard', 'gold.dashboard is STALE because:'],
      [1, 'gold.dashboard', "- upstream 'gold.report' is stale"],
      [2, 'gold.report', 'gold.report is STALE because:'],
      [3, 'gold.report', "- upstream 'silver.clean' is stale"],
      [4, 'silver.clean', 'silver.clean is STALE because:'],
      [5, 'silver.clean', "- upstream 'bronze.raw' has new data (consumed bronze.raw@1, now bronze.raw@10)"],
    ]);
  });

  it('stops at maxDepth', () => {
    const h = new History(project()).all();
    h.materialize('bronze.raw', 10);
    const lines = explainStatus(computeStaleness(h.input()), 'gold.dashboard', '', 2);
    expect(lines.map((l) => l.asset_key)).toEqual(['gold.dashboard', 'gold.dashboard', 'gold.report', 'gold.report']);
  });

  it('says FRESH, RUNNING and unknown partitions plainly', () => {
    const h = new History(project()).all();
    const r = computeStaleness(h.input({ running: new Set(['gold.report|']) }));
    expect(explainStatus(r, 'silver.clean', '')[0]!.text).toBe(
      'silver.clean is FRESH: its data is up to date with its code and its upstream data',
    );
    expect(explainStatus(r, 'gold.report', '')[0]!.text).toBe('gold.report is RUNNING now');
    expect(explainStatus(r, 'bronze.days', 'd=1999-01-01')).toEqual([
      {
        depth: 0,
        asset_key: 'bronze.days',
        partition_key: 'd=1999-01-01',
        text: 'bronze.days [d=1999-01-01] has no status (unknown partition?)',
      },
    ]);
  });
});

describe('describeCause', () => {
  const cases: [StaleCause, string][] = [
    [{ kind: 'never_materialized' }, 'it has never been materialized'],
    [
      { kind: 'last_attempt_failed', run_id: 'r1', reason: 'exit code 2' },
      'its last attempt failed in run r1: exit code 2',
    ],
    [{ kind: 'last_attempt_failed', run_id: 'r1', reason: null }, 'its last attempt failed in run r1'],
    [
      { kind: 'code_version_changed', from: 'aaaaaaaaaaaaaaaaaaaa', to: 'v2' },
      'its code changed (code version aaaaaaaaaaaa… → v2)',
    ],
    [
      { kind: 'deps_changed', added: ['bronze.a'], removed: ['bronze.b'] },
      'its dependencies changed (+bronze.a, -bronze.b)',
    ],
    [
      { kind: 'upstream_data_changed', upstream: 'bronze.raw', consumed: null, current: 'v2' },
      "upstream 'bronze.raw' has new data (consumed nothing, now v2)",
    ],
    [
      { kind: 'upstream_partitions_changed', upstream: 'bronze.days', partitions: ['p1', 'p2'] },
      "upstream 'bronze.days' has new or changed partitions since: p1; p2",
    ],
    [
      {
        kind: 'upstream_partitions_changed',
        upstream: 'bronze.days',
        partitions: ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'],
      },
      "upstream 'bronze.days' has new or changed partitions since: p1; p2; p3; p4; p5 and 2 more",
    ],
    [
      { kind: 'upstream_stale', upstream: 'bronze.days', partition: 'd=1', status: 'MISSING' },
      "upstream 'bronze.days' [d=1] is missing",
    ],
    [
      { kind: 'upstream_stale', upstream: 'silver.clean', partition: '', status: 'STALE' },
      "upstream 'silver.clean' is stale",
    ],
  ];
  it.each(cases)('%o', (cause, text) => {
    expect(describeCause(cause)).toBe(text);
  });
});

describe('computeStaleness at scale', () => {
  /** Deterministic PRNG (mulberry32) so the graph is the same on every run. */
  function random(seed: number) {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  it('marks exactly the downstream closure of changed roots STALE in a 10k-asset graph', () => {
    const LAYERS = 20;
    const WIDTH = 500;
    const next = random(42);
    const keyOf = (layer: number, i: number) => `l${String(layer).padStart(2, '0')}.a${String(i).padStart(3, '0')}`;
    const assets: AssetDefinition[] = [];
    for (let layer = 0; layer < LAYERS; layer++) {
      for (let i = 0; i < WIDTH; i++) {
        const deps = new Set<string>();
        // Three distinct parents near `i` in the layer above, so a change spreads a little per layer.
        while (layer > 0 && deps.size < 3) deps.add(keyOf(layer - 1, (i + WIDTH + Math.floor(next() * 5) - 2) % WIDTH));
        assets.push(asset({ key: keyOf(layer, i), deps: [...deps], codeVersion: 'v', materialize: noop }));
      }
    }
    const graph = buildGraph(defineAssets({ assets }));
    expect(graph.size).toBe(10_000);

    const materializations = new Map<string, Map<string, MaterializationRecord>>();
    const version = new Map<string, string>();
    for (const key of graph.topologicalOrder()) {
      const def = graph.definition(key);
      version.set(key, `${key}@1`);
      const record: MaterializationRecord = {
        asset_key: key,
        partition_key: '',
        run_id: 'run-1',
        ts: T(1),
        data_version: `${key}@1`,
        code_version: 'v',
        input_versions: Object.fromEntries(def.deps.map((d) => [d, version.get(d)!])),
        deps: [...def.deps],
        metadata: {},
      };
      materializations.set(key, new Map([['', record]]));
    }
    const roots = graph.roots();
    expect(roots).toHaveLength(WIDTH);
    const changed = new Set<string>();
    while (changed.size < WIDTH / 10) changed.add(roots[Math.floor(next() * WIDTH)]!);
    for (const key of changed) {
      const record = materializations.get(key)!.get('')!;
      materializations.set(key, new Map([['', { ...record, ts: T(2), data_version: `${key}@2`, run_id: 'run-2' }]]));
    }

    const started = performance.now();
    const result = computeStaleness({ graph, partitions: new Map(), materializations, attempts: new Map() });
    const elapsed = performance.now() - started;
    console.log(`computeStaleness over ${graph.size} assets: ${elapsed.toFixed(1)} ms`);

    const stale = [...result].filter(([, m]) => m.get('')!.status === 'STALE').map(([k]) => k);
    const expected = graph.downstream(changed);
    // Not trivial: some assets below the roots stay FRESH, many more than the changed roots go STALE.
    expect(expected.size).toBeGreaterThan(changed.size * 10);
    expect(expected.size).toBeLessThan(graph.size - WIDTH);
    expect(stale).toHaveLength(expected.size);
    expect(new Set(stale)).toEqual(expected);
    const fresh = [...result].filter(([, m]) => m.get('')!.status === 'FRESH');
    expect(fresh).toHaveLength(graph.size - expected.size);
  });
});

describe('unionPartitions', () => {
  it('equals the sorted set of both lists, sorted or not', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 300; round++) {
      const pick = () => Array.from({ length: rand(8) }, () => `p=${rand(12)}`);
      const known = round % 3 === 0 ? pick() : [...new Set(pick())].sort();
      const records = new Map((round % 2 === 0 ? [...new Set(pick())].sort() : pick()).map((p) => [p, 1]));
      expect(unionPartitions(known, records)).toEqual([...new Set([...known, ...records.keys()])].sort());
    }
  });
});
