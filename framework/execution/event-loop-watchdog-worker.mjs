// The thread of `EventLoopWatchdog` (event-loop-watchdog.ts): stops the process when a step is still running
// `graceMs` after its deadline, i.e. its event loop is blocked. Plain JavaScript, so it starts in a few ms
// without tsx; tsx and the store are loaded only to act. Writes with writeSync: a worker's process.stderr
// goes through the main thread, which is blocked.
//
// Why SIGKILL: process.exit() in a worker ends only the worker, and the main thread's signal handlers
// (SIGINT/SIGTERM) wait for the blocked event loop. A thread can end its whole process only with a signal
// that needs no handler; the shell then reports 128 + 9 = 137, the exit code documented for this.
import { existsSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const { runId, storePath, graceMs } = workerData;
/** Running steps by id: { deadline, blocked, timer }. */
const running = new Map();
let acting = false;

parentPort.on('message', (m) => {
  if (m.type === 'start') {
    const timer = setTimeout(() => void act(m.id), Math.max(0, m.deadline + graceMs - Date.now()));
    running.set(m.id, { ...m, timer });
  } else if (m.type === 'end') {
    clearTimeout(running.get(m.id)?.timer);
    running.delete(m.id);
  }
});

/** The step `id` (still running past its deadline and grace) and any other step as late. */
function blockedSteps(id) {
  const late = Date.now() - graceMs + 100; // a timer may fire a little early
  const others = [...running.entries()].filter(([other, s]) => other !== id && s.deadline <= late);
  return [running.get(id).blocked, ...others.map(([, s]) => s.blocked)];
}

/** The store's side of stopping (stop-blocked-run.ts), loaded once and only when needed. */
let loading;
const loadStopBlockedRun = () => {
  loading ??= (async () => {
    // compiled (dist/): its JavaScript twin is beside this file; from the sources, tsx loads the TypeScript
    const compiled = new URL('./stop-blocked-run.js', import.meta.url);
    if (existsSync(compiled)) return (await import(compiled.href)).stopBlockedRun;
    const { register } = await import('tsx/esm/api');
    register();
    return (await import('./stop-blocked-run.ts')).stopBlockedRun;
  })();
  return loading;
};

/** The step came back after all (the main thread was only slow): go on watching the others. */
function standDown() {
  acting = false;
  const next = [...running.keys()].find((id) => running.get(id).deadline + graceMs <= Date.now());
  if (next !== undefined) void act(next);
}

async function act(id) {
  if (acting || !running.has(id)) return;
  acting = true;
  // an `end` already queued behind its `start` (this thread started late) is read first
  await new Promise((ok) => setTimeout(ok, 50));
  if (!running.has(id)) return standDown();
  let reason = running.get(id).blocked.runReason;
  let note = ' The run could not be recorded (in-memory store).';
  if (storePath) {
    try {
      const stopBlockedRun = await loadStopBlockedRun();
      // loading takes a moment: a main thread back meanwhile records the timeout itself
      if (!running.has(id)) return standDown();
      reason = stopBlockedRun(storePath, runId, blockedSteps(id));
      note = ` Run ${runId} is recorded as FAILURE.`;
    } catch (e) {
      note = ` Recording it failed (${e instanceof Error ? e.message : String(e)}); the next command marks run ${runId} failed.`;
    }
  }
  writeSync(2, `\nerror: ${reason}.${note} Exit code 137.\n`);
  process.kill(process.pid, 'SIGKILL');
}
