import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import type { Lakehouse } from './lakehouse.ts';
import { queryEmbedded } from './query.ts';

const repoRoot = resolve(import.meta.dirname, '../..');

/**
 * A project root whose `fairway_spark.query_duckdb` and `fairway_spark.query` are small stand-ins speaking the same JSON
 * lines: DuckDB answers `SELECT 1`, reports `missing` as TABLE_NOT_FOUND and hands anything else back; "Spark"
 * answers every statement with its text. Each script appends its name and arguments to calls.log.
 */
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function stubProject(): { root: string; lake: Lakehouse; calls: () => string[] } {
  const root = mkdtempSync(join(tmpdir(), 'fairway-query-'));
  roots.push(root);
  const log = join(root, 'calls.log');
  const pkg = join(root, 'spark', 'fairway_spark');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, '__init__.py'), '');
  const prelude = `import json, sys\nopen(${JSON.stringify(log)}, "a").write(json.dumps(sys.argv) + "\\n")\n`;
  writeFileSync(
    join(pkg, 'query_duckdb.py'),
    `${prelude}for i, s in enumerate(sys.argv[1:]):
    if s == "SELECT 1": line = {"statement": i, "columns": ["1"], "rows": [[1]]}
    elif "missing" in s: line = {"statement": i, "error": "[TABLE_OR_VIEW_NOT_FOUND] missing", "code": "TABLE_NOT_FOUND"}
    else: line = {"statement": i, "fallback": "Parser Error: syntax error"}
    print(json.dumps(line))
`,
  );
  writeFileSync(
    join(pkg, 'query.py'),
    `${prelude}for i, s in enumerate(sys.argv[1:]):
    print(json.dumps({"statement": i, "columns": ["sql"], "rows": [[s]]}))
`,
  );
  const config = loadConfig({ projectRoot: repoRoot, env: { FAIRWAY_STATE_DIR: join(root, 'state') } });
  const lake = {
    config,
    python: async () => 'python3',
    sparkRuntime: async () => ({ python: 'python3', jars: [], venvDir: root, javaHome: root }),
  } as unknown as Lakehouse;
  const calls = () => {
    try {
      return readFileSync(log, 'utf8').trim().split('\n');
    } catch {
      return [];
    }
  };
  return { root, lake, calls };
}

describe('queryEmbedded', () => {
  it('answers on DuckDB and runs only what DuckDB cannot on Spark, in order, saying so once per statement', async () => {
    const { root, lake, calls } = stubProject();
    const notices: string[] = [];
    const results = await queryEmbedded(lake, root, ['SELECT 1', 'SELECT `x`', 'SELECT 1', 'SELECT `y`'], {
      onNotice: (m) => notices.push(m),
    });
    expect(results).toEqual([
      { columns: ['1'], rows: [[1]] },
      { columns: ['sql'], rows: [['SELECT `x`']] },
      { columns: ['1'], rows: [[1]] },
      { columns: ['sql'], rows: [['SELECT `y`']] },
    ]);
    expect(notices).toEqual([
      'query: DuckDB could not run statement 2 (Parser Error: syntax error); running it on Spark',
      'query: DuckDB could not run statement 4 (Parser Error: syntax error); running it on Spark',
    ]);
    expect(calls().map((c) => JSON.parse(c).slice(1))).toEqual([
      ['SELECT 1', 'SELECT `x`', 'SELECT 1', 'SELECT `y`'],
      ['SELECT `x`', 'SELECT `y`'], // one Spark session for both
    ]);
  });

  it('starts no Spark when DuckDB answers everything, or for a missing table (TABLE_NOT_FOUND)', async () => {
    const { root, lake, calls } = stubProject();
    expect(await queryEmbedded(lake, root, ['SELECT 1'])).toEqual([{ columns: ['1'], rows: [[1]] }]);
    await expect(queryEmbedded(lake, root, ['SELECT * FROM silver.missing'])).rejects.toMatchObject({
      code: 'TABLE_NOT_FOUND',
    });
    expect(calls().every((c) => JSON.parse(c)[0].endsWith('query_duckdb.py'))).toBe(true);
  });

  it('--engine spark skips DuckDB; --engine duckdb fails where DuckDB cannot run a statement', async () => {
    const { root, lake, calls } = stubProject();
    expect(await queryEmbedded(lake, root, ['SELECT 1'], { engine: 'spark' })).toEqual([
      { columns: ['sql'], rows: [['SELECT 1']] },
    ]);
    expect(calls().map((c) => JSON.parse(c)[0].split('/').pop())).toEqual(['query.py']);
    await expect(queryEmbedded(lake, root, ['SELECT `x`'], { engine: 'duckdb' })).rejects.toMatchObject({
      code: 'QUERY_FAILED',
      message: expect.stringContaining('DuckDB could not run this statement (Parser Error: syntax error)'),
    });
    await expect(queryEmbedded(lake, root, ['SELECT 1'], { engine: 'trino' })).rejects.toMatchObject({
      code: 'USAGE',
    });
  });
});
