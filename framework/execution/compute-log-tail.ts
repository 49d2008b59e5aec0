import { closeSync, constants, existsSync, fstatSync, openSync, readdirSync, readSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import { computeLogPath, runFolder } from './run-folder.ts';

/** Lines a step wrote to its compute log since the last read. `step` is its directory under the run's `steps/`. */
export interface ComputeLogLines {
  step: string;
  lines: string[];
}

interface Position {
  /** Bytes consumed: always just after a newline, so a line (or a UTF-8 character) is never split. */
  offset: number;
}

/** At most this much of one log per read: a long log arrives over several reads, never as one huge string. */
const MAX_READ_BYTES = 1 << 20;

/**
 * Reads a run's compute logs (`<stateDir>/runs/<id>/steps/<step>/compute.log`) as they grow, while the
 * steps write them: each call returns the complete lines written since the previous one. The files are
 * written line by line as a step's process prints (framework/pipes), so a Spark job's output is seen
 * while it runs, not when its step ends and its log is indexed in the store.
 */
export class ComputeLogTail {
  private readonly positions = new Map<string, Position>();
  private readonly stepsDir: string;

  constructor(
    stateDir: string,
    runId: string,
    private readonly wanted: (step: string) => boolean = () => true,
  ) {
    this.stepsDir = join(runFolder(stateDir, runId), 'steps');
  }

  /** A step's compute log if it is a regular file inside the run's folder (a symlinked folder is refused). */
  private logPath(step: string): string | undefined {
    const path = computeLogPath(join(this.stepsDir, step));
    if (!existsSync(path)) return undefined;
    try {
      const real = realpathSync(path);
      return real.startsWith(realpathSync(this.stepsDir) + sep) ? path : undefined;
    } catch {
      return undefined;
    }
  }

  /** The step directories followed so far or now present (sorted). */
  steps(): string[] {
    return existsSync(this.stepsDir) ? readdirSync(this.stepsDir).filter(this.wanted).sort() : [];
  }

  /** New lines of every followed step, at most ~1 MiB per entry; `final` also returns an unterminated last line. */
  read(final = false): ComputeLogLines[] {
    const out: ComputeLogLines[] = [];
    for (const step of this.steps()) {
      const path = this.logPath(step);
      if (!path) continue;
      const pos = this.positions.get(step) ?? { offset: 0 };
      this.positions.set(step, pos);
      for (let lines = readNewLines(path, pos, final); lines.length > 0; lines = readNewLines(path, pos, final)) {
        out.push({ step, lines });
      }
    }
    return out;
  }
}

/**
 * The complete lines after `pos.offset` (up to MAX_READ_BYTES of them), advancing the offset past the last
 * newline; with `final` an unterminated last line too. The file is opened without following a symlink.
 */
function readNewLines(path: string, pos: Position, final: boolean): string[] {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return []; // a symlink, or gone
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size <= pos.offset) return [];
    const buf = Buffer.alloc(Math.min(st.size - pos.offset, MAX_READ_BYTES));
    const read = readSync(fd, buf, 0, buf.length, pos.offset);
    const bytes = buf.subarray(0, read);
    const end = bytes.lastIndexOf(0x0a);
    const whole = final && pos.offset + read >= st.size ? read : end + 1;
    if (whole <= 0) {
      // one line longer than a read: hand it over in pieces rather than wait forever
      if (read < MAX_READ_BYTES) return [];
      pos.offset += read;
      return [bytes.toString('utf8')];
    }
    pos.offset += whole;
    const lines = bytes.subarray(0, whole).toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines;
  } finally {
    closeSync(fd);
  }
}
