import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';

const PidRecordSchema = z.object({
  pid: z.number().int().positive(),
  service: z.string(),
  started_at: z.string(),
  /** A string the process's command line contains: guards against a recycled pid. */
  marker: z.string(),
});
export type PidRecord = z.infer<typeof PidRecordSchema>;

/** The pid file's record, or undefined when there is none (or it is unreadable). */
export function readPid(file: string): PidRecord | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return PidRecordSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return undefined;
  }
}

/** True if the recorded process still runs and is the one that was started (not a recycled pid). */
export function isAlive(rec: PidRecord): boolean {
  try {
    process.kill(rec.pid, 0);
  } catch {
    return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8');
    if (cmdline === '') return false; // a zombie: exited, not yet reaped
    return cmdline.replaceAll('\0', ' ').includes(rec.marker);
  } catch {
    return false;
  }
}

interface SpawnSpec {
  service: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logFile: string;
  pidFile: string;
  marker: string;
}

/** Starts a server detached (its own process group), stdout and stderr appended to its log file. */
export function spawnService(spec: SpawnSpec): PidRecord {
  const fd = openSync(spec.logFile, 'a');
  try {
    writeSync(fd, `\n=== ${new Date().toISOString()} fairway stack: starting ${spec.service}\n`);
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.command}`);
    child.unref();
    const rec: PidRecord = {
      pid: child.pid,
      service: spec.service,
      started_at: new Date().toISOString(),
      marker: spec.marker,
    };
    writeFileSync(spec.pidFile, `${JSON.stringify(rec)}\n`);
    return rec;
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM to the process group, then SIGKILL after `timeoutMs`. Returns how it ended. */
export async function stopProcess(rec: PidRecord, timeoutMs: number): Promise<'stopped' | 'killed' | 'not-running'> {
  if (!isAlive(rec)) return 'not-running';
  signal(rec.pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(rec)) return 'stopped';
    await sleep(200);
  }
  signal(rec.pid, 'SIGKILL');
  for (let i = 0; i < 25 && isAlive(rec); i++) await sleep(200);
  return 'killed';
}

function signal(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(-pid, sig); // the whole group: servers started by a wrapper die with it
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

export function removePid(file: string) {
  rmSync(file, { force: true });
}

/** The last `n` lines of a log file ('' if there is none); reads at most its last 1 MiB. */
export function tail(file: string, n: number): string {
  if (!existsSync(file)) return '';
  const size = statSync(file).size;
  const length = Math.min(size, 1024 * 1024);
  const buf = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  return buf.toString('utf8').trimEnd().split('\n').slice(-n).join('\n');
}
