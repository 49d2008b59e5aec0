import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DefinitionError } from '../errors/index.ts';
import {
  type AssetDefinition,
  asset,
  type DimensionFilter,
  dailyPartitions,
  defineAssets,
  listPartitionKeys,
  md,
  metadataSchema,
  multiAsset,
  multiPartitions,
  normalizePartitionKey,
  staticPartitions,
} from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'fairway-defs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `fn` and returns what it threw, failing the test when it does not throw. */
function thrown(fn: () => unknown): DefinitionError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DefinitionError);
    return e as DefinitionError;
  }
  throw new Error('expected a DefinitionError, nothing was thrown');
}

/** Same asset, declared in a given file (asset() records the caller, which here is this test). */
const inFile = <A extends AssetDefinition>(a: A, sourceFile: string): A => ({ ...a, sourceFile });

describe('asset() code version', () => {
  const codeFile = join(dir, 'job.py');

  it('is stable for the same materializer source and code files', () => {
    writeFileSync(codeFile, 'print("v1")\n');
    const a = asset({ key: 'bronze.raw', codeFiles: [codeFile], materialize: () => ({ dataVersion: 'x' }) });
    const b = asset({ key: 'bronze.raw', codeFiles: [codeFile], materialize: () => ({ dataVersion: 'x' }) });
    expect(a.codeVersion).toMatch(/^[0-9a-f]{16}$/);
    expect(b.codeVersion).toBe(a.codeVersion);
  });

  it('changes when the materializer source changes', () => {
    const a = asset({ key: 'bronze.raw', materialize: () => ({ dataVersion: 'x' }) });
    const b = asset({ key: 'bronze.raw', materialize: () => ({ dataVersion: 'y' }) });
    expect(b.codeVersion).not.toBe(a.codeVersion);
  });

  it('changes when a code file changes, and comes back when the file does', () => {
    const make = () => asset({ key: 'bronze.raw', codeFiles: [codeFile], materialize: () => undefined });
    writeFileSync(codeFile, 'print("v1")\n');
    const v1 = make().codeVersion;
    writeFileSync(codeFile, 'print("v2")\n');
    const v2 = make().codeVersion;
    writeFileSync(codeFile, 'print("v1")\n');
    expect(v2).not.toBe(v1);
    expect(make().codeVersion).toBe(v1);
  });

  it('hashes the code files as they were when the asset was declared, whenever it is first read', () => {
    writeFileSync(codeFile, 'print("v1")\n');
    const reference = asset({ key: 'bronze.raw', codeFiles: [codeFile], materialize: () => undefined }).codeVersion;
    const declared = asset({ key: 'bronze.raw', codeFiles: [codeFile], materialize: () => undefined });
    writeFileSync(codeFile, 'print("changed after the declaration")\n');
    expect(declared.codeVersion).toBe(reference);
    expect(JSON.parse(JSON.stringify(declared)).codeVersion).toBe(reference);
    writeFileSync(codeFile, 'print("v1")\n');
  });

  it('keeps an explicit code version', () => {
    expect(asset({ key: 'bronze.raw', codeVersion: 'v7', materialize: () => undefined }).codeVersion).toBe('v7');
  });

  it('names a missing code file', () => {
    const missing = join(dir, 'no-such-job.py');
    const e = thrown(() => asset({ key: 'bronze.raw', codeFiles: [missing], materialize: () => undefined }));
    expect(e.code).toBe('CODE_FILE_MISSING');
    expect(e.message).toContain(missing);
    expect(e.message).toContain('bronze.raw');
  });

  it("is derived once for a multi-asset's outputs, which share it; an output's own is kept", () => {
    writeFileSync(codeFile, 'print("v1")\n');
    const materialize = () => ({ outputs: {} });
    const alone = asset({ key: 'silver.a', codeFiles: [codeFile], materialize });
    const outputs = multiAsset({
      name: 'job',
      codeFiles: [codeFile],
      outputs: [{ key: 'silver.a' }, { key: 'silver.b' }, { key: 'silver.c', codeVersion: 'pinned' }],
      materialize,
    });
    expect(outputs.map((o) => o.codeVersion)).toEqual([alone.codeVersion, alone.codeVersion, 'pinned']);
    const missing = join(dir, 'no-such-job.py');
    const e = thrown(() =>
      multiAsset({
        name: 'job',
        codeFiles: [missing],
        outputs: [{ key: 'silver.a' }, { key: 'silver.b' }],
        materialize,
      }),
    );
    expect(e.code).toBe('CODE_FILE_MISSING');
    expect(e.message).toContain("'job'");
  });

  it('turns asset objects in deps into keys', () => {
    const raw = asset({ key: 'bronze.raw', materialize: () => undefined });
    const clean = asset({ key: 'silver.clean', deps: [raw, 'bronze.other'], materialize: () => undefined });
    expect(clean.deps).toEqual(['bronze.raw', 'bronze.other']);
  });

  it('type-checks the shape of deps', () => {
    const make = () =>
      asset({
        key: 'silver.clean',
        // @ts-expect-error a dependency is an asset object or a key, never a number
        deps: [42],
        materialize: () => undefined,
      });
    // At run time the bad dep is not a key either, so loading fails (today with a TypeError from the
    // "did you mean" lookup rather than a DefinitionError; see the report).
    expect(() => defineAssets({ assets: [make()] })).toThrow();
  });
});

