import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeDbtWorkers, dbtWorkerPids, runInDbtWorker } from './dbt-worker.ts';

const root = mkdtempSync(join(tmpdir(), 'fairway-dbt-worker-'));
afterAll(() => {
  closeDbtWorkers();
  rmSync(root, { recursive: true, force: true });
});

/** Stands in for a Python with dbt: ignores the script, answers each request (`sleep` first sleeps). */
const fakePython = join(root, 'python');
writeFileSync(
  fakePython,
  [
    '#!/bin/sh',
    'while read -r line; do',
    '  case "$line" in *sleep*) sleep 30 ;; esac',
    '  echo \'FAIRWAY_DBT_DONE {"exit_code": 0}\'',
    'done',
    '',
  ].join('\n'),
);
chmodSync(fakePython, 0o755);
const spec = (name: string) => ({ python: fakePython, env: { PATH: process.env.PATH ?? '' }, cwd: join(root, name) });

/** What `onChildProcess` saw, in order. */
function recorder() {
  const seen: string[] = [];
  const onChildProcess = (pgid: number) => {
    seen.push(`started ${pgid}`);
    return () => seen.push(`exited ${pgid}`);
  };
  return { seen, onChildProcess };
}

describe('runInDbtWorker', () => {
  it("records the worker's process group while it runs a command, not while it idles", async () => {
    const { seen, onChildProcess } = recorder();
    const exit = await runInDbtWorker(spec('idle'), { args: ['test'], onLine: () => {}, onChildProcess });
    expect(exit).toEqual({ exitCode: 0, canceled: false });
    const [pid] = dbtWorkerPids();
    expect(seen).toEqual([`started ${pid}`, `exited ${pid}`]);
    expect(dbtWorkerPids()).toEqual([pid]); // still there, idle, for the next command
  });

  it('keeps the group of a canceled command recorded until the worker has exited', async () => {
    const { seen, onChildProcess } = recorder();
    const controller = new AbortController();
    const running = runInDbtWorker(spec('cancel'), {
      args: ['sleep'],
      onLine: () => {},
      onChildProcess,
      signal: controller.signal,
    });
    const pid = Number(seen[0]?.split(' ')[1]);
    controller.abort();
    expect(await running).toEqual({ exitCode: 130, canceled: true });
    expect(seen).toEqual([`started ${pid}`]); // it is being stopped, and may still write until then
    for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([`started ${pid}`, `exited ${pid}`]);
    expect(dbtWorkerPids()).not.toContain(pid);
  });
});
