import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asset, defineAssets, staticPartitions } from '../definitions/index.ts';
import { launchRun } from '../execution/index.ts';
import { openProject } from '../project/index.ts';
import { alertConfigFrom } from './alert-config.ts';
import { freshnessAlerts, runAlerts } from './run-alerts.ts';

/** A local webhook receiver: the JSON bodies it got, in order. */
const received: Record<string, unknown>[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => {
    body += c;
  });
  req.on('end', () => {
    received.push(JSON.parse(body) as Record<string, unknown>);
    res.writeHead(204).end();
  });
});
let url = '';
const dir = mkdtempSync(join(tmpdir(), 'fairway-alerts-'));
const failing = new Set<string>();
const stores = staticPartitions('store', ['north', 'south', 'east']);
const defs = defineAssets({
  assets: [
    asset({
      key: 'silver.flaky',
      group: 'silver',
      partitions: stores,
      materialize: (ctx) => {
        if (failing.has(ctx.partition.store!)) throw new Error(`no export for ${ctx.partition.store}`);
        return {};
      },
    }),
    asset({
      key: 'gold.other',
      group: 'gold',
      materialize: () => {
        if (failing.has('gold')) throw new Error('gold broke');
        return {};
      },
    }),
  ],
});
const project = openProject(defs, { root: dir, stateDir: join(dir, 'state') });

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
});
afterAll(() => {
  server.close();
  project.close();
  rmSync(dir, { recursive: true, force: true });
  delete process.env.FAIRWAY_ALERT_WEBHOOK_URL;
  delete process.env.FAIRWAY_ALERT_GROUPS;
  delete process.env.FAIRWAY_ALERT_FORMAT;
});

const run = async (selection: string) => {
  received.length = 0;
  await launchRun(project, { selection });
  return [...received];
};

describe('alerts', () => {
  it('one alert per state change of an asset, however many partitions, none while a failure repeats; groups filter', async () => {
    process.env.FAIRWAY_ALERT_WEBHOOK_URL = url;
    process.env.FAIRWAY_ALERT_GROUPS = 'silver';
    expect(await run('*')).toEqual([]); // all fine: nothing to say
    failing.add('north').add('south').add('gold');
    const first = await run('*');
    expect(first).toHaveLength(1); // gold.other failed too, but gold is not an alerted group
    expect(first[0]).toMatchObject({
      source: 'fairway',
      kind: 'run_failure',
      state: 'firing',
      asset_key: 'silver.flaky',
      partitions: { count: 2, first: ['store=north', 'store=south'] },
    });
    expect(String(first[0]!.message)).toContain('silver.flaky (2 partitions) failed in run');
    expect(String(first[0]!.message)).toContain('no export for north');
    expect(await run('silver.flaky')).toEqual([]); // still failing: no storm
    failing.clear();
    const back = await run('silver.flaky');
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ kind: 'run_failure', state: 'resolved', asset_key: 'silver.flaky' });
  });

  it('speaks Slack when asked', async () => {
    process.env.FAIRWAY_ALERT_FORMAT = 'slack';
    failing.add('east');
    const [msg] = await run('silver.flaky');
    expect(Object.keys(msg!)).toEqual(['text']);
    expect(String(msg!.text)).toMatch(
      /^:red_circle: Fairway run failure firing: silver\.flaky \[store=east\] failed in run \w+/,
    );
    failing.clear();
    delete process.env.FAIRWAY_ALERT_FORMAT;
  });

  it('alerts on a blocking check failing and passing again, not on a warning', () => {
    const config = { url, format: 'json' as const, groups: [] };
    const summary = (id: string) => ({
      run_id: id,
      selection: '*',
      status: 'FAILURE',
      reason: null,
      started_at: '',
      finished_at: '',
      duration_ms: 0,
      steps: [],
      asset_checks: [],
    });
    const check = (runId: string, name: string, passed: boolean, blocking: boolean) =>
      project.store.recordCheckEvaluations([
        {
          asset_key: 'gold.other',
          partition_key: '',
          check_name: name,
          run_id: runId,
          ts: new Date().toISOString(),
          passed,
          severity: blocking ? 'error' : 'warn',
          blocking,
          failures: passed ? 0 : 3,
          description: 'not_null(round_id)',
          metadata: {},
        },
      ]);
    check('c1', 'rounds_not_null', false, true);
    check('c1', 'pace_ok', false, false);
    const fired = runAlerts(project.store, project.graph, config, summary('c1'));
    expect(fired.map((a) => [a.kind, a.state, a.check])).toEqual([['check_failure', 'firing', 'rounds_not_null']]);
    expect(fired[0]!.message).toContain('downstream steps were held back');
    check('c2', 'rounds_not_null', false, true);
    expect(runAlerts(project.store, project.graph, config, summary('c2'))).toEqual([]);
    check('c3', 'rounds_not_null', true, true);
    expect(runAlerts(project.store, project.graph, config, summary('c3')).map((a) => a.state)).toEqual(['resolved']);
  });

  it('names the variable when a setting is bad, before any run starts', async () => {
    expect(() => alertConfigFrom({ FAIRWAY_ALERT_WEBHOOK_URL: 'hooks.example' })).toThrow(
      "FAIRWAY_ALERT_WEBHOOK_URL='hooks.example' is invalid: expected an http(s) URL.",
    );
    expect(() => alertConfigFrom({ FAIRWAY_ALERT_WEBHOOK_URL: url, FAIRWAY_ALERT_FORMAT: 'teams' })).toThrow(
      /FAIRWAY_ALERT_FORMAT='teams' is invalid: expected one of "json"\|"slack"/,
    );
    expect(alertConfigFrom({})).toBeUndefined();
    process.env.FAIRWAY_ALERT_WEBHOOK_URL = 'nope';
    await expect(launchRun(project, { selection: '*' })).rejects.toThrow('FAIRWAY_ALERT_WEBHOOK_URL');
    process.env.FAIRWAY_ALERT_WEBHOOK_URL = url;
  });

  it('alerts when an asset goes overdue (once, with how many partitions) and when it is back in time', () => {
    const config = { url, format: 'json' as const, groups: ['silver'] };
    const f = (state: 'FRESH' | 'WARN' | 'OVERDUE') => ({
      state,
      pending: null,
      warnAt: null,
      dueAt: state === 'FRESH' ? null : '2026-12-04T06:00:00.000Z',
      day: null,
      text: '',
    });
    const result = (states: Record<string, 'FRESH' | 'WARN' | 'OVERDUE'>) =>
      new Map([
        ['silver.flaky', new Map(Object.entries(states).map(([p, st]) => [p, f(st)]))],
        ['gold.other', new Map([['', f('OVERDUE')]])], // not an alerted group
      ]);
    const late = freshnessAlerts(
      project.store,
      project.graph,
      config,
      result({ 'store=north': 'OVERDUE', 'store=south': 'OVERDUE', 'store=east': 'WARN' }),
    );
    expect(late.map((a) => [a.kind, a.state, a.asset_key, a.partitions.count, a.run_id])).toEqual([
      ['freshness_overdue', 'firing', 'silver.flaky', 2, null],
    ]);
    expect(late[0]!.message).toContain('was due by 2026-12-04T06:00:00.000Z');
    expect(freshnessAlerts(project.store, project.graph, config, result({ 'store=north': 'OVERDUE' }))).toEqual([]);
    expect(
      freshnessAlerts(project.store, project.graph, config, result({ 'store=north': 'WARN' })).map((a) => a.state),
    ).toEqual(['resolved']);
  });
});
