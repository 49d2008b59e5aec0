import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openStore } from './index.ts';

const WORKERS = 4;
const DURATION_MS = 2000;
const script = join(import.meta.dirname, 'fixtures', 'concurrent-writer.ts');
const repoRoot = join(import.meta.dirname, '..', '..');

interface Counts {
  events: number;
  materializations: number;
  locked: number;
  conflicts: number;
  leases: number;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fairway-concurrency-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function collect(child: ChildProcess): { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  return { stdout: () => out, stderr: () => err };
}

it(`${WORKERS} processes write the same fresh file at once without errors or lost writes`, async () => {
  const path = join(dir, 'state', 'fairway.db');
  const children = Array.from({ length: WORKERS }, (_, id) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, path, String(id), String(DURATION_MS)], {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return { child, io: collect(child), exit: once(child, 'exit') as Promise<[number | null]> };
  });

  // Release all workers together so they race to create and migrate the file.
  await Promise.all(
    children.map(async ({ child, io }) => {
      while (!io.stdout().includes('ready\n')) {
        if (child.exitCode !== null) throw new Error(`worker exited early: ${io.stderr()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }),
  );
  for (const { child } of children) child.stdin?.end('go\n');

  const results: Counts[] = [];
  for (const { io, exit } of children) {
    const [code] = await exit;
    expect(io.stderr(), 'worker stderr').toBe('');
    expect(code).toBe(0);
    const last = io.stdout().trim().split('\n').at(-1) ?? '';
    results.push(JSON.parse(last) as Counts);
  }

  const store = openStore(path);
  try {
    let totalEvents = 0;
    let totalLocked = 0;
    for (const [id, counts] of results.entries()) {
      expect(counts.events).toBeGreaterThan(0);
      const events = store.getEvents(`w${id}`);
      expect(events).toHaveLength(counts.events);
      expect(new Set(events.map((e) => e.event_id)).size).toBe(counts.events);
      const history = store.materializationHistory(`silver.w${id}`, { limit: 1_000_000 });
      expect(history.items).toHaveLength(counts.materializations);
      totalEvents += counts.events;
      totalLocked += counts.locked;
    }
    // Every successful claim incremented the shared counter exactly once.
    expect(Number(store.getCursor('shared.counter'))).toBe(totalLocked);
    console.log(`[storage concurrency] ${WORKERS} workers, ${DURATION_MS} ms:`, JSON.stringify(results));
    console.log(`[storage concurrency] total events ${totalEvents}, lock-guarded increments ${totalLocked}`);
  } finally {
    store.close();
  }
}, 120_000);
