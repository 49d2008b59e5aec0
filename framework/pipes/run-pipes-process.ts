import { closeSync, existsSync, mkdirSync, openSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from 'pino';
import { FrameworkError } from '../errors/index.ts';
import { tieGroupToThisProcess } from './child-group.ts';
import { followLines } from './follow-lines.ts';
import { type PipesMessage, type PipesReceived, receivePipesLines } from './messages.ts';

export interface PipesContext {
  run_id: string;
  asset_key: string;
  partition_key: string;
  partition: Record<string, string>;
  extras?: Record<string, unknown>;
}

export interface PipesProcessOptions {
  command: string;
  args: readonly string[];
  context: PipesContext;
  /** Directory for the messages file and the compute log. */
  stepDir: string;
  cwd?: string;
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  log: Logger;
  /** Called for every stdout/stderr line (the step's compute log). */
  onOutput?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Called for every well-formed message as it arrives. */
  onMessage?: (message: PipesMessage) => void;
  /**
   * Called with the child's process group id once it runs; the returned function once it has exited. Pass
   * the step's `ctx.onChildProcess`: a run that dies then keeps its partitions locked until the group is gone.
   */
  onChildProcess?: (pgid: number) => () => void;
}

export interface PipesProcessResult {
  exitCode: number;
  messages: PipesMessage[];
  malformed: { line: string; error: string }[];
  durationMs: number;
}

/** Follows an append-only JSON-lines file, returning complete new lines on each read. */
class LineFollower {
  private offset = 0;
  private rest = '';
  private readonly decoder = new StringDecoder('utf8');
  constructor(private readonly path: string) {}

  read(): string[] {
    if (!existsSync(this.path)) return [];
    const fd = openSync(this.path, 'r');
    try {
      const chunks: Buffer[] = [];
      const buf = Buffer.alloc(64 * 1024);
      for (
        let n = readSync(fd, buf, 0, buf.length, this.offset);
        n > 0;
        n = readSync(fd, buf, 0, buf.length, this.offset)
      ) {
        chunks.push(Buffer.from(buf.subarray(0, n)));
        this.offset += n;
      }
      const text = this.rest + this.decoder.write(Buffer.concat(chunks));
      const lines = text.split('\n');
      this.rest = lines.pop() ?? '';
      return lines.filter((l) => l.trim() !== '');
    } finally {
      closeSync(fd);
    }
  }

  flush(): string[] {
    const lines = this.read();
    if (this.rest.trim() !== '') lines.push(this.rest);
    this.rest = '';
    return lines;
  }
}

/**
 * Runs an external process that speaks the pipes protocol: it appends JSON lines to the file named
 * by `FAIRWAY_PIPES_MESSAGES` and reads its context from `FAIRWAY_PIPES_CONTEXT`. stdout and stderr
 * become the compute log. Malformed message lines are logged and kept, never fatal.
 */
export async function runPipesProcess(opts: PipesProcessOptions): Promise<PipesProcessResult> {
  mkdirSync(opts.stepDir, { recursive: true });
  const messagesPath = join(opts.stepDir, 'messages.jsonl');
  writeFileSync(messagesPath, '');
  const follower = new LineFollower(messagesPath);
  const received: PipesReceived = { messages: [], malformed: [] };
  const { messages, malformed } = received;
  const handle = receivePipesLines(received, opts.log, opts.onMessage);
  // loaded here, not at the top: commands that start no process never pay for execa
  const { execa } = await import('execa');
  const started = Date.now();
  const child = execa(opts.command, opts.args, {
    cwd: opts.cwd,
    env: {
      ...opts.env,
      FAIRWAY_PIPES_MESSAGES: messagesPath,
      FAIRWAY_PIPES_CONTEXT: JSON.stringify(opts.context),
    },
    reject: false,
    buffer: false,
    stdin: 'ignore',
    cancelSignal: opts.signal,
    forceKillAfterDelay: 5_000,
    killSignal: 'SIGTERM',
    detached: true, // its own process group, stopped as a whole (see tieGroupToThisProcess)
  });
  const untie = tieGroupToThisProcess(child.pid, opts.signal);
  const forget = child.pid && opts.onChildProcess ? opts.onChildProcess(child.pid) : () => {};
  followLines(child.stdout, (line) => opts.onOutput?.(line, 'stdout'));
  followLines(child.stderr, (line) => opts.onOutput?.(line, 'stderr'));
  const timer = setInterval(() => handle(follower.read()), 200);
  try {
    const result = await child;
    handle(follower.flush());
    if (result.failed && result.exitCode === undefined && !result.isCanceled) {
      throw new FrameworkError('PROCESS_START_FAILED', `Could not run '${opts.command}': ${result.shortMessage}`, {
        details: { command: opts.command },
      });
    }
    return {
      exitCode: result.isCanceled ? 130 : (result.exitCode ?? 1),
      messages,
      malformed,
      durationMs: Date.now() - started,
    };
  } finally {
    clearInterval(timer);
    untie();
    forget();
  }
}
