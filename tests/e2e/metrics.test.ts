/**
 * `fairway metrics` and the UI's `/metrics` in the Prometheus text format, parsed by a real parser: the
 * Prometheus project's Python client (`prometheus_client.parser`, from PyPI into a venv in the Fairway cache).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultCacheDir } from '../../framework/integrations/spark/index.ts';
import { fairway, startUi, tempExampleProject } from './helpers.ts';

const venv = join(defaultCacheDir(), 'tools', 'prometheus-client-0.21.1');
const python = join(venv, 'bin', 'python');

/** Parses exposition text with prometheus_client; returns family name → type and samples. */
async function parse(text: string) {
  const script =
    'import json, sys\nfrom prometheus_client.parser import text_string_to_metric_families\n' +
    'out = {f.name: {"type": f.type, "samples": [[s.name, s.labels, s.value] for s in f.samples]} ' +
    'for f in text_string_to_metric_families(sys.stdin.read())}\nprint(json.dumps(out))\n';
  const r = await execa(python, ['-c', script], { input: text, reject: false });
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, { type: string; samples: [string, Record<string, string>, number][] }>;
}

describe('Prometheus metrics', () => {
  const project = tempExampleProject();
  const base = ['--definitions', project.definitions, '--state-dir', project.stateDir];
  const env = { HELLO_DATA_DIR: join(project.dir, 'data') };
  const run = (args: string[]) => fairway([...base, ...args], { cwd: project.dir, env });

  beforeAll(async () => {
    if (!existsSync(join(venv, '.fairway-complete'))) {
      await execa('python3', ['-m', 'venv', '--clear', venv]);
      await execa(join(venv, 'bin', 'pip'), ['install', '-q', 'prometheus-client==0.21.1']);
      writeFileSync(join(venv, '.fairway-complete'), `${new Date().toISOString()}\n`);
    }
    expect((await run(['materialize', '*'])).exitCode).toBe(0);
    expect((await run(['materialize', 'gold.orders_report'])).exitCode).toBe(0);
  }, 300_000);

  it('fairway metrics: runs, step durations, partitions by state, store size — valid exposition format', async () => {
    const r = await run(['metrics']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const m = await parse(String(r.stdout));
    const value = (family: string, labels: Record<string, string>, sample = family) =>
      m[family]!.samples.find(([n, l]) => n === sample && Object.entries(labels).every(([k, v]) => l[k] === v))?.[2];
    expect(m.fairway_runs!.type).toBe('gauge');
    expect(value('fairway_runs', { status: 'SUCCESS' })).toBe(2);
    expect(value('fairway_runs', { status: 'FAILURE' })).toBe(0);
    expect(m.fairway_step_duration_seconds!.type).toBe('histogram');
    // gold.orders_report ran twice, bronze.raw_orders once per store partition
    expect(
      value('fairway_step_duration_seconds', { asset: 'gold.orders_report' }, 'fairway_step_duration_seconds_count'),
    ).toBe(2);
    expect(
      value('fairway_step_duration_seconds', { asset: 'bronze.raw_orders' }, 'fairway_step_duration_seconds_count'),
    ).toBe(2);
    expect(value('fairway_asset_partitions', { asset: 'bronze.raw_orders', state: 'fresh' })).toBe(2);
    expect(value('fairway_asset_partitions', { asset: 'gold.orders_report', state: 'missing' })).toBe(0);
    expect(value('fairway_store_bytes', {})).toBeGreaterThan(0);
    // rows written per asset, summed over its materializations (north 5 + south 3)
    expect(m.fairway_rows!.type).toBe('counter');
    expect(value('fairway_rows', { asset: 'bronze.raw_orders', kind: 'written' }, 'fairway_rows_total')).toBe(8);
  });

  it('the UI serves the same at /metrics', async () => {
    const ui = await startUi(base, { cwd: project.dir, env });
    try {
      const res = await fetch(`${ui.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const m = await parse(await res.text());
      expect(Object.keys(m)).toEqual(
        expect.arrayContaining([
          'fairway_runs',
          'fairway_step_duration_seconds',
          'fairway_asset_partitions',
          'fairway_store_bytes',
        ]),
      );
    } finally {
      await ui.stop();
    }
  });
});