describe('defineAssets', () => {
  const noop = () => undefined;

  it('accepts a valid set and keeps resources and hooks', () => {
    const raw = asset({ key: 'bronze.raw', materialize: noop });
    const defs = defineAssets({
      assets: [raw, asset({ key: 'silver.clean', deps: [raw], materialize: noop })],
      resources: { n: 1 },
    });
    expect([...defs.assets.keys()]).toEqual(['bronze.raw', 'silver.clean']);
    expect(defs.resources).toEqual({ n: 1 });
    expect(defs.hooks).toEqual({});
  });

  it.each(['Bronze.raw', 'raw', 'bronze.', 'bronze..raw', 'bronze.raw-data', '1.raw'])('rejects key %j', (key) => {
    const e = thrown(() => defineAssets({ assets: [asset({ key, codeVersion: 'v', materialize: noop })] }));
    expect(e.code).toBe('ASSET_KEY_INVALID');
    expect(e.message).toContain(`'${key}'`);
  });

  it('names both files of a duplicate key', () => {
    const a = inFile(asset({ key: 'bronze.raw', materialize: noop }), '/p/assets/bronze.ts');
    const b = inFile(asset({ key: 'bronze.raw', materialize: noop }), '/p/assets/silver.ts');
    const e = thrown(() => defineAssets({ assets: [a, b] }));
    expect(e.code).toBe('ASSET_KEY_DUPLICATE');
    expect(e.message).toContain('/p/assets/bronze.ts');
    expect(e.message).toContain('/p/assets/silver.ts');
    expect(e.details).toMatchObject({ asset_key: 'bronze.raw', files: ['/p/assets/bronze.ts', '/p/assets/silver.ts'] });
  });

  it('suggests the closest key for an unknown dep', () => {
    const ev = asset({ key: 'silver.fact_telemetry_event', materialize: noop });
    const gold = inFile(
      asset({ key: 'gold.pace_summary', deps: ['silver.fact_telemetry_evnt'], materialize: noop }),
      '/p/assets/gold.ts',
    );
    const e = thrown(() => defineAssets({ assets: [ev, gold] }));
    expect(e.code).toBe('ASSET_DEP_UNKNOWN');
    expect(e.message).toBe(
      "Asset 'silver.fact_telemetry_evnt' is not defined (referenced by 'gold.pace_summary' in /p/assets/gold.ts). " +
        "Did you mean 'silver.fact_telemetry_event'?",
    );
  });

  it('does not suggest a far-off key', () => {
    const a = asset({ key: 'bronze.raw', materialize: noop });
    const b = asset({ key: 'gold.report', deps: ['silver.completely_different'], materialize: noop });
    expect(thrown(() => defineAssets({ assets: [a, b] })).message).not.toContain('Did you mean');
  });

  it('rejects a partition mapping for a key that is not a dep', () => {
    const raw = asset({ key: 'bronze.raw', materialize: noop });
    const other = asset({ key: 'bronze.other', materialize: noop });
    const clean = asset({
      key: 'silver.clean',
      deps: [raw],
      partitionMappings: { 'bronze.other': 'all' },
      materialize: noop,
    });
    const e = thrown(() => defineAssets({ assets: [raw, other, clean] }));
    expect(e.code).toBe('PARTITION_MAPPING_INVALID');
    expect(e.message).toContain("'bronze.other', which is not one of its deps");
  });

  it('rejects an identity mapping between different partitionings', () => {
    const raw = asset({
      key: 'bronze.raw',
      partitions: dailyPartitions('ingest_date', '2026-01-01'),
      materialize: noop,
    });
    const clean = asset({
      key: 'silver.clean',
      deps: [raw],
      partitions: staticPartitions('course_id', ['a']),
      partitionMappings: { 'bronze.raw': 'identity' },
      materialize: noop,
    });
    const e = thrown(() => defineAssets({ assets: [raw, clean] }));
    expect(e.code).toBe('PARTITION_MAPPING_INVALID');
    expect(e.message).toContain("'course_id' vs 'ingest_date'");
  });

  it('rejects an identity mapping from an unpartitioned asset', () => {
    const raw = asset({ key: 'bronze.raw', partitions: staticPartitions('course_id', ['a']), materialize: noop });
    const clean = asset({
      key: 'silver.clean',
      deps: [raw],
      partitionMappings: { 'bronze.raw': 'identity' },
      materialize: noop,
    });
    expect(thrown(() => defineAssets({ assets: [raw, clean] })).message).toContain("'none' vs 'course_id'");
  });

  it('accepts an identity mapping between like partitionings', () => {
    const p = staticPartitions('course_id', ['a', 'b']);
    const raw = asset({ key: 'bronze.raw', partitions: p, materialize: noop });
    const clean = asset({
      key: 'silver.clean',
      deps: [raw],
      partitions: staticPartitions('course_id', ['a']),
      partitionMappings: { 'bronze.raw': 'identity' },
      materialize: noop,
    });
    expect(defineAssets({ assets: [raw, clean] }).assets.size).toBe(2);
  });

  it('rejects two checks with one name', () => {
    const a = asset({
      key: 'bronze.raw',
      checks: [{ name: 'not_empty' }, { name: 'unique_id' }, { name: 'not_empty' }],
      materialize: noop,
    });
    const e = thrown(() => defineAssets({ assets: [a] }));
    expect(e.code).toBe('CHECK_DUPLICATE');
    expect(e.message).toContain("two checks named 'not_empty'");
  });

  it('rejects a dependency listed twice', () => {
    const raw = asset({ key: 'bronze.raw', materialize: noop });
    const clean = asset({ key: 'silver.clean', deps: [raw, 'bronze.raw'], materialize: noop });
    expect(thrown(() => defineAssets({ assets: [raw, clean] })).code).toBe('ASSET_DEP_DUPLICATE');
  });

  it('rejects bad partition definitions', () => {
    const bad = [
      dailyPartitions('ingest_date', '2026-02-30'),
      staticPartitions('Course', ['a']),
      staticPartitions('course_id', ['ok', '../etc']),
      multiPartitions(staticPartitions('d', ['a']), staticPartitions('d', ['b'])),
    ];
    for (const partitions of bad) {
      const e = thrown(() => defineAssets({ assets: [asset({ key: 'bronze.raw', partitions, materialize: noop })] }));
      expect(e.code).toBe('PARTITION_INVALID');
    }
  });
});

