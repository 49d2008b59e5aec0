import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Lines a step wrote to its compute log since the last read. `step` is its directory under the run's `steps/`. */
export interface ComputeLogLines {
  step: string;
  lines: string[];
}

interface Position {
  offset: number;
  /** A last line not yet ended by a newline: printed once it is (or when the run is over). */
  partial: string;
}

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
    this.stepsDir = join(stateDir, 'runs', runId, 'steps');
  }

  /** The step directories followed so far or now present (sorted). */
  steps(): string[] {
    return existsSync(this.stepsDir) ? readdirSync(this.stepsDir).filter(this.wanted).sort() : [];
  }

  /** New lines of every followed step; `final` also returns each log's unterminated last line. */
  read(final = false): ComputeLogLines[] {
    const out: ComputeLogLines[] = [];
    for (const step of this.steps()) {
      const path = join(this.stepsDir, step, 'compute.log');
      if (!existsSync(path)) continue;
      const pos = this.positions.get(step) ?? { offset: 0, partial: '' };
      this.positions.set(step, pos);
      const lines = readNewLines(path, pos, final);
      if (lines.length > 0) out.push({ step, lines });
    }
    return out;
  }
}

function readNewLines(path: string, pos: Position, final: boolean): string[] {
  const size = statSync(path).size;
  let text = pos.partial;
  if (size > pos.offset) {
    const buf = Buffer.alloc(size - pos.offset);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, buf, 0, buf.length, pos.offset);
    } finally {
      closeSync(fd);
    }
    pos.offset = size;
    text += buf.toString('utf8');
  }
  if (text === '') return [];
  const lines = text.split('\n');
  const last = lines.pop()!;
  pos.partial = final ? '' : last;
  if (final && last !== '') lines.push(last);
  return lines;
}
