import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fairway, repoRoot } from './helpers.ts';

/** The example graph with freshness policies, and a source version read from a file (the "inbox"). */
function scheduledExample() {
  const dir = mkdtempSync(join(tmpdir(), 'fairway-scheduling-'));
  const hello = join(repoRoot, 'examples', 'hello', 'definitions.ts');
  const framework = join(repoRoot, 'framework', 'definitions', 'index.ts');
  const definitions = join(dir, 'definitions.ts');
  writeFileSync(join(dir, 'source.txt'), 'v1');
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(
    definitions,
    `import { readFileSync } from 'node:fs';
import { defineAssets } from '${framework}';
import { cleanOrders, ordersReport, ordersSummary, rawOrders } from '${hello}';
const lag = { maxLag: { warnAfterMinutes: 0, failAfterMinutes: 1 } };
export default defineAssets({
  assets: [
    { ...rawOrders, observe: () => readFileSync('${join(dir, 'source.txt')}', 'utf8') },
    { ...cleanOrders, freshness: lag },
    { ...ordersSummary, freshness: lag },
    ordersReport,
  ],
});
`,
  );
  return { dir, definitions, stateDir: join(dir, '.fairway') };
}

describe('fairway daemon on the example graph', () => {
  const p = scheduledExample();
  const run = (args: string[]) =>
    fairway(['--definitions', p.definitions, '--state-dir', p.stateDir, ...args], {
      cwd: p.dir,
      env: { HELLO_DATA_DIR: join(p.dir, 'data') },
    });
  const tick = async (interval = '1') => {
    const r = await run(['daemon', '--once', '--interval', interval, '--settle', '0']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    return String(r.stderr);
  };
  const runs = async () => JSON.parse(String((await run(['runs', '--json'])).stdout)).items as { status: string }[];

  it('plans upstream partitions first, then the all-partition downstream, then nothing', async () => {
    const first = await tick();
    // The most urgent target pulls in its stale upstream partitions: one run per store.
    expect(first).toMatch(
      /launch +silver\.clean_orders \[store=north\] run \w+: needed by gold\.orders_summary, which would be overdue/,
    );
    expect(first).toMatch(/launch +bronze\.raw_orders \[store=south\] run \w+: needed by gold\.orders_summary/);
    expect(first).toMatch(/wait +gold\.orders_summary: .*its upstream steps run first/);
    expect((await runs()).map((r) => r.status)).toEqual(['SUCCESS', 'SUCCESS']);

    const second = await tick();
    expect(second).toMatch(/launch +gold\.orders_summary run/);
    expect((await runs()).length).toBe(3);

    await new Promise((r) => setTimeout(r, 1_100));
    expect(await tick()).not.toMatch(/launch/);
    expect((await runs()).length).toBe(3);

    const status = await run(['status']);
    expect(String(status.stdout)).toMatch(/FRESHNESS/);
    expect(String(status.stdout)).toMatch(/silver\.clean_orders +FRESH +FRESH/);
  });

  it('picks up a changed source and explains the freshness in why', async () => {
    writeFileSync(join(p.dir, 'source.txt'), 'v2');
    await new Promise((r) => setTimeout(r, 1_100));
    const why = await run(['why', 'silver.clean_orders', '--partition', 'store=north']);
    expect(String(why.stdout)).toMatch(
      /freshness: (FRESH|WARN|OVERDUE), .*source data of 'bronze\.raw_orders' \[store=north\] arrived/,
    );
    // Durations are known now (well under a minute): with a one-minute interval the daemon must start now.
    const t = await tick('60');
    expect(t).toMatch(
      /launch +bronze\.raw_orders \[store=north\] run \w+: needed by .*source data of 'bronze\.raw_orders' \[store=north\] arrived/,
    );
    expect((await runs()).every((r) => r.status === 'SUCCESS')).toBe(true);
  });
});