describe('normalizePartitionKey', () => {
  const course = staticPartitions('course_id', ['erinhills', 'pebble']);
  const day = dailyPartitions('ingest_date', '2026-01-01');
  const multi = multiPartitions(course, day);

  it('accepts a bare value for a single dimension', () => {
    expect(normalizePartitionKey(course, 'erinhills', 'bronze.raw')).toBe('course_id=erinhills');
    expect(normalizePartitionKey(day, ' 2026-11-24 ', 'bronze.raw')).toBe('ingest_date=2026-11-24');
  });

  it('accepts dim=value for a single dimension', () => {
    expect(normalizePartitionKey(course, 'course_id=pebble', 'bronze.raw')).toBe('course_id=pebble');
  });

  it('orders multi-dimension keys by the definition', () => {
    expect(normalizePartitionKey(multi, 'ingest_date=2026-11-24, course_id=erinhills', 'bronze.raw')).toBe(
      'course_id=erinhills,ingest_date=2026-11-24',
    );
  });

  it.each([
    ['unknown dimension', multi, 'course_id=a,ingest_date=2026-11-24,hole=3', 'unknown dimension(s) hole'],
    ['missing dimension', multi, 'course_id=erinhills', "lacks dimension 'ingest_date'"],
    ['empty value', course, 'course_id=', "lacks dimension 'course_id'"],
    ['bare value for two dimensions', multi, 'erinhills', 'is not of the form dim=value'],
    ['impossible day', day, '2026-02-30', "'2026-02-30' is not a valid YYYY-MM-DD day"],
    ['day in another format', day, 'ingest_date=24.11.2026', 'is not a valid YYYY-MM-DD day'],
    ['path traversal', course, '../x', "'../x' is not a valid value"],
    ['slash in a value', multi, 'course_id=a/b,ingest_date=2026-11-24', "'a/b' is not a valid value"],
  ])('rejects %s', (_name, def, key, message) => {
    const e = thrown(() => normalizePartitionKey(def, key, 'bronze.raw'));
    expect(e.code).toBe('PARTITION_INVALID');
    expect(e.message).toContain(message);
  });
});

