import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ServiceUnavailableError } from '../../framework/errors/index.ts';
import { parseManifest, translateManifest } from '../../framework/integrations/dbt/index.ts';
import { loadConfig } from './config.ts';
import { queryTrino } from './query.ts';
import { lakehouseTableOf, readLakehouseTable } from './tables.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function goldProject(eventTime: Record<string, unknown>) {
  const raw = JSON.parse(
    readFileSync(join(root, 'framework', 'integrations', 'dbt', 'fixtures', 'manifest.json'), 'utf8'),
  ) as { nodes: Record<string, { config: Record<string, unknown> }> };
  for (const [id, value] of Object.entries(eventTime)) raw.nodes[id]!.config.event_time = value;
  const manifest = parseManifest(raw);
  return { manifest, spec: translateManifest(manifest) };
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('lakehouseTableOf', () => {
  it('maps Silver assets (event time fix_timestamp) and dbt models (their event_time config); Bronze has none', () => {
    const tableOf = lakehouseTableOf(
      ['silver.fact_telemetry_event', 'silver.fact_device_health'],
      goldProject({ 'model.fairway.fact_rounds': 'round_start_ts' }),
    );
    expect(tableOf('silver.fact_telemetry_event')).toEqual({
      table: 'silver.fact_telemetry_event',
      timeColumn: 'fix_timestamp',
    });
    expect(tableOf('gold.fact_rounds')).toEqual({ table: 'gold.fact_rounds', timeColumn: 'round_start_ts' });
    expect(tableOf('gold.signal_quality_rounds')).toEqual({ table: 'gold.signal_quality_rounds' });
    expect(tableOf('bronze.round_exports')).toBeUndefined();
  });

  it('refuses an event_time that is not one plain column, naming the model', () => {
    expect(() =>
      lakehouseTableOf([], goldProject({ 'model.fairway.fact_rounds': 'round_start_ts; drop table x' })),
    ).toThrow(/dbt model 'fact_rounds' .*event_time/);
  });
});

describe('readLakehouseTable', () => {
  it('with Trino down: a ServiceUnavailableError naming Trino and `fairway stack status`', async () => {
    const port = await closedPort();
    const cfg = loadConfig({
      projectRoot: root,
      profile: 'local',
      env: { FAIRWAY_TRINO_URL: `http://127.0.0.1:${port}`, FAIRWAY_STATE_DIR: '/tmp/fairway-tables-test' },
    });
    const error = await readLakehouseTable(
      'trino',
      (statements) => queryTrino(cfg, statements),
      { table: 'silver.fact_telemetry_event', timeColumn: 'fix_timestamp' },
      10,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', service: 'trino' });
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
    expect((error as Error).message).toContain('fairway stack status');
  });

  it('refuses table names and limits that are not safe to put in SQL, before asking the engine', async () => {
    const asked: string[][] = [];
    const query = async (statements: string[]) => {
      asked.push(statements);
      return [];
    };
    await expect(readLakehouseTable('spark', query, { table: 'silver.x; drop table y' }, 10)).rejects.toThrow(
      /namespace\.table/,
    );
    await expect(readLakehouseTable('spark', query, { table: 'silver.x', timeColumn: 'a b' }, 10)).rejects.toThrow(
      /column/,
    );
    await expect(readLakehouseTable('spark', query, { table: 'silver.x' }, 0)).rejects.toThrow();
    expect(asked).toEqual([]);
  });
});
