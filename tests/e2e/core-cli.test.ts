import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { fairway, fairwayBin, repoRoot, tempExampleProject } from './helpers.ts';

interface Summary {
  run_id: string;
  status: string;
  steps: {
    asset_key: string;
    partition_key: string;
    status: string;
    reason: string | null;
    checks: { name: string; passed: boolean }[];
  }[];
}
interface StatusRow {
  key: string;
  status: string;
  partitions: { partition: string; status: string; causes: { kind: string; text: string }[] }[];
}

describe('fairway CLI on the example graph', () => {
  const project = tempExampleProject();
  const base = ['--definitions', project.definitions, '--state-dir', project.stateDir];
  const env = { HELLO_DATA_DIR: join(project.dir, 'data') };
  const run = (args: string[], extraEnv: Record<string, string> = {}) =>
    fairway([...base, ...args], { cwd: project.dir, env: { ...env, ...extraEnv } });
  const status = async () => {
    const r = await run(['status', '--json', '--partitions', '--limit', '0']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    return JSON.parse(String(r.stdout)) as StatusRow[];
  };
  const statusOf = (rows: StatusRow[], key: string) => rows.find((r) => r.key === key)!;
  /** Writes a definitions module into the project, after an import of Fairway's `asset` and `defineAssets`. */
  const definitionsFile = (name: string, body: string) => {
    const path = join(project.dir, name);
    writeFileSync(path, `import { asset, defineAssets } from '${repoRoot}/framework/definitions/index.ts';\n${body}`);
    return path;
  };

  beforeAll(async () => {
    const r = await run(['materialize', '*', '--json']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
  });

  it('materializes everything and reports it FRESH', async () => {
    const rows = await status();
    expect(rows.map((r) => [r.key, r.status])).toEqual([
      ['bronze.raw_orders', 'FRESH'],
      ['silver.clean_orders', 'FRESH'],
      ['gold.orders_summary', 'FRESH'],
      ['gold.orders_report', 'FRESH'],
    ]);
    const runs = JSON.parse(String((await run(['runs', '--json'])).stdout)) as {
      items: { status: string; plan: unknown[] }[];
    };
    expect(runs.items[0]!.status).toBe('SUCCESS');
    expect(runs.items[0]!.plan).toHaveLength(6);
  });

  it('a changed code version makes the asset and its downstream STALE, and --stale-only runs only those', async () => {
    const text = readFileSync(project.definitions, 'utf8');
    // Comments are stripped by the TypeScript transform, so a real code edit is needed.
    const edited = text.replace('JSON.stringify(totals));', 'JSON.stringify(totals, null, 1));');
    expect(edited).not.toBe(text);
    writeFileSync(project.definitions, edited);
    const rows = await status();
    expect(statusOf(rows, 'silver.clean_orders').status).toBe('FRESH');
    const summary = statusOf(rows, 'gold.orders_summary');
    expect(summary.status).toBe('STALE');
    expect(summary.partitions[0]!.causes.map((c) => c.kind)).toEqual(['code_version_changed']);
    expect(statusOf(rows, 'gold.orders_report').partitions[0]!.causes.map((c) => c.kind)).toEqual(['upstream_stale']);

    const why = await run(['why', 'gold.orders_report']);
    expect(why.exitCode).toBe(0);
    expect(String(why.stdout)).toContain("upstream 'gold.orders_summary' is stale");
    expect(String(why.stdout)).toContain('its code changed');

    const r = await run(['materialize', '*', '--stale-only', '--json']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const s = JSON.parse(String(r.stdout)) as Summary;
    expect(s.steps.map((x) => x.asset_key)).toEqual(['gold.orders_summary', 'gold.orders_report']);
    expect((await status()).every((row) => row.status === 'FRESH')).toBe(true);
  });

  it('new upstream data marks exactly the affected partition and its downstream stale', async () => {
    const r1 = await run(['materialize', 'bronze.raw_orders', '--partition', 'store=north', '--json'], {
      HELLO_EXTRA_ROWS: 'north,9,5\n',
    });
    expect(r1.exitCode, String(r1.stderr)).toBe(0);
    const rows = await status();
    const silver = statusOf(rows, 'silver.clean_orders');
    expect(silver.partitions.map((p) => [p.partition, p.status])).toEqual([
      ['store=north', 'STALE'],
      ['store=south', 'FRESH'],
    ]);
    expect(silver.partitions[0]!.causes[0]!.kind).toBe('upstream_data_changed');
    // counts for the many, partitions only when asked: filtered by state and by partition, and limited
    const brief = JSON.parse(String((await run(['status', 'silver.clean_orders', '--json'])).stdout));
    expect(brief).toEqual([expect.objectContaining({ counts: { STALE: 1, FRESH: 1 }, status: 'STALE' })]);
    expect(brief[0].partitions).toBeUndefined();
    expect(brief[0].first_cause).toMatchObject({ partition: 'store=north', kind: 'upstream_data_changed' });
    const listed = async (...args: string[]) => {
      const r = await run(['status', 'silver.clean_orders', '--json', ...args]);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const [row] = JSON.parse(String(r.stdout)) as (StatusRow & { partitions_matched: number })[];
      return {
        partitions: row!.partitions.map((p) => p.partition),
        matched: row!.partitions_matched,
        stderr: String(r.stderr),
      };
    };
    expect(await listed('--state', 'stale')).toMatchObject({ partitions: ['store=north'], matched: 1 });
    expect(await listed('--state', 'fresh,failed')).toMatchObject({ partitions: ['store=south'] });
    expect(await listed('--partition', 'store=south')).toMatchObject({ partitions: ['store=south'] });
    const limited = await listed('--partitions', '--limit', '1');
    expect(limited).toMatchObject({ partitions: ['store=north'], matched: 2 });
    expect(limited.stderr).toContain('1 partition(s) not listed: past --limit 1');
    const bad = await run(['status', '--state', 'stail']);
    expect(bad.exitCode).toBe(2);
    expect(String(bad.stderr)).toContain("--state 'stail': use one or more of fresh, stale, missing, failed, running");
    const r2 = await run(['materialize', '*', '--stale-only', '--json'], { HELLO_EXTRA_ROWS: 'north,9,5\n' });
    const s = JSON.parse(String(r2.stdout)) as Summary;
    expect(s.steps.map((x) => `${x.asset_key}${x.partition_key}`)).toEqual([
      'silver.clean_ordersstore=north',
      'gold.orders_summary',
      'gold.orders_report',
    ]);
  });

  it('a failing blocking check skips everything downstream and fails the run', async () => {
    const r = await run(['materialize', '*', '--json'], { HELLO_EXTRA_ROWS: 'north,10,-4\n' });
    expect(r.exitCode).toBe(1);
    const s = JSON.parse(String(r.stdout)) as Summary;
    expect(s.status).toBe('FAILURE');
    const gold = s.steps.find((x) => x.asset_key === 'gold.orders_summary')!;
    expect(gold.status).toBe('SKIPPED');
    expect(gold.reason).toContain("blocking check 'amounts_positive'");
    expect(gold.reason).toContain('1 failing rows');
    const north = s.steps.find((x) => x.asset_key === 'silver.clean_orders' && x.partition_key === 'store=north')!;
    expect(north.checks).toEqual([expect.objectContaining({ name: 'amounts_positive', passed: false })]);
    // Put the data back so later tests start from a clean state.
    expect((await run(['materialize', '*'])).exitCode).toBe(0);
  });

  it('a run killed with SIGKILL is reported FAILED by the next status', async () => {
    const child = execa(
      'node',
      [fairwayBin, ...base, 'materialize', 'bronze.raw_orders', '--partition', 'store=south'],
      {
        cwd: project.dir,
        env: { ...env, HELLO_SLOW_MS: '20000', FAIRWAY_LOG_LEVEL: 'warn', NO_COLOR: '1' },
        reject: false,
      },
    );
    // Wait until the step is running.
    for (let i = 0; i < 100; i++) {
      const rows = await status();
      if (statusOf(rows, 'bronze.raw_orders').partitions.some((p) => p.status === 'RUNNING')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    child.kill('SIGKILL');
    await child;
    // `runs` reaps by itself: the dead run is FAILURE before any other command looked at it
    const runs = JSON.parse(String((await run(['runs', '--json', '--limit', '1'])).stdout)) as {
      items: { status: string; reason: string }[];
    };
    expect(runs.items[0]!.status).toBe('FAILURE');
    expect(runs.items[0]!.reason).toMatch(/pid \d+\) died/);
    const rows = await status();
    const south = statusOf(rows, 'bronze.raw_orders').partitions.find((p) => p.partition === 'store=south')!;
    expect(south.status).toBe('FAILED');
    expect(south.causes[0]!.text).toContain('died');
    // the per-partition state rebuilt from the event history gives the same answers
    const rebuilt = await run(['store', 'rebuild', '--json']);
    expect(rebuilt.exitCode, String(rebuilt.stderr)).toBe(0);
    expect((JSON.parse(String(rebuilt.stdout)) as { partitions: number }).partitions).toBeGreaterThan(3);
    expect(await status()).toEqual(rows);
  });

  it('a subprocess step dies with the CLI that started it, even on kill -9, and holds its partition until then', async () => {
    const target = ['materialize', 'silver.clean_orders', '--partition', 'store=north'];
    // HELLO_PY_TERM_GRACE_S: the child outlives its SIGTERM, as a Spark JVM shutting down does, until the
    // watchdog's SIGKILL FAIRWAY_CHILD_STOP_GRACE_S later (12 s: room for the re-run below on a loaded machine)
    const child = execa('node', [fairwayBin, ...base, ...target], {
      cwd: project.dir,
      env: {
        ...env,
        HELLO_PY_SLOW_S: '60',
        HELLO_PY_TERM_GRACE_S: '60',
        FAIRWAY_CHILD_STOP_GRACE_S: '12',
        FAIRWAY_LOG_LEVEL: 'warn',
      },
      reject: false,
    });
    const pythonOfThisRun = () =>
      readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .filter((pid) => {
          try {
            const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
            return cmd.includes('clean_orders.py') && cmd.includes(project.dir);
          } catch {
            return false;
          }
        });
    let pids: string[] = [];
    for (let i = 0; i < 150 && pids.length === 0; i++) {
      pids = pythonOfThisRun();
      if (pids.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(pids.length).toBeGreaterThan(0);
    // killed only once the step has recorded its child's group (a kill in the milliseconds between the
    // child's start and that record leaves nothing to hold the locks with: a window this test must not hit)
    const db = new Database(join(project.stateDir, 'fairway.db'), { readonly: true });
    const recordedGroups = () =>
      db
        .prepare("SELECT pgid FROM run_child_processes WHERE asset_key = 'silver.clean_orders'")
        .pluck()
        .all()
        .map(String);
    for (let i = 0; i < 100 && !recordedGroups().some((g) => pythonOfThisRun().includes(g)); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    db.close();
    child.kill('SIGKILL');
    await child;
    const killedAt = Date.now();
    // The run is dead, but its child may still be writing: a re-run now is refused, naming both
    const refused = await run([...target, '--lock-wait', '0']);
    const stillRunning = pythonOfThisRun();
    expect(refused.exitCode, String(refused.stdout)).toBe(2);
    const message = String(refused.stderr).replace(/\s+/g, ' ');
    expect(message).toMatch(/Asset silver\.clean_orders \[store=north\] is still locked by run \w+: its process died/);
    const pgid = /the process group (\d+) \(silver\.clean_orders \[store=north\], started /.exec(message)?.[1];
    expect(pids).toContain(pgid); // the Python child leads its own group
    expect(message).toContain(`wait a few seconds for it to stop, or kill -- -${pgid}, then try again`);
    // the group's leader outlives its SIGTERM (a helper process in its group may not)
    expect(stillRunning, 'the refused re-run came too late to test the lock').toContain(pgid);

    while (pythonOfThisRun().length > 0 && Date.now() - killedAt < 25_000) await new Promise((r) => setTimeout(r, 200));
    expect(pythonOfThisRun()).toEqual([]); // gone well before its 60 s sleep would end
    expect(Date.now() - killedAt).toBeLessThan(20_000);
    // Once the group is gone, the next command's reap releases the partition
    const rerun = await run([...target, '--lock-wait', '0', '--json']);
    expect(rerun.exitCode, String(rerun.stderr)).toBe(0);
    expect((JSON.parse(String(rerun.stdout)) as Summary).steps.map((x) => [x.partition_key, x.status])).toEqual([
      ['store=north', 'SUCCESS'],
    ]);
  });

  it('a materializer that never settles runs into its timeout: exit 1 with the reason, not Node exit 13', async () => {
    const defs = definitionsFile(
      'hang.ts',
      'export default defineAssets({ assets: [asset({ key: "a.hang", codeVersion: "v1", timeoutMs: 1500, ' +
        'materialize: () => new Promise(() => {}) })] });\n',
    );
    const r = await fairway(
      ['--definitions', defs, '--state-dir', join(project.dir, 'hang-state'), 'materialize', 'a.hang'],
      {
        cwd: project.dir,
      },
    );
    expect(r.exitCode).toBe(1);
    expect(String(r.stdout) + String(r.stderr)).toContain('timed out after 1500 ms');
  });

  it('an error thrown by a timer or promise a materializer left behind: one line, exit 1, the run FAILURE with it', async () => {
    for (const [name, stray] of [
      ['throw', 'setTimeout(() => { throw new Error("late boom"); }, 200)'],
      ['reject', 'setTimeout(() => void Promise.reject(new Error("late boom")), 200)'],
    ]) {
      const defs = definitionsFile(
        `stray-${name}.ts`,
        'export default defineAssets({ assets: [' +
          `asset({ key: "a.stray", codeVersion: "v1", materialize: () => { ${stray}; return {}; } }), ` +
          'asset({ key: "a.slow", deps: ["a.stray"], codeVersion: "v1", ' +
          'materialize: () => new Promise((r) => setTimeout(() => r({}), 4000)) })] });\n',
      );
      const cli = ['--definitions', defs, '--state-dir', join(project.dir, `stray-${name}-state`)];
      const r = await fairway([...cli, 'materialize', '*'], { cwd: project.dir });
      const stderr = String(r.stderr);
      expect(r.exitCode, stderr).toBe(1);
      expect(stderr).toMatch(/error: an uncaught error stopped Fairway: late boom .*Run \w+ is recorded as FAILURE\./);
      expect(stderr).not.toMatch(/^\s+at /m); // no stack trace without FAIRWAY_DEBUG
      const runs = JSON.parse(String((await fairway([...cli, 'runs', '--json'], { cwd: project.dir })).stdout)) as {
        items: { status: string; reason: string }[];
      };
      expect(runs.items[0]).toMatchObject({ status: 'FAILURE', reason: expect.stringContaining('late boom') });
      const status = JSON.parse(String((await fairway([...cli, 'status', '--json'], { cwd: project.dir })).stdout)) as {
        key: string;
        status: string;
      }[];
      expect(status.find((s) => s.key === 'a.slow')?.status).toBe('FAILED');
    }
  });

  it('a materializer that blocks the event loop past its timeout: the process is stopped with exit code 137, the run is FAILURE with the cause, its locks are free', async () => {
    const defs = definitionsFile(
      'busy.ts',
      'const busyMs = Number(process.env.BUSY_MS);\n' +
        'export default defineAssets({ assets: [asset({ key: "a.busy", codeVersion: "v1", ' +
        'timeoutMs: Number(process.env.TIMEOUT_MS), materialize: () => { ' +
        'const end = Date.now() + busyMs; while (Date.now() < end) {} return {}; } })] });\n',
    );
    const args = ['--definitions', defs, '--state-dir', join(project.dir, 'busy-state')];
    const envOf = (busyMs: number, timeoutMs: number) => ({
      BUSY_MS: String(busyMs),
      TIMEOUT_MS: String(timeoutMs),
      FAIRWAY_LOG_LEVEL: 'warn',
      NO_COLOR: '1',
    });
    // through a shell, which reports the exit code a user sees
    const started = Date.now();
    const stopped = await execa(
      'sh',
      ['-c', 'node "$@"; exit $?', 'sh', fairwayBin, ...args, 'materialize', 'a.busy'],
      {
        cwd: project.dir,
        env: envOf(60_000, 500),
        reject: false,
      },
    );
    expect(stopped.exitCode, String(stopped.stderr)).toBe(137);
    expect(Date.now() - started).toBeLessThan(20_000); // not the minute the loop would last
    const cause =
      'timed out after 500 ms; its materializer blocked the event loop (synchronous code), so Fairway stopped the process; make it async or move the work to a subprocess';
    expect(String(stopped.stderr)).toContain(`error: a.busy ${cause}.`);
    const read = (...more: string[]) => fairway([...args, ...more], { cwd: project.dir, env: envOf(0, 500) });
    const runs = JSON.parse(String((await read('runs', '--json')).stdout)) as {
      items: { status: string; reason: string }[];
    };
    expect(runs.items[0]).toMatchObject({ status: 'FAILURE', reason: `a.busy ${cause}` });
    const rows = JSON.parse(String((await read('status', '--json', '--partitions')).stdout)) as StatusRow[];
    expect(rows[0]!.status).toBe('FAILED');
    expect(rows[0]!.partitions[0]!.causes[0]!.text).toContain(cause);

    // the run's locks are free: a fixed materializer runs at once
    const fixed = await fairway([...args, 'materialize', 'a.busy', '--lock-wait', '0'], {
      cwd: project.dir,
      env: envOf(0, 500),
    });
    expect(fixed.exitCode, String(fixed.stderr)).toBe(0);

    // a loop that ends past its timeout but before the watchdog acts is a timeout all the same
    const late = await fairway([...args, 'materialize', 'a.busy'], { cwd: project.dir, env: envOf(900, 300) });
    expect(late.exitCode, String(late.stderr)).toBe(1);
    expect(String(late.stdout)).toMatch(/a\.busy +FAILURE .* timed out after 300 ms: it returned after \d+ ms/);
  });

  it('fairway cancel stops a run launched by another process, and refuses unknown or finished runs', async () => {
    const child = execa(
      'node',
      [fairwayBin, ...base, 'materialize', 'bronze.raw_orders', '--partition', 'store=north'],
      {
        cwd: project.dir,
        env: { ...env, HELLO_SLOW_MS: '30000', FAIRWAY_LOG_LEVEL: 'warn', NO_COLOR: '1' },
        reject: false,
      },
    );
    let runId: string | undefined;
    for (let i = 0; i < 100 && !runId; i++) {
      const runs = JSON.parse(String((await run(['runs', '--json', '--status', 'STARTED'])).stdout)) as {
        items: { run_id: string }[];
      };
      runId = runs.items[0]?.run_id;
      if (!runId) await new Promise((r) => setTimeout(r, 200));
    }
    expect(runId).toBeDefined();
    const started = Date.now();
    const canceled = await run(['cancel', runId!, '--json']);
    expect(canceled.exitCode, String(canceled.stderr)).toBe(0);
    expect(JSON.parse(String(canceled.stdout))).toMatchObject({ run_id: runId, status: 'CANCELED' });
    const launcher = await child;
    expect(launcher.exitCode).toBe(1);
    // neither waits for the 30 s the step would have slept (its timer is left behind, not waited for)
    expect(Date.now() - started).toBeLessThan(15_000);
    const again = await run(['cancel', runId!]);
    expect(again.exitCode).toBe(1);
    expect(String(again.stderr)).toContain('already finished (CANCELED)');
    const unknown = await run(['cancel', 'NO_SUCH_RUN']);
    expect(unknown.exitCode).toBe(2);
    expect(String(unknown.stderr)).toContain("No run 'NO_SUCH_RUN'");
  });

  it('serves the UI pages when started from a directory outside the Fairway checkout', async () => {
    // the project's own tsconfig (here none) must not decide how Fairway's JSX pages compile
    const ui = execa('node', [fairwayBin, ...base, 'ui', '--port', '0'], { cwd: project.dir, env, reject: false });
    try {
      const url = await new Promise<string>((ok, fail) => {
        let out = '';
        ui.stderr!.on('data', (c: Buffer) => {
          out += String(c);
          const m = /listening on (http:\/\/\S+)\n/.exec(out);
          if (m) ok(m[1]!);
        });
        void ui.then(() => fail(new Error(`the UI exited: ${out}`)));
      });
      for (const page of ['/', '/assets/silver.clean_orders', '/runs']) {
        const res = await fetch(`${url}${page}`);
        expect(res.status, page).toBe(200);
        expect(await res.text()).toContain('<!doctype html>');
      }
    } finally {
      ui.kill('SIGINT');
      await ui;
    }
  });

  it('two concurrent materializations of the same asset never run it at the same time', async () => {
    const traceFile = join(project.dir, 'trace.jsonl');
    writeFileSync(traceFile, '');
    const opts = { HELLO_SLOW_MS: '1500', HELLO_TRACE_FILE: traceFile };
    const [a, b] = await Promise.all([
      run(['materialize', 'bronze.raw_orders', '--partition', 'store=north'], opts),
      run(['materialize', 'bronze.raw_orders', '--partition', 'store=north'], opts),
    ]);
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
    const events = readFileSync(traceFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; pid: number; t: number });
    expect(events.map((e) => e.event.split(' ')[0])).toEqual(['start', 'end', 'start', 'end']);
    expect(events[0]!.pid).toBe(events[1]!.pid);
    expect(events[2]!.pid).toBe(events[3]!.pid);
    expect(events[0]!.pid).not.toBe(events[2]!.pid);
  });

  it('refuses bad selections and partitions with a clear message and exit code 2', async () => {
    const r = await run(['materialize', 'gold.orders_sumary']);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain("Did you mean 'gold.orders_summary'");
    expect(String(r.stderr)).toContain('^');
    expect(String(r.stderr)).not.toMatch(/\n\s+at /);
    const p = await run(['materialize', 'bronze.raw_orders', '--partition', 'store=../etc']);
    expect(p.exitCode).toBe(2);
    expect(String(p.stderr)).toContain('store');
    const unknown = await run(['frobnicate']);
    expect(unknown.exitCode).toBe(2);
    const deep = await run(['list', `${'('.repeat(2000)}bronze.raw_orders${')'.repeat(2000)}`]);
    expect(deep.exitCode).toBe(2);
    expect(String(deep.stderr)).toContain('nests deeper than 64 levels');
    expect(String(deep.stderr)).not.toContain('bug in Fairway');
    const fileAsState = await fairway(
      ['--definitions', project.definitions, '--state-dir', project.definitions, 'status'],
      {
        cwd: project.dir,
        env,
      },
    );
    expect(fileAsState.exitCode).toBe(2);
    expect(String(fileAsState.stderr)).toContain('is a file, not a directory');
    expect(String(fileAsState.stderr)).not.toContain('bug in Fairway');
  });

  it('refuses invalid definitions naming the keys and files', async () => {
    const text = readFileSync(project.definitions, 'utf8');
    writeFileSync(
      project.definitions,
      text.replace('deps: [ordersSummary],', "deps: [ordersSummary, 'gold.orders_sumary'],"),
    );
    const r = await run(['list']);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain(
      "Asset 'gold.orders_sumary' is not defined (referenced by 'gold.orders_report' in",
    );
    expect(String(r.stderr)).toContain("Did you mean 'gold.orders_summary'?");
    writeFileSync(project.definitions, text.replace('deps: [rawOrders],', "deps: [rawOrders, 'gold.orders_report'],"));
    const c = await run(['list']);
    expect(c.exitCode).toBe(2);
    expect(String(c.stderr)).toMatch(/cycle/i);
    expect(String(c.stderr)).toContain('silver.clean_orders');
    writeFileSync(project.definitions, `${text}\nthrow new Error('the warehouse is not configured');\n`);
    const thrown = await run(['list']);
    expect(thrown.exitCode).toBe(2);
    expect(String(thrown.stderr)).toContain(`Loading the definitions ${project.definitions} failed`);
    expect(String(thrown.stderr)).toContain('the warehouse is not configured');
    expect(String(thrown.stderr)).not.toContain('bug in Fairway');
    // ES module syntax in a CommonJS package: say which setting to change, not "a cycle"
    const pkg = join(project.dir, 'package.json');
    const pkgText = readFileSync(pkg, 'utf8');
    writeFileSync(pkg, '{ "type": "commonjs" }\n');
    writeFileSync(project.definitions, `await Promise.resolve();\n${text}`);
    const cjs = await run(['list']);
    writeFileSync(pkg, pkgText);
    expect(cjs.exitCode).toBe(2);
    expect(String(cjs.stderr)).toContain('are loaded as CommonJS');
    expect(String(cjs.stderr)).toContain('"type": "module"');
    writeFileSync(project.definitions, text);
  });

  it('logs --follow prints a step’s compute log while it runs, then the run’s end', async () => {
    const release = join(project.dir, 'follow-release');
    const defs = definitionsFile(
      'follow.ts',
      'import { existsSync } from "node:fs";\n' +
        'export default defineAssets({ assets: [asset({ key: "a.talky", codeVersion: "v1", materialize: async (ctx) => { ' +
        'ctx.computeLog("first line from the step"); ' +
        `while (!existsSync(${JSON.stringify(release)})) await new Promise((r) => setTimeout(r, 100)); ` +
        'ctx.computeLog("second line from the step"); return {}; } })] });\n',
    );
    const cli = ['--definitions', defs, '--state-dir', join(project.dir, 'follow-state')];
    const materializing = fairway([...cli, 'materialize', 'a.talky'], { cwd: project.dir });
    let runId: string | undefined;
    for (let i = 0; i < 100 && !runId; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const runs = await fairway([...cli, 'runs', '--json'], { cwd: project.dir });
      runId = (JSON.parse(String(runs.stdout || '{"items":[]}')) as { items: { run_id: string }[] }).items[0]?.run_id;
    }
    expect(runId).toBeDefined();
    const follow = fairway([...cli, 'logs', runId!, '--follow'], { cwd: project.dir });
    let out = '';
    follow.stdout?.on('data', (chunk: Buffer) => {
      out += String(chunk);
    });
    for (let i = 0; i < 150 && !out.includes('first line from the step'); i++)
      await new Promise((r) => setTimeout(r, 100));
    // the step is still running (it waits for the release file), and its line is already out
    expect(out).toContain('first line from the step');
    expect(materializing.exitCode).toBeNull(); // still running
    expect(out).not.toContain('second line');
    writeFileSync(release, '');
    const [done, followed] = await Promise.all([materializing, follow]);
    expect(done.exitCode, String(done.stderr)).toBe(0);
    expect(followed.exitCode, String(followed.stderr)).toBe(0);
    expect(out).toContain('second line from the step');
    expect(out.trim().split('\n').at(-1)).toBe(`run ${runId} SUCCESS`);
    // a finished run: --follow prints what there is and ends at once; --json does not stream
    const again = await fairway([...cli, 'logs', runId!, '--follow', '--step', 'a.talky'], { cwd: project.dir });
    expect(again.exitCode).toBe(0);
    expect(String(again.stdout)).toMatch(/first line from the step\nsecond line from the step\n/);
    const unknown = await fairway([...cli, 'logs', runId!, '--follow', '--step', 'a.nope'], { cwd: project.dir });
    expect(unknown.exitCode).toBe(2);
    expect(String(unknown.stderr)).toContain("Unknown asset 'a.nope'");
    const json = await fairway([...cli, 'logs', runId!, '--follow', '--json'], { cwd: project.dir });
    expect(json.exitCode).toBe(2);
    expect(String(json.stderr)).toContain('--follow prints text');
  });

  it('gc forgets finished runs’ history and compacts the store; status answers the same', async () => {
    const cli = ['--definitions', project.definitions, '--state-dir', join(project.dir, 'gc-state')];
    const gcEnv = { HELLO_DATA_DIR: join(project.dir, 'gc-data') };
    const go = (args: string[]) => fairway([...cli, ...args], { cwd: project.dir, env: gcEnv });
    await go(['materialize', 'gold.orders_report']); // before anything upstream exists
    for (let i = 0; i < 3; i++) expect((await go(['materialize', '*'])).exitCode).toBe(0);
    expect((await go(['materialize', 'bronze.raw_orders', '--partition', 'store=north'])).exitCode).toBe(0);
    const statusJson = async () => String((await go(['status', '--json', '--partitions', '--limit', '0'])).stdout);
    const runIds = async () =>
      (
        JSON.parse(String((await go(['runs', '--json', '--limit', '100'])).stdout)) as { items: { run_id: string }[] }
      ).items.map((r) => r.run_id);
    const before = await statusJson();
    expect(before).toContain('"FRESH"');
    const runsBefore = await runIds();
    expect(runsBefore).toHaveLength(5);

    const dry = await go(['gc', '--older-than', '0s', '--dry-run', '--json']);
    expect(dry.exitCode, String(dry.stderr)).toBe(0);
    const planned = JSON.parse(String(dry.stdout)) as {
      runs_collected: number;
      events: number;
      database_bytes: unknown;
    };
    expect(planned).toMatchObject({ runs_collected: 5, database_bytes: null });
    expect(planned.events).toBeGreaterThan(0);
    expect(await runIds()).toEqual(runsBefore); // a dry run changes nothing

    const gc = await go(['gc', '--older-than', '0s', '--json']);
    expect(gc.exitCode, String(gc.stderr)).toBe(0);
    const report = JSON.parse(String(gc.stdout)) as {
      runs_collected: number;
      runs: number;
      materializations: number;
      database_bytes: { before: number; after: number };
    };
    expect(report.runs_collected).toBe(5);
    expect(report.materializations).toBeGreaterThan(0); // the replaced ones of the first runs
    expect(report.database_bytes.after).toBeLessThanOrEqual(report.database_bytes.before);
    expect(await statusJson()).toBe(before);
    // runs whose records are all replaced are gone (the first, failed one among them); their folders too
    const runsAfter = await runIds();
    expect(runsAfter.length).toBe(5 - report.runs);
    expect(runsAfter).not.toContain(runsBefore.at(-1));
    expect(readdirSync(join(project.dir, 'gc-state', 'runs'))).toEqual([]);
    expect((await go(['logs', runsBefore.at(-1)!])).exitCode).toBe(2);
    // what remains still plans, and finds nothing to do
    const stale = await go(['materialize', '*', '--stale-only', '--json']);
    expect(stale.exitCode, String(stale.stderr)).toBe(0);
    expect(JSON.parse(await statusJson()).every((a: { status: string }) => a.status === 'FRESH')).toBe(true);
    expect((await go(['gc', '--older-than', 'soon'])).exitCode).toBe(2);
  });
});