describe('listPartitionKeys', () => {
  it('lists static keys from an array', async () => {
    expect(await listPartitionKeys(staticPartitions('course_id', ['b', 'a']))).toEqual(['course_id=b', 'course_id=a']);
  });

  it('lists static keys from an async discovery function', async () => {
    let calls = 0;
    const def = staticPartitions('course_id', async () => {
      calls++;
      return ['erinhills'];
    });
    expect(await listPartitionKeys(def)).toEqual(['course_id=erinhills']);
    expect(calls).toBe(1);
  });

  it('lists daily keys from start to end inclusive, across a month end', async () => {
    expect(await listPartitionKeys(dailyPartitions('d', '2026-02-27', '2026-03-02'))).toEqual([
      'd=2026-02-27',
      'd=2026-02-28',
      'd=2026-03-01',
      'd=2026-03-02',
    ]);
  });

  it('ends open daily partitions at the given today', async () => {
    expect(await listPartitionKeys(dailyPartitions('d', '2026-11-23'), '2026-11-24')).toEqual([
      'd=2026-11-23',
      'd=2026-11-24',
    ]);
  });

  it('lists only what a filter lets through, the same keys as filtering the whole list', async () => {
    const courses = Array.from({ length: 650 }, (_, i) => `c${String(i).padStart(3, '0')}`);
    const def = multiPartitions(staticPartitions('course_id', courses), dailyPartitions('d', '2020-01-01'));
    const today = '2026-12-03';
    const all = await listPartitionKeys(def, today);
    expect(all).toHaveLength(650 * 2529);
    const cases: Record<string, DimensionFilter>[] = [
      { d: { value: '2026-12-03' }, course_id: { value: 'c007' } },
      { d: { from: '2019-06-01', to: '2020-01-03' } },
      { d: { value: '2026-12-04' } }, // after today: not a partition yet
      { d: { value: '2026-02-30' } },
      { course_id: { value: 'nope' } },
    ];
    for (const filter of cases) {
      const expected = all.filter((k) => {
        const [c, d] = k.split(',').map((kv) => kv.split('=')[1]!);
        const ok = (v: string, f?: DimensionFilter) => !f || ('value' in f ? v === f.value : v >= f.from && v <= f.to);
        return ok(c!, filter.course_id) && ok(d!, filter.d);
      });
      expect(await listPartitionKeys(def, today, filter)).toEqual(expected);
    }
    const discovered = multiPartitions(staticPartitions('course_id', []), dailyPartitions('d', '2020-01-01'), () => [
      'course_id=b,d=2020-01-02',
      'course_id=a,d=2020-01-01',
    ]);
    expect(await listPartitionKeys(discovered, today, { course_id: { value: 'a' } })).toEqual([
      'course_id=a,d=2020-01-01',
    ]);
  });

  it('lists the cartesian product of two dimensions', async () => {
    const def = multiPartitions(
      staticPartitions('course_id', ['a', 'b']),
      dailyPartitions('d', '2026-01-01', '2026-01-02'),
    );
    expect(await listPartitionKeys(def)).toEqual([
      'course_id=a,d=2026-01-01',
      'course_id=a,d=2026-01-02',
      'course_id=b,d=2026-01-01',
      'course_id=b,d=2026-01-02',
    ]);
  });

  it('lists the product of discovered values as they are, a newline in one of them too', async () => {
    for (const courses of [
      ['a', 'b\nc'],
      ['a', 'b'],
    ]) {
      for (const stores of [['s1', 's\n2'], ['s1', 's2'], []]) {
        const def = multiPartitions(
          staticPartitions('course_id', () => courses),
          staticPartitions('store', stores),
        );
        expect(await listPartitionKeys(def)).toEqual(
          courses.flatMap((c) => stores.map((s) => `course_id=${c},store=${s}`)),
        );
      }
    }
  });

  it('uses discover, sorted, instead of the product', async () => {
    const def = multiPartitions(
      staticPartitions('course_id', ['a', 'b']),
      dailyPartitions('d', '2026-01-01'),
      async () => ['course_id=b,d=2026-01-05', 'course_id=a,d=2026-01-07'],
    );
    expect(await listPartitionKeys(def)).toEqual(['course_id=a,d=2026-01-07', 'course_id=b,d=2026-01-05']);
  });
});

describe('metadataSchema', () => {
  it('accepts well-typed values', () => {
    const m = { rows: md.rowCount(3), ratio: md.float(0.5), note: md.text('ok'), at: md.url('https://x.test/a') };
    expect(metadataSchema().parse(m)).toEqual(m);
  });

  it.each([
    ['a non-integer int', { type: 'int', value: 1.5 }],
    ['a negative row count', { type: 'row_count', value: -1 }],
    ['a string float', { type: 'float', value: '1' }],
    ['a bad url', { type: 'url', value: 'not a url' }],
    ['an unknown type', { type: 'bytes', value: 1 }],
    ['a table schema without names', { type: 'table_schema', value: [{ type: 'int' }] }],
  ])('rejects %s', (_name, value) => {
    expect(metadataSchema().safeParse({ v: value }).success).toBe(false);
  });
});
