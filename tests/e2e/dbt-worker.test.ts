/**
 * The long-lived dbt process (framework/integrations/dbt/dbt_worker.py) with the real dbt of the venv:
 * commands share one process, each gets its own output and exit code, and a cancel or a dead worker
 * costs only that command.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDbtWorkers, dbtWorkerPids } from '../../framework/integrations/dbt/dbt-worker.ts';
import { type DbtEnvironment, runDbt } from '../../framework/integrations/dbt/index.ts';
import { ensureSparkRuntime } from '../../framework/integrations/spark/index.ts';
import { repoRoot } from './helpers.ts';

let root: string;
let dbt: DbtEnvironment;
let projectDir: string;
let n = 0;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `dbt <args>` through runDbt in a fresh work dir; the lines it printed come back with the result. */
async function dbtCommand(args: string[], opts: { signal?: AbortSignal; project?: string } = {}) {
  const lines: string[] = [];
  const result = await runDbt({
    dbt,
    projectDir: opts.project ?? projectDir,
    target: 'dev',
    vars: {},
    args,
    workDir: join(root, 'work', String(++n)),
    ...(opts.signal ? { signal: opts.signal } : {}),
    onLine: (l) => lines.push(l),
  });
  return { ...result, lines };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fairway-dbt-worker-'));
  projectDir = join(root, 'project');
  mkdirSync(join(projectDir, 'models'), { recursive: true });
  writeFileSync(join(projectDir, 'dbt_project.yml'), 'name: tiny\nversion: "1.0"\nprofile: tiny\n');
  writeFileSync(join(projectDir, 'models', 'rounds.sql'), 'select 1 as round_id\n');
  writeFileSync(join(projectDir, 'models', 'holes.sql'), "select * from {{ ref('rounds') }}\n");
  // dbt-spark's session method: `ls` needs the adapter but never starts Spark.
  writeFileSync(
    join(root, 'profiles.yml'),
    JSON.stringify({
      tiny: { target: 'dev', outputs: { dev: { type: 'spark', method: 'session', host: 'localhost', schema: 's' } } },
    }),
  );
  const rt = await ensureSparkRuntime({
    requirementsFile: join(repoRoot, 'spark', 'requirements.txt'),
    pomFile: join(repoRoot, 'spark', 'jars', 'pom.xml'),
  });
  dbt = {
    command: join(rt.venvDir, 'bin', 'dbt'),
    python: rt.python,
    env: { PATH: process.env.PATH ?? '', HOME: root },
    profilesDir: root,
  };
});

afterAll(() => {
  closeDbtWorkers();
  rmSync(root, { recursive: true, force: true });
});

describe('dbt worker', () => {
  it('runs commands one after another in one process, each with its own output and exit code', async () => {
    const all = await dbtCommand(['ls', '--resource-type', 'model']);
    expect(all.exitCode).toBe(0);
    expect(all.lines).toContain('tiny.holes');
    expect(all.lines).toContain('tiny.rounds');
    const [pid] = dbtWorkerPids();
    expect(dbtWorkerPids()).toHaveLength(1);

    const one = await dbtCommand(['ls', '--select', 'rounds']);
    expect(one.exitCode).toBe(0);
    expect(one.lines).toContain('tiny.rounds');
    expect(one.lines).not.toContain('tiny.holes'); // the first command's output stayed with it
    expect(dbtWorkerPids()).toEqual([pid]);

    // dbt itself failing (2) answers too, with its message in the command's own lines, and the worker lives on.
    const bad = await dbtCommand(['ls'], { project: join(root, 'no-such-project') });
    expect(bad.exitCode).toBe(2);
    expect(bad.tail.join('\n')).toMatch(/no-such-project.*does not exist/);
    expect(dbtWorkerPids()).toEqual([pid]);
  });

  it('runs two concurrent commands in two workers', async () => {
    const [a, b] = await Promise.all([
      dbtCommand(['ls', '--select', 'rounds']),
      dbtCommand(['ls', '--select', 'holes']),
    ]);
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
    expect(a.lines).toContain('tiny.rounds');
    expect(b.lines).toContain('tiny.holes');
    expect(b.lines).not.toContain('tiny.rounds');
    expect(dbtWorkerPids()).toHaveLength(2);
  });

  it('a canceled command stops its worker; the next command starts a new one', async () => {
    closeDbtWorkers();
    await until(() => dbtWorkerPids().length === 0);
    const abort = new AbortController();
    const canceled = dbtCommand(['ls'], { signal: abort.signal });
    await until(() => dbtWorkerPids().length === 1);
    const [pid] = dbtWorkerPids();
    abort.abort();
    expect((await canceled).exitCode).toBe(130);
    await until(() => !alive(pid!));

    const next = await dbtCommand(['ls', '--select', 'rounds']);
    expect(next.exitCode).toBe(0);
    expect(dbtWorkerPids()).not.toContain(pid);
  });

  it('a worker killed in the middle of a command fails that command only', async () => {
    closeDbtWorkers();
    await until(() => dbtWorkerPids().length === 0);
    const running = dbtCommand(['ls']);
    await until(() => dbtWorkerPids().length === 1);
    const [pid] = dbtWorkerPids();
    process.kill(pid!, 'SIGKILL');
    const killed = await running;
    expect(killed.exitCode).not.toBe(0);
    expect(dbtWorkerPids()).toEqual([]);
    expect((await dbtCommand(['ls', '--select', 'holes'])).exitCode).toBe(0);
  });

  it('an idle worker never keeps Fairway running, and goes when Fairway exits', async () => {
    const script = join(root, 'one-command.mts'); // .mts: ESM (top-level await) wherever the temp dir is
    const options = { dbt, projectDir, target: 'dev', vars: {}, args: ['ls'], workDir: join(root, 'work', 'child') };
    writeFileSync(
      script,
      [
        `import { runDbt } from '${repoRoot}/framework/integrations/dbt/index.ts';`,
        `import { dbtWorkerPids } from '${repoRoot}/framework/integrations/dbt/dbt-worker.ts';`,
        `const r = await runDbt(${JSON.stringify(options)});`,
        'console.log(JSON.stringify({ exit: r.exitCode, pids: dbtWorkerPids() }));',
      ].join('\n'),
    );
    // The idle timeout is a minute: a worker that held the event loop would make this time out.
    const child = await execa(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, timeout: 30_000 });
    const { exit, pids } = JSON.parse(child.stdout.trim().split('\n').pop()!) as { exit: number; pids: number[] };
    expect(exit).toBe(0);
    expect(pids).toHaveLength(1);
    await until(() => !alive(pids[0]!));
  });
});
